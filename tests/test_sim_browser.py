"""The /sim page in headless Chromium: its script runs cleanly and drives the real pipeline."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Error, async_playwright, expect

from bot.config import Settings
from content import texts
from tests.conftest import running_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The page polls once a second; leave room for a slow machine.
REPLY_MS = 15_000

STOPPED = texts.render("compliance.stopped")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (`make browser` installs it)"
)


async def api_texts(base_url: str, address: str) -> list[str]:
    """What the simulator has delivered to ``address`` so far, oldest first."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/sim/api/messages", params={"to": address, "after": 0})
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


async def test_sim_page_texter_gets_replies_and_can_opt_out(settings: Settings) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The page declares an inline icon, so there is no favicon probe to excuse.
        if message.type == "error":
            problems.append(f"console: {message.text} at {message.location['url']}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    async with running_service(settings) as (base_url, _), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            response = await page.goto(f"{base_url}/sim")
            assert response is not None and response.status == 200

            phones = page.locator("section.phone")
            await expect(phones.nth(1)).to_be_visible()
            assert await phones.count() >= 2
            for i in range(await phones.count()):
                options = phones.nth(i).locator("select.role option")
                assert await options.all_inner_texts() == ["texter", "buddy", "coordinator"]
            texter, buddy = phones.nth(0), phones.nth(1)
            compose = texter.get_by_role("textbox", name="Message", exact=True)
            await expect(texter.locator("select.role")).to_have_value("texter")
            await expect(buddy.locator("select.role")).to_have_value("buddy")

            await compose.press_sequentially("hello from the browser")
            await texter.get_by_role("button", name="Send").click()
            await expect(
                texter.locator(".msg.out", has_text="hello from the browser")
            ).to_be_visible()
            await expect(compose).to_have_value("")
            # Whatever the routing rule answers, the page shows what the pipeline delivered
            # (contains: a bubble also holds the labels of any buttons under it).
            replies = texter.locator(".msg.in")
            await expect(replies).not_to_have_count(0, timeout=REPLY_MS)
            address = await texter.locator("input.address").input_value()
            delivered = await api_texts(base_url, address)
            await expect(replies.first).to_contain_text(delivered[0])

            await compose.fill("STOP")
            await texter.get_by_role("button", name="Send").click()
            await expect(replies.filter(has_text=STOPPED)).to_have_count(1, timeout=REPLY_MS)
            delivered = await api_texts(base_url, address)
            await expect(replies).to_have_count(len(delivered))
            await expect(replies).to_contain_text(delivered)
            await expect(texter.locator(".error")).to_have_text("")
            # Nobody else's phone saw any of it.
            await expect(buddy.locator(".msg")).to_have_count(0)
            assert problems == []
        finally:
            await browser.close()
