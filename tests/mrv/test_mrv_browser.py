"""End to end: ``greencircle demo load`` builds the demo, a real server serves it, and
Chromium shows an enterprise's verified 2025 report with charts and proofs, in zh and en.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from greencircle.audit.verify import verify_bundle
from tests_support import DEMO_PASSWORD, demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    with demo_server(tmp_path_factory.mktemp("mrv-e2e")) as (base, out):
        assert "verified" in out
        yield base


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, errors


def login(page: Page, base: str, user: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{base}/console")


def test_verified_report_with_charts_and_proofs(server, page, tmp_path):
    login(page, server, "cq-cem-01")
    page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="排放核算（MRV）"
    ).click()
    page.get_by_test_id("reports-table").get_by_role("link").first.click()
    expect(page.get_by_test_id("report-status")).to_have_text("已锁定")
    expect(page.locator("#chart-mrv-monthly canvas")).to_have_count(1)
    expect(page.locator("#chart-mrv-intensity canvas")).to_have_count(1)
    history = (
        page.get_by_role("region", name="变更记录").inner_text()
        if page.get_by_role("region", name="变更记录").count()
        else page.content()
    )
    assert "调整记录" in history  # the verifier's adjustment is in the history
    if os.environ.get("GREENCIRCLE_SCREENSHOTS"):
        page.wait_for_timeout(1500)  # let the chart animation finish before the picture
        page.screenshot(path=os.path.join(os.environ["GREENCIRCLE_SCREENSHOTS"], "mrv-zh.png"))
    with page.expect_download() as dl:
        page.locator("[data-testid^=proof-]").first.click()
    bundle = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert bundle["event"]["type"] == "mrv.receipt"
    assert verify_bundle(bundle).ok
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_test_id("report-status")).to_have_text("Locked")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Annual emissions report 2025")


def test_regulator_sees_the_province_summary(server, page):
    login(page, server, "sc-eed")
    page.goto(f"{server}/console/mrv?year=2025")
    expect(page.get_by_test_id("region-CN-SC")).to_contain_text("tCO₂")  # a unit label
    shown = page.get_by_test_id("region-CN-SC").inner_text()
    assert re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d{1,3})? tCO₂", shown.strip()), shown
    assert page.get_by_test_id("region-CN-CQ").count() == 0  # outside Sichuan's scope
    rows = page.get_by_test_id("reports-table").locator("tbody tr")
    expect(rows.first).to_be_visible()
    text = page.get_by_test_id("reports-table").inner_text()
    assert "已退回" in text  # the demo's returned report is visible to its regulator
