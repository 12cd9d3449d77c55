"""Pledges, freezes, retirement certificates and proof bundles."""

from __future__ import annotations

import io
import re
import zlib

import pypdf
import pytest

from greencircle.audit.verify import verify_bundle
from greencircle.errors import Forbidden
from greencircle.registry import errors as rerr


def test_pledge_lifecycle_and_register(world):
    w = world
    inst = w.issue_allowances("CQ-POW-01", 1000)
    a, bank, bank_sc = w.actor("cq-pow-01"), w.actor("bank-cq-01"), w.actor("bank-sc-01")
    bank_id = w.org("BANK-CQ-01")
    with w.svc() as svc:
        to = svc._holding(w.org("CQ-POW-02"), "CN-CQ").number
        p = svc.pledge(
            a,
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=300,
            pledgee_org_id=bank_id,
            reference="loan-7",
        )
    bal = w.balance("CQ-POW-01", inst)
    assert (bal.pledged, bal.encumbered, bal.available) == (300, 300, 700)
    with w.svc() as svc, pytest.raises(rerr.UnitsPledged):
        svc.transfer(
            a, from_account="CN-CQ.CQ-POW-01", to_account=to, instrument_id=inst, quantity=701
        )
    with w.svc() as svc, pytest.raises(rerr.UnitsPledged):
        svc.retire(
            a,
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=701,
            beneficiary="x",
            purpose="y",
            period_start="2025-01-01",
            period_end="2025-12-31",
        )
    # the pledgee must be a financial institution
    with w.svc() as svc, pytest.raises(rerr.InvalidState):
        svc.pledge(
            a,
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=1,
            pledgee_org_id=w.org("CQ-POW-02"),
            reference="x",
        )
    with w.svc() as svc, pytest.raises(rerr.NotPledgee):
        svc.release_pledge(a, p.pledge_id)
    with w.svc() as svc, pytest.raises(rerr.NotPledgee):
        svc.enforce_pledge(bank_sc, p.pledge_id)
    with w.svc() as svc:
        assert svc.request_pledge_release(a, p.pledge_id).release_requested
    with w.svc() as svc:
        assert svc.release_pledge(bank, p.pledge_id).status == "released"
    assert w.balance("CQ-POW-01", inst).available == 1000
    with w.svc() as svc:
        p2 = svc.pledge(
            a,
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=400,
            pledgee_org_id=bank_id,
            reference="loan-8",
        )
    with w.svc() as svc:
        enforced = svc.enforce_pledge(bank, p2.pledge_id)
    assert enforced.status == "enforced" and enforced.tx_id
    assert w.balance("BANK-CQ-01", inst).posted == 400
    assert w.balance("CQ-POW-01", inst).posted == 600
    with w.svc() as svc:
        assert {x.pledge_id for x in svc.pledge_register(w.actor("cq-eeb"))} == {
            p.pledge_id,
            p2.pledge_id,
        }
        assert svc.pledge_register(w.actor("sc-eed")) == []
        assert svc.pledge_register(bank_sc) == []
        assert len(svc.pledge_register(bank, status="enforced")) == 1
        assert len(svc.pledge_register(w.actor("cq-pow-02"))) == 0
    assert w.violations() == []


