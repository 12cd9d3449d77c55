"""Demo: a short trading week of Chongqing allowances (CN-CQ, CQEA 2025) on the exchange.

Runs after the registry demo (:mod:`greencircle.demo.registry`), whose holdings and cash
deposits it trades: ``CQ-ALU-01`` sells its surplus, the Sichuan enterprise ``SC-CHE-01``
(admitted to the Chongqing market) sells part of the units it bought and bids for more,
``CQ-CEM-01`` sells a little of its surplus; ``CQ-STE-02`` and ``CQ-STE-01`` (short of its
2025 obligation) buy. ``CQ-STE-01`` has no cash on the platform after the registry demo,
so the settlement bank ``SETTLE-01`` books a deposit for it first (a registry deposit, as
any bank would). Units move only through trades (DvP settlement of the exchange).

Every order goes through :meth:`ExchangeService.place` as the enterprise's demo user,
with a fixed clock per order (five trading days, 1-7 July 2026, from 10:00 Shanghai time),
so the same orders, trades and prices are produced whenever the demo is loaded. The last
day leaves a resting book (five bid and five ask levels) for the depth ladder. Loading
twice changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Organisation, User
from greencircle.auth.policy import Actor
from greencircle.auth.service import actor_for_user
from greencircle.exchange.hours import relax_for_demo
from greencircle.exchange.models import ExOrder
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.registry.models import RegAllocationPlan
from greencircle.registry.service import RegistryService

__all__ = ["DEMO_ORDERS", "INSTRUMENT", "MARKET", "load_exchange_demo"]

MARKET = "CN-CQ"
INSTRUMENT = "CQEA:2025"
#: Client order ids of the demo orders start with this (idempotency marker).
PREFIX = "DEMO-EX-"
#: Cash deposited for the short buyer (no cash after the registry demo) [fen].
DEPOSITS_FEN: dict[str, int] = {"CQ-STE-01": 10_000_000_00}

#: ``(trading day, [(user, side, price, quantity, tif)])``: in order of entry.
DEMO_ORDERS: list[tuple[str, list[tuple[str, str, str, int, str]]]] = [
    (
        "2026-07-01",
        [
            ("cq-alu-01", "sell", "38.00", 3_000, "GTC"),
            ("cq-ste-01", "buy", "38.00", 2_000, "GTC"),
            ("cq-ste-02", "buy", "38.10", 1_000, "GTC"),
            ("sc-che-01", "sell", "38.20", 1_500, "GTC"),
            ("cq-ste-02", "buy", "38.30", 1_500, "GTC"),
        ],
    ),
    (
        "2026-07-02",
        [
            ("cq-ste-02", "buy", "38.40", 2_500, "GTC"),
            ("cq-alu-01", "sell", "38.30", 2_500, "GTC"),
            ("cq-cem-01", "sell", "38.60", 800, "GTC"),
            ("cq-ste-01", "buy", "38.60", 800, "GTC"),
        ],
    ),
    (
        "2026-07-03",
        [
            ("cq-alu-01", "sell", "38.10", 2_000, "GTC"),
            ("cq-ste-01", "buy", "38.10", 1_200, "GTC"),
            ("sc-che-01", "sell", "37.90", 1_000, "GTC"),
            ("cq-ste-02", "buy", "38.10", 1_800, "GTC"),
        ],
    ),
    (
        "2026-07-06",
        [
            ("sc-che-01", "sell", "38.70", 1_500, "GTC"),
            ("cq-ste-02", "buy", "38.80", 1_500, "GTC"),
            ("cq-ste-01", "buy", "38.90", 1_000, "GTC"),
            ("cq-alu-01", "sell", "38.90", 1_000, "GTC"),
        ],
    ),
    (
        "2026-07-07",
        [
            ("cq-alu-01", "sell", "39.10", 2_000, "GTC"),
            ("cq-ste-01", "buy", "39.20", 1_500, "GTC"),
            ("cq-ste-02", "buy", "39.10", 200, "IOC"),
            # the resting book at the end of the demo
            ("cq-ste-02", "buy", "39.00", 600, "GTC"),
            ("sc-che-01", "sell", "39.30", 800, "GTC"),
            ("cq-ste-01", "buy", "38.90", 700, "GTC"),
            ("cq-alu-01", "sell", "39.50", 1_200, "GTC"),
            ("cq-ste-02", "buy", "38.70", 1_000, "GTC"),
            ("cq-cem-01", "sell", "39.80", 400, "GTC"),
            ("cq-ste-01", "buy", "38.50", 1_500, "GTC"),
            ("sc-che-01", "sell", "40.20", 600, "GTC"),
            ("sc-che-01", "buy", "38.20", 500, "GTC"),
        ],
    ),
]


def demo_actor(session: Session, username: str) -> Actor:
    """The actor of a base-demo user (``LookupError`` if the base demo is not loaded)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise LookupError(f"load the base demo first: user {username} missing")
    return actor_for_user(user, auth_method="demo", token_id="")


