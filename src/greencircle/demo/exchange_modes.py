"""Demo: the other trading modes on Wednesday 8 July 2026 (CN-CQ, Shanghai time).

Runs after the continuous trading week (:mod:`greencircle.demo.exchange`):

* **Regulator's auction** (09:30-11:00): the Chongqing bureau ``CQ-EEB`` requests 20,000 t
  of CQEA 2025 for its auction reserve, its second regulator ``cq-eeb-2`` approves the
  issuance (four eyes), and ``CQ-EEB`` sells them by one-way sealed-bid auction
  (uniform price, reserve CNY 36.00, at most 8,000 t per bidder). ``CQ-STE-01``,
  ``CQ-STE-02``, ``SC-CHE-01`` (two bids) and ``CQ-CEM-01`` bid; ``CQ-EEB`` clears at
  11:05. Awards (by hand): 8,000 t @ 38.80, 6,000 @ 38.50, 5,000 @ 38.20 and 1,000 of the
  37.50 bid: clearing price CNY 37.50; ``CQ-CEM-01``'s 36.50 bid wins nothing.
* **Listed agreement** (10:15): ``CQ-ALU-01`` lists 500 t at 39.20 and 400 t at 39.40;
  ``CQ-STE-02`` takes 300 t of the 39.20 listing.
* **Block agreement** (13:30): ``CQ-CEM-03`` proposes to sell 120,000 t at 38.00 to
  ``CQ-ALU-01``, which confirms at 13:40 (a block trade: not in the close).
* **Pollutant-rights call auction** (09:30-15:00): ``CQ-EEB`` issues SO₂ discharge rights
  (``CQ-PDR`` 2026, basin ``Yangtze-CQ``) to ``CQ-POW-01`` (600 t) and ``CQ-CEM-01``
  (300 t); the exchange operator opens a call auction (reference price CNY 4,000 per t);
  two sellers and three buyers enter orders; the operator clears at 15:05 at the
  volume-maximising price: 400 t at CNY 4,000/t, so the seller receives CNY 1,600,000
  before fees (paid SO₂ discharge rights in Chinese pilot markets trade at thousands of CNY
  per tonne, order of magnitude, recall).

The call auction is written in tonnes and CNY per tonne and converted to the unit of the
pollutant class (``registry/data/instruments.toml``, the one source of the unit) when
loaded: ``t`` gives 400 at CNY 4,000.00, ``kg`` gives 400,000 at CNY 4.00, the same
CNY 1.6 M either way. (The earlier demo entered "400 at 4,000" whatever the unit: with the
class in kg that was 400 kg at CNY 4,000 per kg, CNY 4 million per tonne.)

Every command runs through the services with a fixed clock, so the same trades result
whenever the demo is loaded; loading twice changes nothing (client references
``DEMO-XM-…``). The caller commits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import User
from greencircle.auth.policy import Actor
from greencircle.auth.service import actor_for_user
from greencircle.demo.exchange import demo_actor, demo_org_id
from greencircle.demo.registry import SECOND_REGULATOR
from greencircle.exchange.agreements import AgreementService
from greencircle.exchange.auctions import AuctionService
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.service import BookRegistry, OrderAck
from greencircle.exchange.surveillance import SurveillanceService
from greencircle.exchange.units import unit_of
from greencircle.registry.service import RegistryService

__all__ = [
    "AUCTION_BIDS",
    "CALL_ORDERS_T",
    "call_orders",
    "load_exchange_modes_demo",
    "per_tonne",
    "scan_demo_days",
]

PREFIX = "DEMO-XM-"
DAY = datetime(2026, 7, 8, tzinfo=UTC)  # 00:00 UTC = 08:00 Shanghai
MARKET = "CN-CQ"
CQEA = "CQEA:2025"
PDR = "CQ-PDR:2026:Yangtze-CQ:SO2"

#: One-way auction bids ``(user, price, quantity)`` in order of entry.
AUCTION_BIDS: list[tuple[str, str, int]] = [
    ("cq-ste-01", "38.80", 8_000),
    ("cq-ste-02", "38.50", 6_000),
    ("sc-che-01", "38.20", 5_000),
    ("sc-che-01", "37.50", 3_000),
    ("cq-cem-01", "36.50", 4_000),
]
#: SO₂ rights issued before the call auction [t].
PDR_HOLDERS_T: dict[str, int] = {"CQ-POW-01": 600, "CQ-CEM-01": 300}
#: Call-auction orders ``(user, side, price [CNY/t], quantity [t])``.
CALL_ORDERS_T: list[tuple[str, str, str, int]] = [
    ("cq-pow-01", "sell", "3900.00", 400),
    ("cq-cem-01", "sell", "4050.00", 200),
    ("cq-ste-01", "buy", "4100.00", 250),
    ("cq-alu-01", "buy", "4000.00", 200),
    ("cq-ste-02", "buy", "3950.00", 150),
]
#: Reference price of the call auction [CNY/t].
CALL_REFERENCE_T = "4000.00"
#: Units of a mass unit in one tonne (the pollutant class is counted in ``t`` or ``kg``).
PER_TONNE: dict[str, int] = {"t": 1, "kg": 1000}


def per_tonne() -> int:
    """Units of the pollutant class's unit in one tonne (``t``: 1, ``kg``: 1000)."""
    return PER_TONNE[unit_of("pollutant")]


