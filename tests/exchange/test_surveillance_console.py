"""Console page of market surveillance: both languages for a regulator, scan and review
forms (CSRF), scoping, and no access for enterprises."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from greencircle.audit.keys import signer_from
from greencircle.exchange.surveillance import load_thresholds
from greencircle.web.i18n import catalog
from tests_support import Api, console_login, make_api, make_settings, visible_text

from .ex_support import Market, csrf_of, fund
from .test_surveillance import CASH, UNITS, A, B, C, at, trade

PAGE = "/console/exchange/surveillance"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
RT = load_thresholds()["CN-CQ"].round_trip_t


@pytest.fixture
def capi(databases, tmp_path) -> Iterator[Api]:
    url = databases.new("sqlite", "demo")
    signer = signer_from(make_settings(url, tmp_path))
    fund(url, signer, units=UNITS, cash_minor={B: CASH, C: CASH})
    m = Market(url, signer=signer)
    try:
        trade(m, A, B, "50.00", RT, at(2, 2))  # B buys and sells RT t: a round trip
        trade(m, B, C, "50.00", RT, at(2, 2, 5))
    finally:
        m.close()
    yield from make_api(url, tmp_path)


def test_scan_and_review_from_the_console_in_both_languages(capi: Api) -> None:
    console_login(capi, "cq-eeb", "en")
    page = capi.client.get(PAGE)
    assert page.status_code == 200
    assert 'data-testid="alerts"' not in page.text
    r = capi.client.post(
        f"{PAGE}/scan",
        data={"csrf": csrf_of(page.text), "market": "CN-CQ", "trade_date": "2026-03-02"},
    )
    assert r.status_code == 200 and r.url.path == PAGE
    assert 'data-testid="done"' in r.text
    assert catalog("en")["surveillance.kind.round_trip"] in r.text
    ids = re.findall(r'<tr data-id="(\w+)" data-kind="round_trip"', r.text)
    assert len(ids) == 1
    text = visible_text(r.text).replace(catalog("en")["lang.zh-CN"], "")
    assert not CJK.findall(text), CJK.findall(text)[:10]
    assert '<html lang="en">' in r.text
    # filters and pages
    only = capi.client.get(f"{PAGE}?kind=round_trip&status=open&market=CN-CQ")
    assert only.text.count("<tr data-id=") == 1
    assert capi.client.get(f"{PAGE}?kind=end_of_day_ramp").text.count("<tr data-id=") == 0
    assert capi.client.get(f"{PAGE}?page=2").status_code == 200
    # review needs the CSRF token
    review = f"{PAGE}/alerts/{ids[0]}/review"
    bad = capi.client.post(review, data={"csrf": "0" * 32, "status": "acknowledged"})
    assert bad.status_code == 403 and "csrf_failed" in bad.text
    token = csrf_of(only.text)
    ok = capi.client.post(review, data={"csrf": token, "status": "closed", "note": "explained"})
    assert ok.status_code == 200 and ok.url.path == PAGE
    closed = capi.client.get(f"{PAGE}?status=closed")
    assert closed.text.count("<tr data-id=") == 1 and "explained" in closed.text
    assert f'action="{review}"' not in closed.text  # no form on a closed alert
    # the same page in Chinese
    console_login(capi, "cq-eeb", "zh-CN")
    zh = capi.client.get(PAGE)
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text
    zh_text = visible_text(zh.text)
    assert catalog("zh-CN")["surveillance.title"] in zh_text
    assert catalog("zh-CN")["surveillance.kind.round_trip"] in zh_text
    for key in ("surveillance.title", "surveillance.scan.title", "surveillance.kind.round_trip"):
        assert catalog("en")[key] not in zh_text, key


def test_other_regulators_see_nothing_and_enterprises_are_refused(capi: Api) -> None:
    console_login(capi, "cq-eeb", "en")
    page = capi.client.get(PAGE)
    capi.client.post(
        f"{PAGE}/scan",
        data={"csrf": csrf_of(page.text), "market": "CN-CQ", "trade_date": "2026-03-02"},
    )
    console_login(capi, "sc-eed", "en")
    sc = capi.client.get(PAGE)
    assert sc.status_code == 200 and "<tr data-id=" not in sc.text
    assert '<option value="CN-CQ"' not in sc.text
    r = capi.client.post(
        f"{PAGE}/scan",
        data={"csrf": csrf_of(sc.text), "market": "CN-CQ", "trade_date": "2026-03-02"},
    )
    assert r.status_code == 403 and "exchange.out_of_jurisdiction" in r.text
    console_login(capi, "cq-ste-01", "en")
    r = capi.client.get(PAGE)
    assert r.status_code == 403 and "permission_denied" in r.text
    capi.client.cookies.clear()
    r = capi.client.get(PAGE)
    assert r.url.path == "/console/login"


def test_alert_messages_are_in_the_page_language(capi: Api) -> None:
    console_login(capi, "cq-eeb", "zh-CN")
    page = capi.client.get(PAGE)
    capi.client.post(
        f"{PAGE}/scan",
        data={"csrf": csrf_of(page.text), "market": "CN-CQ", "trade_date": "2026-03-02"},
    )
    alert = capi.get("/v1/exchange/surveillance/alerts?kind=round_trip", "cq-eeb").json()
    (a,) = alert["items"]
    unit = {"tCO2e": "tCO₂e", "t": "t", "kg": "kg"}[a["metrics"]["unit"]]
    values = {
        "participant": a["org_code"],
        "instrument": a["instrument"],
        "date": a["trade_date"],
        "unit": unit,
        "bought": f"{RT:,}",
        "sold": f"{RT:,}",
        "round_trip": f"{RT:,}",
        "threshold": f"{RT:,}",
    }
    for lang in ("zh-CN", "en"):
        console_login(capi, "cq-eeb", lang)
        text = visible_text(capi.client.get(f"{PAGE}?kind=round_trip").text)
        expected = catalog(lang)["surveillance.msg.round_trip"].format(**values)
        assert expected in text, (lang, text[-800:])
        if lang == "zh-CN":
            assert a["message"] not in text  # the scan's English text stays in the API


def test_every_alert_kind_has_a_message_in_both_languages() -> None:
    from greencircle.exchange.surveillance import ALERT_KINDS

    for lang in ("zh-CN", "en"):
        for kind in ALERT_KINDS:
            assert f"surveillance.msg.{kind}" in catalog(lang), (lang, kind)
