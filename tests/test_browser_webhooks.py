"""Webhooks in the console's Settings (admins), in headless Chromium against a real server and
a real receiver on loopback: an endpoint added from the keyboard (its secret shown once and
used by the receiver to verify what it gets), a delivery that dies while the receiver fails
and is redelivered with the button, an edit, a delete; both languages, axe at phone portrait
and landscape, laptop and desktop, nothing sticking out sideways. Screenshots in
test-artifacts/webhooks/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.conftest import start_server
from tests.page_checks import AxeLog, focused, sideways
from tests.test_browser import ARTIFACTS, Tab, launched_chromium
from tests.test_browser_calls import CALL_ARGS, open_tab
from tests.test_webhooks import FAST
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ADMIN = "admin@demo.local"
SHOTS = ARTIFACTS / "webhooks"
SIZES = {
    "phone": (390, 844),
    "phone-landscape": (844, 390),
    "laptop": (1366, 768),
    "desktop": (1920, 1080),
}


WIDE = """() => [...document.querySelectorAll('*')]
  .filter((el) => el.getBoundingClientRect().right > innerWidth + 1)
  .slice(0, 8).map((el) => `${el.tagName}.${el.className} ${el.getBoundingClientRect().right}`)"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(CALL_ARGS) as chromium:
        yield chromium


async def sign_in_admin(tab: Tab, password: str) -> None:
    page = tab.page
    await page.locator("#signin-email").fill(ADMIN)
    await page.locator("#signin-password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#me-name")).to_have_text("Ada Admin")


async def at_every_size(page: Page, tab: Tab, axe: AxeLog, state: str) -> None:
    """axe and a sideways check of the webhooks section at each size, with a screenshot."""
    section = page.locator("#settings-webhooks")
    for size, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(150)
        await section.scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / f"{state}-{size}.png"))
        wide = await page.evaluate(WIDE)
        assert await sideways(page) == [], (state, size, wide)
        box = await section.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, size
        await page.screenshot(path=str(SHOTS / f"{state}-{size}.png"))
        assert await axe.check(page, f"{state}-{size}", tab) == []


