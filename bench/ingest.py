"""Ingest benchmark: signed Twilio SMS webhooks into Night Owl, against a bare endpoint.

    .venv/bin/python bench/ingest.py [--rates 50,100,200,400] [--seconds 10] [--conns 16]

On a shared machine, ``nice -n -10`` (as root) keeps other work from skewing the figures.

Night Owl runs as ``python -m bot.cli serve`` on a fresh SQLite file (on the same disk
as the system temp dir) with SMS on and fake credentials; its replies go to a FakeTwilio
served inside this process (at the shipped 1 segment/s, so a handful of requests a
second). The baseline is a bare Starlette route that parses the same form and answers
the same empty TwiML, served by uvicorn in its own process with the same settings.

Each target rate is an open-loop run: request i is due at start + i/rate whatever
happened to earlier ones, and its latency counts from when it was *due*, so a server
that falls behind shows it in p99 instead of slowing the client down. A final closed
loop (``--conns`` connections, back to back) finds each server's sustained maximum.
Night Owl's inbox is left to drain between steps so each step starts from the same
state; the drain time shows whether the inbox worker kept up. Server CPU per message
comes from /proc, so this runs on Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.fakes when run as bench/ingest.py

from tests.fakes.process import (  # noqa: E402
    child,
    cpu_seconds,
    free_port,
    night_owl_config,
    serve_args,
    wait_ready,
)
from tests.fakes.server import serve_app  # noqa: E402
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, signed_webhook  # noqa: E402

INBOUND_PATH = "/sms/twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FROM_NUMBER = "+447700900000"
SENDERS = 500  # distinct texters, cycled: realistic contact reuse
DRAIN_SECONDS = 15.0  # after a step's schedule, how long stragglers may take
INBOX_DRAIN_LIMIT = 120.0


# ----------------------------------------------------------------------- the servers


def bare_app() -> ASGIApp:
    """The least a Twilio webhook can do: read and parse the form, answer empty TwiML."""

    async def inbound(request: Request) -> Response:
        parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return Starlette(routes=[Route(INBOUND_PATH, inbound, methods=["POST"])])


def serve_bare(port: int) -> None:
    """Run in the child process: uvicorn configured as ``nightowl serve`` configures it."""
    uvicorn.run(
        bare_app(),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


# ----------------------------------------------------------------------- the load


Webhook = bytes  # a whole HTTP/1.1 request, signed and ready to write


@dataclass
class Step:
    label: str
    sent: int = 0
    errors: int = 0  # non-200s, transport errors, and those unanswered at the deadline
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    elapsed: float = 0.0
    client_cpu: float = 0.0  # this process's CPU time / elapsed: near 1.0 means we limit
    server_cores: float = 0.0  # server CPU time / elapsed: near 1.0 means it is saturated
    server_ms: float = 0.0  # server CPU per answered message, until it settled
    note: str = ""

    @property
    def achieved(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: int) -> float:
        """The q-th percentile latency in ms."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000


