"""Console pages of the energy domain: both languages, chart data, scope checks."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from greencircle.demo.energy import DEMO_SITE_CODE, DEMO_STUDIES, DEMO_TITLES
from greencircle.energy.console import CHART_LABEL_KEYS, COST_KEYS, STATUSES, fmt
from greencircle.energy.service import KPI_TABLE
from greencircle.web.i18n import LANGUAGES, catalog
from tests_support import console_login, visible_text

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def demo_ids(api: Any) -> tuple[str, list[str]]:
    sites = api.get("/v1/energy/sites", "cq-che-01").json()["items"]
    (site,) = [s for s in sites if s["code"] == DEMO_SITE_CODE]
    studies = api.get(f"/v1/energy/studies?site_id={site['id']}&sort=label", "cq-che-01")
    return site["id"], [s["id"] for s in studies.json()["items"]]


def chart_data(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="energy-chart-data">(.*?)</script>', page)
    assert m, "no chart data"
    return dict(json.loads(html.unescape(m.group(1))))


def test_catalogs_cover_every_energy_key_in_both_languages():
    keys = (
        {f"energy.kpi.{k.key}" for k in KPI_TABLE}
        | {f"energy.cost.{k}" for k in COST_KEYS}
        | {f"energy.chart.{k}" for k in CHART_LABEL_KEYS}
        | {f"energy.status.{s}" for s in STATUSES}
        | {f"energy.solver.{s}" for s in ("optimal", "feasible", "infeasible", "no_solution")}
        | {"nav.energy"}
    )
    for lang in LANGUAGES:
        assert keys <= set(catalog(lang)), (lang, sorted(keys - set(catalog(lang)))[:5])
    en, zh = catalog("en"), catalog("zh-CN")
    for key in keys:
        assert not CJK.search(en[key]), key
        assert CJK.search(zh[key]), key


def pages_of(api: Any) -> list[str]:
    site_id, study_ids = demo_ids(api)
    return [
        "/console/energy",
        "/console/energy/sites/new",
        f"/console/energy/sites/{site_id}",
        f"/console/energy/sites/{site_id}/studies/new",
        *(f"/console/energy/studies/{s}" for s in study_ids),
        f"/console/energy/compare?ids={study_ids[0]}&ids={study_ids[1]}",
    ]


@pytest.mark.parametrize("user", ["cq-che-01", "cq-eeb", "gc-secretariat"])
def test_english_pages_have_no_chinese_and_chinese_pages_no_english_ui(energy_api, user):
    api = energy_api
    # The forms are for users who may create sites and run studies (the site's company).
    paths = [p for p in pages_of(api) if user == "cq-che-01" or not p.endswith("/new")]
    en_strings = {
        v
        for k, v in catalog("en").items()
        if len(v) > 3 and not k.startswith("lang.") and "{" not in v
    }
    for lang in LANGUAGES:
        console_login(api, user, lang)
        for path in paths:
            r = api.client.get(path)
            assert r.status_code == 200, (lang, path, r.text[:300])
            assert f'<html lang="{lang}">' in r.text
            text = visible_text(r.text)
            if lang == "en":
                text = text.replace(catalog("en")["lang.zh-CN"], "")
                assert not CJK.findall(text), (path, CJK.findall(text)[:10])
            else:
                assert CJK.search(text), path
                leaked = {s for s in en_strings if s in set(text.splitlines())}
                assert not leaked, (path, leaked)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_study_page_shows_the_saved_result_and_chart_data_in_the_page_language(energy_api, lang):
    api = energy_api
    _site_id, study_ids = demo_ids(api)
    console_login(api, "cq-che-01", lang)
    for study_id in study_ids:
        result = api.get(f"/v1/energy/studies/{study_id}/result", "cq-che-01").json()
        page = api.client.get(f"/console/energy/studies/{study_id}").text
        shown = re.search(r'data-testid="kpi-pv_kwp">([^<]+)<', page)
        assert shown and shown.group(1) == fmt(result["pv_kwp"], "kWp", lang)
        shown = re.search(r'data-testid="kpi-self_sufficiency_ratio">([^<]+)<', page)
        assert shown and shown.group(1) == fmt(result["kpis"]["self_sufficiency_ratio"], "-", lang)
        assert result["notes"]["grid_factor"]["factor_id"] in page
        # The Sichuan tariff prices a Chongqing site: flagged as a stand-in, in the language.
        assert catalog(lang)["energy.study.tariff_stand_in"] in html.unescape(page)
        assert catalog(lang)["energy.study.export_rule.pv_only"] in html.unescape(page)
        assert catalog(lang)["energy.solver.optimal"] in page
        data = chart_data(page)
        assert data["labels"]["dispatch"] == catalog(lang)["energy.chart.dispatch"]
        assert data["labels"]["load"] == catalog(lang)["energy.chart.load"]
        n = result["n_steps"]
        assert all(len(v) == n for v in data["series"].values())
        assert data["series"]["soc_kwh"] == [round(x, 1) for x in result["series"]["soc_kwh"]]
        monthly = data["monthly"]
        assert monthly["months"] == [f"2023-{m:02d}" for m in range(1, 13)]
        assert sum(monthly["load"]) == pytest.approx(result["kpis"]["load_kwh"] / 1000, rel=1e-6)
        assert sum(monthly["import"]) == pytest.approx(result["import_kwh"] / 1000, rel=1e-6)
        assert '<script src="/static/vendor/echarts.min.js" defer></script>' in page
        assert " on" + "click=" not in page.lower()


def test_site_page_lists_studies_and_compare_shows_them_side_by_side(energy_api):
    api = energy_api
    site_id, study_ids = demo_ids(api)
    console_login(api, "cq-eeb", "en")
    page = api.client.get(f"/console/energy/sites/{site_id}").text
    for label in DEMO_STUDIES:
        assert html.escape(DEMO_TITLES[label][0]) in page  # the English title
    assert page.count('name="ids"') == len(DEMO_STUDIES)
    page = api.client.get(f"/console/energy/compare?ids={study_ids[0]},{study_ids[1]}").text
    cmp = api.get(
        f"/v1/energy/studies/compare?ids={study_ids[0]}&ids={study_ids[1]}", "cq-eeb"
    ).json()
    row = next(r for r in cmp["kpis"] if r["key"] == "battery_kwh")
    cells = re.findall(r"<td>Battery energy</td>(.*?)</tr>", page, re.S)[0]
    assert re.findall(r'<td class="num">([^<]+)</td>', cells) == [
        fmt(v, "kWh", "en") for v in row["values"]
    ]


def test_energy_pages_respect_scope_and_permissions(energy_api):
    api = energy_api
    site_id, study_ids = demo_ids(api)
    console_login(api, "sc-che-01", "en")
    assert DEMO_SITE_CODE not in api.client.get("/console/energy").text
    for path in (f"/console/energy/sites/{site_id}", f"/console/energy/studies/{study_ids[0]}"):
        r = api.client.get(path)
        assert r.status_code == 403 and "org_out_of_scope" in r.text, path
    console_login(api, "sc-eed", "en")
    r = api.client.get(f"/console/energy/studies/{study_ids[0]}")
    assert r.status_code == 403
    console_login(api, "bank-cq-01", "en")
    assert 'href="/console/energy"' not in api.client.get("/console").text
    assert api.client.get("/console/energy").status_code == 403
    console_login(api, "cq-che-01", "en")
    assert 'href="/console/energy"' in api.client.get("/console").text
    api.client.cookies.clear()
    assert api.client.get("/console/energy").url.path == "/console/login"


def test_pages_of_user_supplied_factors_and_failed_runs_render(energy_api, monkeypatch):
    from greencircle.energy import service
    from greencircle.errors import Invalid

    from .test_energy_api import small_spec, wait_job

    api = energy_api
    site_id, _ = demo_ids(api)
    url = f"/v1/energy/microgrid/optimize?site_id={site_id}"
    spec = small_spec(carbon={"grid_tco2_per_mwh": 0.5, "price_cny_per_tco2": 50})
    plain = api.post(f"{url}&label=numeric-factor", "cq-che-01", json=spec).json()["study_id"]

    def broken(*_a: Any, **_k: Any) -> dict[str, Any]:
        raise Invalid("no weather", code="energy.weather_csv_invalid")

    monkeypatch.setattr(service, "optimize_spec", broken)
    r = api.post(f"{url}&async=true&label=broken", "cq-che-01", json=small_spec()).json()
    assert wait_job(api, r["job_id"], "cq-che-01")["status"] == "failed"
    for lang in LANGUAGES:
        console_login(api, "cq-che-01", lang)
        page = api.client.get(f"/console/energy/studies/{plain}")
        assert page.status_code == 200
        assert 'data-testid="grid-factor"' not in page.text
        assert chart_data(page.text)["series"]["load_kw"]
        page = api.client.get(f"/console/energy/studies/{r['study_id']}")
        assert page.status_code == 200
        assert "energy.weather_csv_invalid" in page.text
        assert catalog(lang)["energy.status.failed"] in page.text
        assert "energy-chart-data" not in page.text
        listing = api.client.get(f"/console/energy/sites/{site_id}").text
        assert "broken" in listing and "numeric-factor" in listing
