"""The console in a real browser: Debian's Chromium driven by Playwright.

A real server (uvicorn in a subprocess) serves a fresh demo database on a loopback port.
Set ``GREENCIRCLE_SCREENSHOTS=DIR`` to keep screenshots (the README's come from here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests_support import DEMO_PASSWORD, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(databases, tmp_path_factory) -> Iterator[str]:
    url = databases.new("sqlite", "demo")
    with running_server(url, tmp_path_factory.mktemp("var")) as base:
        yield base


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("GREENCIRCLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def login(page: Page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/console")
    expect(page).to_have_url(f"{base}/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_test_id("login-submit").click()


def test_login_switch_language_and_logout(server, page):
    login(page, server, "cq-eeb")
    expect(page).to_have_url(f"{server}/console")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_contain_text("欢迎")
    expect(page.get_by_test_id("ctx-jurisdiction")).to_have_text("CN-CQ")
    expect(page.get_by_test_id("ctx-org")).to_have_text("重庆市生态环境局")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="机构").click()
    expect(page.get_by_test_id("orgs-count")).to_contain_text("共")
    shoot(page, "console-zh.png")

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{server}/console/organisations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")
    expect(page.get_by_test_id("ctx-org")).to_have_text("Chongqing Ecology and Environment Bureau")
    rows = page.locator("tbody tr")
    expect(rows.first).to_be_visible()
    assert "SC-" not in page.locator("tbody").inner_text()  # Sichuan is out of CQ's scope
    shoot(page, "console-en.png")

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(f"{server}/console/login?out=1")
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto(f"{server}/console/organisations")
    expect(page).to_have_url(f"{server}/console/login")


def test_wrong_password_shows_an_error_and_keyboard_navigation_works(server, page):
    login(page, server, "cq-pow-01", "not-the-password")
    expect(page.get_by_test_id("login-error")).to_have_text("用户名或密码错误。")
    page.get_by_label("用户名").fill("cq-pow-01")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_label("密码").press("Enter")
    expect(page).to_have_url(f"{server}/console")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到主要内容")).to_be_focused()
    expect(page.get_by_test_id("orgs-total")).to_have_text("1")
