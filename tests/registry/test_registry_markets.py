"""Markets as data: the loader keeps every rule's status visible."""

from __future__ import annotations

from decimal import Decimal

from greencircle.registry.markets import STATUSES, default_catalog


def test_catalog_loads_every_market_with_statuses():
    cat = default_catalog()
    assert set(cat.markets) == {"CN-NATIONAL", "CN-CQ", "CN-SC", "SCO"}
    for market in cat.markets.values():
        for name, fact in market.facts().items():
            assert fact.status in STATUSES, (market.code, name)
            assert fact.source, (market.code, name)
            assert fact.to_dict()["status"] == fact.status
    nat = cat.market("CN-NATIONAL")
    assert nat.offset_cap_pct.value == Decimal(5)
    assert nat.offset_cap_pct.status == "confirmed"
    # recalled rules stay marked as such
    assert nat.penalty.status == "recall"
    assert nat.penalty.value.multiple_min == Decimal(5)
    assert nat.deadline.status == "recall"


def test_chongqing_admits_sichuan_enterprises():
    cq = default_catalog().market("CN-CQ")
    assert cq.admits_path("/CN/CN-SC/CN-SC-510500/")
    assert cq.admits_path("/CN/CN-CQ/")
    assert not cq.admits_path("/KZ/KZ-75/")


def test_benchmarks_and_classes_have_scales_and_statuses():
    cat = default_catalog()
    assert cat.classes["allowance"].scale == 0
    assert cat.classes["inclusion"].status == "planned"
    assert set(cat.classes["pollutant"].pollutants) == {"SO2", "NOx", "COD", "NH3-N"}
    b = cat.benchmark("CN-NATIONAL", "power", "coal_conventional_300mw_plus", 2021)
    assert b.value == Decimal("0.8218")
    assert b.status == "recall"
    assert {b.status for b in cat.benchmarks.values()} <= {"recall", "estimate", "confirmed"}
    assert cat.currency("CNY").scale == 2