def test_freeze_and_unfreeze_by_regulator_in_jurisdiction(world):
    w = world
    inst = w.issue_allowances("CQ-POW-01", 1000)
    a = w.actor("cq-pow-01")
    with w.svc() as svc:
        to = svc._holding(w.org("CQ-POW-02"), "CN-CQ").number
    with w.svc() as svc, pytest.raises(rerr.OutOfJurisdiction):
        svc.freeze(
            w.actor("sc-eed"), account_number="CN-CQ.CQ-POW-01", instrument_id=inst, reason="probe"
        )
    with w.svc() as svc, pytest.raises(Forbidden, match="permission_denied"):
        svc.freeze(a, account_number="CN-CQ.CQ-POW-01", instrument_id=inst, reason="self")
    with w.svc() as svc, pytest.raises(rerr.InvalidState):
        svc.freeze(
            w.actor("cq-eeb"), account_number="CN-CQ.CQ-POW-01", instrument_id=inst, reason=" "
        )
    with w.svc() as svc:
        f = svc.freeze(
            w.actor("cq-eeb"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=600,
            reason="court order 2026-17",
        )
    assert f.reason == "court order 2026-17"
    with w.svc() as svc, pytest.raises(rerr.Frozen):
        svc.transfer(
            a, from_account="CN-CQ.CQ-POW-01", to_account=to, instrument_id=inst, quantity=401
        )
    with w.svc() as svc:
        svc.transfer(
            a, from_account="CN-CQ.CQ-POW-01", to_account=to, instrument_id=inst, quantity=400
        )
    with w.svc() as svc:
        lifted = svc.unfreeze(w.actor("cq-eeb"), f.freeze_id, "order lifted")
    assert lifted.status == "lifted"
    assert w.balance("CQ-POW-01", inst).available == 600
    with w.svc() as svc:  # freeze all available by default
        f2 = svc.freeze(
            w.actor("cq-eeb"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            reason="investigation",
        )
    assert f2.quantity == 600
    assert w.violations() == []


def _pdf_text_streams(pdf: bytes) -> bytes:
    out = b""
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out += zlib.decompress(m.group(1))
        except zlib.error:
            out += m.group(1)
    return out


def test_retirement_certificate_and_proof(world):
    w = world
    inst = w.issue_allowances("CQ-POW-01", 1000)
    a = w.actor("cq-pow-01")
    with w.svc() as svc:
        svc.transfer(
            a,
            from_account="CN-CQ.CQ-POW-01",
            to_account=svc._holding(w.org("CQ-POW-02"), "CN-CQ").number,
            instrument_id=inst,
            quantity=100,
        )
    with w.svc() as svc:
        r = svc.retire(
            a,
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=250,
            beneficiary="重庆马拉松组委会 Chongqing Marathon",
            purpose="赛事碳中和 event carbon neutrality",
            period_start="2025-01-01",
            period_end="2025-12-31",
        )
    assert r.serials == ["CN-CQ-CQEA-2025-AL2025-CN-CQ-000000101-000000350"]
    with w.svc() as svc, pytest.raises(rerr.InvalidState):
        svc.retire(
            a,
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=1,
            beneficiary="x",
            purpose="y",
            period_start="2025-12-31",
            period_end="2025-01-01",
        )
    with w.svc() as svc:
        html_zh = svc.retirement_certificate(
            a, r.retirement_id, lang="zh", fmt="html"
        ).content.decode()
        html_en = svc.retirement_certificate(
            a, r.retirement_id, lang="en", fmt="html"
        ).content.decode()
        pdf = svc.retirement_certificate(a, r.retirement_id, lang="zh", fmt="pdf")
        bundle = svc.retirement_proof(a, r.retirement_id)
        holding = svc.holding_proofs(a, "CN-CQ.CQ-POW-01", inst)
    for html in (html_zh, html_en):
        assert r.serials[0] in html
        assert "重庆马拉松组委会 Chongqing Marathon" in html
        assert f"/v1/audit/bundle/{r.leaf_index}" in html
    assert "碳减排量注销证明" in html_zh and "Certificate of Retirement" in html_en
    assert "250 tCO₂e" in html_en  # the unit label (kit/fmt.unit_label)
    assert pdf.media_type == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert b"NotoSansCJK" in pdf.content or b"WenQuanYi" in pdf.content
    # the embedded font's ToUnicode map covers the Chinese title characters
    cmaps = _pdf_text_streams(pdf.content).upper()
    for ch in "碳减排量注销证明":
        assert f"<{ord(ch):04X}>".encode() in cmaps, ch
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    # pypdf pads every character of fpdf2's Identity-H CID text with a NUL (ASCII too).
    text = text.replace("\x00", "")
    assert "碳减排量注销证明" in text and r.serials[0] in text
    assert bundle["event"]["type"] == "registry.retire"
    assert bundle["event"]["retirement_id"] == r.retirement_id
    assert verify_bundle(bundle).ok
    assert holding and all(verify_bundle(b).ok for b in holding)
    with w.svc() as svc, pytest.raises(rerr.RegistryNotFound):
        svc.retirement(w.actor("cq-pow-02"), r.retirement_id)
    with w.svc() as svc:  # the regulator may see it
        assert svc.retirement(w.actor("cq-eeb"), r.retirement_id).quantity == 250
    assert w.violations() == []


def test_regulator_cancels_units_irreversibly(world):
    w = world
    inst = w.issue_allowances("CQ-POW-01", 100)
    with w.svc() as svc, pytest.raises(rerr.OutOfJurisdiction):
        svc.cancel(
            w.actor("sc-eed"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=5,
            reason="x",
        )
    with w.svc() as svc, pytest.raises(Forbidden):
        svc.cancel(
            w.actor("cq-pow-01"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=5,
            reason="x",
        )
    with w.svc() as svc:
        tx = svc.cancel(
            w.actor("cq-eeb"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=5,
            reason="over-allocation",
        )
    assert tx.legs[0].to_account == "CN-CQ.SYS.CANCELLATION" and tx.legs[0].ranges == [(1, 5)]
    with w.svc() as svc, pytest.raises(rerr.InsufficientAvailable):
        svc.cancel(
            w.actor("cq-eeb"),
            account_number="CN-CQ.CQ-POW-01",
            instrument_id=inst,
            quantity=96,
            reason="x",
        )
    assert w.balance("CQ-POW-01", inst).posted == 95
    assert w.violations() == []
