"""A simulated night on the running service, against what an M/M/c queue predicts.

    .venv/bin/python bench/night.py                  # 150 s of night plus drain, about 3 min
    .venv/bin/python bench/night.py --patience 0     # nobody gives up: the pure M/M/c case
    .venv/bin/python bench/night.py --rate 2.4 --buddies 8 --handling 3 --duration 150
    .venv/bin/python bench/night.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Night Owl runs as ``python -m bot.cli serve`` on a fresh SQLite file with the simulator
on, one default queue open all day and ``[buddies] default_capacity = 1``, so the
buddies are the c servers of an M/M/c queue. A coordinator invites ``--buddies`` buddies
(``/invite``, ``JOIN CODE Name``) who text ON. Then, in compressed time:

* texters arrive as a Poisson process (``--rate`` a second), each with a handling time
  drawn Exp(mean ``--handling``) and a patience Exp(mean ``--patience``, 0 = endless);
  a texter still unclaimed when patience runs out texts DONE;
* a buddy's phone long-polls (``wait``: answered the moment a text arrives), texts NEXT
  when alerted, and texts DONE when the handling time, counted from the NEXT (or, for
  a buddy who was ready, the intro) that got it the texter, is up, and NEXT in the same
  breath (Night Owl handles one sender's texts in order), so a freed buddy takes the
  head of the queue at once, or is put through to the next texter who comes;
* while they talk, texter and buddy each text with think times Exp(mean derived from
  ``--messages`` inbound texts a second). The harness stops a texter's chatter just
  before its buddy's DONE, so no stray text opens a new conversation.

Everything measured is read from the database afterwards (server clock):

* wait to first buddy reply = ``first_reply_at - created_at``; queue wait =
  ``claimed_at - created_at``; handling = ``closed_at - claimed_at``;
* relay latency, server side: the inbound text's ``inbox.received_at`` to the relayed
  outbox row's ``sent_at`` (for the simulator that is the moment it is delivered), for
  every text one party sent the other; and end to end: this process's clock just before
  it POSTs the text to the ``sim_deliveries.at`` of its relayed copy.

The model: Erlang C with the nominal rate, buddy count and mean handling time (mean,
median and p90 of the wait, from P(W > t) = C e^-(cμ-λ)t), with the spread of those
figures over many ideal M/M/c nights of this length (waits in a busy queue are strongly
correlated, so one short night wanders far from the steady state); and the same FIFO
c-server queue replayed on this night's own arrival times, handling times and
patiences, which takes the luck of the draw out and leaves only Night Owl's and the
buddies' reaction time. Wait to first reply adds the buddy's reaction after claiming
(seeing the intro, thinking, typing): the analytic prediction adds the measured
``first_reply_at - claimed_at`` of each conversation, resampled, to the M/M/c wait.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for content and tests.fakes when run as bench/night.py

from bot.queues import BuddyConfig  # noqa: E402
from content import texts  # noqa: E402
from tests.fakes.process import (  # noqa: E402
    child,
    cpu_seconds,
    free_port,
    night_owl_config,
    serve_args,
    wait_ready,
)

ANSWER_SECONDS = 10.0  # for enrolment replies
LONG_POLL = 1.0  # seconds a phone's request waits for a text before asking again
WARMUP = 10.0  # arrivals before this are served but not counted
NOBODY_WAITING = (
    texts.render("buddy.nobody_waiting"),
    texts.render("buddy.ready", minutes=BuddyConfig().ready_minutes),
)
GREETING = 0.2  # a buddy's mean think time before the first reply, s
IDEAL_NIGHTS = 400  # simulated ideal M/M/c nights for the run-to-run spread
RELAY_TARGET_MS = 100.0
PHRASES = (
    "how are you doing",
    "that sounds hard",
    "I am here with you",
    "tell me more",
    "thanks for listening",
    "one step at a time",
    "it helps to talk",
    "cravings are loud tonight",
)
FIRST_WORDS = "hi, rough night here"
BACKLOG = re.compile(rf"^(Owl-\w\w): {FIRST_WORDS} (t\d+)$")
INTRO = re.compile(r"^You're with (Owl-\w\w) ")
INVITE = re.compile(r"JOIN (\w+)")
CLAIMED = "(peer buddy) is here for you now"


# ----------------------------------------------------------------------- the service


def write_config(path: Path, port: int, db: Path | str) -> None:
    never = 36000  # escalation and silence timers: far beyond the night
    night = f"""
