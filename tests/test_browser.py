"""The real pages in headless Chromium against a real server: the widget on /demo and the
agent console on /agent, each in its own browser context (its own storage), talking through
our own Socket.IO client. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    WebSocketRoute,
    async_playwright,
    expect,
)

from signaling.auth.identity import sign_identity
from signaling.store.customers import customer_by_external_id
from signaling.store.orgs import org_by_slug
from signaling.store.tickets import ticket_by_id
from tests.conftest import Server, free_port, start_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
AGENT = "agent1@demo.local"
AGENT_NAME = "Alex Agent"


@asynccontextmanager
async def launched_chromium(args: list[str]) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, with fake devices; closed on the way out."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=args
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(CHROMIUM_ARGS) as chromium:
        yield chromium


class Tab:
    """One page in its own context, collecting uncaught script errors and anything the
    page's Content-Security-Policy refused (Chromium reports those on the console)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.axe_running = False
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        # axe-core (tests/page_checks.py) sets an inline style while it runs, which the
        # page's CSP refuses: that report is axe's, never the page's own code.
        if self.axe_running and message.text.startswith("Applying inline style violates"):
            return
        if "Content Security Policy" in message.text or "Permissions policy" in message.text:
            self.errors.append(message.text)

    @classmethod
    async def open(
        cls, browser: Browser, url: str, *, locale: str = "en-US", width: int = 1280
    ) -> Tab:
        context = await browser.new_context(locale=locale, viewport={"width": width, "height": 820})
        context.set_default_timeout(8000)
        tab = cls(await context.new_page())
        await tab.page.goto(url)
        return tab

    async def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def assert_no_script_errors(self) -> None:
        assert self.errors == [], self.errors


# ---- the customer's side: the widget inside its shadow root ---------------------------------


async def start_widget_chat(tab: Tab, *, name: str, topic: str = "general") -> None:
    page = tab.page
    await page.locator(".la-launcher").click()
    await page.locator("#la-name").fill(name)
    await page.locator("#la-email").fill(f"{name.lower()}@example.com")
    await page.locator("#la-topic").select_option(topic)
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator(".la-composer__text")).to_be_focused()


async def customer_says(tab: Tab, text: str) -> None:
    box = tab.page.locator(".la-composer__text")
    await box.fill(text)
    await box.press("Enter")
    await expect(bubble(tab.page, text)).to_have_count(1)


def bubble(page: Page, text: str) -> Locator:
    return page.locator(".la-msg", has=page.locator(".la-msg__text", has_text=text))


async def transcript(page: Page, scope: str) -> list[dict[str, Any]]:
    """Every stored message shown in `scope`, as {seq, text} in display order."""
    result: list[dict[str, Any]] = await page.eval_on_selector_all(
        f"{scope} .la-msg[data-seq]",
        """nodes => nodes.map(n => ({
            seq: Number(n.dataset.seq),
            text: (n.querySelector('.la-msg__text, .la-msg__event') || {}).textContent || '',
        }))""",
    )
    return result


# ---- the agent's side: the console -------------------------------------------------------------


async def sign_in_and_go_online(tab: Tab, server: Server, email: str = AGENT) -> None:
    page = tab.page
    await page.locator("#signin-email").fill(email)
    await page.locator("#signin-password").fill(server.passwords[email])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#me-name")).to_have_text(AGENT_NAME)
    await expect(page.locator("#presence-select")).to_be_enabled()
    await page.locator("#presence-select").select_option("online")
    await expect(page.locator("#presence-dot")).to_have_class(re.compile("presence-dot--online"))


def chat_card(page: Page, customer: str) -> Locator:
    return page.locator(".chat-card", has=page.locator(".chat-card__title", has_text=customer))


async def agent_says(card: Locator, text: str) -> None:
    box = card.locator(".la-composer__text")
    await box.fill(text)
    await box.press("Enter")
    await expect(card.locator(".la-msg--mine .la-msg__text", has_text=text)).to_have_count(1)


def png(width: int = 48, height: int = 32, rgb: tuple[int, int, int] = (47, 91, 234)) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def shows_image(image: Locator) -> None:
    await expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    await expect(image).to_have_js_property("naturalWidth", 48)


# ---- outages and other sites --------------------------------------------------------------


