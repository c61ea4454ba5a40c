"""A supervisor in a live call, all three pages in headless Chromium (fake camera and a fake
microphone that beeps): the customer calls from the widget, the agent answers in the console,
an admin opens Live calls and monitors — receives both cameras, while the customer's page
shows no third party and receives nothing on its voice m-line — whispers (the beep reaches
the agent's voice m-line only, the agent is told, the customer is not), barges (the customer
hears it and is told) and leaves. The Live calls view and the notices are checked with axe at
phone portrait and landscape, laptop and desktop, in English and Chinese (the whisper
state, which differs from the others by a pressed button and a sentence, at two of them).
Screenshots in test-artifacts/supervision/."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import Server
from tests.page_checks import AxeLog, sideways
from tests.test_browser import ARTIFACTS, Tab, launched_chromium
from tests.test_browser_calls import CALL_ARGS, chat_with_agent, open_tab, wait_frames

pytestmark = pytest.mark.browser

ADMIN = "admin@demo.local"
SHOTS = ARTIFACTS / "supervision"
SIZES = {
    "phone": (390, 844),
    "phone-landscape": (844, 390),
    "laptop": (1366, 768),
    "desktop": (1920, 1080),
}
VOICE = 3
"""The parties' fourth m-line: receive-only audio for a supervisor's voice."""
SUPERVISOR_CAMERAS = {"customer": 1, "agent": 4}
"""The supervisor's m-lines: per party audio, camera, screen; then its own voice."""

