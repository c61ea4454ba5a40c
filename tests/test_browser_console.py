"""The agent console with several chats and a ticket that changes under it (issue 15,
defects 5 and 6): at 1280x720 three chats never scroll sideways; each chat's button says how
many of the customer's messages are unread and whether they wait for a reply; the Chats badge
counts unread messages; Alt+↑/↓ switch chats with the focus in the new one's message box; a
call ringing in another chat is shown and announced without taking the focus. The ticket panel
shows what the server has: solved when the chat ends, and a save made on an older version is
refused with a clear message and the current fields on offer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from loadtest.clients import Customer
from tests.conftest import start_server
from tests.page_checks import AxeLog, all_in_view, focused, sideways
from tests.test_browser import chat_card, launched_chromium, sign_in_and_go_online
from tests.test_browser_calls import CALL_ARGS, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

NAMES = ("Ada", "Ben", "Cem")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the module's tests (each has its own contexts)."""
    async with launched_chromium(CALL_ARGS) as chromium:
        yield chromium


def tab_of(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(".chat-tab", has=page.locator(".chat-tab__name", has_text=name))


async def test_three_chats_at_1280x720_unread_marks_shortcut_and_a_call_elsewhere(
    browser: Browser, tmp_path: Path
) -> None:
    server, runner = await start_server(tmp_path / "data", relay={"workers": 1, "preload": True})
    people = [await server.customer(name=name) for name in NAMES]
    try:
        for person in people:
            await person.say(f"Hello, this is {person.session['customer']['name']}")
        console = await open_tab(browser, f"{server.url}/agent")
        page = console.page
        await page.set_viewport_size({"width": 1280, "height": 720})
        await sign_in_and_go_online(console, server)
        await expect(page.locator(".chat-tab")).to_have_count(3)
        ada, ben, cem = (tab_of(page, name) for name in NAMES)
        await expect(ada).to_have_attribute("aria-current", "true")
        # Nothing sideways, and the open chat usable, with the two others a click away.
        assert await sideways(page) == []
        card = ".chat-card:not([hidden])"
        usable = [("newest", f"{card} .la-msg", True), ("box", f"{card} .la-composer__text", False)]
        assert await all_in_view(page, usable) == {}

        # The customers' unread messages, per chat and in the Chats badge (not the chat count).
        await expect(ben.locator(".chat-tab__unread")).to_contain_text("1")
        await people[1].say("Are you there?")
        await people[1].say("It is urgent")
        await expect(ben.locator(".chat-tab__unread")).to_contain_text("3")
        await expect(cem.locator(".chat-tab__unread")).to_contain_text("1")
        await expect(ada.locator(".chat-tab__unread")).to_have_count(0)
        await expect(page.locator("#chat-count-n")).to_have_text("4")
        await expect(page.locator("#chat-count-label")).to_have_text("4 unread messages")
        for tab in (ada, ben, cem):
            await expect(tab.locator(".chat-tab__waiting")).to_have_text("Waiting for your reply")
        box = chat_card(page, "Ada").locator(".la-composer__text")
        await box.fill("Hi Ada, looking into it")
        await box.press("Enter")
        await expect(ada.locator(".chat-tab__waiting")).to_have_count(0)

        # Alt+↓ from the message box: the next chat, its message box focused, read, announced.
        await page.keyboard.press("Alt+ArrowDown")
        await expect(ben).to_have_attribute("aria-current", "true")
        await expect(chat_card(page, "Ben").locator(".la-composer__text")).to_be_focused()
        await expect(page.locator("[data-announcer=polite]")).to_have_text("Chat 2 of 3: Ben")
        await expect(ben.locator(".chat-tab__unread")).to_have_count(0)
        await expect(page.locator("#chat-count-n")).to_have_text("1")
        read = await people[1].next("read", where=lambda r: r["reader"] == "agent")
        assert read["seq"] >= 3
        await expect(page.locator(".chat-switcher__hint")).to_have_text(
            "Alt+↑ / Alt+↓ switch chats"
        )
        await page.keyboard.press("Alt+ArrowUp")
        await expect(ada).to_have_attribute("aria-current", "true")
        await expect(box).to_be_focused()

        # Cem calls while the agent types to Ada: shown above, announced, the focus stays.
        await box.press_sequentially("One more thing")
        start = {"chat_id": people[2].chat_id, "media": "audio"}
        call = await people[2].request("call.start", start)
        ringing = page.locator(f".ring-banner__call[data-call-id='{call['id']}']")
        await expect(ringing).to_contain_text("Cem is calling (audio call)")
        await expect(cem.locator(".chat-tab__call")).to_have_text("Incoming call")
        await expect(page.locator("[data-announcer=assertive]")).to_contain_text(
            "Cem is calling you (audio call)"
        )
        await expect(box).to_be_focused()
        await expect(box).to_have_value("One more thing")
        await expect(ada).to_have_attribute("aria-current", "true")
        assert await all_in_view(page, usable) == {}
        axe = AxeLog("console")
        assert await axe.check(page, "three chats, a call ringing elsewhere", console) == []
        await console.shot("console-three-chats-ringing-elsewhere")

        # Accepting there opens that chat with the focus on its call's controls.
        await ringing.locator("[data-ring-action=accept]").click()
        await expect(cem).to_have_attribute("aria-current", "true")
        cem_card = chat_card(page, "Cem")
        await expect(cem_card.locator("[data-call-action=mute]")).to_be_focused()
        await expect(page.locator(".ring-banner")).to_be_hidden()
        await cem_card.locator("[data-call-action=hangup]").click()
        await expect(cem_card.locator(".la-call")).to_have_count(0)
        assert await focused(page) != "BODY"
        axe.write()
        console.assert_no_script_errors()
        await page.context.close()
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()


async def test_the_ticket_panel_shows_what_the_server_has(browser: Browser, tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data")
    customer: Customer = await server.customer(name="Dora", topic="billing")
    admin = await server.staff("admin@demo.local")
    try:
        await customer.say("Please cancel my order")
        console = await open_tab(browser, f"{server.url}/agent")
        page = console.page
        await page.set_viewport_size({"width": 1440, "height": 900})
        await sign_in_and_go_online(console, server)
        form = page.locator(".details .ticket-form")
        status = form.locator("select[name=status]")
        await expect(status).to_have_value("open")

        # The customer leaves: the server solves the ticket, and the panel says so at once.
        await customer.request("chat.end", {"chat_id": customer.chat_id})
        await expect(status).to_have_value("solved")
        version = int(await form.get_attribute("data-version") or 0)

        # The agent edits; meanwhile an admin changes the ticket: the panel says so and keeps
        # the edit; a save on the old version is refused plainly, nothing is lost silently.
        await form.locator("input[name=subject]").fill("Cancel order 1234")
        ticket_id = customer.session["chat"]["ticket_id"]
        await admin.rest(
            "PATCH", f"/api/tickets/{ticket_id}", json={"priority": "high", "version": version}
        )
        note = form.locator(".form-note")
        await expect(note).to_contain_text("This ticket changed meanwhile (now Solved)")
        await expect(form.locator("input[name=subject]")).to_have_value("Cancel order 1234")
        await form.get_by_role("button", name="Save").click()
        await expect(note).to_contain_text("Not saved: this ticket changed since you opened it")
        await expect(note.get_by_role("button", name="Show the current ticket")).to_be_visible()
        unchanged = await admin.rest("GET", f"/api/tickets/{ticket_id}")
        assert unchanged["subject"] != "Cancel order 1234" and unchanged["priority"] == "high"
        await console.shot("console-ticket-stale-save")
        await note.get_by_role("button", name="Show the current ticket").click()
        await expect(form.locator("select[name=priority]")).to_have_value("high")
        await expect(status).to_have_value("solved")
        assert await focused(page) != "BODY"
        await form.locator("input[name=subject]").fill("Cancel order 1234")
        await form.get_by_role("button", name="Save").click()
        await expect(note).to_have_text("Saved")
        saved = await admin.rest("GET", f"/api/tickets/{ticket_id}")
        assert saved["subject"] == "Cancel order 1234" and saved["status"] == "solved"
        assert re.fullmatch(r"\d+", await form.get_attribute("data-version") or "")

        # The Tickets view: the ticket with its transcript and history, accessible too.
        await page.get_by_role("link", name="Tickets").click()
        await page.locator(".tickets-list tbody tr button", has_text="Cancel order 1234").click()
        await expect(page.locator(".ticket-detail h2")).to_be_focused()
        await expect(page.locator(".ticket-detail .status")).to_have_text("Solved")
        axe = AxeLog("tickets")
        assert await axe.check(page, "tickets view, one ticket open", console) == []
        axe.write()
        console.assert_no_script_errors()
        await page.context.close()
    finally:
        await customer.close()
        await admin.close()
        await runner.cleanup()
