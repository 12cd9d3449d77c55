"""The console in a real browser: Debian's Chromium driven by Playwright.

A real server (uvicorn in a subprocess) serves a fresh demo database on a loopback port.
Set ``GREENCIRCLE_SCREENSHOTS=DIR`` to keep screenshots (the README's come from here).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests_support import DEMO_PASSWORD, TEST_SECRET, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(databases, tmp_path_factory) -> Iterator[str]:
    url = databases.new("sqlite", "demo")
    port = free_port()
    env = {
        **os.environ,
        "GREENCIRCLE_DATABASE_URL": url,
        "GREENCIRCLE_SECRET_KEY": TEST_SECRET,
        "GREENCIRCLE_VAR_DIR": str(tmp_path_factory.mktemp("var")),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "greencircle.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/v1/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.communicate()[0].decode()
                raise RuntimeError(f"server did not start:\n{out}") from None
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Chromium missing: run `make system-deps`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


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
