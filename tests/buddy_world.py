"""A running Night Owl with a coordinator, buddies and texters on simulated phones."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.service import Service
from tests.conftest import SimPhone, make_settings, serving

COORD = "coordinator-1"


class Phone(SimPhone):
    """A simulated phone that remembers what it has already read."""

    def __init__(self, client: httpx.AsyncClient, address: str) -> None:
        super().__init__(client, address)
        self.read = 0

    async def say(self, text: str, expect: int = 1, timeout: float = 10.0) -> list[str]:
        """Send ``text``; return the next ``expect`` new messages this phone receives."""
        await self.send(text)
        return await self.expect(expect, timeout)

    async def expect(self, count: int = 1, timeout: float = 10.0) -> list[str]:
        got = await self.wait_for(self.read + count, timeout)
        new = got[self.read : self.read + count]
        self.read += count
        return new

    async def silent(self) -> None:
        """Nothing more has arrived (checked after the pipeline has gone idle)."""
        got = await self._poll()
        assert got[self.read :] == [], f"{self.address} got unexpected {got[self.read :]}"


class World:
    def __init__(self, client: httpx.AsyncClient, service: Service) -> None:
        self.client = client
        self.service = service
        self.coord = Phone(client, COORD)

    def phone(self, address: str) -> Phone:
        return Phone(self.client, address)

    async def enrol(self, address: str, handle: str, queue: str = "default") -> Phone:
        [invite] = await self.coord.say(f"/invite {queue}")
        code = re.search(r"JOIN (\w+)", invite)
        assert code, invite
        buddy = self.phone(address)
        [welcome] = await buddy.say(f"JOIN {code.group(1)} {handle}")
        assert welcome.startswith(f"Welcome, {handle}!"), welcome
        return buddy

    async def chat_with(
        self, texter_address: str, first: str = "hello"
    ) -> tuple[Phone, Phone, str]:
        """Sam goes on duty and takes a new texter: (texter, sam, "Owl-XX")."""
        sam = await self.enrol("buddy-sam", "Sam")
        await sam.say("on")
        texter = self.phone(texter_address)
        await texter.say(first)
        [alert] = await sam.expect()
        label = re.search(r"Owl-\w\w", alert)
        assert label, alert
        await sam.say("next", expect=2)
        await texter.expect()
        return texter, sam, label.group(0)

    async def idle(self) -> None:
        """Wait until every inbound message is handled and every reply sent."""
        from sqlalchemy import func, select

        from bot.store.tables import inbox, outbox
        from tests.conftest import eventually

        async def pending() -> int:
            async with self.service.store.read() as conn:
                a = await conn.execute(select(func.count()).where(inbox.c.status == "pending"))
                b = await conn.execute(select(func.count()).where(outbox.c.status == "pending"))
                return int(a.scalar_one()) + int(b.scalar_one())

        await eventually(pending, lambda n: n == 0)


@asynccontextmanager
async def buddy_world(tmp_path: Path, **sections: Any) -> AsyncIterator[World]:
    roles = {"coordinators": [f"sim:{COORD}"], "on_call": [f"sim:{COORD}"]}
    settings = make_settings(tmp_path, roles=roles, **sections)
    async with (
        serving(settings) as (client, service),
    ):
        yield World(client, service)
