"""Console pages of the registry: both languages, data as the API gives it, forms with
CSRF, scope checks."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from greencircle.demo.registry import BENEFICIARY, PLEDGE_REFERENCE
from greencircle.registry.console import (
    COMPLIANCE_STATUSES,
    PLEDGE_STATUSES,
    TABS,
    TRANSFER_STATUSES,
)
from greencircle.registry.markets import STATUSES as DATA_STATUSES
from greencircle.web.i18n import LANGUAGES, catalog
from tests_support import console_login, visible_text

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
CQEA = "CN-CQ:CQEA:2025"
KINDS = ("issue", "allocation", "transfer", "hold_post", "settle_dvp", "surrender", "retire")
KINDS += ("cancel", "pledge_enforce", "deposit", "withdraw")


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert m
    return m.group(1)


def pages_for(user: str) -> list[str]:
    alu = quote("CN-CQ.CQ-ALU-01")
    common = [
        "/console/registry",
        "/console/registry/serials",
        f"/console/registry/serials?instrument={quote(CQEA)}&start=1&end=100000",
        "/console/registry/compliance",
        "/console/registry/retirements",
        "/console/registry/pledges",
        "/console/registry/freezes",
    ]
    if user in ("cq-eeb", "gc-secretariat"):
        return [
            *common,
            "/console/registry/plans",
            f"/console/registry/statement?account={alu}&instrument={quote(CQEA)}",
            "/console/registry?org=CQ-ALU-01",
            f"/console/registry/blocks?account={alu}&instrument={quote(CQEA)}",
            "/console/registry/compliance?market=CN-NATIONAL&year=2025",
        ]
    if user == "cq-alu-01":
        return [
            *common,
            f"/console/registry/blocks?account={alu}",
            f"/console/registry/statement?account={alu}&instrument={quote(CQEA)}",
        ]
    return common


def test_catalogs_cover_every_registry_key_in_both_languages():
    keys = (
        {f"registry.status.{s}" for s in COMPLIANCE_STATUSES}
        | {f"registry.pledge_status.{s}" for s in PLEDGE_STATUSES}
        | {f"registry.done.{s}" for s in TRANSFER_STATUSES}
        | {f"registry.kind.{k}" for k in KINDS}
        | {f"registry.data_status.{s}" for s in DATA_STATUSES}
        | {key for _href, key in TABS}
        | {"nav.registry"}
    )
    en, zh = catalog("en"), catalog("zh-CN")
    for lang in LANGUAGES:
        assert keys <= set(catalog(lang)), (lang, sorted(keys - set(catalog(lang))))
    for key in [k for k in en if k.startswith("registry.")] + ["nav.registry"]:
        assert not CJK.search(en[key]), key
        assert CJK.search(zh[key]), key


@pytest.mark.parametrize(
    "user", ["cq-eeb", "cq-alu-01", "cq-che-02", "bank-cq-01", "gc-secretariat"]
)
def test_pages_in_both_languages_without_mixing(reg_api, user):
    api = reg_api
    en_strings = {
        v
        for k, v in catalog("en").items()
        if len(v) > 3 and not k.startswith("lang.") and "{" not in v
    }
    for lang in LANGUAGES:
        console_login(api, user, lang)
        assert 'href="/console/registry"' in api.client.get("/console").text
        for path in pages_for(user):
            r = api.client.get(path)
            assert r.status_code == 200, (user, lang, path, r.text[:500])
            assert f'<html lang="{lang}">' in r.text
            text = visible_text(r.text)
            if lang == "en":
                text = text.replace(catalog("en")["lang.zh-CN"], "")
                assert not CJK.findall(text), (path, CJK.findall(text)[:10])
            else:
                assert CJK.search(text), path
                leaked = {s for s in en_strings if s in set(text.splitlines())}
                assert not leaked, (path, leaked)


def test_holdings_show_the_balances_of_the_api(reg_api):
    api = reg_api
    console_login(api, "cq-che-02", "en")
    page = api.client.get("/console/registry").text
    line = next(
        b
        for b in api.get("/v1/registry/balances", "cq-che-02").json()["items"]
        if b["instrument_code"] == CQEA
    )
    assert f"<code>{CQEA}</code>" in page
    # en: grouping by thousands and the unit label of the instrument class (scale 0)
    assert (line["unit"], line["scale"]) == ("tCO2e", 0)
    assert f'data-testid="available">{line["available"]:,} tCO₂e<' in page
    assert f"{line['encumbered']:,} tCO₂e" in page and line["encumbered"] > 0
    proof = f"/v1/registry/accounts/{quote('CN-CQ.CQ-CHE-02')}/proofs?instrument={quote(CQEA)}"
    assert proof.replace("&", "&amp;") in page or proof in page
    r = api.client.get(proof.replace("%2E", "."))
    assert r.status_code == 200 and r.json()["bundles"]


def test_blocks_and_serial_search_pages(reg_api):
    api = reg_api
    console_login(api, "cq-eeb", "en")
    alu = "CN-CQ.CQ-ALU-01"
    page = api.client.get(f"/console/registry/blocks?account={alu}&instrument={quote(CQEA)}").text
    blocks = api.get(f"/v1/registry/accounts/{alu}/blocks", "cq-eeb").json()["items"]
    for b in blocks:
        assert b["serials"] in page
        assert f"/v1/registry/transactions/{b['last_tx_id']}/proof" in page
    (ret,) = api.get("/v1/registry/retirements?org_id=" + api.org_id("CQ-ALU-01"), "cq-eeb").json()[
        "items"
    ]
    start, end = (int(x) for x in ret["serials"][0].rsplit("-", 2)[1:])
    page = api.client.get(
        f"/console/registry/serials?instrument={quote(CQEA)}&start={start}&end={end}"
    ).text
    assert "CN-CQ.SYS.RETIREMENT" in page
    assert catalog("en")["registry.kind.allocation"] in page
    assert catalog("en")["registry.kind.retire"] in page
    r = api.client.get(f"/console/registry/serials?instrument={quote(CQEA)}&start=9&end=1")
    assert r.status_code == 422 and "invalid_quantity" in r.text


def test_compliance_pages_for_a_regulator_and_an_enterprise(reg_api):
    api = reg_api
    console_login(api, "cq-eeb", "en")
    page = api.client.get("/console/registry/compliance?market=CN-CQ&year=2025").text
    region = api.get(
        "/v1/registry/compliance/regions/CN-CQ?market=CN-CQ&year=2025", "cq-eeb"
    ).json()
    for status in ("compliant", "open", "shortfall", "not_verified"):
        assert f'data-testid="count-{status}">{region[status]}<' in page
    assert page.count("<tr data-status=") == region["entities"] == 8
    assert 'data-testid="districts"' in page and "Changshou" in page
    assert 'data-testid="shortfalls"' in page or catalog("en")["registry.shortfalls.none"] in page
    console_login(api, "cq-cem-03", "zh-CN")
    page = api.client.get("/console/registry/compliance?year=2025").text
    st = api.get("/v1/registry/compliance/status?market=CN-CQ&year=2025", "cq-cem-03").json()
    assert f'data-status="{st["status"]}"' in page
    assert catalog("zh-CN")[f"registry.status.{st['status']}"] in page
    assert f"{st['obligation']:,} tCO₂e" in page


def test_retirements_page_links_certificates_and_proofs(reg_api):
    api = reg_api
    console_login(api, "cq-alu-01", "en")
    page = api.client.get("/console/registry/retirements").text
    (ret,) = api.get("/v1/registry/retirements", "cq-alu-01").json()["items"]
    assert BENEFICIARY in page
    for s in ret["serials"]:
        assert s in page
    rid = ret["retirement_id"]
    for lang in ("zh", "en"):
        for fmt, media in (("html", "text/html; charset=utf-8"), ("pdf", "application/pdf")):
            href = f"/v1/registry/retirements/{rid}/certificate?lang={lang}&amp;format={fmt}"
            assert href in page
            r = api.client.get(href.replace("&amp;", "&"))
            assert r.status_code == 200 and r.headers["content-type"] == media
    assert f"/v1/registry/retirements/{rid}/proof" in page


def test_transfer_and_retire_forms_need_csrf_and_report_rejections(reg_api):
    api = reg_api
    console_login(api, "cq-alu-01", "en")
    page = api.client.get("/console/registry").text
    assert 'data-testid="transfer-form"' in page and 'data-testid="retire-form"' in page
    token = csrf_of(page)
    form = {"from_account": "CN-CQ.CQ-ALU-01", "to_account": "CN-CQ.CQ-CEM-01"}
    form |= {"instrument": CQEA, "quantity": "10", "note": "console"}
    r = api.client.post("/console/registry/transfer", data=form | {"csrf": "0" * 32})
    assert r.status_code == 403 and "csrf_failed" in r.text
    r = api.client.post("/console/registry/transfer", data=form | {"csrf": token})
    assert r.status_code == 200 and r.url.path == "/console/registry"
    assert catalog("en")["registry.done.completed"] in r.text
    r = api.client.post(
        "/console/registry/transfer", data=form | {"csrf": token, "quantity": "999999999"}
    )
    # a rejection comes back to the form with its message, and nothing was written
    assert r.status_code == 200 and r.url.path == "/console/registry"
    assert catalog("en")["registry.error.insufficient_available"] in r.text
    retire = {"account": "CN-CQ.CQ-ALU-01", "instrument": CQEA, "quantity": "5"}
    retire |= {"beneficiary": "Console Conference 2026", "purpose": "Event offset"}
    retire |= {"period_start": "2026-01-01", "period_end": "2026-01-02", "csrf": token}
    r = api.client.post("/console/registry/retire", data=retire)
    assert r.status_code == 200 and r.url.path == "/console/registry/retirements"
    assert "Console Conference 2026" in r.text and 'data-testid="done"' in r.text
    # no forms for a regulator looking at someone else's holdings
    console_login(api, "cq-eeb", "en")
    other = api.client.get("/console/registry?org=CQ-ALU-01").text
    assert "transfer-form" not in other and "CN-CQ.CQ-ALU-01" in other


def test_pledge_register_page_and_actions(reg_api):
    api = reg_api
    console_login(api, "bank-cq-01", "en")
    page = api.client.get("/console/registry/pledges").text
    assert PLEDGE_REFERENCE in page and "Yangtze Green Commercial Bank" in page
    (pledge,) = api.get("/v1/registry/pledges", "bank-cq-01").json()["items"]
    action = f"/console/registry/pledges/{pledge['pledge_id']}/release"
    assert action in page
    r = api.client.post(action, data={"csrf": csrf_of(page)})
    assert r.status_code == 200 and catalog("en")["registry.pledge_status.released"] in r.text
    assert api.get("/v1/registry/pledges", "bank-cq-01").json()["items"][0]["status"] == "released"
    console_login(api, "bank-sc-01", "en")
    assert PLEDGE_REFERENCE not in api.client.get("/console/registry/pledges").text
    console_login(api, "cq-eeb", "zh-CN")
    assert PLEDGE_REFERENCE in api.client.get("/console/registry/pledges").text


def test_registry_pages_respect_scope_and_permissions(reg_api):
    api = reg_api
    console_login(api, "cq-cem-01", "en")
    r = api.client.get("/console/registry?org=CQ-CEM-02")
    assert r.status_code == 403 and "out_of_jurisdiction" in r.text
    r = api.client.get(f"/console/registry/blocks?account={quote('CN-CQ.CQ-CEM-02')}")
    assert r.status_code == 404
    console_login(api, "sc-eed", "en")
    assert api.client.get("/console/registry?org=CQ-CEM-02").status_code == 403
    for user in ("ver-cq-01", "settle-01"):
        console_login(api, user, "en")
        assert 'href="/console/registry"' not in api.client.get("/console").text
        r = api.client.get("/console/registry")
        assert r.status_code == 403 and "permission_denied" in r.text
    api.client.cookies.clear()
    assert api.client.get("/console/registry").url.path == "/console/login"
