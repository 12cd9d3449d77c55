"""Demo: a Kazakh enterprise buys Chongqing ITMOs on the SCO market, paying in KZT.

On Wednesday 8 July 2026 (Shanghai time):

* the Chongqing bureau ``CQ-EEB`` (delegated authority of the SCO market for Chongqing
  organisations) issues 10,000 t of ``SCO-ITMO`` 2025 from the forestry project
  ``ITMO-CQ-FOR-0001`` to ``CQ-CEM-02``;
* the settlement bank ``SETTLE-01`` books KZT 12,000,000.00 for ``KZ-ENT-01``, CNY
  200,000.00 of FX liquidity for itself, and records the day's KZT/CNY rate snapshot (the
  demo rate of ``exchange/data/fx.toml``, status ``estimate``);
* ``CQ-CEM-02`` offers 1,500 t at CNY 60.00 and 1,000 t at CNY 61.00; ``KZ-ENT-01`` buys
  2,000 t up to CNY 61.00 funded in KZT: two trades, each settled delivery versus payment
  with a payment-versus-payment KZT→CNY leg through ``SETTLE-01``.

The demo also keeps a current rate (:func:`keep_current_rates`): every load records the
demo rate of each funding currency again, from the start of today (Shanghai) for
``[demo] validity_days`` of ``fx.toml``, when the pair's latest rate expires within
``refresh_days``; so a KZT-funded buy works on any day the demo is tried, and the
settlement page says when the rate expires.

Idempotent (client order ids ``DEMO-XB-n``); the caller commits.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import User, UserRole
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Role
from greencircle.auth.service import hash_password
from greencircle.demo.exchange import demo_actor, demo_org_id
from greencircle.demo.scenario import DEMO_PASSWORD
from greencircle.exchange.fx import FxService, load_fx_config
from greencircle.exchange.models import ExOrder
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.kit.timeutil import CHINA_TZ, as_utc, to_local, utcnow
from greencircle.registry.service import RegistryService

__all__ = ["ITMO_PROJECT", "SECOND_BANKER", "keep_current_rates", "load_crossborder_demo"]

#: A second user of the settlement bank: approves FX rates outside the plausibility band
#: that ``settle-01`` recorded (four eyes), so the flow can be tried in the demo.
SECOND_BANKER = "settle-01-2"


def _second_banker(session: Session) -> None:
    """Add the bank's second user (idempotent; password as every demo user)."""
    if session.scalar(select(User).where(User.username == SECOND_BANKER)) is not None:
        return
    session.add(
        User(
            username=SECOND_BANKER,
            display_name="Western Settlement Bank second approver",
            password_hash=hash_password(DEMO_PASSWORD),
            organisation_id=demo_org_id(session, "SETTLE-01"),
            locale="zh-CN",
            role_rows=[UserRole(role=Role.SETTLEMENT_BANK.value)],
        )
    )
    session.flush()


