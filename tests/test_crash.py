"""Crash safety for real: the service runs as its own process and is SIGKILLed mid-stream.

Every message the simulator API acknowledged (202) must be handled exactly once after a
restart, and every reply delivered exactly once; sends a crashed process had claimed but
not finished must go out after the restart, once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select

from bot.messages import Channel, InboundMessage, Outbound
from bot.segments import split_telegram
from bot.store import contacts as contacts_repo
from bot.store import inbox as inbox_repo
from bot.store import outbox as outbox_repo
from bot.store.engine import Store
from bot.store.tables import contacts, inbox, outbox, sim_deliveries
from content import texts
from tests.conftest import eventually
from tests.fakes.process import free_port, night_owl_config, serve_args, start, tail, wait_ready

STOP_SECONDS = 15.0
# What the texters send: a compliance word, so every message gets exactly one reply
# (the help text) whatever the rest of the routing rule does with ordinary messages.
ASK = "HELP"
HELP = texts.render("compliance.help")


@dataclass
class NightOwl:
    """``python -m bot.cli serve`` on its own config, SQLite file and port."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.db = self.root / "nightowl.db"
        self.config = self.root / "config.toml"
        self.log = self.root / "service.log"
        fast_retries = """
[sim]
enabled = "on"

[dispatch]
backoff_base_seconds = 0.05
backoff_max_seconds = 0.5
poll_seconds = 0.1
"""
        self.config.write_text(night_owl_config(self.port, self.db, more=fast_retries), "utf-8")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = start(serve_args(self.config), self.log)

    async def wait_healthy(self) -> None:
        assert self.proc is not None
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            await wait_ready(self.proc, lambda: client.get("/healthz"), self.log)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    async def stop(self) -> None:
        """A clean stop: SIGTERM, then uvicorn's graceful shutdown and the lifespan."""
        assert self.proc is not None
        self.proc.terminate()
        code = await asyncio.to_thread(self.proc.wait, STOP_SECONDS)
        # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
        assert code in (0, -signal.SIGTERM), f"exit {code}:\n{tail(self.log)}"

    def engine(self) -> Engine:
        """A plain (sync) engine on the same file, for reading what is on disk."""
        return create_engine(f"sqlite:///{self.db}")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[NightOwl]:
    """A service on this test's own files; its process is killed at the end, whatever happens."""
    service = NightOwl(tmp_path)
    try:
        yield service
    finally:
        service.kill()


async def all_deliveries(client: httpx.AsyncClient, address: str) -> list[dict[str, Any]]:
    """Everything the simulated phone ``address`` has received, following the cursor."""
    got: list[dict[str, Any]] = []
    cursor = 0
    while True:
        response = await client.get("/sim/api/messages", params={"to": address, "after": cursor})
        assert response.status_code == 200, response.text
        body = response.json()
        if not body["messages"]:
            return got
        got.extend(body["messages"])
        cursor = body["cursor"]


def pending_work(engine: Engine) -> tuple[int, int]:
    """(inbox rows not yet handled, outbox rows not yet sent)."""
    with engine.connect() as conn:
        waiting_in = conn.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.status == "pending")
        )
        waiting_out = conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        )
    return int(waiting_in or 0), int(waiting_out or 0)