class Webhooks:
    """Signed inbound-SMS requests, each with a fresh MessageSid, built ahead of the clock."""

    def __init__(self, url: str, sid: str, token: str) -> None:
        self.url, self.sid, self.token = url, sid, token
        self.n = 0

    def batch(self, count: int) -> list[Webhook]:
        out = []
        for _ in range(count):
            self.n += 1
            sender = f"+4477009{self.n % SENDERS:05d}"
            params = inbound_sms_params(
                sender, FROM_NUMBER, f"bench message {self.n}", account_sid=self.sid
            )
            headers = signed_webhook(self.url, params, self.token)
            body = urlencode(params).encode()
            target = urlsplit(self.url)
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            out.append(
                f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n{head}"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        return out


class Connection:
    """One keep-alive HTTP/1.1 connection that writes prepared requests and reads the
    answers. A general client (httpx) spends a millisecond or more of this process's CPU
    on each request, enough at 200/s to make the load generator the bottleneck of both
    servers' tails."""

    def __init__(self, url: str) -> None:
        target = urlsplit(url)
        self.host, self.port = target.hostname or "127.0.0.1", target.port or 80
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, request: bytes) -> int:
        """The answer's status code (0 if the connection failed; the next call redials)."""
        try:
            if self.streams is None:
                self.streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.streams
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            return int(head.split(b" ", 2)[1])
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.close()
            return 0

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def drive(
    url: str,
    conns: int,
    step: Step,
    queue: asyncio.Queue[tuple[float | None, Webhook]],
    feed: Awaitable[None],
    deadline: float,
) -> None:
    """``conns`` connections take (due time, request) off ``queue`` while ``feed`` fills
    it; each latency runs from the request's due time (None: from when it is taken).
    Bounded by ``deadline``."""
    loop = asyncio.get_running_loop()

    async def worker(connection: Connection) -> None:
        try:
            while True:
                due, request = await queue.get()
                due = loop.time() if due is None else due
                if await connection.post(request) == 200:
                    step.latencies.append(loop.time() - due)
                queue.task_done()
        finally:
            connection.close()

    workers = [asyncio.create_task(worker(Connection(url))) for _ in range(conns)]
    cpu, began = time.process_time(), loop.time()
    try:
        async with asyncio.timeout_at(deadline):
            await feed
            await queue.join()
    except TimeoutError:
        pass
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    step.elapsed = loop.time() - began
    step.client_cpu = (time.process_time() - cpu) / step.elapsed
    step.errors = step.sent - len(step.latencies)


async def open_loop(hooks: Webhooks, conns: int, rate: float, seconds: float) -> Step:
    """Request i is due at start + i/rate, whatever happened to the ones before it."""
    step = Step(f"{rate:g}/s")
    requests = hooks.batch(int(rate * seconds))
    queue: asyncio.Queue[tuple[float | None, Webhook]] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def schedule() -> None:
        for i, request in enumerate(requests):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            queue.put_nowait((due, request))
            step.sent += 1

    await drive(hooks.url, conns, step, queue, schedule(), start + seconds + DRAIN_SECONDS)
    return step


async def closed_loop(hooks: Webhooks, conns: int, seconds: float) -> Step:
    """``conns`` connections sending back to back: the server's sustained maximum."""
    step = Step(f"max ({conns} conns)")
    queue: asyncio.Queue[tuple[float | None, Webhook]] = asyncio.Queue(maxsize=1)
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def refill() -> None:
        while loop.time() < stop_at:
            for request in hooks.batch(conns):
                await queue.put((None, request))
                step.sent += 1

    await drive(hooks.url, conns, step, queue, refill(), stop_at + DRAIN_SECONDS)
    return step


# ----------------------------------------------------------------------- the runs