class SocketCutter:
    """Routes the page's Socket.IO WebSockets through Playwright so a test can drop them and
    refuse new ones for a while: a network outage, without waiting for ping timeouts."""

    def __init__(self) -> None:
        self.blocked = False
        self.live: list[WebSocketRoute] = []

    async def attach(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/socket\.io/"), self.handle)

    async def handle(self, ws: WebSocketRoute) -> None:
        if self.blocked:
            await ws.close()
            return
        ws.connect_to_server()
        self.live.append(ws)

    async def cut(self) -> None:
        self.blocked = True
        for ws in self.live:
            await ws.close()
        self.live.clear()

    async def restore(self, page: Page) -> None:
        self.blocked = False
        await page.evaluate("window.dispatchEvent(new Event('online'))")  # retry now


HOST_PAGE = """<!doctype html>
<html><head><title>Shop</title><style>
  * {{ font-family: serif !important; color: red !important; letter-spacing: 3px !important; }}
  button {{ background: lime !important; border: 4px solid black !important; }}
</style></head>
<body><h1>Another company's shop</h1>
<script src="{server}/widget.js" data-org="demo" data-external-id="crm-42"
  data-signature="{signature}" data-name="Pat Host" data-email="pat@shop.example" async></script>
</body></html>"""


async def serve_host_page(html: str, port: int) -> web.AppRunner:
    """Another company's site: a second server on loopback, so a different origin."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/checkout", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


# ---- scenarios -------------------------------------------------------------------------------


async def test_customer_and_agent_chat_then_reload_and_ticket(
    server: Server, browser: Browser
) -> None:
    customer = await Tab.open(browser, f"{server.url}/demo")
    await start_widget_chat(customer, name="Carla", topic="billing")
    await customer_says(customer, "My invoice is wrong")
    await expect(customer.page.locator(".la-chat__bar .la-banner")).to_contain_text(
        "No agent is available right now"
    )

    agent = await Tab.open(browser, f"{server.url}/agent", width=1440)
    await sign_in_and_go_online(agent, server)
    card = chat_card(agent.page, "Carla")
    await expect(card.locator(".la-msg__text", has_text="My invoice is wrong")).to_be_visible()
    await expect(card.locator(".la-msg--event")).to_contain_text(f"{AGENT_NAME} joined the chat")

    await card.locator(".la-composer__text").fill("Let me")
    await expect(customer.page.locator(".la-typing")).to_have_text(f"{AGENT_NAME} is typing…")
    await agent_says(card, "Let me check that for you")
    answer = bubble(customer.page, "Let me check that for you")
    await expect(answer).to_have_class(re.compile("la-msg--theirs"))
    await expect(answer.locator(".la-msg__name")).to_have_text(AGENT_NAME)
    await expect(customer.page.locator(".la-panel__subtitle")).to_have_text(
        f"{AGENT_NAME} is helping you"
    )
    # each side had the chat in view, so each sees its message was read
    mine = bubble(customer.page, "My invoice is wrong")
    await expect(mine.locator(".la-msg__status")).to_have_text("Read")
    sent = card.locator(".la-msg--mine", has_text="Let me check that for you")
    await expect(sent.locator(".la-msg__status")).to_have_text("Read")
    customer_box = customer.page.locator(".la-composer__text")
    await customer_box.fill("It charged me")
    await expect(card.locator(".typing")).to_have_text("Carla is typing…")
    await customer_box.fill("")
    await expect(card.locator(".typing")).to_have_text("")
    await customer.shot("chat-customer")
    await agent.shot("chat-agent")

    before = await transcript(customer.page, ".la-transcript")
    await customer.page.reload()
    await expect(bubble(customer.page, "Let me check that for you")).to_have_count(1)
    assert await transcript(customer.page, ".la-transcript") == before

    # away from the page while the agent writes: coming back fetches only what was missed
    await customer.page.goto("about:blank")
    await agent_says(card, "Found it: you were charged twice, refund is on its way")
    await customer.page.goto(f"{server.url}/demo")
    await expect(bubble(customer.page, "refund is on its way")).to_have_count(1)
    after = await transcript(customer.page, ".la-transcript")
    seqs = [m["seq"] for m in after]
    assert seqs == sorted(set(seqs)), "each message once, in order"
    assert after[: len(before)] == before
    assert [m["text"] for m in after[len(before) :]] == [
        "Found it: you were charged twice, refund is on its way"
    ]
    await customer_says(customer, "Thanks!")
    await expect(card.locator(".la-msg__text", has_text="Thanks!")).to_have_count(1)
    await customer.shot("chat-customer-after-reload")

    await agent.page.get_by_role("link", name="Tickets").click()
    row = agent.page.locator(".tickets-list tbody tr", has_text="Chat with Carla (billing)")
    await row.get_by_role("button").click()
    detail = agent.page.locator(".ticket-detail")
    await expect(detail.locator("h2")).to_contain_text("Chat with Carla (billing)")
    texts = [m["text"] for m in await transcript(agent.page, ".ticket-detail")]
    for line in ["My invoice is wrong", "Let me check that for you", "Thanks!"]:
        assert texts.count(line) == 1, texts
    await agent.shot("ticket-detail")

    await agent.page.locator("#console-lang").select_option("zh-CN")
    await expect(agent.page.locator("#tab-tickets")).to_have_text("工单")
    await expect(detail.locator("#ticket-chats-title")).to_have_text("对话记录")
    await expect(detail.locator(".la-msg--event").first).to_contain_text(f"{AGENT_NAME} 加入了对话")
    await expect(detail.get_by_text("My invoice is wrong")).to_have_count(1)  # never translated
    customer.assert_no_script_errors()
    agent.assert_no_script_errors()


async def test_chinese_switch_translates_and_is_remembered(
    server: Server, browser: Browser
) -> None:
    agent = await Tab.open(browser, f"{server.url}/agent")
    page = agent.page
    await expect(page.locator("#signin-title")).to_have_text("Sign in to the agent console")
    # a QA reviewer's account is not for this console: told so, and signed out again
    await page.locator("#signin-email").fill("qa@demo.local")
    await page.locator("#signin-password").fill(server.passwords["qa@demo.local"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#signin-error")).to_contain_text(
        "for agents, supervisors and admins"
    )
    assert await page.evaluate("sessionStorage.getItem('liveassist.staff')") is None
    await page.locator("#signin-lang").select_option("zh-CN")
    await expect(page.locator("#signin-title")).to_have_text("登录客服工作台")
    await expect(page.get_by_role("button", name="登录")).to_be_visible()
    await page.reload()
    await expect(page.locator("#signin-title")).to_have_text("登录客服工作台")
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    await agent.shot("signin-zh")

    # a browser set to Chinese gets the widget in Chinese; the toggle switches it back
    customer = await Tab.open(browser, f"{server.url}/demo", locale="zh-CN")
    widget = customer.page
    await widget.locator(".la-launcher").click()
    await expect(widget.get_by_role("button", name="开始对话")).to_be_visible()
    await expect(widget.locator("#la-topic option[value=billing]")).to_have_text("账单与付款")
    await customer.shot("widget-zh")
    await widget.locator(".la-panel__lang").click()
    await expect(widget.get_by_role("button", name="Start chat")).to_be_visible()
    await expect(widget.locator(".la-panel__title")).to_have_text("Demo Co support")
    agent.assert_no_script_errors()
    customer.assert_no_script_errors()


async def test_attachments_show_inline_on_the_other_side(server: Server, browser: Browser) -> None:
    agent = await Tab.open(browser, f"{server.url}/agent", width=1440)
    await sign_in_and_go_online(agent, server)
    customer = await Tab.open(browser, f"{server.url}/demo")
    await start_widget_chat(customer, name="Ivy", topic="technical")

    await customer.page.locator(".la-composer__file").set_input_files(
        {"name": "router.png", "mimeType": "image/png", "buffer": png()}
    )
    card = chat_card(agent.page, "Ivy")
    await shows_image(card.locator(".la-attachment img"))
    await expect(card.locator(".la-attachment figcaption")).to_contain_text("router.png")
    await shows_image(customer.page.locator(".la-msg--mine .la-attachment img"))

    await card.locator(".la-composer__file").set_input_files(
        {"name": "steps.png", "mimeType": "image/png", "buffer": png(rgb=(31, 157, 90))}
    )
    theirs = customer.page.locator(".la-msg--theirs .la-attachment")
    await expect(theirs.locator("figcaption")).to_contain_text("steps.png")
    await shows_image(theirs.locator("img"))

    # a short video plays inline too (the server sniffs WebM from its EBML header)
    webm = b"\x1a\x45\xdf\xa3" + bytes(60)
    await customer.page.locator(".la-composer__file").set_input_files(
        {"name": "blinking.webm", "mimeType": "video/webm", "buffer": webm}
    )
    video = card.locator(".la-attachment video")
    await expect(video).to_have_attribute("src", re.compile(r"^blob:"))
    await expect(video).to_have_attribute("controls", "")

    # a file that is not a screenshot, photo or video is refused with a readable reason
    await customer.page.locator(".la-composer__file").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just text"}
    )
    await expect(customer.page.locator(".la-composer__note")).to_contain_text(
        "Only screenshots, photos"
    )
    await customer.shot("attachment-customer")
    await agent.shot("attachment-agent")
    agent.assert_no_script_errors()
    customer.assert_no_script_errors()


async def test_queue_position_and_expected_wait(server: Server, browser: Browser) -> None:
    agent = await server.staff(AGENT)  # online, three chats at most
    busy = [await server.customer(name=f"Busy {i}", topic="billing") for i in range(3)]
    try:
        for person in busy:
            await person.say("help")
            await agent.next("chat.assigned")
        customer = await Tab.open(browser, f"{server.url}/demo")
        await start_widget_chat(customer, name="Wendy", topic="billing")
        await customer_says(customer, "anyone there?")
        # one agent serving billing with 3 slots and the default 300 s per chat: 100 s
        await expect(customer.page.locator(".la-chat__bar .la-banner")).to_have_text(
            "You are #1 in line, about 2 min."
        )
        await expect(customer.page.locator(".la-panel__subtitle")).to_have_text(
            "Waiting for an agent…"
        )
        await agent.request("chat.close", {"chat_id": busy[0].chat_id})
        await expect(customer.page.locator(".la-panel__subtitle")).to_have_text(
            f"{AGENT_NAME} is helping you"
        )
        customer.assert_no_script_errors()
    finally:
        for person in busy:
            await person.close()
        await agent.close()


async def test_console_renews_its_token_before_it_expires(server: Server, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 1440, "height": 820})
    console = Tab(await context.new_page())
    await console.page.clock.install()
    await console.page.goto(f"{server.url}/agent")
    await sign_in_and_go_online(console, server)
    # the sign-in left a known-device cookie scripts cannot read, sent only to the login route
    (device,) = [c for c in await context.cookies() if c["name"] == "la_device"]
    assert device["httpOnly"] and device["sameSite"] == "Strict"
    assert device["path"] == "/api/auth/login"
    assert "la_device" not in await console.page.evaluate("document.cookie")
    read_token = "JSON.parse(sessionStorage.getItem('liveassist.staff')).token"
    first = await console.page.evaluate(read_token)
    await console.page.clock.fast_forward("14:10")  # the 15-minute token is renewed at 14:00
    # a function, not an expression: the page's CSP forbids eval (Playwright polls with it)
    await console.page.wait_for_function(f"() => {read_token} !== {first!r}")
    renewed = await console.page.evaluate(read_token)
    me = await server.runtime.authenticator.principal(renewed)
    assert me.subject_id == (await server.runtime.authenticator.principal(first)).subject_id
    # the jump also outran the socket's heartbeat: it reconnects, with the renewed token
    await expect(console.page.locator("#connection")).to_be_hidden()
    await console.page.locator("#presence-select").select_option("away")
    await expect(console.page.locator("#presence-dot")).to_have_class(
        re.compile("presence-dot--away")
    )
    console.assert_no_script_errors()


async def test_widget_reconnects_resends_and_catches_up(server: Server, browser: Browser) -> None:
    agent = await server.staff(AGENT)
    customer = await Tab.open(browser, "about:blank")
    cutter = SocketCutter()
    await cutter.attach(customer.page)
    await customer.page.goto(f"{server.url}/demo")
    try:
        await start_widget_chat(customer, name="Rita", topic="billing")
        await customer_says(customer, "hello")
        chat_id = (await agent.next("chat.assigned"))["chat"]["id"]
        await expect(customer.page.locator(".la-panel__subtitle")).to_contain_text(AGENT_NAME)

        await cutter.cut()
        offline = customer.page.locator(".la-chat > .la-banner--warn")
        await expect(offline).to_have_text("Connection lost. Reconnecting…")
        for i in range(2):
            await agent.say(chat_id, f"while you were away {i}")
        box = customer.page.locator(".la-composer__text")
        await box.fill("are you there?")
        await box.press("Enter")
        pending = customer.page.locator(".la-msg--pending")
        await expect(pending.locator(".la-msg__status")).to_have_text("Sending…")

        await cutter.restore(customer.page)
        await expect(offline).to_be_hidden()
        await expect(bubble(customer.page, "while you were away 1")).to_have_count(1)
        await expect(pending).to_have_count(0)
        await expect(bubble(customer.page, "are you there?")).to_have_count(1)
        got = await agent.next(
            "message",
            where=lambda m: m["sender"]["type"] == "customer" and m["text"] == "are you there?",
        )
        shown = await transcript(customer.page, ".la-transcript")
        seqs = [m["seq"] for m in shown]
        assert seqs == sorted(set(seqs)) and got["seq"] in seqs
        texts = [m["text"] for m in shown]
        for line in ["hello", "while you were away 0", "while you were away 1", "are you there?"]:
            assert texts.count(line) == 1, texts
        history = await agent.request("chat.sync", {"chat_id": chat_id})
        assert [m["text"] for m in history["messages"]].count("are you there?") == 1
        await customer.shot("widget-after-reconnect")
        customer.assert_no_script_errors()
    finally:
        await agent.close()


async def test_escalate_reload_transfer_close_rate_and_start_again(
    server: Server, browser: Browser
) -> None:
    console = await Tab.open(browser, f"{server.url}/agent", width=1440)
    await sign_in_and_go_online(console, server)
    customer = await Tab.open(browser, f"{server.url}/demo")
    await start_widget_chat(customer, name="Tess", topic="technical")
    await customer_says(customer, "my router blinks red")
    page = console.page
    card = chat_card(page, "Tess")
    await expect(card.locator(".la-msg__text", has_text="my router blinks red")).to_be_visible()

    await card.get_by_role("button", name="Escalate").click()
    dialog = page.get_by_role("dialog", name="Escalate ticket #1")
    await dialog.get_by_label("Priority").select_option("urgent")
    await dialog.get_by_label("Internal note").fill("needs a technician visit")
    await dialog.get_by_role("button", name="Escalate").click()
    await expect(dialog).to_be_hidden()
    note = card.locator(".la-msg--note")
    await expect(note).to_contain_text("Escalation note: needs a technician visit")
    await expect(note.locator(".la-msg__note-label")).to_have_text("Internal note")
    await expect(page.locator(".details #details-1-priority")).to_have_value("urgent")
    event = customer.page.locator(".la-msg--event", has_text="Escalated to ticket #1")
    await expect(event).to_be_visible()
    assert await customer.page.locator(".la-msg", has_text="technician").count() == 0

    # a reload keeps the sign-in (this tab's sessionStorage) and brings the chat back
    await page.reload()
    await expect(card.locator(".la-msg__text", has_text="my router blinks red")).to_have_count(1)
    await expect(card.locator(".la-msg--note")).to_have_count(1)
    await expect(page.locator("#presence-select")).to_have_value("online")

    colleague = await server.staff("agent2@demo.local")
    try:
        await card.get_by_role("button", name="Transfer").click()
        dialog = page.get_by_role("dialog", name="Transfer the chat with Tess")
        await dialog.get_by_label(re.compile("Bo Agent")).check()
        await dialog.get_by_label("Note for the next agent (staff only)").fill("router issue")
        await console.shot("transfer-dialog")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(card).to_have_count(0)
        await expect(page.locator(".toast", has_text="was transferred")).to_be_visible()
        assigned = await colleague.next("chat.assigned")
        chat_id = assigned["chat"]["id"]
        assert any("router issue" in m["text"] for m in assigned["messages"])
        await expect(customer.page.locator(".la-panel__subtitle")).to_have_text(
            "Bo Agent is helping you"
        )
        await colleague.request("chat.close", {"chat_id": chat_id})
    finally:
        await colleague.close()

    widget = customer.page
    await expect(widget.locator(".la-chat__bar .la-banner")).to_have_text("This chat has ended.")
    await widget.locator(".la-star").nth(3).click()
    await widget.get_by_label("Anything to add?").fill("quick and friendly")
    await customer.shot("csat")
    await widget.get_by_role("button", name="Send rating").click()
    await expect(widget.locator(".la-after__thanks")).to_have_text("Thank you for your feedback!")
    async with server.runtime.db.read() as conn:  # the ticket now carries the rating
        row = await ticket_by_id(conn, 1)
    assert row is not None and row["csat_score"] == 4
    assert row["csat_comment"] == "quick and friendly"
    assert row["priority"] == "urgent" and "escalated" in row["tags"] and row["status"] == "open"

    await widget.get_by_role("button", name="Start a new chat").click()
    await expect(widget.locator("#la-name")).to_have_value("Tess")
    await widget.get_by_role("button", name="Start chat").click()
    await expect(widget.locator(".la-chat__bar .la-banner")).to_have_text(
        "Send a message to start — an agent will join shortly."
    )
    assert await transcript(widget, ".la-transcript") == []
    stored = await widget.evaluate("JSON.parse(localStorage.getItem('liveassist.widget.demo'))")
    assert stored["chatId"] != chat_id and stored["customer"]["id"] == assigned["customer"]["id"]

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#signin-title")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('liveassist.staff')") is None
    console.assert_no_script_errors()
    customer.assert_no_script_errors()


async def test_widget_on_a_foreign_site_with_signed_identity(
    tmp_path: Path, browser: Browser
) -> None:
    """One script tag on another origin (allowed in server.allowed_origins): CORS for the
    modules and the REST calls, the WebSocket origin check, a host page whose CSS tries hard to
    leak in, and a customer the host vouches for with an HMAC signature."""
    host_port = free_port()
    host = f"http://127.0.0.1:{host_port}"
    server, runner = await start_server(tmp_path / "data", server={"allowed_origins": [host]})
    async with server.runtime.db.read() as conn:
        org = await org_by_slug(conn, "demo")
    assert org is not None
    html = HOST_PAGE.format(
        server=server.url, signature=sign_identity(org["identity_secret"], "crm-42")
    )
    host_runner = await serve_host_page(html, host_port)
    customer = await Tab.open(browser, f"{host}/checkout")
    try:
        page = customer.page
        launcher = page.locator(".la-launcher")
        await launcher.click()
        await expect(page.locator("#la-name")).to_have_value("Pat Host")
        await expect(page.locator("#la-name")).to_have_attribute("readonly", "")
        await expect(launcher).to_have_css("border-top-width", "0px")  # not the host's 4px
        title = page.locator(".la-panel__title")
        await expect(title).to_have_css("color", "rgb(255, 255, 255)")
        await expect(title).to_have_css("letter-spacing", "normal")
        await expect(title).to_have_css("font-family", re.compile(r"^system-ui"))
        await page.get_by_role("button", name="Start chat").click()
        await customer_says(customer, "is my order shipped?")
        mine = bubble(page, "is my order shipped?")
        await expect(mine.locator(".la-msg__status")).to_have_text("Sent")
        await customer.shot("widget-foreign-site")
        async with server.runtime.db.read() as conn:
            known = await customer_by_external_id(conn, org["id"], "crm-42")
        assert known is not None and known["name"] == "Pat Host"
        assert known["email"] == "pat@shop.example"
        customer.assert_no_script_errors()
    finally:
        await customer.page.context.close()  # no open socket left to wait for at shutdown
        await host_runner.cleanup()
        await runner.cleanup()


async def test_pages_refuse_to_be_framed_by_another_site(tmp_path: Path, browser: Browser) -> None:
    """Even a host site allowed to embed the widget (a script, not a frame) cannot frame the
    agent console or the demo page: frame-ancestors 'self' (clickjacking)."""
    host_port = free_port()
    host = f"http://127.0.0.1:{host_port}"
    server, runner = await start_server(tmp_path / "data", server={"allowed_origins": [host]})
    html = (
        f'<!doctype html><title>Framer</title><iframe id="console" src="{server.url}/agent">'
        f'</iframe><iframe id="demo" src="{server.url}/demo"></iframe>'
    )
    host_runner = await serve_host_page(html, host_port)
    tab = await Tab.open(browser, f"{host}/checkout")
    try:
        for frame_id in ("console", "demo"):
            inner = tab.page.frame_locator(f"#{frame_id}")
            await expect(inner.locator("body")).to_be_attached()
            assert await inner.locator("#signin-email, .shop-header").count() == 0
        refused = [e for e in tab.errors if "frame-ancestors" in e]
        assert len(refused) == 2, tab.errors
        # the same page, framed by its own origin, loads
        same = await Tab.open(browser, f"{server.url}/demo")
        await same.page.evaluate(
            "u => { const f = document.createElement('iframe'); f.id = 'self'; f.src = u;"
            " document.body.append(f); }",
            f"{server.url}/agent",
        )
        await expect(same.page.frame_locator("#self").locator("#signin-email")).to_be_attached()
        same.assert_no_script_errors()
        await same.page.context.close()
    finally:
        await tab.page.context.close()
        await host_runner.cleanup()
        await runner.cleanup()