def _price(per_t: str) -> str:
    """A price per tonne as a price per unit of the pollutant class (exact, 2 decimals)."""
    return f"{Decimal(per_t) / per_tonne():.2f}"


def call_orders() -> list[tuple[str, str, str, int]]:
    """:data:`CALL_ORDERS_T` in the pollutant class's unit (prices per that unit)."""
    return [(u, s, _price(p), q * per_tonne()) for u, s, p, q in CALL_ORDERS_T]


def _at(hour: int, minute: int) -> datetime:
    """``hour:minute`` Shanghai time on the demo day, as UTC."""
    return DAY + timedelta(hours=hour - 8, minutes=minute)


def _ok(ack: OrderAck, what: str) -> OrderAck:
    if not ack.ok:
        raise RuntimeError(f"demo {what} rejected: {ack.code} {ack.detail}")
    return ack


def load_exchange_modes_demo(session: Session, signer: LogSigner) -> dict[str, int]:
    """Run the demo auction, listed and block trades and the call auction. Idempotent."""
    counts = {"auction_trades": 0, "listed_trades": 0, "block_trades": 0, "call_trades": 0}
    if session.scalar(select(ExOrder.id).where(ExOrder.client_order_id.like(f"{PREFIX}%"))):
        return counts

    def actor(username: str) -> Actor:
        return demo_actor(session, username)

    def org(code: str) -> str:
        return demo_org_id(session, code)

    now = _at(9, 0)

    def clock() -> datetime:
        return now

    def at(t: datetime) -> None:
        nonlocal now
        now = t

    registry = RegistryService(session, signer, clock=clock)
    books = BookRegistry()
    auctions = AuctionService(session, signer, books, registry=registry, clock=clock)
    agreements = AgreementService(session, signer, books, registry=registry, clock=clock)
    regulator = actor("cq-eeb")
    n = 0

    def ref() -> str:
        nonlocal n
        n += 1
        return f"{PREFIX}{n:03d}"

    # -- the regulator's allowance auction ------------------------------------------------
    asked = auctions.request_reserve(
        regulator, market=MARKET, product="CQEA", vintage=2025, quantity=20_000
    )
    auctions.approve_reserve(demo_actor(session, SECOND_REGULATOR), str(asked["id"]))
    sale = _ok(
        auctions.create(
            regulator,
            market=MARKET,
            instrument=CQEA,
            title="2025年度配额政府预留拍卖",
            titles={"zh-CN": "2025年度配额政府预留拍卖", "en": "CQEA 2025 government reserve sale"},
            opens_at=_at(9, 30),
            closes_at=_at(11, 0),
            pricing="uniform",
            offered_quantity=20_000,
            reserve_price="36.00",
            max_per_bidder=8_000,
            client_ref=ref(),
        ),
        "auction",
    )
    sale_id = str(sale.order["id"]) if sale.order else ""
    for i, (user, price, quantity) in enumerate(AUCTION_BIDS):
        at(_at(10, 5 * i))
        _ok(
            auctions.bid(
                actor(user), sale_id, price=price, quantity=quantity, client_order_id=ref()
            ),
            "auction bid",
        )
    # -- listed agreement -----------------------------------------------------------------
    at(_at(10, 15))
    listing = _ok(
        agreements.post_listing(
            actor("cq-alu-01"),
            market=MARKET,
            instrument=CQEA,
            side="sell",
            price="39.20",
            quantity=500,
            client_order_id=ref(),
        ),
        "listing",
    )
    at(_at(10, 16))
    _ok(
        agreements.post_listing(
            actor("cq-alu-01"),
            market=MARKET,
            instrument=CQEA,
            side="sell",
            price="39.40",
            quantity=400,
            client_order_id=ref(),
        ),
        "listing",
    )
    at(_at(10, 40))
    took = _ok(
        agreements.take_listing(
            actor("cq-ste-02"),
            str(listing.order["id"]) if listing.order else "",
            quantity=300,
            client_order_id=ref(),
        ),
        "take",
    )
    counts["listed_trades"] += len(took.trades)
    # -- clearing the auction -------------------------------------------------------------
    at(_at(11, 5))
    cleared = _ok(auctions.clear(regulator, sale_id), "auction clearing")
    counts["auction_trades"] += len(cleared.trades)
    # -- block agreement ------------------------------------------------------------------
    at(_at(13, 30))
    proposal = _ok(
        agreements.propose(
            actor("cq-cem-03"),
            market=MARKET,
            instrument=CQEA,
            side="sell",
            counterparty="CQ-ALU-01",
            price="38.00",
            quantity=120_000,
            note="block sale of surplus allowances / 富余配额大宗协议转让",
            client_ref=ref(),
        ),
        "block proposal",
    )
    at(_at(13, 40))
    confirmed = _ok(
        agreements.confirm(
            actor("cq-alu-01"),
            str(proposal.order["id"]) if proposal.order else "",
            client_order_id=ref(),
        ),
        "block confirmation",
    )
    counts["block_trades"] += len(confirmed.trades)
    # -- pollutant-rights call auction ----------------------------------------------------
    at(_at(9, 0))
    for code, tonnes in PDR_HOLDERS_T.items():
        registry.issue(
            regulator,
            market_code=MARKET,
            product="CQ-PDR",
            vintage=2026,
            region="Yangtze-CQ",
            pollutant="SO2",
            to_org_id=org(code),
            quantity=tonnes * per_tonne(),
            reference=f"SO2 discharge rights 2026 {code} (demo)",
        )
    call = _ok(
        auctions.create(
            actor("ncm-operator"),
            kind="call",
            market=MARKET,
            instrument=PDR,
            title="二氧化硫排污权集合竞价",
            titles={"zh-CN": "二氧化硫排污权集合竞价", "en": "SO₂ discharge rights call auction"},
            opens_at=_at(9, 30),
            closes_at=_at(15, 0),
            reference_price=_price(CALL_REFERENCE_T),
            client_ref=ref(),
        ),
        "call auction",
    )
    call_id = str(call.order["id"]) if call.order else ""
    for i, (user, side, price, quantity) in enumerate(call_orders()):
        at(_at(14, 10 + 5 * i))
        _ok(
            auctions.bid(
                actor(user),
                call_id,
                side=side,
                price=price,
                quantity=quantity,
                client_order_id=ref(),
            ),
            "call order",
        )
    at(_at(15, 5))
    done = _ok(auctions.clear(actor("ncm-operator"), call_id), "call clearing")
    counts["call_trades"] += len(done.trades)
    session.flush()
    return counts


def scan_demo_days(session: Session, signer: LogSigner) -> dict[str, int]:
    """End-of-day surveillance scans (exchange operator) of every demo trading day of the
    markets with trades, so the regulators' alert queue is populated. Idempotent (a scan
    adds only alerts it has not stored before)."""
    operator = session.scalar(select(User).where(User.username == "ncm-operator"))
    if operator is None:
        raise LookupError("load the base demo first: user ncm-operator missing")
    actor = actor_for_user(operator, auth_method="demo", token_id="")
    svc = SurveillanceService(session, signer)
    days = session.execute(
        select(ExTrade.market_code, ExTrade.trade_date)
        .group_by(ExTrade.market_code, ExTrade.trade_date)
        .order_by(ExTrade.market_code, ExTrade.trade_date)
    ).all()
    new = 0
    for market, day in days:
        new += sum(1 for a in svc.scan(actor, str(market), str(day)) if a["new"])
    session.flush()
    return {"surveillance_alerts": new}
