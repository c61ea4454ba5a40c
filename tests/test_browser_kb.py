"""The knowledge base and the bot in headless Chromium against a real server: a customer finds
an article in the widget before any chat, starts one, the bot answers with articles (one
opened from the chat), the customer asks for a person, and the agent's console shows the
bot's exchange and inserts a saved reply and an article link; the admin's Settings section.
Both languages, axe at phone portrait and landscape, laptop and desktop, nothing sticking
out sideways. Screenshots in test-artifacts/kb/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect

from signaling.store import kb as kb_store
from tests.conftest import start_server
from tests.kb_labelled import seed
from tests.page_checks import AxeLog, sideways
from tests.test_browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    Tab,
    chat_card,
    launched_chromium,
    sign_in_and_go_online,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SHOTS = ARTIFACTS / "kb"
SIZES = {
    "phone": (390, 844),
    "phone-landscape": (844, 390),
    "laptop": (1366, 768),
    "desktop": (1920, 1080),
}
QUESTION = "I forgot my password and can't log in"
WIDGET = "[data-liveassist=widget]"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(CHROMIUM_ARGS) as chromium:
        yield chromium


async def at_every_size(
    page: Page, tab: Tab, axe: AxeLog, state: str, scope: Locator, within: str
) -> None:
    """A screenshot, the sideways check and axe (on `within`: the part under test) at each
    size; the page is left at phone size."""
    for size, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(80)
        await scope.scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / f"{state}-{size}.png"))
        assert await sideways(page) == [], (state, size)
        assert await axe.check(page, f"{state}-{size}", tab, within=within) == []
    await page.set_viewport_size({"width": 390, "height": 844})


async def test_widget_help_bot_handoff_and_console(browser: Browser, tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data")
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = AxeLog("knowledge-base")
    await seed(server.runtime.db, 1)
    admin = await server.staff("admin@demo.local", online=False)
    await admin.rest("PATCH", "/api/kb/bot", json={"enabled": True})
    macro = {"title": "Greeting", "body": "Hi {customer_name}, this is {agent_name}."}
    await admin.rest("POST", "/api/kb/macros", json=macro, expect=201)
    await admin.close()
    try:
        agent = await Tab.open(browser, f"{server.url}/agent")
        await sign_in_and_go_online(agent, server)
        customer = await Tab.open(browser, f"{server.url}/demo", width=390)
        page = customer.page

        # Before any chat: the help panel from the header, searched from the keyboard.
        await page.locator(".la-launcher").click()
        help_button = page.get_by_role("button", name="Help articles")
        await help_button.click()
        search = page.locator("#la-help-q")
        await expect(search).to_be_focused()
        await page.keyboard.type("forgot password")
        await page.keyboard.press("Enter")
        results = page.locator(".la-help__result")
        await expect(results.first).to_contain_text("Reset your password")
        await expect(page.locator(".la-help__status")).to_contain_text("found")
        await at_every_size(
            page, customer, axe, "widget-help-en", page.locator(".la-panel"), WIDGET
        )
        await results.first.focus()
        await page.keyboard.press("Enter")
        article = page.locator(".la-article")
        await expect(article.locator("h4")).to_have_text("Reset your password")
        await expect(article.locator("strong")).to_have_text("Forgot password")
        await expect(page.locator(".la-help__back")).to_be_focused()
        await page.screenshot(path=str(SHOTS / "widget-article-en-phone.png"))
        assert await axe.check(page, "widget-article-en-phone", customer, within=WIDGET) == []
        # In Chinese: the Chinese articles.
        await page.locator(".la-panel__lang").click()
        await page.locator(".la-help__back").click()
        await search.fill("忘记密码")
        await search.press("Enter")
        await expect(results.first).to_contain_text("重置密码")
        await expect(page.locator(".la-help__title")).to_have_text("帮助文章")
        await at_every_size(
            page, customer, axe, "widget-help-zh", page.locator(".la-panel"), WIDGET
        )
        await page.locator(".la-panel__lang").click()
        await page.locator(".la-help__close").click()

        # A chat: the bot answers first, its articles open in the help panel.
        await page.locator("#la-name").fill("Dana")
        await page.get_by_role("button", name="Start chat").click()
        box = page.locator(".la-composer__text")
        await box.fill(QUESTION)
        await box.press("Enter")
        answer = page.locator(".la-msg--bot")
        await expect(answer.locator(".la-msg__name")).to_have_text("Assistant")
        await expect(answer.locator(".la-msg__article").first).to_be_visible()
        titles = await answer.locator(".la-msg__article-title").all_text_contents()
        assert "Reset your password" in titles and len(titles) <= 3
        await expect(page.locator("#la-bot-solved")).to_be_visible()
        await expect(page.locator(".la-panel__subtitle")).to_have_text(
            "The assistant is helping you"
        )
        await at_every_size(page, customer, axe, "widget-bot-en", page.locator(".la-panel"), WIDGET)
        await answer.locator(".la-msg__article", has_text="Reset your password").click()
        await expect(page.locator(".la-article h4")).to_have_text("Reset your password")
        await page.keyboard.press("Escape")  # back to the results …
        await page.locator(".la-help__close").click()  # … and to the chat
        await expect(box).to_be_focused()

        # "Talk to a person": queued at once; the agent reads the bot's exchange.
        await page.locator("#la-bot-human").click()
        await expect(page.locator("#la-bot-human")).to_be_hidden()
        card = chat_card(agent.page, "Dana")
        await expect(card).to_be_visible(timeout=10_000)
        staff_answer = card.locator(".la-msg--bot")
        await expect(staff_answer.locator(".la-msg__article-title").first).to_be_visible()
        assert (
            "Reset your password"
            in await staff_answer.locator(".la-msg__article-title").all_text_contents()
        )
        await expect(card.locator(".la-msg__event", has_text="asked for a person")).to_have_count(1)
        await expect(page.locator(".la-panel__subtitle")).to_contain_text("is helping you")

        # The agent inserts a saved reply (filled) and an article link.
        apage = agent.page
        await card.locator(".chat-card__kb").click()
        dialog = apage.locator("dialog.kb-dialog")
        await expect(apage.locator("#kb-q")).to_be_focused()
        await dialog.locator(".kb-macro", has_text="Greeting").click()
        reply = card.locator(".la-composer__text")
        await expect(reply).to_have_value("Hi Dana, this is Alex Agent.")
        await card.locator(".chat-card__kb").click()
        await apage.locator("#kb-q").fill("refund")
        await apage.locator("#kb-q").press("Enter")
        hit = dialog.locator(".kb-hit").first
        await expect(hit).to_contain_text("refund")
        assert await axe.check(apage, "console-kb-dialog", agent) == []
        await apage.screenshot(path=str(SHOTS / "console-kb-dialog.png"))
        await hit.locator(".kb-hit__link").click()
        value = await reply.input_value()
        assert value.startswith("Hi Dana, this is Alex Agent. When will I get my refund?: ")
        assert f"{server.url}/help?org=demo&article=" in value
        await reply.press("Enter")
        link = page.locator(".la-msg__text a").last
        await expect(link).to_have_attribute("href", value.split(": ", 1)[1])
        help_page = await Tab.open(browser, str(await link.get_attribute("href")))
        await expect(help_page.page.locator("h1")).to_have_text("When will I get my refund?")
        assert await axe.check(help_page.page, "help-page", help_page) == []
        for tab in (customer, agent, help_page):
            tab.assert_no_script_errors()
    finally:
        axe.write()
        print(f"axe: {axe.seconds:.1f} s")
        await runner.cleanup()


async def test_admin_settings_section(browser: Browser, tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data")
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = AxeLog("knowledge-base-settings")
    try:
        tab = await Tab.open(browser, f"{server.url}/agent#settings", width=1366)
        page = tab.page
        await page.locator("#signin-email").fill("admin@demo.local")
        await page.locator("#signin-password").fill(server.passwords["admin@demo.local"])
        await page.get_by_role("button", name="Sign in").click()
        section = page.locator("#settings-kb")
        await expect(section.locator("h3")).to_have_text("Knowledge base")
        await expect(section).to_contain_text("No articles yet.")
        # A new article, published, from the dialog.
        await page.locator("#kb-add-article").click()
        await expect(page.locator("#kb-article-title")).to_be_focused()
        await page.keyboard.type("Track your order")
        await page.locator("#kb-article-tags").fill("orders, delivery")
        await page.locator("#kb-article-body").fill("Open **My orders** to see where it is.")
        await page.locator("#kb-article-published").check()
        await page.locator("dialog.dialog").get_by_role("button", name="Save").click()
        row = section.locator(".kb-article")
        await expect(row).to_contain_text("Track your order")
        await expect(row.locator(".badge").first).to_have_text("Published")
        await expect(page.locator("#kb-status")).to_have_text("Saved “Track your order”.")
        # A reply with a wrong placeholder is refused with the reason, in the dialog.
        await page.locator("#kb-add-macro").click()
        await page.locator("#kb-macro-title").fill("Hello")
        await page.locator("#kb-macro-body").fill("Hello {name}")
        await page.locator("dialog.dialog").get_by_role("button", name="Save").click()
        await expect(page.locator("dialog.dialog .form-error")).to_contain_text("{name}")
        await page.locator("#kb-macro-body").fill("Hello {customer_name}")
        await page.locator("dialog.dialog").get_by_role("button", name="Save").click()
        await expect(section.locator(".kb-macro-row")).to_contain_text("Hello {customer_name}")
        # The bot's switch.
        await page.locator("#kb-bot").check()
        await expect(page.locator("#kb-status")).to_have_text("The bot answers new chats.")
        async with server.runtime.db.read() as conn:
            assert await kb_store.bot_enabled(conn, 1)
        await at_every_size(page, tab, axe, "settings-en", section, "#settings-kb")
        await page.locator("#console-lang").select_option("zh-CN")
        await expect(section.locator("h3")).to_have_text("知识库")
        await at_every_size(page, tab, axe, "settings-zh", section, "#settings-kb")
        tab.assert_no_script_errors()
    finally:
        axe.write()
        await runner.cleanup()
