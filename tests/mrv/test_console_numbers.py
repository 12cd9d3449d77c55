"""MRV pages as people read them: grouped numbers at screen precision, typographic
units, findings in the page's language (the exact values stay in the API).

Expected screen text is built here with Python's own ``format`` grouping, not with the
formatter under test.
"""

from __future__ import annotations

import csv
import json
import re
from decimal import ROUND_HALF_EVEN, Decimal
from html import unescape
from pathlib import Path

import pytest

from greencircle.demo.mrv import load_mrv_demo
from greencircle.mrv import data as mrv_data
from tests_support import console_login, visible_text

CJK = re.compile(r"[\u3400-\u9fff]")


def screen(value: str, places: int = 3) -> str:
    """``13157014.8116166076`` -> ``13,157,014.812`` (grouped, at most ``places`` decimals)."""
    q = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{q:,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def cell(html: str, testid: str) -> str:
    m = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</(?:td|dd)>', html, re.S)
    assert m, testid
    return unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()


@pytest.fixture
def demo(api):
    state = api.client.app.state
    session = state.session_factory()
    try:
        load_mrv_demo(session, state.log_signer)
        session.commit()
    finally:
        session.close()
    return api


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_figures_are_grouped_at_screen_precision_with_unit_labels(demo, lang):
    api = demo
    reports = api.get("/v1/mrv/reports?year=2025", "cq-eeb").json()
    assert reports
    console_login(api, "cq-eeb", lang)
    page = api.client.get("/console/mrv?year=2025").text
    for rep in reports:
        assert cell(page, f"reported-{rep['id']}") == screen(rep["reported_tco2"])
    big = max(reports, key=lambda r: Decimal(r["reported_tco2"]))
    assert Decimal(big["reported_tco2"]) >= 1000  # grouping is visible
    report = api.client.get(f"/console/mrv/reports/{big['id']}").text
    assert cell(report, "reported") == screen(big["reported_tco2"]) + " tCO₂"
    if big["verified_tco2"]:
        assert cell(report, "verified") == screen(big["verified_tco2"]) + " tCO₂"
    assert "tCO2" not in visible_text(report)
    chart = json.loads(re.search(r'id="mrv-chart-data">(.*?)</script>', report, re.S).group(1))
    assert chart["labels"]["tco2"] == "tCO₂" and chart["lang"] == lang
    # an adjusted report shows all three figures
    adjusted = [r for r in reports if r["adjusted_tco2"]]
    assert adjusted, "the demo has a report the verifier adjusted"
    html = api.client.get(f"/console/mrv/reports/{adjusted[0]['id']}").text
    assert cell(html, "adjusted").startswith(screen(adjusted[0]["adjusted_tco2"]) + " tCO₂")


def test_factor_library_shows_one_unit_label(api):
    console_login(api, "cq-eeb", "en")
    gas = api.client.get("/console/mrv/factors?q=natural_gas").text
    units = [unescape(u) for u in re.findall(r'data-testid="factor-unit">([^<]*)<', gas)]
    assert "tCO₂/10⁴ Nm³" in units
    heat = api.client.get("/console/mrv/factors?method=heat").text
    units = [unescape(u) for u in re.findall(r'data-testid="factor-unit">([^<]*)<', heat)]
    assert units == ["tCO₂/GJ"] * len(units) and units
    for page in (gas, heat):
        text = visible_text(page)
        assert "/t/t" not in text and "/GJ/GJ" not in text and "10^4" not in text


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_findings_are_translated_with_their_values(demo, lang):
    api = demo
    reports = api.get("/v1/mrv/reports?year=2025", "cq-eeb").json()
    console_login(api, "cq-eeb", lang)
    texts: list[str] = []
    for rep in reports:
        html = api.client.get(f"/console/mrv/reports/{rep['id']}").text
        texts += [
            unescape(t).strip() for t in re.findall(r'data-testid="finding-text">([^<]*)<', html)
        ]
        findings = api.get(f"/v1/mrv/findings?org_id={rep['org_id']}&year=2025", "cq-eeb").json()
        # every finding's parameters appear in the text, whatever the language
        for f in findings:
            if f["code"] == "MRV-Q041":
                assert any(
                    f["params"]["factor_id"] in t and f["params"]["used"] in t for t in texts
                )
    assert texts, "the demo year has plausibility findings"
    english = re.compile(r"\b(record|records|outside|range|published|using|no|month)\b")
    if lang == "zh-CN":
        assert all(CJK.search(t) for t in texts)
        assert not [t for t in texts if english.search(t)]
    else:
        assert not [t for t in texts if CJK.search(t)]


def test_record_items_show_fuel_names_of_the_page_language(demo):
    api = demo
    reports = api.get("/v1/mrv/reports?year=2025", "cq-eeb").json()
    # names as the shipped factor file spells them (read here with csv, not the library)
    with open(Path(mrv_data.__file__).parent / "cn-fuel.2026.1.csv", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["fuel_code"] == "bituminous_coal")
    for lang, name in (("zh-CN", row["name_zh"]), ("en", row["name_en"])):
        console_login(api, "cq-eeb", lang)
        texts = [
            visible_text(api.client.get(f"/console/mrv/reports/{r['id']}").text) for r in reports
        ]
        assert any(name in t for t in texts), lang  # the demo burns bituminous coal
        # the code may stand inside a record id, never alone as the item shown
        assert not any("bituminous_coal" in t.splitlines() for t in texts), lang
