"""Outbound Telegram throughput under Telegram's limits.

Queues N messages to N different chats and lets Night Owl's Telegram dispatcher send
them through the real python-telegram-bot client to a fake Bot API on 127.0.0.1 that
answers 429 to anything over 30 messages per second (and 1 per chat). Prints the
achieved rate against the limit, the 429s and anything lost.

    .venv/bin/python bench/dispatch.py            # 5,000 messages, about three minutes
    .venv/bin/python bench/dispatch.py --messages 600
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import create_app
from bot.config import Settings
from bot.messages import Outbound, Priority
from bot.outgoing import write
from bot.service import Service
from bot.store import contacts as contacts_repo
from bot.store.migrate import upgrade
from tests.fakes.server import serve_app
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123456:BENCH"
LIMIT = 30


async def run(messages: int) -> None:
    fake = FakeTelegram(TOKEN, global_per_second=LIMIT, per_chat_per_second=1)
    with tempfile.TemporaryDirectory() as tmp:
        async with serve_app(fake.app) as fake_url:
            settings = Settings(
                database={"url": f"sqlite+aiosqlite:///{tmp}/bench.db"},
                telegram={"token": TOKEN, "webhook_secret": "s", "api_base_url": fake_url},
                log={"level": "WARNING"},
            )
            service = Service(settings)
            await upgrade(service.store)
            async with serve_app(create_app(settings, service)):
                queued = time.monotonic()
                async with service.store.tx() as conn:
                    split = service.senders["telegram"].split
                    for chat in range(1, messages + 1):
                        person = await contacts_repo.get_or_create(
                            conn, "telegram", str(10_000 + chat)
                        )
                        await write(
                            conn,
                            {"telegram": split},
                            person,
                            [Outbound(f"notice {chat}", priority=Priority.BULK)],
                        )
                service.outlet.notify({"telegram"})
                sent = await fake.wait_for_sent(messages, timeout=messages / LIMIT * 1.5 + 30)
    first, last = sent[0].at, sent[-1].at
    rate = (len(sent) - 1) / (last - first)
    chats = {c.chat_id for c in sent}
    print(f"messages queued         {messages}")
    print(f"queue write time        {sent[0].at - queued:.2f} s (until the first send)")
    print(f"sent                    {len(sent)} to {len(chats)} distinct chats")
    print(f"lost                    {messages - len(chats)}")
    print(f"429 Too Many Requests   {fake.too_many_requests}")
    print(f"first to last send      {last - first:.1f} s")
    print(f"achieved rate           {rate:.2f} msg/s = {rate / LIMIT:.1%} of the {LIMIT}/s limit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    asyncio.run(run(parser.parse_args().messages))


if __name__ == "__main__":
    main()