async def run_steps(
    url: str,
    sid: str,
    token: str,
    pid: int,
    args: argparse.Namespace,
    settle: Callable[[], Awaitable[str]] | None = None,
) -> tuple[list[Step], int]:
    """A warm-up, the open-loop steps, then the closed loop, each followed by ``settle``;
    the steps and how many requests were answered 200 in all."""
    hooks = Webhooks(url, sid, token)

    async def measured(run: Awaitable[Step]) -> Step:
        before = cpu_seconds(pid)
        step = await run
        step.server_cores = (cpu_seconds(pid) - before) / step.elapsed
        if settle:
            step.note = await settle()
        # Everything the server spent on these messages, their processing included.
        step.server_ms = 1000 * (cpu_seconds(pid) - before) / max(1, len(step.latencies))
        return step

    warm_up = await measured(open_loop(hooks, args.conns, 50, 1))
    steps = [
        await measured(open_loop(hooks, args.conns, rate, args.seconds)) for rate in args.rates
    ]
    steps.append(await measured(closed_loop(hooks, args.conns, args.seconds)))
    return steps, sum(len(s.latencies) for s in [warm_up, *steps])


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def drain(client: httpx.AsyncClient) -> str:
    """Wait (bounded) for Night Owl's inbox to empty; how long it took, or what's left."""
    began = time.monotonic()
    while True:
        text = (await client.get("/metrics")).text
        left = metric(text, "nightowl_queue_depth", queue="inbox", channel="sms")
        waited = time.monotonic() - began
        if left == 0:
            return f"inbox drained {waited:.1f}s after the step"
        if waited > INBOX_DRAIN_LIMIT:
            return f"inbox still {left:.0f} deep {waited:.0f}s after the step"
        await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> None:
    sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    work = Path(tempfile.mkdtemp(prefix="nightowl-bench-"))
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; work dir {work}"
    )

    bare_port = free_port()
    bare_url = f"http://127.0.0.1:{bare_port}{INBOUND_PATH}"
    bare_log = work / "bare.log"
    with child([__file__, "--serve-bare", str(bare_port)], bare_log) as proc:
        async with httpx.AsyncClient(trust_env=False) as probe:
            await wait_ready(proc, lambda: probe.post(bare_url), bare_log)
        bare, _ = await run_steps(bare_url, sid, token, proc.pid, args)

    fake = FakeTwilio(sid, token)
    async with serve_app(fake.app) as twilio_url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        config, log = work / "config.toml", work / "nightowl.log"
        sms = f"""
[sms]
account_sid = "{sid}"
auth_token = "{token}"
from_number = "{FROM_NUMBER}"
api_base_url = "{twilio_url}"
"""
        config.write_text(night_owl_config(port, work / "nightowl.db", args.log, sms), "utf-8")
        with child(serve_args(config), log) as proc:
            async with httpx.AsyncClient(base_url=base_url, trust_env=False) as probe:
                await wait_ready(proc, lambda: probe.get("/healthz"), log)
                ours, answered = await run_steps(
                    base_url + INBOUND_PATH, sid, token, proc.pid, args, lambda: drain(probe)
                )
                metrics = (await probe.get("/metrics")).text
        stored = metric(
            metrics, "nightowl_inbound_messages_total", channel="sms", result="accepted"
        )

    print(f"# Night Owl log level {args.log}; {args.conns} client connections\n")
    side = f"{'msg/s':>7} {'p50 ms':>7} {'p99 ms':>8} {'err':>5} {'srv ms':>6} {'cli':>4}"
    head = f"{'target':>14} | bare {side} | night owl {side} {'cores':>5} | {'owl/bare':>8}"
    print(head)
    print("-" * len(head))
    for b, o in zip(bare, ours, strict=True):
        ratio = o.achieved / b.achieved if b.achieved else float("nan")
        print(f"{b.label:>14} | {row(b)} | {'':9}{row(o)} {o.server_cores:5.2f} | {ratio:8.2f}")
    print(
        "\n# srv ms: server CPU per answered message (Night Owl: until its inbox drained)."
        "\n# cli: the load generator's own CPU use; near 1.0 it, not the server, is the limit."
        "\n# cores: Night Owl's CPU use during the step; near 1.0 its event loop is saturated."
    )
    for step in ours:
        print(f"# {step.label}: {step.note}")
    print(f"# Night Owl stored {stored:.0f} inbound for {answered} answered webhooks")
    print(f"# FakeTwilio received {len(fake.messages)} replies (sent at 1 segment/s)")
    print(f"# target: sustained >= 0.5 x bare -> {ours[-1].achieved / bare[-1].achieved:.2f} x")
    at_200 = next((o for o in ours if o.label == "200/s"), None)
    if at_200:
        print(f"# target: p99 < 25 ms at 200 msg/s -> {at_200.pct(99):.1f} ms")
    if bare[-1].client_cpu > 0.85:
        print("#   (the bare max is held down by this load generator: the ratio flatters us)")
    if re.search(r'"level": "(ERROR|CRITICAL)"', log.read_text(encoding="utf-8")):
        print(f"# Night Owl logged errors: see {log}")


def row(step: Step) -> str:
    return (
        f"{step.achieved:7.1f} {step.pct(50):7.2f} {step.pct(99):8.2f} {step.errors:5d}"
        f" {step.server_ms:6.2f} {step.client_cpu:4.2f}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[50.0, 100.0, 200.0, 400.0],
        help="open-loop target rates, msg/s, comma-separated",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each step")
    parser.add_argument("--conns", type=int, default=16, help="client connections")
    parser.add_argument(
        "--log",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Night Owl log level (shipped default: INFO)",
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_bare:
        serve_bare(arguments.serve_bare)
    else:
        asyncio.run(main(arguments))
