"""The exchange demo: a deterministic, idempotent trading week after the other demos."""

from __future__ import annotations

from sqlalchemy import func, select

from greencircle.demo.exchange import load_exchange_demo
from greencircle.demo.mrv import load_mrv_demo
from greencircle.demo.registry import load_registry_demo
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.registry.integrity import verify_ledger
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

from .ex_support import SIGNER, org_id

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
