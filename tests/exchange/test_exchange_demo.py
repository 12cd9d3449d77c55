"""The exchange demo: a deterministic, idempotent trading week after the other demos."""

from __future__ import annotations

import math
import tomllib
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from sqlalchemy import func, select

import greencircle.registry
from greencircle.demo.crossborder import load_crossborder_demo
from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.exchange_modes import call_orders, load_exchange_modes_demo
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from greencircle.exchange.fx import FxService
from greencircle.exchange.models import ExFxRate, ExOrder, ExTrade
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.kit.timeutil import utcnow
from greencircle.registry.integrity import verify_ledger
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

from .ex_support import SIGNER, org_id

INSTRUMENTS = Path(greencircle.registry.__file__).parent / "data" / "instruments.toml"
TRADES = [
    ("2026-07-01", 3800, 2000),
    ("2026-07-01", 3800, 1000),
    ("2026-07-01", 3820, 1500),
    ("2026-07-02", 3840, 2500),
    ("2026-07-02", 3860, 800),
    ("2026-07-03", 3810, 1200),
    ("2026-07-03", 3790, 1000),
    ("2026-07-03", 3810, 800),
    ("2026-07-06", 3870, 1500),
    ("2026-07-06", 3890, 1000),
    ("2026-07-07", 3910, 1500),
    ("2026-07-07", 3910, 200),
]


def test_exchange_demo_trades_and_is_idempotent(databases) -> None:
    engine = make_engine(databases.new("sqlite", "demo"))
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as s:
            load_mrv_demo(s, SIGNER)
        with unit_of_work(factory) as s:
            load_registry_demo(s, SIGNER)
        with unit_of_work(factory) as s:
            counts = load_exchange_demo(s, SIGNER)
        assert counts == {"exchange_deposits": 1, "exchange_orders": 29, "exchange_trades": 12}
        with unit_of_work(factory) as s:
            again = load_exchange_demo(s, SIGNER)
        assert set(again.values()) == {0}
        with unit_of_work(factory) as s:
            rows = s.execute(
                select(
                    ExTrade.trade_date,
                    ExTrade.price_ticks,
                    ExTrade.quantity,
                    ExTrade.buyer_org_id,
                    ExTrade.seller_org_id,
                ).order_by(ExTrade.seq, ExTrade.id)
            ).all()
            assert [(d, int(p), int(q)) for d, p, q, _b, _s in rows] == TRADES
            sichuan = org_id(s, "SC-CHE-01")
            assert any(sichuan in (b, sl) for *_x, b, sl in rows)  # a Sichuan participant
            assert s.scalar(select(func.count()).select_from(ExOrder)) == 29
            assert verify_ledger(s) == []
            # The server rebuilds the resting book from the stored orders: 5 levels a side.
            books = BookRegistry()
            with books.lock:
                depth = ExchangeService(s, SIGNER, books).depth("CN-CQ", "CQEA:2025", 5)
            assert len(depth["bids"]) == len(depth["asks"]) == 5
            assert depth["bids"][0]["price"] < depth["asks"][0]["price"]
            bars = ExchangeService(s, SIGNER, books).ohlc("CN-CQ", "CQEA:2025")["bars"]
            assert [b["date"] for b in bars] == sorted({d for d, _p, _q in TRADES})
    finally:
        engine.dispose()


def test_crossborder_demo_settles_a_kzt_buyer_with_a_pvp_leg(databases) -> None:
    engine = make_engine(databases.new("sqlite", "demo"))
    factory = make_session_factory(engine)
    try:
        for load in (load_mrv_demo, load_registry_demo, load_exchange_demo):
            with unit_of_work(factory) as s:
                load(s, SIGNER)
        with unit_of_work(factory) as s:
            counts = load_crossborder_demo(s, SIGNER)
        # + a current rate for each of the 4 funding currencies (KZT, UZS, RUB, USD)
        assert counts == {"crossborder_orders": 3, "crossborder_trades": 2, "fx_rates_recorded": 4}
        with unit_of_work(factory) as s:
            assert set(load_crossborder_demo(s, SIGNER).values()) == {0}
            # the demo keeps a rate valid now and for the refresh horizon, on any day
            now = utcnow()
            current = FxService(s, SIGNER).current("KZT", "CNY", now + timedelta(days=6))
            assert current is not None and current.state == "active"
            assert current.rate == "0.0139"
            kz = org_id(s, "KZ-ENT-01")
            trades = s.scalars(select(ExTrade).where(ExTrade.buyer_org_id == kz)).all()
            assert [(int(t.price_ticks), int(t.quantity)) for t in trades] == [
                (6000, 1500),
                (6100, 500),
            ]
            rate = Decimal(s.get(ExFxRate, trades[0].fx_rate_id).rate)  # type: ignore[union-attr]
            cny = sum(int(t.notional_minor) + int(t.buyer_fee_minor) for t in trades)
            kzt = sum(int(t.buyer_paid_minor or 0) for t in trades)
            # the buyer paid the KZT equivalent of its CNY cost, rounded up once
            assert kzt == math.ceil(Fraction(cny) / Fraction(rate))
            assert {t.buyer_currency for t in trades} == {"KZT"}
            assert verify_ledger(s) == []
    finally:
        engine.dispose()


