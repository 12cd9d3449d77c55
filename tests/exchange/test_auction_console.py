"""Console pages of auctions: both languages, the authority's forms, a bid through the
console form, results after clearing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from greencircle.exchange import auction_console
from greencircle.web.i18n import catalog
from tests_support import Api, console_login, visible_text

from .ex_support import csrf_of, funded_api

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
LIST = "/console/auctions"


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from funded_api(databases, tmp_path, units={}, cash_minor={"CQ-STE-01": 10_000_000})


def _create(xapi: Api) -> str:
    console_login(xapi, "cq-eeb", "en")
    page = xapi.client.get(LIST)
    assert page.status_code == 200
    assert 'data-testid="create-form"' in page.text
    assert 'data-testid="reserve-form"' in page.text
    csrf = csrf_of(page.text)
    r = xapi.client.post(
        f"{LIST}/reserve",
        data={
            "csrf": csrf,
            "market": "CN-CQ",
            "product": "CQEA",
            "vintage": "2025",
            "quantity": "500",
        },
    )
    assert 'data-code="reserve_requested"' in r.text
    # the requester cannot approve its own request; the second regulator can
    assert 'data-testid="reserve-requests"' in r.text and 'data-testid="approve-' not in r.text
    console_login(xapi, "cq-eeb-2", "en")
    page = xapi.client.get(LIST)
    (req_id,) = re.findall(r'data-testid="approve-(\w+)"', page.text)
    r = xapi.client.post(f"{LIST}/reserve/{req_id}/approve", data={"csrf": csrf_of(page.text)})
    assert 'data-code="reserve_issued"' in r.text
    console_login(xapi, "cq-eeb", "en")
    csrf = csrf_of(xapi.client.get(LIST).text)
    r = xapi.client.post(
        LIST,
        data={
            "csrf": csrf,
            "kind": "one_way",
            "market": "CN-CQ",
            "instrument": "CQEA:2025",
            "title": "CQEA 2025 auction",
            "pricing": "uniform",
            "offered_quantity": "100",
            "reserve_price": "40.00",
            "opens_at": "2025-01-01T09:30",
            "closes_at": "2099-01-01T15:00",
        },
    )
    assert r.status_code == 200
    assert 'data-code="created"' in r.text
    m = re.search(r"/console/auctions/(\w+)", str(r.url))
    assert m is not None
    return m.group(1)


def test_result_codes_have_messages_in_both_languages() -> None:
    for lang in ("en", "zh-CN"):
        keys = set(catalog(lang))
        for prefix, values in (
            ("auctions.code.", auction_console.RESULT_CODES),
            ("auctions.kind.", auction_console.KINDS),
            ("auctions.side.", auction_console.SIDES),
            ("auctions.state.", auction_console.ORDER_STATES),
            ("auctions.status.", ("scheduled", "open", "closed", "cleared", "cancelled")),
            ("auctions.pricing.", ("uniform", "pay_as_bid")),
            ("auctions.outcome.", ("accepted", "rejected")),
        ):
            assert {prefix + v for v in values} <= keys, (lang, prefix)
    assert "nav.auctions" in catalog("zh-CN")


def test_bid_through_the_console_and_results(xapi: Api) -> None:
    aid = _create(xapi)
    page = f"{LIST}/{aid}"
    authority = xapi.client.get(page)
    assert 'data-testid="clear-form"' in authority.text
    assert 'data-testid="bid-form"' not in authority.text  # regulators do not bid
    console_login(xapi, "cq-ste-01", "zh-CN")
    view = xapi.client.get(page)
    assert view.status_code == 200
    assert 'data-testid="bid-form"' in view.text
    assert 'data-testid="clear-form"' not in view.text
    csrf = csrf_of(view.text)
    r = xapi.client.post(
        f"{page}/bids",
        data={"csrf": csrf, "side": "buy", "price": "39.00", "quantity": "10"},
    )
    assert 'data-code="below_reserve"' in r.text
    assert "低于底价" in visible_text(r.text)
    r = xapi.client.post(
        f"{page}/bids",
        data={"csrf": csrf, "side": "buy", "price": "42.00", "quantity": "30"},
    )
    assert 'data-code="resting"' in r.text
    assert 'data-testid="my-bids"' in r.text
    bid_id = re.search(r'data-order-id="(\w+)"', r.text)
    assert bid_id is not None
    r = xapi.client.post(f"{page}/bids", data={"csrf": "forged", "price": "42", "quantity": "1"})
    assert r.status_code == 403
    # another enterprise sees no bid of CQ-STE-01
    console_login(xapi, "cq-pow-01", "en")
    other = xapi.client.get(page)
    assert bid_id.group(1) not in other.text
    # the authority closes and clears; the bidder then sees its award
    console_login(xapi, "cq-eeb", "en")
    csrf = csrf_of(xapi.client.get(page).text)
    r = xapi.client.post(f"{page}/clear", data={"csrf": csrf, "close_now": "1"})
    assert 'data-code="cleared"' in r.text
    assert 'data-testid="all-bids"' in r.text and "CQ-STE-01" in r.text
    console_login(xapi, "cq-ste-01", "zh-CN")
    done = xapi.client.get(page)
    assert 'data-testid="my-awards"' in done.text
    assert "42.00" in done.text
    assert "已出清" in visible_text(done.text)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_pages_in_both_languages(xapi: Api, lang: str) -> None:
    aid = _create(xapi)
    en_strings = {
        v
        for k, v in catalog("en").items()
        if len(v) > 3 and not k.startswith("lang.") and "{" not in v
    }
    for user in ("cq-eeb", "cq-ste-01", "ncm-operator"):
        console_login(xapi, user, lang)
        for path in (LIST, f"{LIST}?status=open", f"{LIST}/{aid}"):
            r = xapi.client.get(path)
            assert r.status_code == 200, (user, path)
            assert f'<html lang="{lang}">' in r.text
            text = visible_text(r.text)
            if lang == "en":
                text = text.replace(catalog("en")["lang.zh-CN"], "")
                assert not CJK.findall(text), (user, path, CJK.findall(text)[:10])
            else:
                leaked = {s for s in en_strings if s in set(text.splitlines())}
                assert not leaked, (user, path, leaked)
                assert CJK.search(text)
        assert xapi.client.get(f"{LIST}/NOPE").status_code == 404