def demo_org_id(session: Session, code: str) -> str:
    """The id of a base-demo organisation (``LookupError`` if the base demo is not loaded)."""
    oid = session.scalar(select(Organisation.id).where(Organisation.code == code))
    if oid is None:
        raise LookupError(f"load the base demo first: organisation {code} missing")
    return str(oid)


def _open_at(day: str, n: int) -> datetime:
    """10:00 Asia/Shanghai (02:00 UTC) of ``day`` plus ``n`` × 7 minutes."""
    start = datetime.fromisoformat(day).replace(hour=2, tzinfo=UTC)
    return start + timedelta(minutes=7 * n)


def load_exchange_demo(session: Session, signer: LogSigner) -> dict[str, int]:
    """Enter the demo's orders (the caller commits). Idempotent.

    Marks the database as the demo's (trading hours relaxed, see
    :mod:`greencircle.exchange.hours`). Needs the registry demo (units and cash). Returns
    counts of what was added; raises
    ``RuntimeError`` if a demo order is rejected (the demo data no longer fit the rules).
    """
    counts = {"exchange_deposits": 0, "exchange_orders": 0, "exchange_trades": 0}
    # `make demo` is for trying: its database accepts orders at any hour (the page says
    # "hours relaxed (demo)"); GREENCIRCLE_EXCHANGE_ENFORCE_HOURS=true enforces them again.
    relax_for_demo(session)
    done = session.scalar(
        select(ExOrder.id).where(ExOrder.client_order_id.like(f"{PREFIX}%")).limit(1)
    )
    if done is not None:
        return counts
    if (
        session.scalar(
            select(RegAllocationPlan.id).where(RegAllocationPlan.market_code == MARKET).limit(1)
        )
        is None
    ):
        raise LookupError("load the registry demo first: no CN-CQ allocation")

    def actor(username: str) -> Actor:
        return demo_actor(session, username)

    first = _open_at(DEMO_ORDERS[0][0], 0) - timedelta(hours=1)
    bank = RegistryService(session, signer, clock=lambda: first)
    for code, amount in DEPOSITS_FEN.items():
        org_id = demo_org_id(session, code)
        bank.deposit(
            actor("settle-01"),
            org_id=org_id,
            currency="CNY",
            amount_minor=amount,
            reference=f"DEP-EX-2026-{code}",
        )
        counts["exchange_deposits"] += 1

    books = BookRegistry()  # a private book: the server rebuilds it from the stored orders
    now = first

    def clock() -> datetime:
        return now

    registry = RegistryService(session, signer, clock=clock)
    svc = ExchangeService(session, signer, books, registry=registry, clock=clock)
    n = 0
    for day, orders in DEMO_ORDERS:
        for i, (username, side, price, quantity, tif) in enumerate(orders):
            now = _open_at(day, i)
            n += 1
            ack = svc.place(
                actor(username),
                market=MARKET,
                instrument=INSTRUMENT,
                side=side,
                kind="limit",
                tif=tif,
                price=price,
                quantity=quantity,
                client_order_id=f"{PREFIX}{n:03d}",
            )
            if not ack.ok:
                raise RuntimeError(f"demo order {n} rejected: {ack.code} {ack.detail}")
            counts["exchange_orders"] += 1
            counts["exchange_trades"] += len(ack.trades)
    session.flush()
    return counts