# What the receiver of m-line `index` of the page's newest open peer connection got.
INBOUND_AUDIO = """
async (index) => {
  const open = window.__testPeerConnections.filter((pc) => pc.connectionState !== 'closed');
  const pc = open[open.length - 1];
  if (!pc) return null;
  const report = await pc.getTransceivers()[index].receiver.getStats();
  for (const s of report.values()) {
    if (s.type === 'inbound-rtp') {
      return {packets: s.packetsReceived || 0, energy: s.totalAudioEnergy || 0};
    }
  }
  return {packets: 0, energy: 0};
}
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(CALL_ARGS) as chromium:
        yield chromium


async def voice(page: Page) -> dict[str, float]:
    reading = await page.evaluate(INBOUND_AUDIO, VOICE)
    assert reading is not None, "no open peer connection"
    return dict(reading)


async def hears_tone(page: Page, timeout: float = 8.0) -> bool:
    """Whether sound energy (the fake microphone's beep) arrives on the voice m-line."""
    start = await voice(page)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await page.wait_for_timeout(250)
        now = await voice(page)
        if now["packets"] > start["packets"] + 20 and now["energy"] > start["energy"] + 0.001:
            return True
    return False


async def checked_at_every_size(
    page: Page, tab: Tab, axe: AxeLog, state: str, sizes: tuple[str, ...] = tuple(SIZES)
) -> None:
    for size in sizes:
        width, height = SIZES[size]
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(150)
        await page.screenshot(path=str(SHOTS / f"{state}-{size}.png"), full_page=True)
        assert await sideways(page) == [], (state, size)
        assert await axe.check(page, f"{state}-{size}", tab) == []
    await page.set_viewport_size({"width": 1366, "height": 900})


async def test_monitor_whisper_and_barge_from_the_console(server: Server, browser: Browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = AxeLog("supervision")
    customer, agent, card = await chat_with_agent(server, browser, "Carla")
    cpage, apage = customer.page, agent.page
    widget_call, agent_call = cpage.locator(".la-call"), card.locator(".la-call")
    try:
        await cpage.locator("[data-call-start=video]").click()
        await agent_call.locator("[data-call-action=accept]").click()
        await expect(widget_call).to_have_attribute("data-link", "connected")
        await expect(agent_call).to_have_attribute("data-link", "connected")

        admin = await open_tab(browser, f"{server.url}/agent#supervise", width=1366)
        spage = admin.page
        await spage.locator("#signin-email").fill(ADMIN)
        await spage.locator("#signin-password").fill(server.passwords[ADMIN])
        await spage.get_by_role("button", name="Sign in").click()
        await expect(spage.locator("#tab-supervise")).to_have_attribute("aria-current", "page")
        row = spage.locator("table[data-table=live-calls] tbody tr")
        await expect(row).to_have_count(1)
        await expect(row.locator("th")).to_have_text("Carla")
        await checked_at_every_size(spage, admin, axe, "list-en")

        # Monitor: from the keyboard; both cameras reach the supervisor.
        await row.locator("button[data-action=monitor]").focus()
        await spage.keyboard.press("Enter")
        panel = spage.locator("#sup-panel")
        await expect(panel).to_have_attribute("data-mode", "monitor")
        await expect(spage.locator("#sup-state")).to_contain_text("Nobody hears you")
        for index in SUPERVISOR_CAMERAS.values():
            await wait_frames(spage, index)
        await expect(panel.locator("video[data-tile=customer-camera]")).to_be_visible()
        # The customer's page shows no third party and receives nothing on its voice m-line.
        await cpage.wait_for_timeout(1000)
        assert (await voice(cpage))["packets"] == 0
        await expect(widget_call.locator(".la-call__notice--supervisor")).to_be_hidden()
        await expect(agent_call.locator(".la-call__notice--supervisor")).to_be_hidden()

        # Whisper: only the agent hears the beep, and is told who speaks.
        await panel.locator("button[data-mode=whisper]").click()
        await expect(panel).to_have_attribute("data-mode", "whisper")
        note = agent_call.locator(".la-call__notice--supervisor")
        await expect(note).to_contain_text("Ada Admin")
        assert await hears_tone(apage), "the agent hears no whisper"
        assert (await voice(cpage))["packets"] == 0, "the customer received the whisper"
        await expect(widget_call.locator(".la-call__notice--supervisor")).to_be_hidden()
        await apage.screenshot(path=str(SHOTS / "agent-whisper.png"))
        assert await axe.check(apage, "agent-whisper", agent) == []
        await checked_at_every_size(spage, admin, axe, "whisper-en", ("phone", "laptop"))

        # Barge: the customer hears it too, and is told.
        await panel.locator("button[data-mode=barge]").click()
        shown = widget_call.locator(".la-call__notice--supervisor")
        await expect(shown).to_contain_text("Ada Admin")
        await expect(shown).to_contain_text("supervisor")
        assert await hears_tone(cpage), "the customer does not hear the barge"
        await cpage.screenshot(path=str(SHOTS / "customer-barge.png"))
        assert await axe.check(cpage, "customer-barge", customer) == []

        # In Chinese.
        await spage.locator("#console-lang").select_option("zh-CN")
        await expect(spage.locator("#tab-supervise")).to_have_text("进行中的通话")
        await expect(spage.locator("#sup-state")).to_contain_text("双方都能听到您")
        await checked_at_every_size(spage, admin, axe, "barge-zh")

        # Leaving: the customer's notice goes, the call goes on.
        await spage.locator("#sup-leave").click()
        await expect(panel).to_be_hidden()
        await expect(shown).to_be_hidden()
        await expect(note).to_be_hidden()
        await expect(widget_call).to_have_attribute("data-call-state", "active")

        # A supervisor (a role of their own, group Billing, as Alex is) lands on Live calls,
        # with the Dashboard beside it and no chats or tickets of their own.
        sam = await open_tab(browser, f"{server.url}/agent", width=1366)
        await sam.page.locator("#signin-email").fill("supervisor@demo.local")
        await sam.page.locator("#signin-password").fill(server.passwords["supervisor@demo.local"])
        await sam.page.get_by_role("button", name="Sign in").click()
        await expect(sam.page.locator("#tab-supervise")).to_have_attribute("aria-current", "page")
        await expect(sam.page.locator("#tab-dashboard")).to_be_visible()
        for hidden in ("#tab-chats", "#tab-tickets", "#tab-settings", "#presence"):
            await expect(sam.page.locator(hidden)).to_be_hidden()
        await expect(sam.page.locator("table[data-table=live-calls] tbody th")).to_have_text(
            "Carla"
        )
        assert await axe.check(sam.page, "supervisor-list", sam) == []
        for tab in (customer, agent, admin, sam):
            tab.assert_no_script_errors()
    finally:
        axe.write()
