"""Call recording in the real pages (issue 9), in headless Chromium with a fake camera, through
the real server and relay: the customer is told that the call is recorded (in English and in
Chinese) and when it is paused, the agent sees REC and pauses, resumes or — with the policy
`on_request` — starts it, and an admin sets the policy in the console and sees the recordings
storage's health. axe runs on the states with the notice and on the admin's setting;
screenshots of the notice and of REC at phone portrait, phone landscape and desktop are kept
in test-artifacts/recording/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import Server, start_server
from tests.page_checks import AxeLog, all_in_view, focused
from tests.test_browser import ARTIFACTS, Tab, launched_chromium
from tests.test_browser_calls import CALL_ARGS, chat_with_agent, open_tab, staff_get

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ADMIN = "admin@demo.local"
SHOTS = ARTIFACTS / "recording"
SIZES = {"phone": (390, 844), "phone-landscape": (844, 390), "desktop": (1280, 720)}
# What must stay usable in the widget while the notice shows (the notice itself included).
WIDGET_IN_VIEW = [
    ("notice", ".la-call__rec", False),
    ("hang up", "[data-call-action=hangup]", False),
    ("mute", "[data-call-action=mute]", False),
    ("message box", ".la-composer__text", False),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the module's tests (each has its own contexts)."""
    async with launched_chromium(CALL_ARGS) as chromium:
        yield chromium


async def video_call(server: Server, browser: Browser, name: str) -> tuple[Tab, Tab, Locator]:
    """The customer calls (video), the agent answers; both connected. Returns the customer's
    tab, the agent's tab and the agent's call panel."""
    customer, agent, card = await chat_with_agent(server, browser, name)
    await customer.page.locator("[data-call-start=video]").click()
    agent_call = card.locator(".la-call")
    await agent_call.locator("[data-call-action=accept]").click()
    await expect(customer.page.locator(".la-call")).to_have_attribute("data-link", "connected")
    await expect(agent_call).to_have_attribute("data-link", "connected")
    return customer, agent, agent_call


async def event_kinds(page: Page, call_id: int) -> list[str]:
    got = await staff_get(page, f"/api/calls/{call_id}")
    assert got["status"] == 200, got
    return [event["kind"] for event in got["body"]["events"]]


async def wait_event(page: Page, call_id: int, kind: str) -> list[str]:
    """The call's event log once it holds `kind` (written before the push, so at once)."""
    kinds: list[str] = []
    for _ in range(20):
        kinds = await event_kinds(page, call_id)
        if kind in kinds:
            return kinds
        await page.wait_for_timeout(100)
    raise AssertionError(f"no {kind} in {kinds}")


