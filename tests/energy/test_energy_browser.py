"""The demo microgrid study in a real browser: Chromium draws the three ECharts charts.

A real server (uvicorn in a subprocess) serves a copy of the energy demo database; the
charts must render to canvases, with series names from the page language's catalog, and
the page must raise no JavaScript error.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from greencircle.demo.energy import DEMO_TITLES, SITE
from greencircle.web.i18n import catalog
from tests_support import DEMO_PASSWORD, running_server

CHARTS = ("chart-dispatch", "chart-soc", "chart-monthly")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(energy_template, tmp_path_factory) -> Iterator[str]:
    path, var = energy_template
    dest = tmp_path_factory.mktemp("energy-browser") / "energy.sqlite"
    shutil.copy(path, dest)
    with running_server(f"sqlite:///{dest}", var) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()


def series_names(page: Page, chart_id: str) -> list[str]:
    names: Any = page.evaluate(
        """id => window.echarts.getInstanceByDom(document.getElementById(id))
                 .getOption().series.map(s => s.name)""",
        chart_id,
    )
    return list(names)


def test_demo_study_page_draws_its_charts_in_both_languages(server, page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/console")
    page.get_by_label("用户名").fill("cq-che-01")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{server}/console")
    zh = catalog("zh-CN")
    page.get_by_role("navigation", name=zh["nav.label"]).get_by_role(
        "link", name=zh["nav.energy"]
    ).click()
    page.get_by_role("link", name=SITE["code"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SITE["name_zh"])
    page.get_by_role("link", name=DEMO_TITLES["PV+BESS 2023"][1]).click()  # Chinese title
    for chart in CHARTS:
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
    assert zh["energy.chart.load"] in series_names(page, "chart-dispatch")
    assert series_names(page, "chart-soc") == [zh["energy.chart.soc_kwh"]]
    assert zh["energy.chart.import"] in series_names(page, "chart-monthly")
    box = page.locator("#chart-dispatch canvas").first.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 200

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text(DEMO_TITLES["PV+BESS 2023"][0])
    en = catalog("en")
    for chart in CHARTS:
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
    assert en["energy.chart.load"] in series_names(page, "chart-dispatch")
    assert en["energy.chart.discharge"] in series_names(page, "chart-dispatch")
    assert errors == []
