"""Every ledger transaction kind, account kind and status the registry pages can show, and
every rejection code its forms can report, has a catalog entry in both languages (a missing
key was a 500 on the serial page of an ITMO range settled DvP+PvP)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greencircle.registry import ledger
from greencircle.registry.console import DONE_KEYS, TABS
from greencircle.registry.errors import REJECTIONS
from greencircle.registry.markets import STATUSES
from greencircle.web.i18n import LANGUAGES, catalog

ENUM_PREFIXES: list[tuple[type, str]] = [
    (ledger.TxKind, "registry.kind"),
    (ledger.AccountKind, "registry.account_kind"),
    (ledger.ComplianceState, "registry.status"),
    (ledger.TransferState, "registry.done"),
    (ledger.PledgeState, "registry.pledge_status"),
    (ledger.FreezeState, "registry.freeze_status"),
    (ledger.PlanState, "registry.plan_status"),
    (ledger.HoldState, "registry.hold_status"),
]
SRC = Path(ledger.__file__).parent


def wanted_keys() -> set[str]:
    keys = {f"{prefix}.{member.value}" for enum, prefix in ENUM_PREFIXES for member in enum}
    keys |= {f"registry.error.{code}" for code in REJECTIONS}
    keys |= {f"registry.data_status.{s}" for s in STATUSES}
    keys |= {f"registry.done.{k}" for k in DONE_KEYS}
    keys |= {key for _href, key in TABS}
    return keys


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_enum_member_and_rejection_has_a_catalog_entry(lang):
    missing = wanted_keys() - set(catalog(lang))
    assert not missing, sorted(missing)
    assert "registry.kind.settle_dvp_pvp" in catalog(lang)  # the reported KeyError


def test_both_catalogs_have_the_same_registry_keys():
    en = {k for k in catalog("en") if k.startswith("registry.")}
    zh = {k for k in catalog("zh-CN") if k.startswith("registry.")}
    assert en == zh


def test_the_service_posts_only_enumerated_kinds():
    """No transaction kind is spelled as a bare string: each goes through ``TxKind``."""
    text = (SRC / "service.py").read_text("utf-8")
    assert not re.findall(r'kind="[a-z_]+",', text)
    used = set(re.findall(r"TxKind\.([A-Z_]+)", text))
    assert used == {m.name for m in ledger.TxKind}