async def test_sigkill_mid_stream_loses_and_repeats_nothing(service: NightOwl) -> None:
    total, senders = 200, [f"crash{n}" for n in range(5)]
    service.start()
    await service.wait_healthy()

    acked: dict[int, str] = {}  # inbox id -> sender
    lost = 0
    pending_at_kill: tuple[int, int] | None = None

    async with httpx.AsyncClient(
        base_url=service.base_url, timeout=30.0, limits=httpx.Limits(max_connections=16)
    ) as client:

        async def send(n: int) -> None:
            nonlocal lost, pending_at_kill
            sender = senders[n % len(senders)]
            try:
                response = await client.post("/sim/api/send", json={"from": sender, "text": ASK})
            except httpx.TransportError:  # the process died under this request
                lost += 1
                return
            assert response.status_code == 202, response.text
            acked[int(response.json()["id"])] = sender
            if len(acked) == total // 2:
                service.kill()  # other sends are still in flight right now
                on_disk = service.engine()
                pending_at_kill = pending_work(on_disk)
                on_disk.dispose()

        await asyncio.gather(*(send(n) for n in range(total)))

    assert total // 2 <= len(acked) < total, "the kill should land mid-stream"
    assert lost == total - len(acked)
    assert pending_at_kill is not None and sum(pending_at_kill) > 0, (
        f"nothing was left to recover at the kill: {pending_at_kill}"
    )

    service.start()
    await service.wait_healthy()
    engine = service.engine()
    await eventually(lambda: asyncio.to_thread(pending_work, engine), lambda p: p == (0, 0), 60)

    with engine.connect() as conn:
        received = conn.execute(
            select(inbox.c.id, inbox.c.text, inbox.c.status, contacts.c.address).join(
                contacts, contacts.c.id == inbox.c.contact_id
            )
        ).all()
        replies = conn.execute(
            select(outbox.c.id, outbox.c.inbox_id, outbox.c.status, outbox.c.text)
        ).all()
        deliveries = conn.execute(
            select(sim_deliveries.c.address, sim_deliveries.c.outbox_id).order_by(
                sim_deliveries.c.id
            )
        ).all()
    engine.dispose()

    # Every acknowledged message is in the inbox, handled; the only others are messages
    # that were stored but whose 202 died with the process.
    inbox_rows = {row.id: row for row in received}
    for inbox_id, sender in acked.items():
        assert inbox_id in inbox_rows, f"acknowledged message {inbox_id} was lost"
        assert inbox_rows[inbox_id].address == sender
    assert len(received) <= total
    assert {row.text for row in received} == {ASK}
    assert {row.status for row in received} == {"done"}

    # Handled exactly once: one HELP reply per message, each delivered exactly once.
    assert sorted(r.inbox_id for r in replies) == sorted(inbox_rows)
    assert {(r.status, r.text) for r in replies} == {("sent", HELP)}
    reply_for = {r.id: r.inbox_id for r in replies}
    assert sorted(d.outbox_id for d in deliveries) == sorted(reply_for)
    for sender in senders:
        # ...to the right phone, in the order its messages arrived.
        answered = [reply_for[d.outbox_id] for d in deliveries if d.address == sender]
        assert answered == sorted(i for i, row in inbox_rows.items() if row.address == sender)
    async with httpx.AsyncClient(base_url=service.base_url) as client:
        for sender in senders:
            texts_seen = [m["text"] for m in await all_deliveries(client, sender)]
            mine = sum(1 for row in received if row.address == sender)
            assert texts_seen == [HELP] * mine, sender


async def test_sends_a_crashed_process_left_pending_or_claimed_go_out_once(
    service: NightOwl,
) -> None:
    service.start()
    await service.wait_healthy()
    await service.stop()

    # The state a crash between "handled" and "sent" leaves behind, written with the
    # store's own API: queued replies, and replies claimed by a sender that then died
    # holding an hour-long lease. Plus messages acknowledged but never handled.
    phones = [f"lease{n}" for n in range(4)]
    expected: dict[str, list[str]] = {}
    store = Store(f"sqlite+aiosqlite:///{service.db}")
    try:
        async with store.tx() as conn:
            for phone in phones:
                contact = await contacts_repo.get_or_create(conn, Channel.SIM, phone)
                for k in range(3):
                    text = f"queued {phone} {k}"
                    await outbox_repo.enqueue(conn, contact, Outbound(text), split_telegram)
                    expected.setdefault(phone, []).append(text)
        async with store.tx() as conn:
            claimed = await outbox_repo.claim(conn, "sim", 2, timedelta(hours=1))
        async with store.tx() as conn:
            for k in range(2):
                msg = InboundMessage(
                    channel=Channel.SIM,
                    address=phones[0],
                    provider_id=f"unhandled{k}",
                    text=ASK,
                )
                assert await inbox_repo.record(conn, msg) is not None
    finally:
        await store.close()
    assert len(claimed) == 2
    engine = service.engine()
    with engine.connect() as conn:
        leases = conn.execute(
            select(outbox.c.claimed_at, outbox.c.next_attempt_at).where(
                outbox.c.id.in_([row.id for row in claimed])
            )
        ).all()
    assert all(lease.claimed_at is not None for lease in leases)
    assert all(
        lease.next_attempt_at - lease.claimed_at >= timedelta(minutes=59) for lease in leases
    )

    service.start()
    await service.wait_healthy()
    # Well inside the hour-long lease: the restart itself must release the claims.
    await eventually(lambda: asyncio.to_thread(pending_work, engine), lambda p: p == (0, 0), 30)

    with engine.connect() as conn:
        delivered_outbox_ids = conn.scalars(select(sim_deliveries.c.outbox_id)).all()
        statuses = conn.scalars(select(outbox.c.status)).all()
    engine.dispose()
    assert len(delivered_outbox_ids) == len(set(delivered_outbox_ids)) == len(statuses)
    assert set(statuses) == {"sent"}

    async with httpx.AsyncClient(base_url=service.base_url) as client:
        for phone in phones:
            answers = [HELP, HELP] if phone == phones[0] else []
            got = [m["text"] for m in await all_deliveries(client, phone)]
            assert got == expected[phone] + answers, phone