[sim]
enabled = "on"

[roles]
coordinators = ["sim:coord"]

[buddies]
default_capacity = 1
fair_use_conversations = 100000
silence_checkin_seconds = {never}
silence_close_seconds = {never}

[[queues]]
name = "default"
default_hours = "00:00-24:00"

[queues.escalation]
renotify_after_seconds = {never}
page_after_seconds = {never}
honest_after_seconds = {never}
reassure_every_seconds = {never}
"""
    path.write_text(night_owl_config(port, db, more=night), encoding="utf-8")


# ----------------------------------------------------------------------- the people


@dataclass
class Night:
    client: httpx.AsyncClient
    think: float  # mean seconds between one party's texts in a chat
    texters: dict[str, Texter] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)  # relay token -> wall clock
    tokens: int = 0
    closing: bool = False

    def token(self) -> str:
        self.tokens += 1
        return f"m{self.tokens}"


class Phone:
    def __init__(self, night: Night, address: str) -> None:
        self.night = night
        self.address = address
        self.cursor = 0

    async def send(self, text: str) -> None:
        response = await self.night.client.post(
            "/sim/api/send", json={"from": self.address, "text": text}
        )
        response.raise_for_status()

    async def relay(self, rng: random.Random) -> None:
        """A chat text carrying a token, so its relayed copy can be timed."""
        token = self.night.token()
        self.night.sent_at[token] = time.time()
        await self.send(f"{token} {rng.choice(PHRASES)}")

    async def poll(self, wait: float = LONG_POLL) -> list[str]:
        """What has arrived since the last poll, waiting up to ``wait`` s for something."""
        params = {"to": self.address, "after": self.cursor, "wait": f"{wait:.3f}"}
        try:
            response = await self.night.client.get("/sim/api/messages", params=params)
        except httpx.TransportError:  # reading is safe to repeat, once
            response = await self.night.client.get("/sim/api/messages", params=params)
        response.raise_for_status()
        body = response.json()
        self.cursor = body["cursor"]
        return [m["text"] for m in body["messages"]]

    async def ask(self, text: str) -> str:
        """Send ``text``; the next message this phone receives."""
        await self.send(text)
        deadline = time.monotonic() + ANSWER_SECONDS
        while time.monotonic() < deadline:
            got = await self.poll()
            if got:
                return got[0]
        sys.exit(f"{self.address}: no answer to {text!r} within {ANSWER_SECONDS}s")


@dataclass
class Texter:
    name: str
    arrive: float  # seconds after the night starts
    talk: float  # handling time
    patience: float  # math.inf: never gives up
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)


async def texter_life(night: Night, texter: Texter, started: float, seed: int) -> None:
    rng = random.Random(seed)
    phone = Phone(night, texter.name)
    await phone.send(f"{FIRST_WORDS} {texter.name}")
    give_up_at = started + texter.arrive + texter.patience
    while not any(
        CLAIMED in text
        for text in await phone.poll(min(LONG_POLL, max(0.0, give_up_at - time.monotonic())))
    ):
        if time.monotonic() >= give_up_at:
            await phone.send("DONE")
            return
    while not texter.stop.is_set():
        try:
            await asyncio.wait_for(texter.stop.wait(), rng.expovariate(1 / night.think))
        except TimeoutError:
            async with texter.sending:
                if not texter.stop.is_set():
                    await phone.relay(rng)


class Buddy:
    def __init__(self, night: Night, address: str, seed: int) -> None:
        self.night = night
        self.phone = Phone(night, address)
        self.rng = random.Random(seed)
        self.outstanding = 0  # NEXTs sent whose answer has not come back yet
        self.alerted = False
        self.next_sent = 0.0  # monotonic time of the last NEXT
        self.label: str | None = None  # the chat we were just given, backlog pending
        self.chat: asyncio.Task[None] | None = None
        self.ended = asyncio.Event()  # the texter ended the chat under us

    async def next(self) -> None:
        self.outstanding += 1
        self.alerted = False
        self.next_sent = time.monotonic()
        await self.phone.send("next")

    async def life(self) -> None:
        while not self.night.closing:
            for text in await self.phone.poll():
                self.read(text)
            if self.chat is None and self.outstanding == 0 and self.alerted:
                await self.next()
        if self.chat:
            self.chat.cancel()

    def read(self, text: str) -> None:
        intro = INTRO.match(text)
        backlog = BACKLOG.match(text)
        if intro:
            if self.outstanding:
                self.outstanding -= 1
            else:  # we were ready: the texter was put straight through
                self.next_sent = time.monotonic()
            self.label = intro.group(1)
        elif backlog and backlog.group(1) == self.label:
            texter = self.night.texters[backlog.group(2)]
            self.ended.clear()
            self.chat = asyncio.create_task(self.talk(texter, self.next_sent + texter.talk))
            self.label = None
        elif text in NOBODY_WAITING or "your limit" in text:
            self.outstanding -= 1
        elif self.chat and text.endswith("has ended the chat. Thank you."):
            self.ended.set()
        elif "Text NEXT" in text:
            self.alerted = True

    async def talk(self, texter: Texter, done_at: float) -> None:
        """Greet, chat until the handling time is up, then DONE and NEXT at once."""
        first = True
        while not self.ended.is_set():
            pause = self.rng.expovariate(1 / (GREETING if first else self.night.think))
            if not first and time.monotonic() + pause >= done_at:
                pause = max(0.0, done_at - time.monotonic())
            try:
                await asyncio.wait_for(self.ended.wait(), pause)
            except TimeoutError:
                if not first and time.monotonic() >= done_at:
                    break
                await self.phone.relay(self.rng)
                first = False
        texter.stop.set()
        async with texter.sending:  # the texter's last text is stored before our DONE
            pass
        if not self.ended.is_set():
            await self.phone.send("done")
        self.chat = None
        await self.next()


async def enrol(night: Night, count: int) -> list[Buddy]:
    coord = Phone(night, "coord")
    buddies = []
    for i in range(count):
        invite = await coord.ask("/invite")
        code = INVITE.search(invite)
        assert code, invite
        handle = "Bud" + "".join(chr(ord("a") + int(d)) for d in f"{i:02d}")
        buddy = Buddy(night, f"buddy-{i:02d}", seed=1_000_000 + i)
        welcome = await buddy.phone.ask(f"JOIN {code.group(1)} {handle}")
        assert welcome.startswith("Welcome, "), welcome
        on = await buddy.phone.ask("on")
        assert on.startswith("You're on duty."), on
        buddies.append(buddy)
    return buddies


def plan(args: argparse.Namespace) -> list[Texter]:
    rng = random.Random(args.seed)
    out: list[Texter] = []
    t = rng.expovariate(args.rate)
    while t < args.duration:
        patience = rng.expovariate(1 / args.patience) if args.patience > 0 else math.inf
        out.append(Texter(f"t{len(out):05d}", t, rng.expovariate(1 / args.handling), patience))
        t += rng.expovariate(args.rate)
    return out


async def run_night(args: argparse.Namespace, night: Night, texters: list[Texter]) -> float:
    """Enrol, then play the night; returns the wall-clock time the night started."""
    buddies = await enrol(night, args.buddies)
    lives = [asyncio.create_task(b.life()) for b in buddies]
    night.texters = {t.name: t for t in texters}
    wall_start = time.time()
    started = time.monotonic()
    arrivals = []
    for i, texter in enumerate(texters):
        await asyncio.sleep(max(0.0, started + texter.arrive - time.monotonic()))
        arrivals.append(asyncio.create_task(texter_life(night, texter, started, args.seed + i)))
    drain = max(30.0, 20 * args.handling)
    done, late = await asyncio.wait(arrivals, timeout=drain) if arrivals else (set(), set())
    for task in late:
        task.cancel()
    night.closing = True
    results = await asyncio.gather(*lives, *late, *done, return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    if errors:
        raise errors[0]
    return wall_start


# ----------------------------------------------------------------------- the model


def erlang_c(c: int, a: float) -> float:
    """P(an arrival waits) in M/M/c with offered load ``a`` = λ/μ < c."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)  # Erlang B, by the stable recursion
    return b / (1 - (a / c) * (1 - b))


