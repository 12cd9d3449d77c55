"""Units: every registry quantity carries its instrument's own unit, from one source (the
instrument class in ``registry/data/instruments.toml``), on the pages, the API and the CLI.
Each instrument class is issued, pledged and frozen, then rendered through the registry
pages; the expected text is built here from the raw data file and Python's own grouping."""

from __future__ import annotations

import re
import tomllib
from typing import Any
from urllib.parse import quote

import pytest

from greencircle.registry.markets import DATA_DIR, default_catalog
from tests_support import console_login, visible_text

R = "/v1/registry"
#: Typographic labels of the unit codes of instruments.toml, written out by hand.
LABELS = {"tCO2e": "tCO₂e", "t": "t", "m3": "m³", "tce": "tce"}
#: One product per instrument class and the attributes it needs.
ATTRS = {
    "project_id": "P-UNIT-1",
    "region": "Yangtze-CQ",
    "pollutant": "SO2",
}


def raw_classes() -> dict[str, Any]:
    with (DATA_DIR / "instruments.toml").open("rb") as fh:
        return tomllib.load(fh)["classes"]


def product_of(cls: str) -> tuple[str, str]:
    """``(market, product)`` listing a product of class ``cls`` (Chongqing first)."""
    cat = default_catalog()
    for market in ("CN-CQ", "SCO"):
        for p in cat.markets[market].products.values():
            if p.class_code == cls:
                return market, p.code
    raise AssertionError(cls)


def test_sulphur_dioxide_rights_have_one_unit_everywhere():
    raw = raw_classes()
    assert raw["pollutant"]["unit"] == "t"  # priced per t on the exchange (README §3)
    cat = default_catalog()
    assert cat.unit_of("pollutant", "CQ-PDR") == "t" and cat.unit_of("cash", "CNY") == "CNY"
    assert set(LABELS) == {c["unit"] for c in raw.values()}


@pytest.mark.parametrize("cls", list(raw_classes()))
def test_each_instrument_class_shows_its_unit_on_every_registry_page(reg_api, cls):
    api = reg_api
    raw = raw_classes()[cls]
    unit, scale = raw["unit"], int(raw["scale"])
    label = LABELS[unit]
    market, product = product_of(cls)
    holder = "CQ-CEM-01" if market == "CN-CQ" else "KZ-ENT-01"
    user, account = holder.lower(), f"{market}.{holder}"
    regulator = "cq-eeb" if market == "CN-CQ" else "gc-secretariat"
    quantity = 12_345 * 10**scale + (5 if scale else 0)  # a fraction when scale > 0
    if cls == "allowance":
        code = f"{market}:{product}:2025"
        quantity = api.get(
            f"{R}/accounts/{quote(account)}/balance", user, params={"instrument": code}
        ).json()["posted"]
    else:
        body: dict[str, Any] = {"market_code": market, "product": product, "vintage": 2026}
        body |= {k: ATTRS[k] for k in raw["requires"] if k != "vintage"}
        body |= {"to_org_id": api.org_id(holder), "quantity": quantity}
        r = api.post(f"{R}/issuances", regulator, json=body)
        assert r.status_code == 201, r.text
        leg = r.json()["legs"][0]
        assert (leg["unit"], leg["scale"]) == (unit, scale)
        code = leg["instrument_code"]
    # API: every record says the class's unit
    bal = api.get(f"{R}/accounts/{quote(account)}/balance", user, params={"instrument": code})
    assert bal.status_code == 200, bal.text
    assert (bal.json()["unit"], bal.json()["scale"]) == (unit, scale)
    inst = api.get(f"{R}/instruments/{quote(code)}", user).json()
    assert inst["unit"] == unit
    pledge = {"account_number": account, "instrument": code, "quantity": 2 * 10**scale}
    pledge |= {"pledgee_org_id": api.org_id("BANK-CQ-01"), "reference": f"LOAN-{cls}"}
    p = api.post(f"{R}/pledges", user, json=pledge)
    assert p.status_code == 201 and p.json()["unit"] == unit, p.text
    f = api.post(
        f"{R}/freezes",
        regulator,
        json={
            "account_number": account,
            "instrument": code,
            "reason": "unit test",
            "quantity": 3 * 10**scale,
        },
    )
    assert f.status_code == 201 and f.json()["unit"] == unit, f.text
    blocks = api.get(
        f"{R}/accounts/{quote(account)}/blocks", user, params={"instrument": code}
    ).json()["items"]
    assert blocks and all(b["unit"] == unit for b in blocks)

    def shown(minor: int) -> str:  # en grouping, significant decimals, then the unit label
        whole, frac = divmod(minor, 10**scale)
        decimals = f"{frac:0{scale}d}".rstrip("0") if scale else ""
        return f"{whole:,}" + (f".{decimals}" if decimals else "") + f" {label}"

    console_login(api, user, "en")
    pages = {
        "/console/registry": [shown(quantity)],
        f"/console/registry/blocks?account={quote(account)}&instrument={quote(code)}": [
            shown(sum(b["quantity"] for b in blocks))
        ],
        f"/console/registry/statement?account={quote(account)}&instrument={quote(code)}": [
            shown(quantity)
        ],
        "/console/registry/pledges": [shown(2 * 10**scale)],
        "/console/registry/freezes": [shown(3 * 10**scale)],
    }
    for path, wanted in pages.items():
        r = api.client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        text = visible_text(r.text)
        for w in wanted:
            assert w in text, (cls, path, w)
        # no quantity of this instrument without a unit: each number cell of its rows ends
        # in a unit label
        for row in re.findall(
            rf"<tr[^>]*>(?:(?!</tr>).)*{re.escape(code)}(?:(?!</tr>).)*</tr>", r.text, re.S
        ):
            for cell in re.findall(r'<td class="num"[^>]*>([^<]*)<', row):
                assert not cell.strip() or cell.strip().endswith(tuple(LABELS.values())), (
                    cls,
                    path,
                    cell,
                )