async def shoot(page: Page, name: str, sizes: dict[str, tuple[int, int]]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in sizes.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(300)  # the layout settles (the widget follows the viewport)
        await page.screenshot(path=str(SHOTS / f"{name}-{size}.png"))


def polite(page: Page) -> Locator:
    return page.locator("[data-announcer=polite]")


async def test_policy_always_notice_in_both_languages_pause_and_resume(
    browser: Browser, tmp_path: Path
) -> None:
    server, runner = await start_server(tmp_path / "data")
    axe = AxeLog("recording-always")
    try:
        customer, agent, agent_call = await video_call(server, browser, "Rosa")
        cpage, apage = customer.page, agent.page
        call_id = int(await agent_call.get_attribute("data-call-id") or 0)
        notice = cpage.locator(".la-call__rec")
        badge = agent_call.locator(".la-call__rec-badge")

        # The policy is `always` (the default): recorded from the answer, and the customer is
        # told, persistently, and it is read out.
        await expect(notice).to_have_attribute("data-recording", "recording")
        await expect(notice).to_have_text("This call is recorded")
        await expect(polite(cpage)).to_have_text("This call is recorded.")
        await expect(badge).to_have_attribute("data-recording", "recording")
        await expect(badge.locator(".la-call__rec-short")).to_have_text("REC")
        await expect(agent_call.locator("[data-call-action=record-pause]")).to_be_visible()
        await expect(agent_call.locator("[data-call-action=record-start]")).to_be_hidden()
        assert "recording_started" in await wait_event(apage, call_id, "recording_started")
        assert await axe.check(cpage, "widget-recorded", customer) == []
        assert await axe.check(apage, "console-recorded", agent, within=".chat-card") == []

        # At every size the notice, Hang up and the message box are on screen and not covered.
        for size, (width, height) in SIZES.items():
            await cpage.set_viewport_size({"width": width, "height": height})
            await cpage.wait_for_timeout(300)
            assert await all_in_view(cpage, WIDGET_IN_VIEW) == {}, size
        await shoot(cpage, "widget-recorded", SIZES)
        await shoot(apage, "console-rec", SIZES)
        await apage.set_viewport_size({"width": 1600, "height": 900})

        # In Chinese, switched in place in the widget (and back).
        await cpage.set_viewport_size({"width": 390, "height": 844})
        await cpage.locator(".la-panel__lang").click()
        await expect(notice).to_have_text("本次通话正在录音录像")
        assert await axe.check(cpage, "widget-recorded-zh", customer) == []
        await shoot(cpage, "widget-recorded-zh", {"phone": SIZES["phone"]})
        await cpage.locator(".la-panel__lang").click()
        await expect(notice).to_have_text("This call is recorded")
        await cpage.set_viewport_size({"width": 1280, "height": 900})

        # The agent pauses from the keyboard (the customer reads a card number): the customer
        # sees "Recording paused", the log has recording_paused, the focus goes to Resume.
        pause = agent_call.locator("[data-call-action=record-pause]")
        await pause.focus()
        await apage.keyboard.press("Enter")
        await expect(notice).to_have_attribute("data-recording", "paused")
        await expect(notice).to_have_text("Recording paused")
        await expect(polite(cpage)).to_have_text("Recording paused.")
        await expect(badge).to_have_attribute("data-recording", "paused")
        resume = agent_call.locator("[data-call-action=record-resume]")
        await expect(resume).to_be_focused()
        assert await focused(apage) != "BODY"
        assert "recording_paused" in await wait_event(apage, call_id, "recording_paused")
        assert await axe.check(cpage, "widget-paused", customer) == []
        await shoot(cpage, "widget-paused", {"phone": SIZES["phone"]})
        await shoot(apage, "console-paused", {"desktop": SIZES["desktop"]})
        await apage.set_viewport_size({"width": 1600, "height": 900})

        # Resume: recorded again, said so.
        await resume.click()
        await expect(notice).to_have_attribute("data-recording", "recording")
        await expect(notice).to_have_text("This call is recorded")
        await expect(polite(cpage)).to_have_text("Recording resumed. This call is recorded.")
        await expect(badge).to_have_attribute("data-recording", "recording")
        kinds = await wait_event(apage, call_id, "recording_resumed")
        assert kinds.index("recording_paused") < kinds.index("recording_resumed")

        # Recording a recorded call is not offered, and a customer cannot ask the server to.
        await expect(agent_call.locator("[data-call-action=record-start]")).to_be_hidden()
        await expect(cpage.locator("[data-call-action^=record-]")).to_have_count(0)

        await agent_call.locator("[data-call-action=hangup]").click()
        await expect(cpage.locator(".la-call")).to_have_count(0)
        assert "recording_stopped" in await wait_event(apage, call_id, "recording_stopped")
        customer.assert_no_script_errors()
        agent.assert_no_script_errors()
    finally:
        axe.write()
        await runner.cleanup()


async def sign_in_admin(tab: Tab, server: Server) -> None:
    page = tab.page
    await page.locator("#signin-email").fill(ADMIN)
    await page.locator("#signin-password").fill(server.passwords[ADMIN])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#me-name")).to_have_text("Ada Admin")


async def policy_of(page: Page) -> Any:
    got = await staff_get(page, "/api/recording-policy")
    assert got["status"] == 200, got
    return got["body"]["recording_policy"]


async def test_admin_sets_on_request_then_the_agent_starts_recording(
    browser: Browser, tmp_path: Path
) -> None:
    server, runner = await start_server(tmp_path / "data")
    axe = AxeLog("recording-on-request")
    try:
        # The admin opens Settings: the policy (always, the default) and the storage's health.
        admin = await open_tab(browser, f"{server.url}/agent")
        page = admin.page
        await page.set_viewport_size({"width": 1280, "height": 800})
        await sign_in_admin(admin, server)
        await page.locator("#tab-settings").click()
        await expect(page.locator("#tab-settings")).to_have_attribute("aria-current", "page")
        always = page.locator("input[name=recording-policy][value=always]")
        await expect(always).to_be_checked()
        await expect(page.locator("#policy-on_request-help")).to_contain_text("Start recording")
        health = page.locator(".recordings-health")
        await expect(health).to_have_attribute("data-ok", "true")
        await expect(health.locator("[data-health=writable]")).to_have_text("Writable")
        await expect(health.locator("[data-health=free]")).to_contain_text("at least")
        await expect(health.locator("[data-health=failures]")).to_have_text("0")
        # Chosen from the keyboard (arrow keys move within the radio group) and saved.
        await always.focus()
        await page.keyboard.press("ArrowDown")
        await expect(page.locator("input[name=recording-policy][value=on_request]")).to_be_checked()
        await page.locator("#settings-save").click()
        await expect(page.locator("#settings-status")).to_have_text("Saved: On request")
        assert await policy_of(page) == "on_request"
        assert await axe.check(page, "settings", admin) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "console-settings-desktop.png"))
        await page.locator("#console-lang").select_option("zh-CN")
        await expect(page.locator("label[for=policy-on_request]")).to_have_text("按需录制")
        await expect(page.locator("#settings-status")).to_have_text("已保存：按需录制")  # noqa: RUF001
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.wait_for_timeout(200)
        await page.screenshot(path=str(SHOTS / "console-settings-zh-phone.png"))
        assert await axe.check(page, "settings-zh-phone", admin) == []

        # A call now is not recorded until the agent says so: no notice, Record offered.
        customer, agent, agent_call = await video_call(server, browser, "Omar")
        cpage, apage = customer.page, agent.page
        call_id = int(await agent_call.get_attribute("data-call-id") or 0)
        record = agent_call.locator("[data-call-action=record-start]")
        await expect(record).to_be_visible()
        await expect(record).to_have_attribute("aria-label", "Start recording")
        box = await record.bounding_box()
        assert box and box["width"] >= 44 and box["height"] >= 44, box
        notice = cpage.locator(".la-call__rec")
        await expect(notice).to_be_hidden()
        await expect(agent_call.locator(".la-call__rec-badge")).to_be_hidden()
        assert "recording_started" not in await event_kinds(apage, call_id)

        await record.click()
        await expect(notice).to_be_visible()
        await expect(notice).to_have_text("This call is recorded")
        await expect(polite(cpage)).to_have_text("This call is recorded.")
        await expect(agent_call.locator(".la-call__rec-badge")).to_have_attribute(
            "data-recording", "recording"
        )
        await expect(agent_call.locator("[data-call-action=record-pause]")).to_be_focused()
        got = await staff_get(apage, f"/api/calls/{call_id}")
        started = [e for e in got["body"]["events"] if e["kind"] == "recording_started"]
        assert started and started[0]["detail"]["by"] == "agent", got["body"]["events"]
        assert await axe.check(cpage, "widget-recorded-on-request", customer) == []
        await agent_call.locator("[data-call-action=hangup]").click()
        await expect(cpage.locator(".la-call")).to_have_count(0)
        for tab in (admin, customer, agent):
            tab.assert_no_script_errors()
    finally:
        axe.write()
        await runner.cleanup()


