"""Factor library: immutability (hashes), statuses, lookups with explicit fallbacks, search."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources

import pytest

from greencircle.mrv import factors as fl
from greencircle.mrv.errors import FactorNotFoundError, FactorSetIntegrityError

# Published sets and their content hashes. A published set is immutable: changing a file
# must fail here; publish a new version (new file + manifest row) instead.
PUBLISHED = {
    ("cn-fuel", "2026.1"): "0cfdbef73699a4930f71d3c4275c8cb1d6c748a51d4ddea16817b66ed87aa165",
    ("ipcc2006-fuel", "2026.1"): "9f243aa48335c63064ad02dd93b7a9cb58c9a7fc1bd20f3e168e00ec9c785ea6",
    ("cn-grid-ets", "2026.1"): "5dbf66ca9271b76e1bcfd0106aefd1fff4e21a8a4f4784df7331913471867428",
    ("cn-grid-stat", "2026.1"): "1b457e4b447893fcf0145d81c22daab89eab94da52fb3c0247851f069539b064",
    ("cn-heat", "2026.1"): "dfab7b3cd0c866897b81c8d472e6602aec82a364f8dec7f1c27e15e975c20587",
    (
        "ipcc2006-process",
        "2026.1",
    ): "628a0ef6ad17b2126107b6e28e3efd43e11e877fd0ce2fe3114b22b794a6ec41",
    ("ipcc-gwp100", "2026.1"): "d688d835fb82b3ee7068b401537657caffb3fbe23642911f2bf6d688f8f31dd6",
    ("fuel-ranges", "2026.1"): "012b1e7feb2da588794019aa2b4aa7cb59212364c6faef82fa20733ed4012fea",
}


def test_published_sets_are_unchanged() -> None:
    sets = fl.read_manifest()
    for s in sets:
        data = resources.files("greencircle.mrv.data").joinpath(s.file).read_bytes()
        assert fl.content_sha256(data) == s.sha256, s.set_id
        if (s.factor_set, s.version) in PUBLISHED:
            assert s.sha256 == PUBLISHED[(s.factor_set, s.version)], s.set_id
    assert {(s.factor_set, s.version) for s in sets} >= set(PUBLISHED)


def test_loader_refuses_modified_set(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fl._read

    def tampered(name: str) -> bytes:
        data = real(name)
        return data.replace(b"0.1404", b"0.1400") if name.startswith("cn-grid-stat") else data

    monkeypatch.setattr(fl, "_read", tampered)
    fl.load_library.cache_clear()
    try:
        with pytest.raises(FactorSetIntegrityError, match="was modified"):
            fl.load_library()
    finally:
        monkeypatch.undo()
        fl.load_library.cache_clear()


def test_every_row_has_source_and_status() -> None:
    lib = fl.load_library()
    for f in lib.factors:
        assert f.source and f.status in fl.STATUSES, f.factor_id
        for p in f.parameters:
            assert p.source and p.status in fl.STATUSES
    for r in lib.ranges:
        assert r.source and r.status in fl.STATUSES


def test_recall_values_keep_their_status() -> None:
    lib = fl.load_library()
    coal = lib.lookup("fuel_combustion", "raw_coal").factor
    assert coal.parameter("ncv").status == "confirmed"
    assert coal.parameter("carbon_content").status == "recall"
    assert coal.parameter("oxidation_rate").status == "recall"
    assert coal.status == "recall"
    anthracite = lib.lookup("fuel_combustion", "anthracite").factor
    assert anthracite.parameter("ncv").status == "proxy"
    assert lib.lookup("gwp", "N2O", jurisdiction="SAR").factor.status == "recall"
    assert lib.lookup("fuel_combustion", "diesel").factor.status == "confirmed"


def test_lookup_exact_fallback_and_errors() -> None:
    m = fl.lookup("electricity", "CN-51", 2022)
    assert m.factor.value == Decimal("0.1404") and m.fallback is None
    fb = fl.lookup("electricity", "CN-51", 2025)
    assert fb.is_fallback and fb.factor.years == "2022"
    assert "no CN-51 factor published for 2025; using 2022" in (fb.fallback or "")
    ets = fl.lookup("electricity", "CN-ETS", 2020)
    assert ets.factor.years == "2019-2020" and ets.fallback is None
    with pytest.raises(FactorNotFoundError, match="earliest available is 2022"):
        fl.lookup("electricity", "CN-51", 2021)
    with pytest.raises(FactorNotFoundError, match="known items"):
        fl.lookup("electricity", "CN-99", 2022)
    with pytest.raises(FactorNotFoundError, match="year is required"):
        fl.lookup("electricity", "CN", None)
    assert fl.lookup("fuel_combustion", "diesel", 1990).fallback is None  # year-independent
    assert fl.lookup("electricity", "CN-SW", 2023, version="2026.1").factor.value == Decimal(
        "0.2472"
    )


def test_factor_ids_are_stable() -> None:
    lib = fl.load_library()
    assert lib.get("cn-fuel/diesel@2026.1").item == "diesel"
    assert lib.get("cn-grid-ets/CN-ETS/2019-2020@2026.1").value == Decimal("0.6101")
    assert lib.get("cn-heat/heat@2026.1").value == Decimal("0.11")
    ids = [f.factor_id for f in lib.factors]
    assert len(ids) == len(set(ids))
    with pytest.raises(FactorNotFoundError):
        lib.get("cn-fuel/petrol@2026.1")


def test_search_browsing() -> None:
    page = fl.search(region="CN-S", year=2022)
    assert [f.item for f in page.items] == ["CN-S", "CN-SW"]
    assert fl.search("柴油").items[0].factor_id == "cn-fuel/diesel@2026.1"
    assert fl.search(item="diesel").total == 2  # CN defaults and IPCC
    assert all(f.status == "recall" for f in fl.search(status="recall").items)
    assert fl.search(source="111号").total == 2
    first = fl.search(method="electricity", limit=5)
    assert first.total > 5 and len(first.items) == 5 and first.next_offset == 5
    second = fl.search(method="electricity", offset=5, limit=5)
    assert not {f.factor_id for f in first.items} & {f.factor_id for f in second.items}
    assert fl.search(year=2023, method="electricity").total == 8  # CN + 7 regional grids
