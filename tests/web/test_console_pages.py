"""Console pages: complete catalogs, no mixed-language pages, scope checks, CSRF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greencircle.auth.roles import OrgType, Role
from greencircle.auth.seed import jurisdiction_rows
from greencircle.demo.scenario import ENTERPRISES
from greencircle.exchange import console as exchange_console
from greencircle.mrv.models import REPORT_STATES
from greencircle.web import console
from greencircle.web.i18n import LANGUAGES, catalog, negotiate
from greencircle.web.nav import NAV
from tests_support import console_login, visible_text

TEMPLATES = Path(__file__).parents[2] / "src/greencircle/web/templates"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
PAGES = [
    "/console",
    "/console/organisations",
    "/console/facilities",
    "/console/jurisdictions",
    "/console/account",
    "/console/users",
    "/console/access-log",
    "/console/audit",
]


def test_catalogs_have_the_same_keys_and_placeholders():
    en, zh = catalog("en"), catalog("zh-CN")
    assert set(en) == set(zh)
    for key in en:
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", zh[key])), key
        assert en[key].strip() and zh[key].strip(), key


def test_every_key_used_in_templates_exists():
    used = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.\-]+)["']""", path.read_text()))
    assert used, "no translated strings found"
    used |= {item.label_key for item in NAV}
    static = {k for k in used if not k.endswith(".")}
    assert not static - set(catalog("en"))
    # Keys built from data ("role." ~ value): every value of the domain has a message.
    domains = {
        "role.": {r.value for r in Role},
        "orgtype.": {o.value for o in OrgType},
        "lang.": set(LANGUAGES),
        "level.": {r["level"] for r in jurisdiction_rows()},
        "sector.": {s for s, _j, _n in ENTERPRISES} | {"other"},
        "mrv.state.": set(REPORT_STATES),
        "mrv.action.": {"create", "submit", "assign", "adjust", "verify", "return", "lock"},
        "mrv.category.": {"fuel", "electricity", "heat"},
        "mrv.severity.": {"info", "warning", "error"},
        "exchange.outcome.": {"accepted", "rejected"},
        "exchange.code.": set(exchange_console.RESULT_CODES),
        "exchange.side.": set(exchange_console.SIDES),
        "exchange.kind.": set(exchange_console.KINDS),
        "exchange.tif.": set(exchange_console.TIFS),
        "exchange.state.": set(exchange_console.ORDER_STATES),
        "exchange.reason.": set(exchange_console.REASONS),
        "exchange.tab.": {"book", "block", "auctions", "settlement", "surveillance"},
        "users.done.": set(console.USER_DONE),
        "users.error.": set(console.USER_ERRORS),
        "users.field.": set(console.USER_FIELDS),
    }
    assert {k for k in used if k.endswith(".")} == set(domains)
    for prefix, values in domains.items():
        assert {prefix + v for v in values} <= set(catalog("en")), prefix


def test_language_negotiation():
    assert negotiate("en", "zh-CN", "zh-CN") == "en"
    assert negotiate(None, "en-GB,en;q=0.9", None) == "en"
    assert negotiate(None, "zh-TW,zh;q=0.9", None) == "zh-CN"
    assert negotiate("klingon", None, "en") == "en"
    assert negotiate(None, None, None) == "zh-CN"


@pytest.mark.parametrize("user", ["cq-eeb", "cq-pow-01", "gc-secretariat"])
def test_english_pages_contain_no_chinese(api, user):
    console_login(api, user, "en")
    for page in PAGES:
        r = api.client.get(page)
        if r.status_code == 403:
            continue
        assert r.status_code == 200, page
        text = visible_text(r.text)
        # The language switch names the other language in its own script, by design.
        text = text.replace(catalog("en")["lang.zh-CN"], "")
        assert not CJK.findall(text), (page, CJK.findall(text)[:10])
        assert '<html lang="en">' in r.text


@pytest.mark.parametrize("user", ["cq-eeb", "cq-pow-01", "gc-secretariat"])
def test_chinese_pages_contain_no_english_ui_strings(api, user):
    console_login(api, user, "zh-CN")
    en_strings = {
        v
        for k, v in catalog("en").items()
        if len(v) > 3 and not k.startswith("lang.") and "{" not in v
    }
    for page in PAGES:
        r = api.client.get(page)
        if r.status_code == 403:
            continue
        text = visible_text(r.text)
        lines = set(text.splitlines())
        leaked = {s for s in en_strings if s in lines}
        assert not leaked, (page, leaked)
        assert '<html lang="zh-CN">' in r.text
        assert CJK.search(text)


def test_pages_require_login_and_respect_scope(api):
    api.client.cookies.clear()
    for page in PAGES:
        r = api.client.get(page)
        assert r.url.path == "/console/login", page
    console_login(api, "cq-pow-01", "en")
    other = api.org_id("SC-POW-01")
    r = api.client.get(f"/console/organisations/{other}")
    assert r.status_code == 403
    assert "org_out_of_scope" in r.text
    listing = api.client.get("/console/organisations").text
    assert "CQ-POW-01" in listing
    assert "SC-POW-01" not in listing
    r = api.client.get("/console/access-log")
    assert r.status_code == 403


def test_logout_needs_the_csrf_token_and_revokes_the_session(api):
    console_login(api, "cq-eeb", "en")
    page = api.client.get("/console").text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    r = api.client.post("/console/logout", data={"csrf": "0" * 32})
    assert r.status_code == 403
    assert "csrf_failed" in r.text
    cookie = api.client.cookies.get("gc_session")
    r = api.client.post("/console/logout", data={"csrf": token})
    assert r.url.path == "/console/login"
    me = api.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {cookie}"})
    assert me.status_code == 401
    assert me.json()["error"] == "token_revoked"


def test_organisation_listing_pages_and_sorts(api):
    console_login(api, "gc-secretariat", "en")
    codes = []
    for page in (1, 2, 3):
        html = api.client.get(f"/console/organisations?sort=-code&page={page}").text
        codes += re.findall(r'<td><a href="/console/organisations/\w+">([\w-]+)</a>', html)
    assert codes == sorted(codes, reverse=True)
    assert (
        len(codes)
        == len(set(codes))
        == api.get("/v1/organisations", "gc-secretariat").json()["total"]
    )
    assert "Page 1 of 3" in api.client.get("/console/organisations").text


def test_api_key_created_in_console_works_on_the_api(api):
    console_login(api, "sc-cem-01", "zh-CN")
    page = api.client.get("/console/account").text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    r = api.client.post("/console/account/api-keys", data={"csrf": token, "name": "ERP"})
    key = re.search(r'data-testid="new-key">(gck_[\w-]+)<', r.text).group(1)
    me = api.client.get("/v1/auth/me", headers={"X-API-Key": key, "Cookie": ""})
    assert me.json()["username"] == "sc-cem-01"


def test_languages_tuple():
    assert LANGUAGES == ("zh-CN", "en")
