"""The KPI dashboard in the console (admins), in headless Chromium against a real server holding
the known history of tests/kpi_history.py: the live tiles and tables, a period chosen from the
keyboard, the seeded figures in the totals and the per-agent, group and topic tables, the
charts with their tables, the CSV download (a formula-like name quoted), Chinese, and axe and
nothing sticking out sideways at phone portrait and landscape, laptop and desktop. Screenshots
in test-artifacts/dashboard/."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.conftest import start_server
from tests.kpi_history import BO_NAME, seed_history
from tests.page_checks import AxeLog, sideways
from tests.test_browser import ARTIFACTS, Tab, launched_chromium
from tests.test_browser_calls import CALL_ARGS, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ADMIN = "admin@demo.local"
SHOTS = ARTIFACTS / "dashboard"
SIZES = {
    "phone": (390, 844),
    "phone-landscape": (844, 390),
    "laptop": (1366, 768),
    "desktop": (1920, 1080),
}
# What the page writes for the seeded figures (durations m:ss, rates %, CSAT 1 place, MOS 2).
TOTALS = {
    "chats": "4",
    "first_response_avg_s": "1:07",
    "first_response_median_s": "1:00",
    "first_response_p90_s": "1:40",
    "wait_avg_s": "0:20",
    "handle_avg_s": "10:00",
    "resolution_rate": "33%",
    "escalations": "1",
    "csat_avg": "4.0",
    "csat_response_rate": "67%",
    "self_served": "0",
    "calls": "3",
    "call_avg_length_s": "3:30",
    "missed_share": "33%",
    "mos_avg": "3.60",
    "qa_score_avg": "80.0",
}
ALEX = {
    "chats": "2",
    "first_response_avg_s": "0:50",
    "first_response_median_s": "0:40",
    "first_response_p90_s": "1:00",
    "wait_avg_s": "0:20",
    "handle_avg_s": "7:30",
    "resolution_rate": "50%",
    "escalations": "0",
    "csat_avg": "4.0",
    "csat_response_rate": "100%",
    "self_served": "0",
    "calls": "2",
    "call_avg_length_s": "2:00",
    "missed_share": "50%",
    "mos_avg": "4.20",
    "qa_score_avg": "80.0",
}
BO = {
    "chats": "1",
    "first_response_avg_s": "1:40",
    "handle_avg_s": "15:00",
    "resolution_rate": "0%",
    "escalations": "1",
    "csat_avg": "—",
    "csat_response_rate": "0%",
    "self_served": "0",
    "calls": "1",
    "call_avg_length_s": "5:00",
    "missed_share": "0%",
    "mos_avg": "3.00",
    "qa_score_avg": "—",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(CALL_ARGS) as chromium:
        yield chromium


async def at_every_size(page: Page, tab: Tab, axe: AxeLog, state: str) -> None:
    for size, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(150)
        await page.screenshot(path=str(SHOTS / f"{state}-{size}.png"))
        assert await sideways(page) == [], (state, size)
        for selector in ("#dash-show", "#dash-csv", "#dash-from"):
            box = await page.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
        # every view's tab in sight: none hidden past the edge of a scrolling row
        tabs = page.locator(".tabs .tab:visible")
        assert await tabs.count() >= 4, (state, size)
        for box in [await tabs.nth(i).bounding_box() for i in range(await tabs.count())]:
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (
                state,
                size,
                box,
            )
        assert await axe.check(page, f"{state}-{size}", tab) == []


async def figures_of(page: Page, row: str) -> dict[str, str]:
    cells = page.locator(f"{row} [data-figure]")
    found = {}
    for index in range(await cells.count()):
        cell = cells.nth(index)
        found[str(await cell.get_attribute("data-figure"))] = await cell.inner_text()
    return found


async def test_the_dashboard_shows_the_seeded_figures(browser: Browser, tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data")
    axe = AxeLog("dashboard")
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        ids = await seed_history(server)
        admin = await open_tab(browser, f"{server.url}/agent#dashboard")
        page = admin.page
        await page.set_viewport_size({"width": 1366, "height": 768})
        await page.locator("#signin-email").fill(ADMIN)
        await page.locator("#signin-password").fill(server.passwords[ADMIN])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#tab-dashboard")).to_have_attribute("aria-current", "page")

        # Live: one chat waiting (billing, Chinese), nobody online, one call in progress.
        await expect(page.locator("[data-tile=waiting] .dash-tile__value")).to_have_text("1")
        await expect(page.locator("[data-tile=online] .dash-tile__value")).to_have_text("0")
        await expect(page.locator("[data-tile=calls] .dash-tile__value")).to_have_text(
            "1 active, 0 ringing"
        )
        queue = page.locator("table[data-table=queue] tr[data-key='billing/zh']")
        await expect(queue.locator("td").first).to_have_text("Billing and payments")
        await expect(queue.locator("[data-figure=waiting]")).to_have_text("1")
        bo_live = page.locator(f"table[data-table=live-agents] tr[data-key='{ids['bo']}']")
        await expect(bo_live).to_contain_text(BO_NAME)
        await expect(bo_live.locator("[data-figure=status]")).to_have_text("Offline")

        # The period, chosen from the keyboard: type the dates, Enter on Show.
        await page.locator("#dash-from").fill("2026-11-02")
        await page.locator("#dash-to").fill("2026-11-02")
        await page.locator("#dash-show").focus()
        await page.keyboard.press("Enter")
        note = page.locator("#dash-period-note")
        await expect(note).to_have_text("2026-11-02 to 2026-11-02 (UTC)")
        await expect(page.locator("#dash-totals [data-figure=chats]")).to_have_text("4")
        assert await figures_of(page, "#dash-totals") == TOTALS
        agents = "table[data-table=agents]"
        alex_row = f"{agents} tr[data-key='{ids['alex']}']"
        assert await figures_of(page, alex_row) == ALEX
        bo = await figures_of(page, f"{agents} tr[data-key='{ids['bo']}']")
        assert {k: bo[k] for k in BO} == BO
        await expect(page.locator(f"{agents} tr[data-key='{ids['bo']}'] th")).to_have_text(BO_NAME)
        await expect(page.locator(f"{agents} tr[data-key=none] th")).to_have_text("Not assigned")
        groups = "table[data-table=groups]"
        billing = await figures_of(page, f"{groups} tr[data-key='{ids['billing']}']")
        assert billing == {**ALEX, "chats": "3"}
        topic = await figures_of(page, "table[data-table=topics] tr[data-key=technical]")
        assert {k: topic[k] for k in BO} == BO

        # Charts: SVG images with names, their figures also as tables.
        frt = page.locator("[data-chart=frt]")
        await expect(frt.locator("svg")).to_have_attribute(
            "aria-label", "Average first response time by agent"
        )
        await expect(frt.locator("svg .bar-chart__bar")).to_have_count(2)
        await frt.locator("summary").focus()
        await page.keyboard.press("Enter")
        await expect(frt.locator("details table")).to_contain_text("Alex Agent0:50")
        chats_chart = page.locator("[data-chart=chats] details table")
        await expect(chats_chart).to_contain_text("Billing and payments3")
        await at_every_size(page, admin, axe, "period-en")

        # The CSV: the same figures, the formula-like name quoted.
        await page.set_viewport_size({"width": 1366, "height": 768})
        async with page.expect_download() as info:
            await page.locator("#dash-csv").click()
        download = await info.value
        assert download.suggested_filename == "kpis-2026-11-02-2026-11-02.csv"
        saved = tmp_path / "kpis.csv"
        await download.save_as(saved)
        text = await asyncio.to_thread(saved.read_text, encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows[0]["dimension"] == "total" and rows[0]["chats"] == "4"
        bo_rows = [r for r in rows if r["dimension"] == "agent" and r["id"] == str(ids["bo"])]
        assert [r["name"] for r in bo_rows] == ["'" + BO_NAME]

        # A period that makes no sense is refused on the page, saying why.
        await page.locator("#dash-from").fill("2026-11-05")
        await page.locator("#dash-show").click()
        await expect(note).to_have_text(
            "Choose a From date on or before the To date, at most 366 days apart."
        )
        await expect(page.locator("#dash-from")).to_have_attribute("aria-invalid", "true")
        await page.locator("#dash-from").fill("2026-11-02")
        await page.locator("#dash-show").click()
        await expect(note).to_have_text("2026-11-02 to 2026-11-02 (UTC)")

        # In Chinese.
        await page.locator("#console-lang").select_option("zh-CN")
        await expect(page.locator("#tab-dashboard")).to_have_text("仪表板")
        await expect(page.locator("#dash-agents-title")).to_have_text("按坐席")
        await expect(page.locator(f"{agents} tr[data-key=none] th")).to_have_text("未分配")
        await expect(frt.locator("svg")).to_have_attribute("aria-label", "各坐席平均首次响应时间")
        await expect(page.locator("[data-chart=chats] svg text").first).to_have_text("账单与付款")
        assert await figures_of(page, alex_row) == ALEX
        await at_every_size(page, admin, axe, "period-zh")
        admin.assert_no_script_errors()
    finally:
        axe.write()
        await runner.cleanup()


async def test_agents_have_no_dashboard(browser: Browser, tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data")
    try:
        tab = await open_tab(browser, f"{server.url}/agent#dashboard")
        page = tab.page
        await page.locator("#signin-email").fill("agent1@demo.local")
        await page.locator("#signin-password").fill(server.passwords["agent1@demo.local"])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#me-name")).to_have_text("Alex Agent")
        await expect(page.locator("#tab-dashboard")).to_be_hidden()
        await expect(page.locator("#view-dashboard")).to_be_hidden()
        await expect(page.locator("#view-chats")).to_be_visible()
        tab.assert_no_script_errors()
    finally:
        await runner.cleanup()
