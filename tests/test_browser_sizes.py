"""A chat and a video call with screen share, walked in the real pages at every common screen
size, in English and in Chinese (issue 15): in each state, at 390x844, 844x390, 1280x720,
1440x900 and 1920x1080 and in both languages, the newest message, the message box and the
call's buttons are on screen and not covered, nothing scrolls sideways, the focus is never on
<body>, and axe-core finds no critical or serious violation. An incoming call, on either
side, leaves the focus where it was. Each page is resized and switched in place (a phone
turned on its side, a window resized), which the layout must follow live.

Screenshots of each state at phone and laptop size land in test-artifacts/pages/; axe's
findings per state in test-artifacts/axe/."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.conftest import Server, start_server
from tests.page_checks import AxeLog, all_in_view, focused, sideways
from tests.test_browser import (
    ARTIFACTS,
    Tab,
    bubble,
    chat_card,
    customer_says,
    launched_chromium,
    sign_in_and_go_online,
)
from tests.test_browser_calls import CALL_ARGS, CANVAS_SCREEN_SOURCE, open_tab

pytestmark = pytest.mark.browser

SIZES = [(390, 844), (844, 390), (1280, 720), (1440, 900), (1920, 1080)]
# axe-core runs on every state at every size, in one language per size (the two take turns):
# what it checks does not change with the words, and a run costs about a second.
AXE_LANGUAGE = {
    (390, 844): "en",
    (844, 390): "zh-CN",
    (1280, 720): "en",
    (1440, 900): "zh-CN",
    (1920, 1080): "en",
}
SHOT_SIZES = {(390, 844), (1280, 720)}
SHOTS = ARTIFACTS / "pages"

# Does the (Chinese) placeholder fit its box? Measured with the box's own font.
PLACEHOLDER_FITS = """
(box) => {
  const style = getComputedStyle(box);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return ctx.measureText(box.placeholder).width <= room;
}
"""


class Walk:
    """The two pages of the walk and everything found wrong so far."""

    def __init__(self, customer: Tab, agent: Tab, card: Locator) -> None:
        self.customer = customer
        self.agent = agent
        self.card = card
        self.problems: list[str] = []
        self.axe = AxeLog("sizes")

    @property
    def cpage(self) -> Page:
        return self.customer.page

    @property
    def apage(self) -> Page:
        return self.agent.page

    def widget(self, selector: str) -> Locator:
        return self.cpage.locator(f".la-widget {selector}")

    async def no_body_focus(self, after: str) -> None:
        for name, page in (("widget", self.cpage), ("console", self.apage)):
            if await focused(page) == "BODY":
                self.problems.append(f"{name}: focus on <body> after {after}")

    async def language(self, code: str) -> None:
        """Both pages in `code` ("en" or "zh-CN"), switched in place as a person would."""
        await self.apage.locator("#console-lang").select_option(code)
        widget = self.cpage.locator(".la-widget")
        if await widget.get_attribute("lang") != code:
            await self.cpage.locator(".la-panel__lang").click()
        await expect(widget).to_have_attribute("lang", code)

    async def size(self, width: int, height: int) -> None:
        for page in (self.cpage, self.apage):
            await page.set_viewport_size({"width": width, "height": height})
        for page in (self.cpage, self.apage):  # two frames: layout and observers settle
            await page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )

    async def check(self, state: str, *, call: bool = False, ended: bool = False) -> None:
        """The state at every size in both languages."""
        for width, height in SIZES:
            await self.size(width, height)
            for code in ("en", "zh-CN"):
                await self.language(code)
                where = f"{state} {width}x{height} {code}"
                axe = AXE_LANGUAGE[(width, height)] == code
                await self.check_here(where, call=call, ended=ended, axe=axe)
                if (width, height) in SHOT_SIZES:
                    await self.shot(state, width, height, code)
        await self.size(1280, 720)
        await self.language("en")

    async def check_here(self, where: str, *, call: bool, ended: bool, axe: bool) -> None:
        card = ".chat-card:not([hidden])"
        console = [("newest message", f"{card} .la-msg", True)]
        widget = [("newest message", ".la-transcript .la-msg", True)]
        if ended:
            widget.append(("rating", ".la-stars__row .la-star:first-child", False))
            console.append(("dismiss", f"{card} .chat-card__ended button", False))
        else:
            widget.append(("message box", ".la-composer__text", False))
            console.append(("message box", f"{card} .la-composer__text", False))
        if call:
            widget.append(("hang up", "[data-call-action=hangup]", False))
            console.append(("hang up", f"{card} [data-call-action=hangup]", False))
        for name, page, specs in (("widget", self.cpage, widget), ("console", self.apage, console)):
            for label, why in (await all_in_view(page, specs)).items():
                self.problems.append(f"{where}: {name} {label}: {why}")
        for found in await sideways(self.apage):
            self.problems.append(f"{where}: console scrolls sideways: {found}")
        if where.endswith("zh-CN"):
            await self.check_chinese(where, ended=ended)
        if axe:
            # The demo shop around the widget is checked once; then the widget alone.
            within = "[data-liveassist]" if self.axe.runs else None
            found = await asyncio.gather(
                self.axe.check(self.cpage, f"widget {where}", self.customer, within=within),
                self.axe.check(self.apage, f"console {where}", self.agent),
            )
            self.problems += [line for lines in found for line in lines]

    async def check_chinese(self, where: str, *, ended: bool) -> None:
        """Times written again in Chinese, languages named (never "en"), placeholders whole."""
        for page in (self.cpage, self.apage):
            times = page.locator("[data-format=clock], [data-format=dateTime]")
            for text in await times.all_text_contents():
                if re.search(r"\b(AM|PM)\b", text):
                    self.problems.append(f"{where}: a time still in English: {text!r}")
        meta = await self.apage.locator(".chat-card:not([hidden]) .chat-card__meta").text_content()
        if "英语" not in (meta or "") or re.search(r"\ben\b", meta or ""):
            self.problems.append(f"{where}: the chat language is not named: {meta!r}")
        boxes = (
            []
            if ended
            else [
                self.apage.locator(".chat-card:not([hidden]) .la-composer__text"),
                self.widget(".la-composer__text"),
            ]
        )
        for box in boxes:
            if not await box.evaluate(PLACEHOLDER_FITS):
                placeholder = await box.get_attribute("placeholder")
                self.problems.append(f"{where}: placeholder {placeholder!r} is cut")

    async def shot(self, state: str, width: int, height: int, code: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        lang = "zh" if code.startswith("zh") else "en"
        for name, page in (("widget", self.cpage), ("console", self.apage)):
            await page.screenshot(path=str(SHOTS / f"{state}-{name}-{width}x{height}-{lang}.png"))

    def announced(self, page: Page) -> Locator:
        return page.locator("[data-announcer=assertive]")


async def test_chat_and_video_call_at_every_size_in_both_languages(tmp_path: Path) -> None:
    began = time.monotonic()
    server, runner = await start_server(
        tmp_path / "data", relay={"workers": 1, "preload": True}, calls={"ring_seconds": 600}
    )
    try:
        async with launched_chromium(CALL_ARGS) as browser:
            customer = await open_tab(browser, f"{server.url}/demo")
            agent = await open_tab(browser, f"{server.url}/agent")
            for tab in (customer, agent):
                await tab.page.set_viewport_size({"width": 1280, "height": 720})
            await walk(server.url, customer, agent, server)
            customer.assert_no_script_errors()
            agent.assert_no_script_errors()
    finally:
        await runner.cleanup()
    print(f"\nthe walk took {time.monotonic() - began:.0f} s")


async def walk(url: str, customer: Tab, agent: Tab, server: Server) -> None:
    cpage, apage = customer.page, agent.page
    # The landing page says what exists (calls and screen share, not "calls next").
    await cpage.goto(f"{url}/")
    await expect(cpage.locator("h1")).to_have_text(
        "Real-time support: chat, calls and screen sharing."
    )
    landing = AxeLog("landing")
    assert await landing.check(cpage, "landing page", customer) == []
    await cpage.goto(f"{url}/demo")
    # The pre-chat form: its chat language follows the interface language until chosen.
    await cpage.locator(".la-launcher").click()
    language = cpage.locator("#la-language")
    await expect(language).to_have_value("en")
    await cpage.locator(".la-panel__lang").click()
    await expect(cpage.locator("label[for=la-language]")).to_have_text("对话语言")
    await expect(language).to_have_value("zh")
    await expect(language.locator("option:checked")).to_have_text("中文")
    await expect(language.locator("option[value=en]")).to_have_text("英语")
    await cpage.locator(".la-panel__lang").click()
    await expect(language).to_have_value("en")
    await expect(language.locator("option:checked")).to_have_text("English")
    await cpage.locator("#la-name").fill("Carla")
    await cpage.get_by_role("button", name="Start chat").click()
    await customer_says(customer, "My router keeps dropping the connection")

    await sign_in_and_go_online(agent, server)
    card = chat_card(apage, "Carla")
    await expect(card.locator(".la-msg__text", has_text="dropping")).to_be_visible()
    box = card.locator(".la-composer__text")
    for i in range(6):
        await box.fill(f"Step {i + 1}: please try this and tell me what the light does")
        await box.press("Enter")
    await expect(bubble(cpage, "Step 6")).to_be_visible()
    w = Walk(customer, agent, card)
    await w.check("chat")

    # The agent calls while the customer is typing: the customer keeps the focus and the words
    # typed; the call is announced and shown; a Space typed meanwhile answers nothing.
    composer = w.widget(".la-composer__text")
    await composer.click()
    await composer.press_sequentially("The light is")
    await card.locator("[data-call-start=video]").click()
    await expect(w.widget(".la-call")).to_have_attribute("data-call-state", "ringing")
    await expect(w.widget("[data-call-action=accept]")).to_be_visible()
    await expect(w.announced(cpage)).to_contain_text("Alex Agent is calling you (video call)")
    assert "la-composer__text" in await focused(cpage), await focused(cpage)
    await cpage.keyboard.type(" blinking red")
    await expect(composer).to_have_value("The light is blinking red")
    await expect(w.widget(".la-call")).to_have_attribute("data-call-state", "ringing")
    await expect(card.locator("[data-call-action=cancel]")).to_be_focused()  # the click goes on
    await w.check("ringing")
    await expect(w.widget(".la-call")).to_have_attribute("data-call-state", "ringing")

    # Answering is a deliberate act; then the focus is on the call's controls.
    await w.widget("[data-call-action=accept]").click()
    await expect(w.widget(".la-call")).to_have_attribute("data-link", "connected")
    await expect(card.locator(".la-call")).to_have_attribute("data-link", "connected")
    assert "[mute]" in await focused(cpage), await focused(cpage)
    await composer.press("Enter")  # what was typed while it rang is sent now
    await expect(card.locator(".la-msg__text", has_text="blinking red")).to_be_visible()
    await w.check("call", call=True)

    # The customer shares their screen; the agent sees it large and writes meanwhile.
    await cpage.evaluate(CANVAS_SCREEN_SOURCE)
    await w.widget("[data-call-action=screen]").click()
    remote = card.locator("[data-tile=remote-screen]")
    await expect(remote).to_be_visible()
    await expect(remote).to_have_attribute("data-main", "true")
    await box.fill("I can see your screen: open Settings, then Wi-Fi")
    await box.press("Enter")
    await expect(bubble(cpage, "open Settings")).to_be_visible()
    await w.check("sharing", call=True)

    # Scrolled up to read, the customer is not pulled down: a marker says there is more.
    transcript = w.widget(".la-transcript")
    await transcript.hover()
    await cpage.mouse.wheel(0, -2000)
    await expect(bubble(cpage, "open Settings")).not_to_be_in_viewport()
    await box.fill("Tell me when you are there")
    await box.press("Enter")
    marker = w.widget(".la-transcript__new")
    await expect(marker).to_be_visible()
    await expect(bubble(cpage, "when you are there")).not_to_be_in_viewport()
    await marker.click()
    await expect(bubble(cpage, "when you are there")).to_be_in_viewport()
    await expect(marker).to_be_hidden()
    await w.no_body_focus("the new-messages marker")

    # The agent hangs up: the call's line is the newest message; the focus stays in the chat.
    await card.locator("[data-call-action=hangup]").click()
    await expect(w.widget(".la-call")).to_have_count(0)
    await expect(card.locator(".la-call")).to_have_count(0)
    ended = card.locator(".la-msg--event", has_text="Video call ended")
    await expect(ended).to_have_count(1)
    await w.no_body_focus("hang up")
    await w.check("after-call")

    # The customer calls while the agent types: the agent keeps the focus; it is announced.
    await box.click()
    await box.press_sequentially("Any luck")
    await w.widget("[data-call-start=audio]").click()
    await expect(w.widget("[data-call-action=cancel]")).to_be_focused()  # the click goes on
    await expect(card.locator("[data-call-action=accept]")).to_be_visible()
    await expect(w.announced(apage)).to_contain_text("Carla is calling you (audio call)")
    assert "la-composer__text" in await focused(apage), await focused(apage)
    await apage.keyboard.type("?")
    await expect(box).to_have_value("Any luck?")
    await card.locator("[data-call-action=decline]").click()
    await expect(card.locator(".la-msg--event", has_text="Audio call declined")).to_have_count(1)
    await w.no_body_focus("decline")
    await box.press("Enter")

    # The customer ends the chat: the rating form; the console offers Dismiss.
    await w.widget(".la-chat__end").click()
    await w.widget(".la-confirm .la-button--danger").click()
    await expect(w.widget(".la-star").first).to_be_visible()
    await expect(card.locator(".chat-card__ended")).to_be_visible()
    await w.no_body_focus("ending the chat")
    await w.check("ended", ended=True)

    report = w.axe.write()
    print(f"\naxe: {len(w.axe.runs)} runs in {w.axe.seconds:.0f} s ({report})")
    assert w.problems == [], "\n".join(w.problems)
