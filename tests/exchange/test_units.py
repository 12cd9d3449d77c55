"""Every exchange quantity carries its instrument class's unit, prices are per that unit.

The unit is read independently here from ``registry/data/instruments.toml`` (tomllib) and
compared with what the exchange's API fields, the instrument / listed / overview pages and
the auction pages show, for every instrument class listed on CN-CQ.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

import greencircle.registry
from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.exchange_modes import load_exchange_modes_demo
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from greencircle.exchange.models_auctions import ExAuction
from greencircle.exchange.units import instrument_units, price_text, unit_of
from greencircle.kit.fmt import unit_label
from greencircle.registry.service import RegistryService
from tests_support import Api, console_login, visible_text

from .ex_support import demo_api, load_actor, org_id

TOML = Path(greencircle.registry.__file__).parent / "data" / "instruments.toml"
CLASSES = tomllib.loads(TOML.read_text(encoding="utf-8"))["classes"]
#: One CN-CQ product per class with the attributes its class requires.
LISTED = {
    "allowance": ("CQEA", {}),
    "offset": ("CQCER", {"project_id": "CQCER-UNIT-TEST"}),
    "pollutant": ("CQ-PDR", {"region": "Yangtze-CQ", "pollutant": "NOx"}),
    "water": ("CQ-WR", {"region": "Jialing"}),
    "energy_use": ("CQ-EUR", {}),
}


def test_unit_of_every_class_is_the_registry_files_unit() -> None:
    for code, raw in CLASSES.items():
        assert unit_of(code) == raw["unit"], code
    assert unit_of("allowance") == "tCO2e"
    so2 = CLASSES["pollutant"]["unit"]
    assert instrument_units("CN-CQ:CQ-PDR:2026:Yangtze-CQ:SO2") == {
        "unit": so2,
        "currency": "CNY",
        "price_unit": f"CNY/{so2}",
    }


def test_price_text_groups_digits_and_names_the_unit() -> None:
    assert price_text("4000.00", "CNY", "kg", "en") == "4,000.00 CNY/kg"
    assert price_text("4.5", "CNY", "tCO2e", "zh-CN") == "4.50 CNY/tCO₂e"
    assert price_text(None, "CNY", "kg", "en") == "–"


@pytest.fixture
def xapi(databases, tmp_path) -> Iterator[Api]:
    yield from demo_api(
        databases,
        tmp_path,
        load_mrv_demo,
        load_registry_demo,
        load_exchange_demo,
        load_exchange_modes_demo,
    )


def _issue(xapi: Api, cls: str) -> str:
    """Issue 1,000 units of ``cls`` (vintage 2026) to CQ-CEM-01; returns the short code."""
    product, attrs = LISTED[cls]
    state = xapi.client.app.state
    session = state.session_factory()
    try:
        if cls == "allowance":
            return "CQEA:2025"  # allocated by the registry demo
        tx = RegistryService(session, state.log_signer).issue(
            load_actor(session, "cq-eeb"),
            market_code="CN-CQ",
            product=product,
            vintage=2026,
            to_org_id=org_id(session, "CQ-CEM-01"),
            quantity=1_000,
            reference=f"unit test {cls}",
            **attrs,
        )
        session.commit()
        return tx.legs[0].instrument_code.split(":", 1)[1]
    finally:
        session.close()


def _cell(value: str) -> str:
    return re.escape(value).replace("\\ ", "[\\s\u00a0]")


@pytest.mark.parametrize("cls", sorted(LISTED))
def test_each_instrument_class_shows_its_own_unit(xapi: Api, cls: str) -> None:
    unit = CLASSES[cls]["unit"]
    short = _issue(xapi, cls)
    # a sell order through the API: its fields carry the class's unit and price unit
    r = xapi.post(
        "/v1/exchange/orders",
        "cq-cem-01",
        json={
            "market": "CN-CQ",
            "instrument": short,
            "side": "sell",
            "kind": "limit",
            "price": "41.50",
            "quantity": 7,
        },
    )
    assert r.status_code in (200, 201), r.text
    order = r.json()["order"]
    assert (order["unit"], order["price_unit"]) == (unit, f"CNY/{unit}")
    book = f"/v1/exchange/markets/CN-CQ/instruments/{short}"
    for part in ("depth", "ohlc"):
        got = xapi.get(f"{book}/{part}").json()
        assert (got["unit"], got["price_unit"]) == (unit, f"CNY/{unit}"), part
    for lang in ("en", "zh-CN"):
        console_login(xapi, "cq-cem-01", lang)
        page = xapi.client.get(f"/console/exchange/CN-CQ/{short}")
        assert page.status_code == 200
        assert f'data-unit="{unit}"' in page.text
        text = visible_text(page.text)
        label = unit_label(unit)
        assert re.search(_cell(f"41.50 CNY/{label}"), text), (cls, lang)
        assert re.search(_cell(f"7 {label}"), text), (cls, lang)
        if unit != "t":  # no tonnes left over from the old labels
            assert not re.search(r"\(t\)|CNY/t\b|吨", text), (cls, lang)
        listed = xapi.client.get(f"/console/exchange/listed/CN-CQ/{short}")
        assert f'data-unit="{unit}"' in listed.text
        history = xapi.client.get(
            "/console/exchange/orders", params={"instrument": order["instrument"]}
        )
        assert f'data-unit="{unit}"' in history.text
        assert re.search(_cell(f"7 {label}"), visible_text(history.text))
    overview = xapi.client.get("/console/exchange")
    assert f'data-unit="{unit}"' in overview.text


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_auction_pages_show_the_unit_and_the_title_of_the_page_language(
    xapi: Api, lang: str
) -> None:
    state = xapi.client.app.state
    session = state.session_factory()
    try:
        auctions = {a.kind: a for a in session.scalars(select(ExAuction))}
    finally:
        session.close()
    console_login(xapi, "cq-ste-01", lang)
    listing = visible_text(xapi.client.get("/console/auctions").text)
    other = "en" if lang == "zh-CN" else "zh-CN"
    for a in auctions.values():
        assert a.titles is not None
        assert a.titles[lang] in listing
        assert a.titles[other] not in listing  # stored per language, never joined
    call = xapi.client.get(f"/console/auctions/{auctions['call'].id}")
    so2 = CLASSES["pollutant"]["unit"]
    per = {"t": 1, "kg": 1000}[so2]  # units of the class per tonne
    assert f'data-unit="{so2}"' in call.text
    text = visible_text(call.text)
    # the demo's SO2 call auction: 400 t at CNY 4,000 per t, in the class's unit
    assert re.search(_cell(f"{Decimal(4000) / per:,.2f} CNY/{unit_label(so2)}"), text)
    assert re.search(_cell(f"{400 * per:,} {unit_label(so2)}"), text)
    one_way = xapi.client.get(f"/console/auctions/{auctions['one_way'].id}")
    unit = CLASSES["allowance"]["unit"]
    assert f'data-unit="{unit}"' in one_way.text
    assert re.search(_cell(f"37.50 CNY/{unit_label(unit)}"), visible_text(one_way.text))
    # the API's auction view carries the codes
    view = xapi.get(f"/v1/exchange/auctions/{auctions['call'].id}", "cq-ste-01").json()
    assert (view["unit"], view["price_unit"]) == (so2, f"CNY/{so2}")
