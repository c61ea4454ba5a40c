"""QA review in the real pages, in headless Chromium against a real server: an admin edits
rubrics in the console (versions), and the QA page's sign-in keeps it to QA reviewers and
admins. Screenshots land in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import Server
from tests.test_browser import Tab, browser  # noqa: F401  (fixture, by name)

pytestmark = pytest.mark.browser


async def sign_in(tab: Tab, server: Server, email: str, *, expect_name: str | None) -> None:
    page = tab.page
    await page.locator("#signin-email").fill(email)
    await page.locator("#signin-password").fill(server.passwords[email])
    await page.locator("#signin-form button[type=submit]").click()
    if expect_name:
        await expect(page.locator("#me-name")).to_have_text(expect_name)


async def test_admin_edits_a_rubric_in_the_console_and_versions_are_kept(
    server: Server,
    browser: Browser,  # noqa: F811
) -> None:
    tab = await Tab.open(browser, f"{server.url}/agent", width=1366)
    page = tab.page
    await sign_in(tab, server, "admin@demo.local", expect_name="Ada Admin")
    await page.get_by_role("link", name="Rubrics").click()
    await expect(page.locator(".rubric-list")).to_contain_text("No rubrics yet.")

    await page.get_by_role("button", name="New rubric").click()
    await expect(page.locator("#rubric-editor-title")).to_be_focused()
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".rubric-form .form-note")).to_have_text("Give the rubric a name.")
    await page.locator("#rubric-name").fill("Support call")
    await page.locator("#criterion-0-title").fill("Greeting")
    await page.locator("#criterion-0-scale").select_option("yes_no")
    await page.get_by_role("button", name="Add a criterion").click()
    await expect(page.locator("#criterion-1-title")).to_be_focused()
    await page.locator("#criterion-1-title").fill("Solved the problem")
    await page.locator("#criterion-1-weight").fill("3")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".rubric-form .form-note")).to_have_text("Saved")
    await expect(page.locator("#rubric-editor-title")).to_have_text("Support call (version 1)")
    await expect(page.locator(".rubric-list")).to_contain_text("Organisation default")

    # a second default for the organisation is refused, in words
    await page.get_by_role("button", name="New rubric").click()
    await page.locator("#rubric-name").fill("Another default")
    await page.locator("#criterion-0-title").fill("Anything")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".rubric-form .form-note")).to_contain_text(
        "already has an active rubric"
    )

    # changed criteria are a new version; the first one stays readable
    await page.locator(".rubric-list__item", has_text="Support call").click()
    await page.locator("#criterion-1-scale").select_option("1-10")
    await page.locator("#criterion-0-optional").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#rubric-editor-title")).to_have_text("Support call (version 2)")
    versions = page.locator(".rubric-versions .timeline > li")
    await expect(versions).to_have_count(2)
    await versions.nth(1).locator("summary").click()
    await expect(versions.nth(1)).to_contain_text("Solved the problem · ×3 · 1 to 5")  # noqa: RUF001
    await tab.shot("qa-rubrics")

    await page.locator("#console-lang").select_option("zh-CN")
    await expect(page.locator("#tab-rubrics")).to_have_text("评分表")
    zh_title = "Support call（第 2 版）"  # noqa: RUF001
    await expect(page.locator("#rubric-editor-title")).to_have_text(zh_title)
    tab.assert_no_script_errors()

    # agents have no rubric tab; QA reviewers are sent to their own page
    agent = await Tab.open(browser, f"{server.url}/agent")
    await sign_in(agent, server, "agent1@demo.local", expect_name="Alex Agent")
    await expect(agent.page.locator("#tab-rubrics")).to_be_hidden()
    agent.assert_no_script_errors()


async def test_the_qa_page_is_for_qa_reviewers_and_admins(
    server: Server,
    browser: Browser,  # noqa: F811
) -> None:
    tab = await Tab.open(browser, f"{server.url}/qa")
    page = tab.page
    await expect(page.locator("#signin-title")).to_have_text("Sign in to QA review")
    await sign_in(tab, server, "agent1@demo.local", expect_name=None)
    await expect(page.locator("#signin-error")).to_contain_text("for QA reviewers and admins")
    assert await page.evaluate("sessionStorage.getItem('liveassist.staff')") is None
    await sign_in(tab, server, "qa@demo.local", expect_name="Quinn Reviewer")
    await expect(page.get_by_role("heading", name="Recorded calls")).to_be_visible()
    await expect(page.locator("#tab-console")).to_be_hidden()
    await page.locator("#qa-lang").select_option("zh-CN")
    await expect(page.get_by_role("heading", name="通话录音")).to_be_visible()
    tab.assert_no_script_errors()
