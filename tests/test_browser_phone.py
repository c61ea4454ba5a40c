"""The widget on a phone (issue 15, defect 4), with Chromium emulating one (touch, a mobile
user agent): no screen-share button (phones cannot share their screen), call controls of at
least 44 px, the whole screen upright and on its side — Hang up, the message box and the
newest message reachable — and still so with the on-screen keyboard taking half the height.
The agent, at a desk, shares their screen and the phone shows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import start_server
from tests.page_checks import AxeLog, all_in_view, focused
from tests.test_browser import (
    ARTIFACTS,
    Tab,
    bubble,
    chat_card,
    customer_says,
    launched_chromium,
    sign_in_and_go_online,
)
from tests.test_browser_calls import (
    CALL_ARGS,
    CALL_TIMEOUT_MS,
    CANVAS_SCREEN_SOURCE,
    SCREEN,
    TRACK_PEER_CONNECTIONS,
    open_tab,
    wait_frames,
)

pytestmark = pytest.mark.browser

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
USABLE = [
    ("newest message", ".la-transcript .la-msg", True),
    ("message box", ".la-composer__text", False),
    ("hang up", "[data-call-action=hangup]", False),
]
# Width and height of every control of the call and the message box, in CSS pixels.
TARGETS = """
() => {
  const root = document.querySelector('[data-liveassist]').shadowRoot;
  const found = [];
  for (const el of root.querySelectorAll('.la-call button, .la-composer button')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0) found.push([el.dataset.callAction || el.className, box.width, box.height]);
  }
  return found;
}
"""


async def test_a_call_on_a_phone_upright_on_its_side_and_with_the_keyboard_open(
    tmp_path: Path,
) -> None:
    server, runner = await start_server(tmp_path / "data", relay={"workers": 1, "preload": True})
    axe = AxeLog("phone")
    problems: list[str] = []
    try:
        async with launched_chromium(CALL_ARGS) as browser:
            context = await browser.new_context(
                locale="en-US",
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                user_agent=PHONE_UA,
            )
            context.set_default_timeout(CALL_TIMEOUT_MS)
            await context.add_init_script(TRACK_PEER_CONNECTIONS)
            phone = Tab(await context.new_page())
            page = phone.page
            await page.goto(f"{server.url}/demo")
            await page.locator(".la-launcher").tap()
            await page.locator("#la-name").fill("Pia")
            await page.get_by_role("button", name="Start chat").tap()
            await customer_says(phone, "The app shows an error")

            desk = await open_tab(browser, f"{server.url}/agent", width=1280)
            await sign_in_and_go_online(desk, server)
            card = chat_card(desk.page, "Pia")
            await card.locator("[data-call-start=video]").click()
            await page.locator("[data-call-action=accept]").tap()
            call = page.locator(".la-call")
            await expect(call).to_have_attribute("data-link", "connected")

            # A phone cannot share its screen: not offered. Every control is a thumb's size.
            await expect(page.locator("[data-call-action=hangup]")).to_be_visible()
            await expect(page.locator("[data-call-action=screen]")).to_be_hidden()
            for name, width, height in await page.evaluate(TARGETS):
                if width < 44 or height < 44:
                    problems.append(f"{name} is {width:.0f}x{height:.0f} px")

            # The agent shows their screen; the phone shows it, large.
            await desk.page.evaluate(CANVAS_SCREEN_SOURCE)
            await card.locator("[data-call-action=screen]").click()
            remote = page.locator("[data-tile=remote-screen]")
            await expect(remote).to_be_visible()
            await expect(remote).to_have_attribute("data-main", "true")
            await wait_frames(page, SCREEN)
            box = card.locator(".la-composer__text")
            await box.fill("Open the app's settings, I will point at the button")
            await box.press("Enter")
            await expect(bubble(page, "point at the button")).to_be_visible()

            panel = page.locator(".la-panel")
            for width, height, what in ((390, 844, "upright"), (844, 390, "on its side")):
                await page.set_viewport_size({"width": width, "height": height})
                await expect(page.locator(".la-launcher")).to_be_hidden()
                size = await panel.bounding_box()
                assert size is not None
                if (round(size["width"]), round(size["height"])) != (width, height):
                    problems.append(f"{what}: the panel is {size}, not the whole screen")
                for label, why in (await all_in_view(page, USABLE)).items():
                    problems.append(f"{what}: {label}: {why}")
                problems += await axe.check(page, f"phone {what}", phone)
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / f"phone-call-{width}x{height}.png"))

            # The on-screen keyboard takes half the height: the message box stays above it.
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.locator(".la-composer__text").tap()
            await page.set_viewport_size({"width": 390, "height": 420})
            await box.fill("Tap the gear at the top right")
            await box.press("Enter")
            await expect(bubble(page, "gear at the top right")).to_be_visible()
            for label, why in (await all_in_view(page, USABLE)).items():
                problems.append(f"keyboard open: {label}: {why}")
            assert "la-composer__text" in await focused(page)
            await page.screenshot(path=str(ARTIFACTS / "phone-call-keyboard.png"))

            await page.locator("[data-call-action=hangup]").tap()
            await expect(call).to_have_count(0)
            assert await focused(page) != "BODY"
            axe.write()
            phone.assert_no_script_errors()
            desk.assert_no_script_errors()
    finally:
        await runner.cleanup()
    assert problems == [], "\n".join(problems)