def mmc_wait_quantile(q: float, c: int, lam: float, mu: float) -> float:
    """The q-quantile of the wait, from P(W > t) = C·e^-(cμ-λ)t."""
    pw = erlang_c(c, lam / mu)
    return 0.0 if pw <= 1 - q else math.log(pw / (1 - q)) / (c * mu - lam)


def replay(people: Sequence[tuple[float, float, float]], c: int) -> list[float | None]:
    """FIFO c-server queue on (arrival, handling, patience), in arrival order: each
    wait, or None for someone who gave up first (they take no server)."""
    free = [0.0] * c
    waits: list[float | None] = []
    for arrive, handling, patience in people:
        start = max(arrive, free[0])
        if start - arrive > patience:
            waits.append(None)
            continue
        heapq.heapreplace(free, start + handling)
        waits.append(start - arrive)
    return waits


@dataclass
class Summary:
    mean: float
    median: float
    p90: float
    gave_up: float  # fraction

    @classmethod
    def of(cls, waits: Sequence[float | None]) -> Summary:
        served = [w for w in waits if w is not None]
        if len(served) < 2:
            return cls(math.nan, math.nan, math.nan, math.nan)
        q = statistics.quantiles(served, n=10, method="inclusive")
        return cls(statistics.fmean(served), q[4], q[8], 1 - len(served) / len(waits))