async def test_admin_adds_an_endpoint_and_redelivers_a_dead_letter(
    browser: Browser, tmp_path: Path
) -> None:
    receiver = Receiver(status=500)  # failing: the first delivery dies
    await receiver.start()
    server, runner = await start_server(
        tmp_path / "data", webhooks={**FAST, "max_age_seconds": 1.0}
    )
    axe = AxeLog("webhooks-settings")
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        admin = await open_tab(browser, f"{server.url}/agent#settings")
        page = admin.page
        await page.set_viewport_size({"width": 1366, "height": 768})
        await sign_in_admin(admin, server.passwords[ADMIN])
        section = page.locator("#settings-webhooks")
        await expect(section.locator("h3")).to_have_text("Webhooks")
        await expect(section.locator(".webhook-list")).to_contain_text("No endpoints yet.")
        await expect(section.locator(".dead-list")).to_contain_text("No failed deliveries.")

        # Added from the keyboard: Enter on the button, type, Space on a checkbox, Enter.
        await page.locator("#webhook-add").focus()
        await page.keyboard.press("Enter")
        dialog = page.locator("dialog.dialog")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#webhook-url")).to_be_focused()
        await page.keyboard.type(receiver.url)
        await page.keyboard.press("Tab")
        assert await focused(page) == "INPUT"  # the description: labelled, in order
        await page.keyboard.type("Our CRM")
        boxes = dialog.locator("input[name=webhook-type]")
        assert await boxes.count() == 12
        for index in range(await boxes.count()):  # everything but chat.created
            box = boxes.nth(index)
            if await box.get_attribute("value") != "chat.created":
                await box.focus()
                await page.keyboard.press("Space")
                await expect(box).not_to_be_checked()
        assert await axe.check(page, "add-dialog", admin) == []
        await page.locator("#webhook-url").focus()
        await page.keyboard.press("Enter")
        await expect(dialog).to_have_count(0)
        secret = page.locator("#webhook-secret")
        await expect(secret).to_be_focused()  # ready to copy
        receiver.secret = await secret.input_value()
        assert receiver.secret.startswith("whsec_")
        await expect(page.locator("#webhooks-status")).to_have_text(f"Added {receiver.url}.")
        item = section.locator(".webhook")
        await expect(item.locator(".webhook__url")).to_have_text(receiver.url)
        await expect(item).to_contain_text("Our CRM")
        await expect(item).to_contain_text(f"Secret …{receiver.secret[-4:]}")
        await expect(item.locator(".webhook__types")).to_have_text("chat.created")
        await at_every_size(page, admin, axe, "endpoint-en")
        await page.get_by_role("button", name="I have stored it").click()
        await expect(secret).to_have_count(0)

        # A chat opens; the receiver fails until the delivery is dead; it shows here.
        customer = await server.customer(name="Dana", topic="general", language="en")
        await customer.close()
        await receiver.wait_for(lambda: len(receiver.got) >= 2)
        letter = section.locator(".dead-letter")
        for _ in range(60):
            await page.locator("#webhooks-refresh").click()
            if await letter.count():
                break
            await page.wait_for_timeout(250)
        await expect(letter.locator("strong")).to_have_text("chat.created")
        await expect(letter.locator(".dead-letter__error")).to_contain_text("HTTP 500")
        await expect(item).to_contain_text("1 failed")
        await at_every_size(page, admin, axe, "dead-letter-en")

        # Redelivered from the keyboard; it arrives, signed, with the same event id.
        receiver.status = 200
        await page.set_viewport_size({"width": 1366, "height": 768})
        await letter.locator(".dead-letter__redeliver").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#webhooks-status")).to_have_text(
            "chat.created is being sent again."
        )
        await receiver.wait_for(lambda: bool(receiver.accepted()))
        delivered = [r for r in receiver.got if r.answered == 200]
        assert delivered[0].verified is None
        assert {r.event["id"] for r in receiver.got} == {delivered[0].event["id"]}
        await expect(section.locator(".dead-list")).to_contain_text("No failed deliveries.")

        # Edited: disabled.
        await item.locator(".webhook__edit").click()
        await expect(page.locator("#webhook-url")).to_have_value(receiver.url)
        await page.locator("#webhook-enabled").uncheck()
        await dialog.get_by_role("button", name="Save").click()
        await expect(item.locator(".badge").first).to_have_text("Disabled")
        await expect(item.locator(".webhook__edit")).to_be_focused()

        # In Chinese, at every size.
        await page.locator("#console-lang").select_option("zh-CN")
        await expect(section.locator("h3")).to_have_text("Webhook")
        await expect(item.locator(".badge").first).to_have_text("已停用")
        await at_every_size(page, admin, axe, "endpoint-zh")
        await page.locator("#console-lang").select_option("en")

        # Deleted, after a confirmation.
        await page.set_viewport_size({"width": 1366, "height": 768})
        await item.locator(".webhook__delete").click()
        await expect(dialog).to_contain_text(f"Nothing more is sent to {receiver.url}.")
        await dialog.get_by_role("button", name="Delete").click()
        await expect(section.locator(".webhook-list")).to_contain_text("No endpoints yet.")
        await expect(page.locator("#webhook-add")).to_be_focused()
        admin.assert_no_script_errors()
    finally:
        axe.write()
        await runner.cleanup()
        await receiver.stop()


async def test_without_allowed_hosts_the_section_says_why(browser: Browser, tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data")
    try:
        admin = await open_tab(browser, f"{server.url}/agent#settings")
        await sign_in_admin(admin, server.passwords[ADMIN])
        notice = admin.page.locator(".webhook-notice__text")
        await expect(notice).to_contain_text("webhooks.allowed_hosts")
        admin.assert_no_script_errors()
    finally:
        await runner.cleanup()
