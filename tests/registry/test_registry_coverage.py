"""Coverage: one installation-operating organisation's verified emissions create exactly one
obligation per year, in the market that covers it (sector, threshold and jurisdiction as
market data, the national market before the pilots for power), and the enterprise's and the
regulator's compliance views agree. Expectations are computed here from the data file read
on its own (``tomllib``) and the demo's organisation list, not through the code under test."""

from __future__ import annotations

import math
import re
import tomllib
from decimal import Decimal

import pytest
from reg_support import DEMO_VERIFIED_2025

from greencircle.demo.scenario import demo_organisations
from greencircle.registry.markets import DATA_DIR, STATUSES, default_catalog
from tests_support import console_login

R = "/v1/registry"
Y = 2025
DATA = DATA_DIR / "coverage.toml"
REGULATORS = {"CN-CQ": "cq-eeb", "CN-SC": "sc-eed"}


def raw_coverage() -> dict:
    with DATA.open("rb") as fh:
        return tomllib.load(fh)


def expected_market(sector: str | None, province: str, emissions: Decimal | None) -> str | None:
    """The covering market from the raw data: first match in ``precedence``."""
    raw = raw_coverage()
    for code in raw["precedence"]:
        rule = raw["markets"][code]
        if sector not in rule["sectors"]["value"] or rule["from_year"]["value"] > Y:
            continue
        if not any(
            province == j or province.startswith(f"{j}-") for j in rule["jurisdictions"]["value"]
        ):
            continue
        if emissions is None or emissions >= Decimal(rule["threshold_tco2e"]["value"]):
            return code
    return None


def test_coverage_rules_are_data_with_status_and_source():
    raw = raw_coverage()
    cat = default_catalog()
    compliance = {m.code for m in cat.markets.values() if m.compliance_enabled}
    assert set(raw["markets"]) == compliance == set(cat.coverage)
    assert raw["precedence"][0] == "CN-NATIONAL"
    for code, rule in raw["markets"].items():
        for name in ("sectors", "threshold_tco2e", "jurisdictions", "from_year"):
            assert rule[name]["status"] in STATUSES and rule[name]["source"], (code, name)
        assert cat.coverage[code].facts()[name].value is not None
    # the national market takes power from the Chongqing pilot, at the national threshold
    national = Decimal(raw["markets"]["CN-NATIONAL"]["threshold_tco2e"]["value"])
    path = "/CN/CN-CQ/CN-CQ-500115/"
    assert cat.covering_market("power", path, Y, national) == "CN-NATIONAL"
    assert cat.covering_market("power", path, Y, national - Decimal("0.1")) is None
    assert cat.covering_market("power", path, Y, None) == "CN-NATIONAL"  # pending
    cq = Decimal(raw["markets"]["CN-CQ"]["threshold_tco2e"]["value"])
    assert cat.covering_market("cement", path, Y, cq) == "CN-CQ"
    assert cat.covering_market("cement", path, Y, cq - 1) is None
    assert cat.covering_market("cement", "/CN/CN-SC/CN-SC-511100/", Y, cq * 10) is None
    assert cat.covering_market(None, path, Y, cq * 10) is None


@pytest.fixture
def covered(reg_api):
    """``{org code: (expected market or None, province)}`` for every demo organisation
    with a sector (the enterprises)."""
    out = {}
    for spec in demo_organisations():
        if spec.sector is None:
            continue
        province = "-".join(spec.jurisdiction.split("-")[:2])
        tco2 = DEMO_VERIFIED_2025.get(spec.code)
        emissions = Decimal(tco2) if tco2 is not None else None
        out[spec.code] = (expected_market(spec.sector, province, emissions), province)
    assert sum(1 for m, _p in out.values() if m == "CN-NATIONAL") >= 8  # CQ and SC power
    assert sum(1 for m, _p in out.values() if m is None) > 0  # Sichuan industry
    return out


def test_every_covered_entity_has_exactly_one_obligation_per_year(reg_api, covered):
    api = reg_api
    markets = sorted(default_catalog().coverage)
    for code, (market, _province) in covered.items():
        statuses = {
            m: api.get(
                f"{R}/compliance/status",
                "gc-secretariat",
                params={"market": m, "year": Y, "org_id": api.org_id(code)},
            ).json()
            for m in markets
        }
        obligated = {m for m, st in statuses.items() if st["status"] != "not_covered"}
        assert obligated == ({market} if market else set()), (code, statuses)
        for m, st in statuses.items():
            assert st["covered_by"] == market, (code, m)
            if m != market:
                assert st["obligation"] is None and st["remaining"] is None, (code, m)
            else:
                assert st["unit"] == "tCO2e"
                tco2 = DEMO_VERIFIED_2025.get(code)
                if tco2 is not None:  # obligation = ceil(verified) + owed
                    due = math.ceil(Decimal(tco2)) + st["allocation_owed"]
                    assert st["obligation"] == due, code


def test_the_issue_case_power_plant_is_not_in_the_pilot(reg_api):
    api = reg_api
    q = {"market": "CN-CQ", "year": Y}
    st = api.get(f"{R}/compliance/status", "cq-pow-01", params=q).json()
    assert (st["status"], st["obligation"], st["covered_by"]) == (
        "not_covered",
        None,
        "CN-NATIONAL",
    )
    national = api.get(f"{R}/compliance/status", "cq-pow-01", params=q | {"market": "CN-NATIONAL"})
    assert national.json()["status"] == "compliant"
    r = api.post(
        f"{R}/surrenders",
        "cq-pow-01",
        json={"market_code": "CN-CQ", "year": Y, "instrument": "CN-CQ:CQEA:2025", "quantity": 1},
    )
    assert r.status_code == 422 and r.json()["error"] == "not_covered"


def test_enterprise_and_regulator_views_list_the_same_entities(reg_api, covered):
    api = reg_api
    markets = sorted(default_catalog().coverage)
    # regulator view: API and console, per market, in each province
    regulator_lists: dict[tuple[str, str], set[str]] = {}
    for province, user in REGULATORS.items():
        console_login(api, user, "en")
        for m in markets:
            region = api.get(
                f"{R}/compliance/regions/{province}", user, params={"market": m, "year": Y}
            ).json()
            listed = {i["org_code"] for i in region["items"]}
            want = {c for c, (mk, p) in covered.items() if mk == m and p == province}
            assert listed == want, (province, m, listed ^ want)
            assert region["entities"] == len(want)
            page = api.client.get(f"/console/registry/compliance?market={m}&year={Y}").text
            assert set(re.findall(r'data-org="([^"]+)"', page)) == want, (province, m)
            regulator_lists[(province, m)] = listed
    # enterprise view: each enterprise's compliance page shows its one market, or none
    for code, (market, province) in covered.items():
        console_login(api, code.lower(), "en")
        page = api.client.get(f"/console/registry/compliance?year={Y}").text
        shown = re.findall(r'data-testid="own-status" data-market="([^"]+)"', page)
        assert shown == ([market] if market else []), (code, shown)
        if market:
            assert code in regulator_lists[(province, market)]
