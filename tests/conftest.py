"""Shared fixtures: settings on a temporary database, the real app on 127.0.0.1, a
simulator client, and a capture of every log line the suite produces."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select, text

from bot.app import create_app
from bot.config import Settings
from bot.logs import JsonFormatter, quiet_libraries
from bot.service import Service
from bot.store.engine import Store
from bot.store.migrate import upgrade
from tests.fakes.server import serve_app

T = TypeVar("T")
POSTGRES_URL = os.environ.get("NIGHTOWL_TEST_POSTGRES_URL")


def make_settings(tmp_path: Path, db_url: str | None = None, **sections: Any) -> Settings:
    """Settings for a test: its own SQLite file, the simulator on, fast retries."""
    data: dict[str, Any] = {
        "database": {"url": db_url or f"sqlite+aiosqlite:///{tmp_path / 'nightowl.db'}"},
        "dispatch": {
            "backoff_base_seconds": 0.05,
            "backoff_max_seconds": 0.5,
            "poll_seconds": 0.05,
        },
        "log": {"level": "DEBUG"},
        # Open all day so tests do not depend on the clock; hours have their own tests.
        "queues": [{"name": "default", "default_hours": "00:00-24:00"}],
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values} if isinstance(values, dict) else values
    return Settings(**data)


async def reset_database(store: Store) -> None:
    """Empty a shared (PostgreSQL) test database so each test starts clean, whatever an
    earlier run left in it."""
    async with store.tx() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


@asynccontextmanager
async def running_service(settings: Settings) -> AsyncIterator[tuple[str, Service]]:
    """Migrate, then serve the real app on 127.0.0.1; yields (base_url, service)."""
    store = Store(settings.database.url)
    if not store.is_sqlite:
        await reset_database(store)
    await upgrade(store)
    service = Service(settings, store)
    async with serve_app(create_app(settings, service)) as base_url:
        yield base_url, service


async def eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float = 10.0
) -> T:
    """Poll ``probe`` until ``ok(result)``, failing with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if ok(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {result!r}")
        await asyncio.sleep(0.02)


class SimPhone:
    """Drives the simulator API the way the /sim page does."""

    def __init__(self, client: httpx.AsyncClient, address: str) -> None:
        self.client = client
        self.address = address
        self.cursor = 0
        self.received: list[str] = []

    async def send(self, text: str) -> int:
        response = await self.client.post(
            "/sim/api/send", json={"from": self.address, "text": text}
        )
        assert response.status_code == 202, response.text
        return int(response.json()["id"])

    async def _poll(self) -> list[str]:
        response = await self.client.get(
            "/sim/api/messages", params={"to": self.address, "after": self.cursor}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        self.cursor = body["cursor"]
        self.received.extend(m["text"] for m in body["messages"])
        return self.received

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        """Every message received so far, once there are at least ``count``."""
        return await eventually(self._poll, lambda got: len(got) >= count, timeout)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    """The real service on 127.0.0.1 and an HTTP client pointed at it."""
    async with (
        running_service(settings) as (base_url, service),
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        yield client, service


@pytest.fixture
async def sim_service(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    async with serving(settings) as (client, service):
        yield client, service


# Every log line of the whole run, formatted as in production, for the privacy test.
class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


LOG_CAPTURE = _Capture()


@pytest.fixture(scope="session", autouse=True)
def capture_all_logs() -> Iterator[_Capture]:
    quiet_libraries()
    root = logging.getLogger()
    root.addHandler(LOG_CAPTURE)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield LOG_CAPTURE
    root.removeHandler(LOG_CAPTURE)
    root.setLevel(previous)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """A migrated, empty store on each database under test."""
    store = Store(db_url)
    if not store.is_sqlite:
        await reset_database(store)
    await upgrade(store)
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Store tests run on SQLite always, and on PostgreSQL when one is configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    if not POSTGRES_URL:
        pytest.skip("NIGHTOWL_TEST_POSTGRES_URL not set")
    return POSTGRES_URL


async def count_rows(service: Service, table: Any, *where: Any) -> int:
    """How many rows of ``table`` match ``where``: for 'nothing was stored' assertions."""
    async with service.store.read() as conn:
        result = await conn.execute(select(func.count()).select_from(table).where(*where))
        return int(result.scalar_one())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Whatever the tests did, no log line of the run may hold a phone number."""
    leaked = [line for line in LOG_CAPTURE.lines if re.search(r"\+\d{10,15}", line)]
    if leaked:
        print(f"\n{len(leaked)} log line(s) contain a phone number, e.g.: {leaked[0][:200]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Every outbound text of every test, checked for other people's addresses.
USERNAMES = ("alex_test", "zelda_secret_user")


@pytest.fixture(autouse=True)
def no_address_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if any message we queue holds a phone number, a Telegram username,
    or the address of a contact other than its recipient."""
    from bot.store import contacts as contacts_repo
    from bot.store import outbox as outbox_repo

    addresses: dict[int, str] = {}
    queued: list[tuple[int | None, str]] = []
    real_get_or_create = contacts_repo.get_or_create
    real_enqueue = outbox_repo.enqueue

    async def get_or_create(conn: Any, channel: str, address: str) -> Any:
        contact = await real_get_or_create(conn, channel, address)
        addresses[contact.id] = address
        return contact

    async def enqueue(conn: Any, contact: Any, out: Any, *args: Any, **kwargs: Any) -> Any:
        addresses.setdefault(contact.id, contact.address)
        queued.append((contact.id, out.text))
        return await real_enqueue(conn, contact, out, *args, **kwargs)

    real_enqueue_many = outbox_repo.enqueue_many

    async def enqueue_many(conn: Any, splitters: Any, sends: Any) -> Any:
        sends = list(sends)
        for contact, out in sends:
            addresses.setdefault(contact.id, contact.address)
            queued.append((contact.id, out.text))
        return await real_enqueue_many(conn, splitters, sends)

    real_enqueue_each = outbox_repo.enqueue_each

    async def enqueue_each(conn: Any, messages: Any, to: Any) -> Any:
        # Texts to many people at once: nobody's address at all.
        queued.extend((None, out.text) for _, _, out in messages)
        return await real_enqueue_each(conn, messages, to)

    monkeypatch.setattr(contacts_repo, "get_or_create", get_or_create)
    monkeypatch.setattr(outbox_repo, "enqueue", enqueue)
    monkeypatch.setattr(outbox_repo, "enqueue_many", enqueue_many)
    monkeypatch.setattr(outbox_repo, "enqueue_each", enqueue_each)
    yield
    for recipient, body in queued:
        assert not re.search(r"\+\d{10,15}", body), (
            f"a phone number in an outbound message: {body!r}"
        )
        for name in USERNAMES:
            assert name not in body, f"a Telegram username in an outbound message: {body!r}"
        for contact_id, address in addresses.items():
            if contact_id != recipient and len(address) >= 6:
                assert address not in body, (
                    f"contact {contact_id}'s address sent to {recipient}: {body!r}"
                )
