"""The server restarts under connected pages (issue 15, defect 7). A call in progress ends
with its transcript line and reason on both sides; the pages say the server is restarting and
come back by themselves; the agent is Online again (the status they chose) and chats are
routed to them. When their console stays away longer than the grace period, it says plainly
that they are Offline and offers to go back Online."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.conftest import free_port, start_server
from tests.test_browser import (
    SocketCutter,
    chat_card,
    customer_says,
    launched_chromium,
    sign_in_and_go_online,
    start_widget_chat,
)
from tests.test_browser_calls import CALL_ARGS, open_tab

pytestmark = pytest.mark.browser


async def retry_now(*pages: Page) -> None:
    """What a browser does when the network comes back: reconnect without waiting."""
    for page in pages:
        await page.evaluate("window.dispatchEvent(new Event('online'))")


async def test_pages_come_back_after_a_restart_and_say_what_happened(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    options = {"server": {"port": port}, "relay": {"workers": 1, "preload": True}}
    grace = {"agent_offline_grace_seconds": 30}
    server, runner = await start_server(data, **options, routing=grace)
    try:
        async with launched_chromium(CALL_ARGS) as browser:
            widget = await open_tab(browser, f"{server.url}/demo")
            console = await open_tab(browser, "about:blank")
            cutter = SocketCutter()
            await cutter.attach(console.page)
            await console.page.goto(f"{server.url}/agent")
            cpage, apage = widget.page, console.page
            await start_widget_chat(widget, name="Rosa")
            await customer_says(widget, "Can we talk on video?")
            await sign_in_and_go_online(console, server)
            card = chat_card(apage, "Rosa")
            await cpage.locator("[data-call-start=video]").click()
            await card.locator("[data-call-action=accept]").click()
            await expect(cpage.locator(".la-call")).to_have_attribute("data-link", "connected")

            # The server stops: the call ends with its line and reason, the pages say why.
            await runner.cleanup()
            for where in (cpage.locator(".la-transcript"), card.locator(".la-transcript")):
                line = where.locator(".la-msg--event", has_text="Video call ended")
                await expect(line).to_contain_text("Server restarted")
            await expect(cpage.locator(".la-call")).to_have_count(0)
            await expect(card.locator(".la-call")).to_have_count(0)
            await expect(apage.locator("#connection")).to_have_text(
                "The server is restarting. Reconnecting…"
            )
            await expect(cpage.locator(".la-chat > .la-banner--warn")).to_have_text(
                "The server is restarting. Reconnecting…"
            )
            await widget.shot("widget-server-restarting")

            # It is back: so are the pages, the agent is Online and gets the next chat.
            server, runner = await start_server(data, **options, routing=grace)
            await retry_now(cpage, apage)
            await expect(apage.locator("#connection")).to_be_hidden()
            await expect(cpage.locator(".la-chat > .la-banner--warn")).to_be_hidden()
            await expect(apage.locator("#presence-select")).to_have_value("online")
            await expect(apage.locator("#presence-prompt")).to_be_hidden()
            newcomer = await server.customer(name="Nico")
            try:
                await newcomer.say("Hello after the restart")
                await expect(chat_card(apage, "Nico")).to_have_count(1)
                await expect(apage.locator(".chat-tab")).to_have_count(2)
            finally:
                await newcomer.close()
            await expect(
                cpage.locator(".la-msg--event", has_text="Server restarted")
            ).to_have_count(1)

            # The console stays away longer than the grace period: told plainly, and asked.
            await cutter.cut()
            await runner.cleanup()
            server, runner = await start_server(
                data, **options, routing={"agent_offline_grace_seconds": 1}
            )
            await apage.wait_for_timeout(1500)
            await cutter.restore(apage)
            prompt = apage.locator("#presence-prompt")
            await expect(prompt).to_be_visible()
            await expect(prompt).to_contain_text("You are Offline")
            await expect(apage.locator("#presence-select")).to_have_value("offline")
            await console.shot("console-offline-after-outage")
            await prompt.get_by_role("button", name="Be Online again").click()
            await expect(apage.locator("#presence-select")).to_have_value("online")
            await expect(prompt).to_be_hidden()
            await expect(apage.locator("#presence-select")).to_be_focused()
            widget.assert_no_script_errors()
            console.assert_no_script_errors()
            for context in browser.contexts:
                await context.close()
    finally:
        await runner.cleanup()