def ideal_nights(args: argparse.Namespace) -> list[Summary]:
    """Many M/M/c(+M) nights with the nominal parameters, measured like the real one."""
    rng = random.Random(args.seed)
    out = []
    for _ in range(IDEAL_NIGHTS):
        people, t = [], rng.expovariate(args.rate)
        while t < args.duration:
            patience = rng.expovariate(1 / args.patience) if args.patience > 0 else math.inf
            people.append((t, rng.expovariate(1 / args.handling), patience))
            t += rng.expovariate(args.rate)
        waits = replay(people, args.buddies)
        out.append(Summary.of([w for w, p in zip(waits, people, strict=True) if p[0] >= WARMUP]))
    return out


def mmc_plus(
    c: int, lam: float, mu: float, reactions: Sequence[float], rng: random.Random
) -> Summary:
    """M/M/c wait plus a resampled measured reaction, by Monte Carlo."""
    pw = erlang_c(c, lam / mu)
    draws = [
        (rng.expovariate(c * mu - lam) if rng.random() < pw else 0.0) + rng.choice(reactions)
        for _ in range(200_000)
    ]
    return Summary.of(draws)


# ----------------------------------------------------------------------- the figures


def stamp(value: str | None) -> float | None:
    """A stored naive-UTC datetime as epoch seconds."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


def pct(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Chat:
    texter: str
    created: float
    claimed: float | None
    first_reply: float | None
    closed: float | None
    reason: str | None


def read_chats(db: sqlite3.Connection) -> list[Chat]:
    rows = db.execute(
        "SELECT k.address, c.created_at, c.claimed_at, c.first_reply_at, c.closed_at,"
        " c.close_reason FROM conversations c JOIN contacts k ON k.id = c.texter_id"
        " ORDER BY c.created_at, c.id"
    )
    chats = []
    for address, created, claimed, first, closed, reason in rows:
        at = stamp(created)
        assert at is not None
        chats.append(Chat(address, at, stamp(claimed), stamp(first), stamp(closed), reason))
    return chats


@dataclass
class Relays:
    """Seconds for every relayed chat text: server side, split into its stages, and end
    to end."""

    to_handled: list[float] = field(default_factory=list)  # received → relayed copy written
    to_sent: list[float] = field(default_factory=list)  # that → sent (commit, dispatch)
    end_to_end: list[float] = field(default_factory=list)

    @property
    def server(self) -> list[float]:
        """inbox received_at → outbox sent_at."""
        return [a + b for a, b in zip(self.to_handled, self.to_sent, strict=True)]


def relay_latencies(db: sqlite3.Connection, sent_at: dict[str, float]) -> Relays:
    relays = Relays()
    for received, created, sent in db.execute(
        "SELECT i.received_at, o.created_at, o.sent_at FROM outbox o"
        " JOIN inbox i ON i.id = o.inbox_id"
        " WHERE o.status = 'sent' AND o.contact_id != i.contact_id AND i.text GLOB 'm[0-9]*'"
    ):
        a, b, c = stamp(received), stamp(created), stamp(sent)
        assert a is not None and b is not None and c is not None
        relays.to_handled.append(b - a)
        relays.to_sent.append(c - b)
    token = re.compile(r": (m\d+) ")
    for text, at in db.execute("SELECT text, at FROM sim_deliveries"):
        found = token.search(text)
        if found and found.group(1) in sent_at:
            delivered = stamp(at)
            assert delivered is not None
            relays.end_to_end.append(delivered - sent_at[found.group(1)])
    return relays


def p50_p99(values: Sequence[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.1f} ms, p99 {pct(values, 99) * 1000:.1f} ms"


def row(label: str, s: Summary, measured: Summary | None = None) -> str:
    """One line of the waits table; with ``measured``, how far it is from ``s``."""
    line = f"  {label:<54} {s.mean:6.2f} {s.median:7.2f} {s.p90:6.2f} {s.gave_up:8.1%}"
    if measured is not None:
        keys = ("mean", "median", "p90")
        line += "    " + " ".join(ratio(getattr(measured, k), getattr(s, k)) for k in keys)
    return line


def ratio(measured: float, predicted: float) -> str:
    if predicted <= 0 or math.isnan(predicted) or math.isnan(measured):
        return "  n/a"
    return f"{measured / predicted - 1:+5.0%}"


def report(
    args: argparse.Namespace,
    texters: list[Texter],
    db: sqlite3.Connection,
    night: Night,
    wall_start: float,
    cpu: tuple[float, float, float],
) -> None:
    lam, mu, c = args.rate, 1 / args.handling, args.buddies
    rho = lam / (c * mu)
    chats = {ch.texter: ch for ch in read_chats(db)}
    plans = {t.name: t for t in texters}
    ordered = sorted((ch for ch in chats.values() if ch.texter in plans), key=lambda x: x.created)
    origin = wall_start
    counted = [ch for ch in ordered if ch.created - origin >= WARMUP]

    served = [ch for ch in ordered if ch.claimed is not None and ch.reason != "texter"]
    queue_quit = [ch for ch in ordered if ch.claimed is None and ch.reason == "texter"]
    claimed_quit = [ch for ch in ordered if ch.claimed is not None and ch.reason == "texter"]
    unserved = [ch for ch in ordered if ch.claimed is None and ch.reason != "texter"]
    handling = [ch.closed - ch.claimed for ch in served if ch.closed and ch.claimed]
    reactions = [ch.first_reply - ch.claimed for ch in ordered if ch.first_reply and ch.claimed]

    # Replay on this night's own arrivals (server clock), handling times and patiences.
    people = []
    for ch in ordered:
        t = plans[ch.texter]
        took = ch.closed - ch.claimed if ch.claimed and ch.closed else t.talk
        people.append((ch.created, took, t.patience))
    replayed = dict(zip((ch.texter for ch in ordered), replay(people, c), strict=True))

    def measured_queue(ch: Chat) -> float | None:
        return None if ch.claimed is None else ch.claimed - ch.created

    def measured_reply(ch: Chat) -> float | None:
        return None if ch.first_reply is None else ch.first_reply - ch.created

    queue_wait = Summary.of([measured_queue(ch) for ch in counted])
    reply_wait = Summary.of([measured_reply(ch) for ch in counted])
    replay_queue = Summary.of([replayed[ch.texter] for ch in counted])
    reply_by_texter = {
        ch.texter: ch.first_reply - ch.claimed for ch in ordered if ch.first_reply and ch.claimed
    }
    mean_reaction = statistics.fmean(reactions) if reactions else math.nan
    replay_reply = Summary.of(
        [
            None
            if (w := replayed[ch.texter]) is None
            else w + reply_by_texter.get(ch.texter, mean_reaction)
            for ch in counted
        ]
    )
    pw = erlang_c(c, lam / mu)
    analytic = Summary(
        pw / (c * mu - lam),
        mmc_wait_quantile(0.5, c, lam, mu),
        mmc_wait_quantile(0.9, c, lam, mu),
        0.0,
    )
    ideal = ideal_nights(args)
    spread = [
        (statistics.fmean(v), statistics.stdev(v))
        for v in (
            [s.mean for s in ideal],
            [s.median for s in ideal],
            [s.p90 for s in ideal],
            [s.gave_up for s in ideal],
        )
    ]
    analytic_reply = (
        mmc_plus(c, lam, mu, reactions, random.Random(args.seed))
        if reactions
        else Summary(math.nan, math.nan, math.nan, math.nan)
    )

    relays = relay_latencies(db, night.sent_at)
    inbound = [stamp(r) for (r,) in db.execute("SELECT received_at FROM inbox")]
    window = [t for t in inbound if t is not None and origin <= t < origin + args.duration]
    relayed_in = len([t for t in night.sent_at.values() if origin <= t < origin + args.duration])
    sent_out = db.execute(
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND sent_at >= ? AND sent_at < ?",
        (
            datetime.fromtimestamp(origin, UTC).replace(tzinfo=None).isoformat(" "),
            datetime.fromtimestamp(origin + args.duration, UTC).replace(tzinfo=None).isoformat(" "),
        ),
    ).fetchone()[0]
    pending = db.execute(
        "SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending'),"
        " (SELECT COUNT(*) FROM outbox WHERE status = 'pending')"
    ).fetchone()

    n = len(ordered)
    server_cpu, client_cpu, elapsed = cpu
    print(
        f"Night Owl, a simulated night: c = {c} buddies (capacity 1), λ = {lam:g} texters/s,"
        f" handling Exp(mean {args.handling:g} s), ρ = λ/cμ = {rho:.2f},"
        f" patience {'endless' if args.patience <= 0 else f'Exp(mean {args.patience:g} s)'},"
        f" {args.duration:g} s of arrivals, seed {args.seed}"
    )
    print(
        f"chat think time    Exp(mean {night.think:.3f} s) per party, for"
        f" ~{args.messages:g} inbound texts/s; phones long-poll"
    )
    print(
        f"texters            arrived {n} (of {len(texters)} planned), served {len(served)},"
        f" gave up in the queue {len(queue_quit)} ({len(queue_quit) / max(n, 1):.1%}),"
        f" gave up just as claimed {len(claimed_quit)}, never served {len(unserved)}"
    )
    print(
        f"texts              inbound {len(window) / args.duration:.1f}/s during the night"
        f" ({relayed_in / args.duration:.1f}/s chat texts), outbound"
        f" {sent_out / args.duration:.1f}/s; left pending at the end: inbox {pending[0]},"
        f" outbox {pending[1]}"
    )
    print(
        f"cpu                Night Owl {server_cpu / elapsed:.2f} cores,"
        f" this client {client_cpu / elapsed:.2f} cores (of {os.cpu_count()})"
    )
    server = relays.server
    met = "met" if pct(server, 99) * 1000 < RELAY_TARGET_MS else "NOT met"
    print(
        f"relay latency      server side (inbox received_at → outbox sent_at): {p50_p99(server)},"
        f" max {max(server, default=math.nan) * 1000:.0f} ms (n = {len(server)});"
        f" target p99 < {RELAY_TARGET_MS:g} ms: {met}"
    )
    print(
        f"                   of which received → relayed copy written {p50_p99(relays.to_handled)};"
        f" written → sent {p50_p99(relays.to_sent)}"
    )
    print(
        f"                   end to end (client before POST → sim delivery at):"
        f" {p50_p99(relays.end_to_end)} (n = {len(relays.end_to_end)})"
    )
    if handling:
        print(
            f"handling           measured claimed_at → closed_at: mean"
            f" {statistics.fmean(handling):.2f} s, cv"
            f" {statistics.stdev(handling) / statistics.fmean(handling):.2f}"
            f" (nominal {args.handling:g} s, cv 1)"
        )
    if reactions:
        print(
            f"buddy reaction     claimed_at → first_reply_at: mean {mean_reaction:.2f} s,"
            f" p90 {pct(reactions, 90):.2f} s (intro seen + greeting think time)"
        )
    print()
    print(
        f"waits in seconds, texters arriving after the {WARMUP:g} s warm-up"
        f" (n = {len(counted)})".ljust(59)
        + "  mean  median    p90   gave up    measured vs: mean median p90"
    )
    print(row("queue wait, measured: claimed_at − created_at", queue_wait))
    print(row("  M/M/c replayed on this night's arrivals, handling", replay_queue, queue_wait))
    print(row(f"  M/M/c analytic (Erlang C, P(wait) = {pw:.2f})", analytic, queue_wait))
    print(
        f"  {'  ideal M/M/c nights this long: mean ± sd':<54}"
        + "".join(f" {m:4.2f}±{s:<4.2f}" for m, s in spread[:3])
        + f" {spread[3][0]:5.1%}±{spread[3][1]:.1%}"
    )
    print(row("first buddy reply, measured: first_reply_at − created_at", reply_wait))
    print(row("  replay + that texter's measured reaction", replay_reply, reply_wait))
    print(row("  M/M/c analytic + resampled measured reaction", analytic_reply, reply_wait))
    if args.patience > 0:
        print("  (Erlang C has no abandonment; the replay and the ideal nights do.)")


# ----------------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    lam_busy = args.rate * args.handling  # buddies in a chat, on average
    chatter = args.messages - 3 * args.rate  # less first texts, NEXTs and DONEs
    if chatter <= 0:
        sys.exit("--messages too low for this --rate")
    think = 2 * lam_busy / chatter
    texters = plan(args)
    with tempfile.TemporaryDirectory(prefix="nightowl-night-") as tmp:
        config, db_path, log = Path(tmp, "night.toml"), Path(tmp, "night.db"), Path(tmp, "log")
        port = free_port()
        if args.db:
            await empty_postgres(args.db)
        write_config(config, port, args.db or db_path)
        # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout, so
        # a request never goes out on a connection the server is closing.
        limits = httpx.Limits(
            max_connections=400, max_keepalive_connections=400, keepalive_expiry=1.0
        )
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30.0
        ) as client:
            with child(serve_args(config), log) as proc:
                await wait_ready(proc, lambda: client.get("/healthz"), log)
                night = Night(client, think)
                cpu0, client0, t0 = cpu_seconds(proc.pid), time.process_time(), time.monotonic()
                wall_start = await run_night(args, night, texters)
                cpu = (
                    cpu_seconds(proc.pid) - cpu0,
                    time.process_time() - client0,
                    time.monotonic() - t0,
                )
                await asyncio.sleep(1.0)  # the last DONEs and NEXTs
        if args.db:
            db = await postgres_copy(args.db)
        else:
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            report(args, texters, db, night, wall_start, cpu)
        finally:
            db.close()


# What the report reads, copied out of PostgreSQL into SQLite (times as naive-UTC text,
# as Night Owl stores them there), so one report reads either database.
REPORT_TABLES = {
    "contacts": ["id", "address"],
    "conversations": [
        "id",
        "texter_id",
        "created_at",
        "claimed_at",
        "first_reply_at",
        "closed_at",
        "close_reason",
    ],
    "inbox": ["id", "contact_id", "text", "status", "received_at"],
    "outbox": ["id", "contact_id", "inbox_id", "status", "created_at", "sent_at"],
    "sim_deliveries": ["id", "text", "at"],
}


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def empty_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def postgres_copy(url: str) -> sqlite3.Connection:
    import asyncpg

    def cell(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        return value

    db = sqlite3.connect(":memory:")
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        for table, columns in REPORT_TABLES.items():
            db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
            rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table}")
            marks = ", ".join("?" * len(columns))
            db.executemany(
                f"INSERT INTO {table} VALUES ({marks})", [[cell(v) for v in r] for r in rows]
            )
    finally:
        await conn.close()
    return db


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2.1, help="texter arrivals a second (λ)")
    parser.add_argument("--buddies", type=int, default=8, help="buddies on duty (c)")
    parser.add_argument("--handling", type=float, default=3.0, help="mean handling time, s")
    parser.add_argument("--patience", type=float, default=30.0, help="mean patience, s; 0: none")
    parser.add_argument("--duration", type=float, default=150.0, help="seconds of arrivals")
    parser.add_argument("--messages", type=float, default=50.0, help="target inbound texts/s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--db",
        help="a PostgreSQL URL (postgresql+asyncpg://…) to run on instead of SQLite;"
        " its public schema is emptied first",
    )
    args = parser.parse_args()
    if args.rate * args.handling >= args.buddies:
        parser.error("λ·handling must be below the buddy count (ρ < 1)")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