def _naive_call(orders: list[tuple[str, str, str, int]]) -> tuple[Fraction, int]:
    """Clearing price and volume of a call auction by brute force over the order prices."""
    best: tuple[int, int, Fraction] | None = None
    for cand in sorted({Fraction(Decimal(p)) for _u, _s, p, _q in orders}):
        demand = sum(q for _u, s, p, q in orders if s == "buy" and Fraction(Decimal(p)) >= cand)
        supply = sum(q for _u, s, p, q in orders if s == "sell" and Fraction(Decimal(p)) <= cand)
        key = (min(demand, supply), -abs(demand - supply), cand)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    return best[2], best[0]


def test_exchange_modes_demo_runs_auction_listed_block_and_call(databases) -> None:
    # units of the pollutant class (registry/data/instruments.toml, read here) per tonne
    unit = tomllib.loads(INSTRUMENTS.read_text(encoding="utf-8"))["classes"]["pollutant"]["unit"]
    per = {"t": 1, "kg": 1000}[unit]
    engine = make_engine(databases.new("sqlite", "demo"))
    factory = make_session_factory(engine)
    try:
        for load in (load_mrv_demo, load_registry_demo, load_exchange_demo):
            with unit_of_work(factory) as s:
                load(s, SIGNER)
        with unit_of_work(factory) as s:
            counts = load_exchange_modes_demo(s, SIGNER)
        # auction: 4 winning bids; listed: 1 take; block: 1; call: 1 seller x 2 buyers
        assert counts == {
            "auction_trades": 4,
            "listed_trades": 1,
            "block_trades": 1,
            "call_trades": 2,
        }
        with unit_of_work(factory) as s:
            assert set(load_exchange_modes_demo(s, SIGNER).values()) == {0}
            rows = s.execute(
                select(ExTrade.mode, ExTrade.price_ticks, ExTrade.quantity, ExTrade.sets_close)
                .where(ExTrade.trade_date == "2026-07-08", ExTrade.market_code == "CN-CQ")
                .order_by(ExTrade.mode, ExTrade.quantity.desc())
            ).all()
            got = [(m, int(p), int(q), bool(c)) for m, p, q, c in rows]
            # hand-computed: uniform price 37.50 for 8,000 + 6,000 + 5,000 + 1,000 t;
            # call auction (SO2 rights): max volume 400 t at CNY 4,000/t (least imbalance
            # among 3,900-4,000), in the pollutant class's unit (t, or kg: x 1,000)
            assert got == [
                ("auction", 3750, 8000, False),
                ("auction", 3750, 6000, False),
                ("auction", 3750, 5000, False),
                ("auction", 3750, 1000, False),
                ("block", 3800, 120_000, False),
                ("call", 400_000 // per, 250 * per, True),
                ("call", 400_000 // per, 150 * per, True),
                ("listed", 3920, 300, True),
            ]
            assert verify_ledger(s) == []
            # The seller's proceeds: 400 t at a plausible CNY 4,000 per tonne = CNY 1.6 M,
            # from a naive call-auction clearing of the demo orders (maximum volume, then
            # least imbalance), in exact fractions.
            price, volume = _naive_call(call_orders())
            assert (price, volume) == (Fraction(4000, per), 400 * per)
            call = s.scalars(
                select(ExTrade).where(ExTrade.mode == "call", ExTrade.trade_date == "2026-07-08")
            ).all()
            notional_fen = sum(int(t.notional_minor) for t in call)
            assert notional_fen == price * volume * 100 == 160_000_000
            cny_per_tonne = Fraction(notional_fen, 100) / (Fraction(volume) / per)
            assert cny_per_tonne == 4_000
    finally:
        engine.dispose()