ITMO_PROJECT = "ITMO-CQ-FOR-0001"
PREFIX = "DEMO-XB-"
DAY_OPEN = datetime(2026, 7, 8, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
#: ``(user, side, price, quantity, funding currency)`` in order of entry.
ORDERS: list[tuple[str, str, str, int, str | None]] = [
    ("cq-cem-02", "sell", "60.00", 1_500, None),
    ("cq-cem-02", "sell", "61.00", 1_000, None),
    ("kz-ent-01", "buy", "61.00", 2_000, "KZT"),
]


def keep_current_rates(session: Session, signer: LogSigner, now: datetime | None = None) -> int:
    """Record the demo rate of each funding currency again when the pair's latest active
    rate expires within ``refresh_days`` of ``now``; returns how many were recorded.

    Each new snapshot is valid from the start of ``now``'s day in Shanghai for
    ``validity_days`` (``fx.toml`` ``[demo]``, status ``estimate``), recorded by the
    settlement bank ``SETTLE-01`` like any rate (so the plausibility band applies).
    """
    cfg = load_fx_config()
    at = now or utcnow()
    fx = FxService(session, signer)
    bank = demo_actor(session, "settle-01")
    start = datetime.combine(to_local(at).date(), time(0, 0), CHINA_TZ).astimezone(UTC)
    recorded = 0
    for r in cfg.demo_rates:
        latest = fx.latest(r["base"], r["quote"])
        horizon = at + timedelta(days=cfg.demo_refresh_days)
        if latest is not None and as_utc(latest.valid_until) > horizon:
            continue
        fx.record_rate(
            bank,
            base=r["base"],
            quote=r["quote"],
            rate=r["rate"],
            source=r["source"],
            status=r["status"],
            observed_at=at,
            valid_from=start,
            valid_until=start + timedelta(days=cfg.demo_validity_days),
        )
        recorded += 1
    session.flush()
    return recorded


def load_crossborder_demo(session: Session, signer: LogSigner) -> dict[str, int]:
    """Issue ITMOs, fund the Kazakh buyer in KZT, record the rate and trade; keep a
    current rate for every funding currency. Idempotent."""
    counts = {"crossborder_orders": 0, "crossborder_trades": 0, "fx_rates_recorded": 0}
    _second_banker(session)
    if session.scalar(select(ExOrder.id).where(ExOrder.client_order_id.like(f"{PREFIX}%"))):
        counts["fx_rates_recorded"] = keep_current_rates(session, signer)
        return counts

    def actor(username: str) -> Actor:
        return demo_actor(session, username)

    def org(code: str) -> str:
        return demo_org_id(session, code)

    now = DAY_OPEN - timedelta(minutes=30)

    def clock() -> datetime:
        return now

    registry = RegistryService(session, signer, clock=clock)
    registry.issue(
        actor("cq-eeb"),
        market_code="SCO",
        product="SCO-ITMO",
        vintage=2025,
        to_org_id=org("CQ-CEM-02"),
        quantity=10_000,
        project_id=ITMO_PROJECT,
        reference="ITMO issuance 2025, Chongqing forestry (demo)",
    )
    bank = actor("settle-01")
    registry.deposit(
        bank,
        org_id=org("KZ-ENT-01"),
        currency="KZT",
        amount_minor=12_000_000_00,
        reference="DEP-XB-2026-KZ-ENT-01",
    )
    registry.deposit(
        bank,
        org_id=org("SETTLE-01"),
        currency="CNY",
        amount_minor=200_000_00,
        reference="FX-LIQ-2026-07-08",
    )
    demo_rate = next(r for r in load_fx_config().demo_rates if r["base"] == "KZT")
    FxService(session, signer).record_rate(
        bank,
        base="KZT",
        quote="CNY",
        rate=demo_rate["rate"],
        source=demo_rate["source"],
        status=demo_rate["status"],
        observed_at=now,
        valid_from=DAY_OPEN - timedelta(hours=2),  # 08:00 Shanghai
        valid_until=DAY_OPEN + timedelta(hours=22),  # 08:00 the next day
    )
    svc = ExchangeService(session, signer, BookRegistry(), registry=registry, clock=clock)
    inst = f"SCO-ITMO:2025:{ITMO_PROJECT}"
    for n, (username, side, price, quantity, funding) in enumerate(ORDERS, start=1):
        now = DAY_OPEN + timedelta(minutes=5 * n)
        ack = svc.place(
            actor(username),
            market="SCO",
            instrument=inst,
            side=side,
            price=price,
            quantity=quantity,
            funding_currency=funding,
            client_order_id=f"{PREFIX}{n}",
        )
        if not ack.ok:
            raise RuntimeError(f"cross-border demo order {n} rejected: {ack.code} {ack.detail}")
        counts["crossborder_orders"] += 1
        counts["crossborder_trades"] += len(ack.trades)
    session.flush()
    counts["fx_rates_recorded"] = keep_current_rates(session, signer)
    return counts