async def test_a_recording_that_cannot_be_made_is_told_to_the_agent_and_the_admin(
    browser: Browser, tmp_path: Path
) -> None:
    # More free space asked for than any disk has: every recording fails at the start.
    server, runner = await start_server(tmp_path / "data", recordings={"min_free_bytes": 2**60})
    try:
        customer, agent, agent_call = await video_call(server, browser, "Fay")
        badge = agent_call.locator(".la-call__rec-badge")
        await expect(badge).to_have_attribute("data-recording", "failed")
        await expect(badge.locator(".la-call__rec-short")).to_have_text("REC failed")
        failure = agent_call.locator(".la-call__rec-failure")
        await expect(failure).to_contain_text("under recordings.min_free_bytes")
        await expect(failure).to_contain_text("The call goes on unrecorded.")
        # The customer is not told the call is recorded: it is not.
        await expect(customer.page.locator(".la-call__rec")).to_be_hidden()
        await expect(customer.page.locator(".la-call")).to_have_attribute("data-link", "connected")
        await shoot(agent.page, "console-rec-failed", {"desktop": SIZES["desktop"]})

        admin = await open_tab(browser, f"{server.url}/agent#settings")
        await sign_in_admin(admin, server)
        health = admin.page.locator(".recordings-health")
        await expect(health).to_have_attribute("data-ok", "false")
        await expect(health.locator(".health-state")).to_have_text(
            "Needs attention: new recordings fail"
        )
        await expect(health.locator("[data-health=failures]")).to_have_text("1")
        for tab in (admin, customer, agent):
            tab.assert_no_script_errors()
    finally:
        await runner.cleanup()
