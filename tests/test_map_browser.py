"""/map in headless Chromium: it renders, offline, with no console errors or requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, Error, Request, async_playwright

from bot.config import Settings
from tests.conftest import running_service
from tests.test_sim_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed")


async def test_map_renders_with_no_errors_and_no_outside_requests(settings: Settings) -> None:
    problems: list[str] = []
    requests: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    def on_request(request: Request) -> None:
        requests.append(request.url)

    async with running_service(settings) as (base_url, service), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            page.on("request", on_request)
            response = await page.goto(f"{base_url}/map")
            assert response is not None and response.status == 200
            await page.wait_for_load_state("load")
            heading = await page.locator("h1").first.inner_text()
            assert "Night Owl" in heading
            body = await page.locator("body").inner_text()
            assert "116 123" in body  # the crisis card is on the page
            first_meeting = service.content.network.meetings[0].name
            assert first_meeting in body
            pdf = await page.pdf()  # it prints
            assert pdf.startswith(b"%PDF")
        finally:
            await browser.close()
    assert problems == []
    assert requests == [f"{base_url}/map"]
