"""Console pages of listed and block agreement trading: both languages, forms, access."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from greencircle.exchange import agreement_console
from greencircle.web.i18n import catalog
from tests_support import Api, console_login, visible_text

from .ex_support import BUYER, SELLER, csrf_of, funded_api

PAGE = "/console/exchange/listed/CN-CQ/CQEA:2025"
BLOCK = "/console/exchange/block"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from funded_api(
        databases,
        tmp_path,
        units={SELLER: 300_000, BUYER: 1_000},
        cash_minor={BUYER: 2_000_000_000, SELLER: 10_000_000},
    )


def _check_language(html: str, lang: str) -> None:
    text = visible_text(html)
    if lang == "en":
        text = text.replace(catalog("en")["lang.zh-CN"], "")
        assert not CJK.findall(text), CJK.findall(text)[:10]
        assert '<html lang="en">' in html
    else:
        lines = set(text.splitlines())
        en = {
            v
            for k, v in catalog("en").items()
            if len(v) > 3 and not k.startswith("lang.") and "{" not in v
        }
        assert not {s for s in en if s in lines}


def test_catalogs_cover_every_code_and_state() -> None:
    en, zh = catalog("en"), catalog("zh-CN")
    keys = (
        {f"agreements.code.{c}" for c in agreement_console.RESULT_CODES}
        | {f"agreements.outcome.{o}" for o in agreement_console.OUTCOMES}
        | {f"agreements.status.{s}" for s in agreement_console.PROPOSAL_STATES}
        | {f"agreements.mode.{m}" for m in agreement_console.TRADE_MODES}
    )
    assert keys <= set(en) and keys <= set(zh)
    ours = {k for k in en if k.startswith("agreements.")}
    assert ours == {k for k in zh if k.startswith("agreements.")}


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_pages_render_for_trader_and_regulator(xapi: Api, lang: str) -> None:
    for user, trader in (("cq-ste-01", True), ("cq-eeb", False)):
        console_login(xapi, user, lang)
        for path in (PAGE, BLOCK):
            page = xapi.client.get(path)
            assert page.status_code == 200, (user, path, page.text[:300])
            assert ('data-testid="read-only"' in page.text) is not trader, (user, path)
            _check_language(page.text, lang)
        assert 'data-testid="board-asks"' in xapi.client.get(PAGE).text
    assert xapi.client.get("/console/exchange/listed/CN-CQ/NOPE:1").status_code == 404


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_post_a_listing_and_take_it_through_the_console(xapi: Api, lang: str) -> None:
    console_login(xapi, "cq-cem-01", lang)
    page = xapi.client.get(PAGE)
    form = {"csrf": csrf_of(page.text), "side": "sell", "price": "50.00", "quantity": "100"}
    r = xapi.client.post(f"{PAGE}/listings", data=form)
    assert r.status_code == 200 and "result=listed" in str(r.url), r.url
    assert 'data-code="listed"' in r.text
    lid = re.search(r'data-listing-id="(\w+)" data-status="open"', r.text).group(1)
    assert f'data-testid="cancel-{lid}"' in r.text
    assert f'data-testid="take-{lid}"' not in r.text  # no take form on one's own listing
    _check_language(r.text, lang)
    bad = xapi.client.post(f"{PAGE}/listings", data=form | {"price": "50.001"})
    assert 'data-code="off_tick_price"' in bad.text
    console_login(xapi, "cq-ste-01", lang)
    page = xapi.client.get(PAGE)
    assert f'data-testid="take-{lid}"' in page.text
    take = {"csrf": csrf_of(page.text), "quantity": "30"}
    r = xapi.client.post(f"{PAGE}/listings/{lid}/take", data=take)
    assert 'data-code="filled"' in r.text, r.url
    assert 'data-testid="agreement-trades"' in r.text
    _check_language(r.text, lang)
    api_board = xapi.get("/v1/exchange/listed/markets/CN-CQ/instruments/CQEA:2025/board").json()
    assert api_board["asks"][0]["quantity"] == 70
    # the seller withdraws the rest
    console_login(xapi, "cq-cem-01", lang)
    page = xapi.client.get(PAGE)
    r = xapi.client.post(f"{PAGE}/listings/{lid}/cancel", data={"csrf": csrf_of(page.text)})
    assert 'data-code="cancelled"' in r.text
    # a forged form is refused
    r = xapi.client.post(f"{PAGE}/listings", data=form | {"csrf": "x"})
    assert r.status_code == 403


def test_block_proposal_through_the_console(xapi: Api) -> None:
    console_login(xapi, "cq-cem-01", "zh-CN")
    page = xapi.client.get(BLOCK)
    assert 'data-testid="proposal-form"' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "market": "CN-CQ",
        "instrument": "CQEA:2025",
        "side": "sell",
        "counterparty": BUYER,
        "price": "45.00",
        "quantity": "100000",
    }
    r = xapi.client.post(f"{BLOCK}/proposals", data=form)
    assert 'data-code="proposed"' in r.text
    pid = re.search(r'data-proposal-id="(\w+)" data-status="proposed"', r.text).group(1)
    assert f'data-testid="withdraw-{pid}"' in r.text
    small = xapi.client.post(f"{BLOCK}/proposals", data=form | {"quantity": "10"})
    assert 'data-code="below_block_minimum"' in small.text
    # a third enterprise cannot answer it
    console_login(xapi, "cq-ste-02", "en")
    page = xapi.client.get(BLOCK)
    assert pid not in page.text
    r = xapi.client.post(f"{BLOCK}/proposals/{pid}/confirm", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 404
    console_login(xapi, "cq-ste-01", "en")
    page = xapi.client.get(BLOCK)
    assert f'data-testid="confirm-{pid}"' in page.text
    r = xapi.client.post(f"{BLOCK}/proposals/{pid}/confirm", data={"csrf": csrf_of(page.text)})
    assert 'data-code="confirmed"' in r.text
    _check_language(r.text, "en")
