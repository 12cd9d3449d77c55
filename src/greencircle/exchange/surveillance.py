"""Market surveillance for the regulator: watched rejections, large-holding limits and
daily alert scans (data: ``exchange/data/surveillance.toml``).

Three parts:

* :func:`record_rejection` stores an order attempt rejected as ``outside_price_band`` or
  ``position_limit_exceeded`` (called by :meth:`ExchangeService.place` in the command's own
  transaction, which is committed: nothing here needs a rollback).
* :func:`position_limit` / :func:`check_position`: the large-holding limit of one
  instrument and the pre-trade check against it.
* :class:`SurveillanceService`: :meth:`~SurveillanceService.scan` computes the alerts of one
  market and trading date from trades, orders, rejections and registry balances, stores the
  new ones (the alert ``key`` makes re-scans idempotent) and appends one ``exchange.alert``
  transparency-log leaf per new alert; :meth:`~SurveillanceService.alerts` lists them and
  :meth:`~SurveillanceService.review` acknowledges or closes them.

Access: :attr:`Perm.EXCHANGE_SURVEIL`. The exchange operator (``exchange.operate``) sees
every market; a regulator sees the markets whose authority jurisdiction lies in its own
jurisdiction subtree (:meth:`Actor.covers_path` on the market's authority path, as the
registry scopes market regulators).

Units: trade and order quantities are tonnes [t]; registry balances are registry minor
units (``t × 10**scale`` of the instrument); prices are integer ticks of the market.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import Forbidden, Invalid, NotFound
from greencircle.exchange.calendar import TradingCalendar, load_calendar
from greencircle.exchange.marketdata import previous_close, vwap_ticks
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.models_surveillance import ALERT_STATUSES, ExAlert, ExRejection
from greencircle.exchange.rules import MarketRules, band_limits, load_rules
from greencircle.exchange.units import instrument_units, unit_of
from greencircle.kit.paging import page
from greencircle.kit.timeutil import as_utc, utcnow
from greencircle.registry.ledger import AccountKind
from greencircle.registry.markets import Market
from greencircle.registry.models import RegAccount, RegBalance, RegInstrument
from greencircle.registry.service import RegistryService

__all__ = [
    "ALERT_KINDS",
    "REVIEW_STATUSES",
    "WATCHED_CODES",
    "PositionLimit",
    "SurveillanceService",
    "Thresholds",
    "check_position",
    "issued_units",
    "load_thresholds",
    "position_limit",
    "record_rejection",
]

DATA_FILE = Path(__file__).parent / "data" / "surveillance.toml"

#: Alert kinds, in the order a scan computes them.
ALERT_KINDS = (
    "large_holding",
    "band_breach_attempts",
    "volume_concentration",
    "round_trip",
    "high_cancel_ratio",
    "close_near_band_limit",
    "end_of_day_ramp",
)
#: Rejection codes worth recording (see :func:`record_rejection`).
WATCHED_CODES = ("outside_price_band", "position_limit_exceeded")
#: Review outcomes (:meth:`SurveillanceService.review`).
REVIEW_STATUSES = ("acknowledged", "closed")
_HUNDRED = Decimal(100)


# ==========================================================================================
# thresholds (data)
# ==========================================================================================
@dataclass(frozen=True)
class PositionLimit:
    """Large-holding limit of one instrument class.

    Attributes
    ----------
    share_pct
        Largest holding as a share of the instrument's issued units [%], or ``None``.
    max_t
        Largest holding [t], or ``None``. The smaller of the two limits applies.
    """

    share_pct: Decimal | None
    max_t: int | None


@dataclass(frozen=True)
class Thresholds:
    """Surveillance thresholds of one market (see ``surveillance.toml`` for each meaning).

    Attributes
    ----------
    market
        Market code.
    band_breach_attempts
        ``outside_price_band`` rejections per participant and day [count].
    volume_share_pct
        One participant's share of one side of an instrument's daily volume [%].
    volume_min_t
        Smallest daily volume assessed for concentration [t].
    round_trip_t
        Quantity both bought and sold by one participant in a day [t].
    cancel_ratio_pct
        Own cancellations among a participant's orders of the day [%].
    cancel_min_orders
        Fewest orders of the day for the cancel ratio to be assessed [count].
    close_band_fraction_pct
        Close move as a share of the distance to the band limit [%].
    ramp_window_minutes
        Closing window before the end of the continuous session [min].
    ramp_move_pct
        Price move within the closing window [%].
    severity
        ``alert kind -> severity`` (``low``, ``medium``, ``high``).
    position_limits
        ``instrument class -> PositionLimit`` (classes without an entry: no limit).
    statuses
        ``fact -> (status, source)``; position limits as ``position_limits.<class>.<fact>``.
    """

    market: str
    band_breach_attempts: int
    volume_share_pct: Decimal
    volume_min_t: int
    round_trip_t: int
    cancel_ratio_pct: Decimal
    cancel_min_orders: int
    close_band_fraction_pct: Decimal
    ramp_window_minutes: int
    ramp_move_pct: Decimal
    severity: Mapping[str, str]
    position_limits: Mapping[str, PositionLimit]
    statuses: Mapping[str, tuple[str, str]]


_SCALARS = (
    "band_breach_attempts",
    "volume_share_pct",
    "volume_min_t",
    "round_trip_t",
    "cancel_ratio_pct",
    "cancel_min_orders",
    "close_band_fraction_pct",
    "ramp_window_minutes",
    "ramp_move_pct",
    "severity",
)


def _fact(raw: Mapping[str, Any], defaults: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    fact: Mapping[str, Any] = raw.get(name, defaults[name])
    if not {"value", "status", "source"} <= set(fact):
        raise ValueError(f"surveillance fact {name!r} needs value, status and source")
    return fact


@cache
def load_thresholds(path: Path = DATA_FILE) -> dict[str, Thresholds]:
    """Every market's surveillance thresholds from the TOML file (cached)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults = data["defaults"]
    out: dict[str, Thresholds] = {}
    for code, raw in data.get("markets", {}).items():
        statuses: dict[str, tuple[str, str]] = {}
        vals: dict[str, Any] = {}
        for name in _SCALARS:
            fact = _fact(raw, defaults, name)
            vals[name] = fact["value"]
            statuses[name] = (fact["status"], fact["source"])
        severity = {str(k): str(v) for k, v in vals["severity"].items()}
        if set(severity) != set(ALERT_KINDS):
            raise ValueError(f"{code}: severity must name every alert kind {ALERT_KINDS}")
        limits: dict[str, PositionLimit] = {}
        classes = {**defaults.get("position_limits", {}), **raw.get("position_limits", {})}
        for cls, facts in classes.items():
            share = facts.get("share_pct")
            cap = facts.get("max_t")
            for name, fact in (("share_pct", share), ("max_t", cap)):
                if fact is not None:
                    statuses[f"position_limits.{cls}.{name}"] = (fact["status"], fact["source"])
            limits[cls] = PositionLimit(
                Decimal(str(share["value"])) if share else None,
                int(cap["value"]) if cap else None,
            )
        out[code] = Thresholds(
            market=code,
            band_breach_attempts=int(vals["band_breach_attempts"]),
            volume_share_pct=Decimal(str(vals["volume_share_pct"])),
            volume_min_t=int(vals["volume_min_t"]),
            round_trip_t=int(vals["round_trip_t"]),
            cancel_ratio_pct=Decimal(str(vals["cancel_ratio_pct"])),
            cancel_min_orders=int(vals["cancel_min_orders"]),
            close_band_fraction_pct=Decimal(str(vals["close_band_fraction_pct"])),
            ramp_window_minutes=int(vals["ramp_window_minutes"]),
            ramp_move_pct=Decimal(str(vals["ramp_move_pct"])),
            severity=severity,
            position_limits=limits,
            statuses=statuses,
        )
    return out


def _thresholds(market: str, table: Mapping[str, Thresholds] | None = None) -> Thresholds:
    table = table if table is not None else load_thresholds()
    th = table.get(market)
    if th is None:
        raise NotFound(
            f"market {market!r} has no surveillance thresholds", code="exchange.unknown_market"
        )
    return th


# ==========================================================================================
# rejections and the large-holding limit
# ==========================================================================================
def record_rejection(
    session: Session,
    *,
    market: str,
    instrument: str,
    org_id: str,
    user_id: str,
    code: str,
    detail: str,
    side: str,
    price_ticks: int | None,
    quantity: int,
    at: datetime,
) -> ExRejection:
    """Record a rejected order attempt for surveillance (added to ``session``, not flushed).

    Parameters
    ----------
    session
        The command's unit of work (committed by the caller with the rest of the command).
    market, instrument
        Market code and full instrument code (``CN-CQ:CQEA:2025``).
    org_id, user_id
        Who entered the order.
    code
        The rejection code (one of :data:`WATCHED_CODES` in practice).
    detail
        The rejection message (cut to 500 characters).
    side
        ``buy`` or ``sell``.
    price_ticks
        Limit price [ticks], ``None`` for market orders.
    quantity
        Order quantity [t].
    at
        When [aware datetime, stored as UTC].
    """
    row = ExRejection(
        market_code=market,
        instrument_code=instrument,
        org_id=org_id,
        user_id=user_id,
        code=code,
        detail=detail[:500],
        side=side,
        price_ticks=price_ticks,
        quantity=quantity,
        created_at=as_utc(at),
    )
    session.add(row)
    return row


def issued_units(session: Session, inst: RegInstrument) -> int:
    """Units of ``inst`` issued, net of cancellations [registry minor units].

    Notes
    -----
    Issuance debits the market's issuance system account (``<market>.SYS.ISSUANCE``, the
    only unit account allowed to go negative) and credits a holding; corrections and
    true-up returns credit the cancellation account (``<market>.SYS.CANCELLATION``). So
    ``issued = −posted(issuance) − posted(cancellation)``. Surrendered and retired units
    stay counted (they were issued and are merely out of circulation).
    """
    rows = session.execute(
        select(RegAccount.kind, func.coalesce(func.sum(RegBalance.posted), 0))
        .join(RegAccount, RegAccount.id == RegBalance.account_id)
        .where(
            RegBalance.instrument_id == inst.id,
            RegAccount.market_code == inst.market_code,
            RegAccount.kind.in_([AccountKind.ISSUANCE.value, AccountKind.CANCELLATION.value]),
        )
        .group_by(RegAccount.kind)
    )
    by_kind = {str(k): int(v) for k, v in rows}
    return -by_kind.get(AccountKind.ISSUANCE.value, 0) - by_kind.get(
        AccountKind.CANCELLATION.value, 0
    )


def _instrument(session: Session, market: str, instrument_id: str) -> RegInstrument:
    inst = session.get(RegInstrument, instrument_id)
    if inst is None or inst.market_code != market:
        raise NotFound(
            f"instrument {instrument_id!r} is not listed on {market}",
            code="exchange.unknown_instrument",
        )
    return inst


def _limit_of(
    session: Session, inst: RegInstrument, th: Thresholds
) -> tuple[int, int, PositionLimit] | None:
    """``(limit, issued, rule)`` [registry minor units] or ``None`` (no limit)."""
    rule = th.position_limits.get(inst.instrument_class)
    if rule is None:
        return None
    issued = issued_units(session, inst)
    candidates: list[int] = []
    if rule.share_pct is not None:
        share = Decimal(issued) * rule.share_pct / _HUNDRED
        candidates.append(int(share.to_integral_value(ROUND_FLOOR)))
    if rule.max_t is not None:
        candidates.append(rule.max_t * 10**inst.scale)
    if not candidates:
        return None
    return min(candidates), issued, rule


def position_limit(
    session: Session,
    market: str,
    instrument_id: str,
    *,
    thresholds: Mapping[str, Thresholds] | None = None,
) -> int | None:
    """Largest holding one participant may have of an instrument [registry minor units].

    Notes
    -----
    ``limit = min(floor(issued × share_pct / 100), max_t × 10**scale)`` over the limits the
    instrument class has (``surveillance.toml``, ``position_limits.<class>``), with
    ``issued`` from :func:`issued_units`. ``None`` when the class has no limit.
    """
    inst = _instrument(session, market, instrument_id)
    got = _limit_of(session, inst, _thresholds(market, thresholds))
    return None if got is None else got[0]


def _holding_units(session: Session, org_id: str, market: str, instrument_id: str) -> int:
    value = session.scalar(
        select(func.coalesce(func.sum(RegBalance.posted), 0))
        .join(RegAccount, RegAccount.id == RegBalance.account_id)
        .where(
            RegAccount.org_id == org_id,
            RegAccount.market_code == market,
            RegAccount.kind == AccountKind.HOLDING.value,
            RegBalance.instrument_id == instrument_id,
        )
    )
    return int(value or 0)


def _t(units: int, scale: int) -> str:
    """Registry minor units as tonnes (exact decimal string)."""
    return f"{Decimal(units).scaleb(-scale):,f}"


def _limit_text(inst: RegInstrument, limit: int, issued: int, rule: PositionLimit) -> str:
    u = unit_of(inst.instrument_class)
    parts = []
    if rule.share_pct is not None:
        parts.append(f"{rule.share_pct}% of {_t(issued, inst.scale)} {u} issued")
    if rule.max_t is not None:
        parts.append(f"at most {rule.max_t:,} {u}")
    return f"{_t(limit, inst.scale)} {u} ({', '.join(parts)})"


def check_position(
    session: Session,
    *,
    org_id: str,
    market: str,
    instrument_id: str,
    extra_units: int,
    thresholds: Mapping[str, Thresholds] | None = None,
) -> str | None:
    """Pre-trade large-holding check of a buy.

    Parameters
    ----------
    org_id
        The buyer.
    market, instrument_id
        Market code and registry instrument id.
    extra_units
        Units the order may add [registry minor units] (quantity [t] × 10**scale).

    Returns
    -------
    str or None
        A message when the posted holding of the buyer's holding account on ``market``
        plus ``extra_units`` would exceed :func:`position_limit`, else ``None``.
    """
    inst = _instrument(session, market, instrument_id)
    got = _limit_of(session, inst, _thresholds(market, thresholds))
    if got is None:
        return None
    limit, issued, rule = got
    holding = _holding_units(session, org_id, market, instrument_id)
    after = holding + extra_units
    if after <= limit:
        return None
    u = unit_of(inst.instrument_class)
    return (
        f"the holding of {inst.code} would be {_t(after, inst.scale)} {u} "
        f"({_t(holding, inst.scale)} {u} held + {_t(extra_units, inst.scale)} {u}), above the "
        f"large-holding limit {_limit_text(inst, limit, issued, rule)} [estimate]"
    )


# ==========================================================================================
# scans
# ==========================================================================================
@dataclass
class _Finding:
    kind: str
    instrument: str | None
    org_id: str | None
    metrics: dict[str, Any]
    message: str


@dataclass
class _Day:
    """One market and trading date being scanned."""

    market: Market
    th: Thresholds
    rules: MarketRules | None
    trade_date: str
    start: datetime  # local midnight [UTC]
    end: datetime  # next local midnight [UTC]
    orgs: dict[str, str] = field(default_factory=dict)  # org id -> code

    def price(self, ticks: int) -> str:
        return self.rules.scale.format(ticks) if self.rules else str(ticks)


def _pct(num: int | Decimal, den: int | Decimal) -> str:
    """``100 × num / den`` to 2 decimals (for messages and metrics)."""
    return f"{(Decimal(num) * _HUNDRED / Decimal(den)).quantize(Decimal('0.01'))}"


def _parse_day(trade_date: str) -> date:
    try:
        if len(trade_date) != 10:
            raise ValueError(trade_date)
        return date.fromisoformat(trade_date)
    except (TypeError, ValueError):
        raise Invalid(
            f"trade_date {trade_date!r} is not a date YYYY-MM-DD",
            code="exchange.invalid_trade_date",
        ) from None


def _digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class SurveillanceService:
    """Surveillance alerts for one database session (never commits).

    Parameters
    ----------
    session
        The unit of work.
    signer
        Transparency-log signer.
    registry
        Registry service of the same session (market catalogue, jurisdictions).
    thresholds
        Thresholds per market (defaults to ``surveillance.toml``).
    rules
        Trading rules per market (band, tick; defaults to ``trading_rules.toml``).
    calendar
        Trading calendar (end of the continuous session; defaults to ``calendar.toml``).
    clock
        Current UTC time (review timestamps).
    """

    def __init__(
        self,
        session: Session,
        signer: LogSigner,
        *,
        registry: RegistryService | None = None,
        thresholds: Mapping[str, Thresholds] | None = None,
        rules: Mapping[str, MarketRules] | None = None,
        calendar: TradingCalendar | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session = session
        self.signer = signer
        self.registry = registry or RegistryService(session, signer)
        self.thresholds = thresholds if thresholds is not None else load_thresholds()
        self.rules = rules if rules is not None else load_rules()
        self.calendar = calendar or load_calendar()
        self.clock = clock

    # -- scope ----------------------------------------------------------------------------
    def _market(self, code: str) -> Market:
        market = self.registry.catalog.markets.get(code)
        if market is None or code not in self.thresholds:
            raise NotFound(f"market {code!r} is not surveilled", code="exchange.unknown_market")
        return market

    def covers_market(self, actor: Actor, market: Market) -> bool:
        """Whether ``actor`` surveils ``market``: the exchange operator every market, a
        regulator the markets whose authority jurisdiction is in its subtree."""
        if Perm.EXCHANGE_SURVEIL not in actor.perms:
            return False
        if Perm.EXCHANGE_OPERATE in actor.perms:
            return True
        return actor.covers_path(
            self.registry.repo.jurisdiction_path(market.authority_jurisdiction)
        )

    def visible_markets(self, actor: Actor) -> list[str]:
        """Codes of the surveilled markets ``actor`` may see, sorted."""
        actor.require(Perm.EXCHANGE_SURVEIL)
        return sorted(
            code
            for code, m in self.registry.catalog.markets.items()
            if code in self.thresholds and self.covers_market(actor, m)
        )

    def _require_market(self, actor: Actor, code: str) -> Market:
        actor.require(Perm.EXCHANGE_SURVEIL)
        market = self._market(code)
        if not self.covers_market(actor, market):
            raise Forbidden(
                f"market {code} is outside your jurisdiction", code="exchange.out_of_jurisdiction"
            )
        return market

    # -- scan -----------------------------------------------------------------------------
    def scan(self, actor: Actor, market: str, trade_date: str) -> list[dict[str, Any]]:
        """Compute the alerts of ``market`` on ``trade_date`` (local ``YYYY-MM-DD``).

        New alerts are stored with status ``open`` and logged (one ``exchange.alert`` leaf
        each, carrying a SHA-256 digest of the alert instead of the participant); alerts
        whose key exists already are returned unchanged. Large holdings are assessed on the
        balances at scan time.

        Returns
        -------
        list of dict
            Every alert the scan found (views, with ``new`` true for those just stored).
        """
        mkt = self._require_market(actor, market)
        day = _parse_day(trade_date)
        tz = self.calendar.market(market).tz
        start = datetime.combine(day, time(0), tz).astimezone(UTC)
        ctx = _Day(
            mkt,
            self.thresholds[market],
            self.rules.get(market),
            day.isoformat(),
            start,
            datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC),
        )
        trades = self.session.scalars(
            select(ExTrade)
            .where(ExTrade.market_code == market, ExTrade.trade_date == ctx.trade_date)
            .order_by(ExTrade.seq, ExTrade.id)
        ).all()
        by_inst: dict[str, list[ExTrade]] = {}
        for t in trades:
            by_inst.setdefault(t.instrument_code, []).append(t)
        findings = self._large_holdings(ctx)
        findings += self._band_breaches(ctx)
        for code in sorted(by_inst):
            findings += self._volume(ctx, code, by_inst[code])
        findings += self._cancel_ratio(ctx)
        for code in sorted(by_inst):
            findings += self._close_move(ctx, code, by_inst[code])
            findings += self._ramp(ctx, code, by_inst[code])
        return self._store(ctx, findings)

    def _org_codes(self, ctx: _Day, ids: set[str]) -> None:
        missing = ids - set(ctx.orgs)
        if missing:
            rows = self.session.execute(
                select(Organisation.id, Organisation.code).where(Organisation.id.in_(missing))
            )
            ctx.orgs |= {str(i): str(c) for i, c in rows}

    def _large_holdings(self, ctx: _Day) -> list[_Finding]:
        th = ctx.th
        out: list[_Finding] = []
        instruments = self.session.scalars(
            select(RegInstrument)
            .where(
                RegInstrument.market_code == ctx.market.code,
                RegInstrument.instrument_class.in_(sorted(th.position_limits)),
            )
            .order_by(RegInstrument.code)
        ).all()
        for inst in instruments:
            got = _limit_of(self.session, inst, th)
            if got is None:
                continue
            limit, issued, rule = got
            rows = self.session.execute(
                select(RegAccount.org_id, RegBalance.posted)
                .join(RegAccount, RegAccount.id == RegBalance.account_id)
                .where(
                    RegBalance.instrument_id == inst.id,
                    RegAccount.market_code == ctx.market.code,
                    RegAccount.kind == AccountKind.HOLDING.value,
                    RegAccount.org_id.is_not(None),
                    RegBalance.posted > limit,
                )
                .order_by(RegAccount.number)
            ).all()
            self._org_codes(ctx, {str(o) for o, _ in rows})
            for org, posted in rows:
                held = int(posted)
                out.append(
                    _Finding(
                        "large_holding",
                        inst.code,
                        str(org),
                        {
                            "holding_units": held,
                            "limit_units": limit,
                            "issued_units": issued,
                            "scale": int(inst.scale),
                            "unit": unit_of(inst.instrument_class),
                            "share_pct": _pct(held, issued) if issued else None,
                        },
                        f"{ctx.orgs.get(str(org), org)} holds {_t(held, inst.scale)} "
                        f"{unit_of(inst.instrument_class)} of "
                        f"{inst.code}, above the large-holding limit "
                        f"{_limit_text(inst, limit, issued, rule)}",
                    )
                )
        return out

    def _band_breaches(self, ctx: _Day) -> list[_Finding]:
        rows = self.session.execute(
            select(ExRejection.org_id, ExRejection.instrument_code, func.count())
            .where(
                ExRejection.market_code == ctx.market.code,
                ExRejection.code == "outside_price_band",
                ExRejection.created_at >= ctx.start,
                ExRejection.created_at < ctx.end,
            )
            .group_by(ExRejection.org_id, ExRejection.instrument_code)
        ).all()
        per_org: dict[str, dict[str, int]] = {}
        for org, inst, n in rows:
            per_org.setdefault(str(org), {})[str(inst)] = int(n)
        self._org_codes(ctx, set(per_org))
        out: list[_Finding] = []
        for org in sorted(per_org):
            by_inst = per_org[org]
            total = sum(by_inst.values())
            if total < ctx.th.band_breach_attempts:
                continue
            only = next(iter(by_inst)) if len(by_inst) == 1 else None
            out.append(
                _Finding(
                    "band_breach_attempts",
                    only,
                    org,
                    {
                        "attempts": total,
                        "threshold": ctx.th.band_breach_attempts,
                        "by_instrument": dict(sorted(by_inst.items())),
                    },
                    f"{ctx.orgs.get(org, org)} entered {total} orders outside the price band "
                    f"on {ctx.trade_date} (alert from {ctx.th.band_breach_attempts})",
                )
            )
        return out

    def _volume(self, ctx: _Day, code: str, trades: Sequence[ExTrade]) -> list[_Finding]:
        th = ctx.th
        u = instrument_units(code)["unit"]
        volume = sum(int(t.quantity) for t in trades)
        bought: dict[str, int] = {}
        sold: dict[str, int] = {}
        for t in trades:
            bought[t.buyer_org_id] = bought.get(t.buyer_org_id, 0) + int(t.quantity)
            sold[t.seller_org_id] = sold.get(t.seller_org_id, 0) + int(t.quantity)
        orgs = sorted(bought.keys() | sold.keys())
        self._org_codes(ctx, set(orgs))
        out: list[_Finding] = []
        for org in orgs:
            b, s = bought.get(org, 0), sold.get(org, 0)
            side = max(b, s)
            if volume >= th.volume_min_t and side * _HUNDRED >= th.volume_share_pct * volume:
                out.append(
                    _Finding(
                        "volume_concentration",
                        code,
                        org,
                        {
                            "unit": u,
                            "volume_t": volume,
                            "bought_t": b,
                            "sold_t": s,
                            "share_pct": _pct(side, volume),
                            "threshold_pct": str(th.volume_share_pct),
                        },
                        f"{ctx.orgs.get(org, org)} was on one side of {_pct(side, volume)}% of "
                        f"{volume:,} {u} traded in {code} on {ctx.trade_date} "
                        f"(alert from {th.volume_share_pct}%)",
                    )
                )
            both = min(b, s)
            if both and both >= th.round_trip_t:
                out.append(
                    _Finding(
                        "round_trip",
                        code,
                        org,
                        {
                            "unit": u,
                            "bought_t": b,
                            "sold_t": s,
                            "round_trip_t": both,
                            "threshold_t": th.round_trip_t,
                        },
                        f"{ctx.orgs.get(org, org)} bought {b:,} {u} and sold {s:,} {u} of "
                        f"{code} on {ctx.trade_date} (round trip {both:,} {u}, alert from "
                        f"{th.round_trip_t:,} {u})",
                    )
                )
        return out

    def _cancel_ratio(self, ctx: _Day) -> list[_Finding]:
        th = ctx.th
        rows = self.session.execute(
            select(ExOrder.org_id, ExOrder.status, ExOrder.reason).where(
                ExOrder.market_code == ctx.market.code,
                ExOrder.created_at >= ctx.start,
                ExOrder.created_at < ctx.end,
            )
        ).all()
        placed: dict[str, int] = {}
        cancelled: dict[str, int] = {}
        for org, status, reason in rows:
            placed[str(org)] = placed.get(str(org), 0) + 1
            if status == "cancelled" and reason == "cancelled_by_owner":
                cancelled[str(org)] = cancelled.get(str(org), 0) + 1
        self._org_codes(ctx, set(placed))
        out: list[_Finding] = []
        for org in sorted(placed):
            n, c = placed[org], cancelled.get(org, 0)
            if n < th.cancel_min_orders or c * _HUNDRED < th.cancel_ratio_pct * n:
                continue
            out.append(
                _Finding(
                    "high_cancel_ratio",
                    None,
                    org,
                    {
                        "orders": n,
                        "cancelled_by_owner": c,
                        "ratio_pct": _pct(c, n),
                        "threshold_pct": str(th.cancel_ratio_pct),
                        "min_orders": th.cancel_min_orders,
                    },
                    f"{ctx.orgs.get(org, org)} cancelled {c} of its {n} orders entered on "
                    f"{ctx.trade_date} ({_pct(c, n)}%, alert from {th.cancel_ratio_pct}% "
                    f"with at least {th.cancel_min_orders} orders)",
                )
            )
        return out

    def _previous_close(self, ctx: _Day, code: str) -> int | None:
        """Close [ticks] of the last trading day before the scanned one."""
        return previous_close(self.session, ctx.market.code, code, ctx.trade_date)

    def _close_move(self, ctx: _Day, code: str, trades: Sequence[ExTrade]) -> list[_Finding]:
        if ctx.rules is None:
            return []
        close = vwap_ticks((int(t.price_ticks), int(t.quantity)) for t in trades)
        prev = self._previous_close(ctx, code)
        band = band_limits(prev, ctx.rules.band_pct)
        if close is None or prev is None or band is None or close == prev:
            return []
        low, high = band
        room = high - prev if close > prev else prev - low
        moved = abs(close - prev)
        if room <= 0 or moved * _HUNDRED < ctx.th.close_band_fraction_pct * room:
            return []
        return [
            _Finding(
                "close_near_band_limit",
                code,
                None,
                {
                    "close": ctx.price(close),
                    "previous_close": ctx.price(prev),
                    "band_low": ctx.price(low),
                    "band_high": ctx.price(high),
                    "band_fraction_pct": _pct(moved, room),
                    "threshold_pct": str(ctx.th.close_band_fraction_pct),
                },
                f"{code} closed at {ctx.price(close)} on {ctx.trade_date}, "
                f"{_pct(moved, room)}% of the way from the previous close {ctx.price(prev)} "
                f"to the band limit {ctx.price(high if close > prev else low)} "
                f"(alert from {ctx.th.close_band_fraction_pct}%)",
            )
        ]

    def _ramp(self, ctx: _Day, code: str, trades: Sequence[ExTrade]) -> list[_Finding]:
        th = ctx.th
        cal = self.calendar.market(ctx.market.code)
        day = date.fromisoformat(ctx.trade_date)
        close_local = self.calendar.sessions(ctx.market.code, "continuous")[-1][1]
        end = datetime.combine(day, close_local, cal.tz).astimezone(UTC)
        begin = end - timedelta(minutes=th.ramp_window_minutes)
        before = [t for t in trades if as_utc(t.executed_at) < begin]
        inside = [t for t in trades if begin <= as_utc(t.executed_at) < end]
        if not inside:
            return []
        if before:
            ref, ref_kind = int(before[-1].price_ticks), "last_before_window"
        else:
            prev = self._previous_close(ctx, code)
            if prev is None:
                return []
            ref, ref_kind = prev, "previous_close"
        last = int(inside[-1].price_ticks)
        moved = abs(last - ref)
        if moved * _HUNDRED < th.ramp_move_pct * ref:
            return []
        window = (
            f"{(end - timedelta(minutes=th.ramp_window_minutes)).astimezone(cal.tz):%H:%M}–"
            f"{close_local:%H:%M}"
        )
        return [
            _Finding(
                "end_of_day_ramp",
                code,
                None,
                {
                    "reference_price": ctx.price(ref),
                    "reference": ref_kind,
                    "last_price": ctx.price(last),
                    "move_pct": _pct(moved, ref),
                    "threshold_pct": str(th.ramp_move_pct),
                    "window_local": window,
                    "trades_in_window": len(inside),
                },
                f"{code} moved {_pct(moved, ref)}% from {ctx.price(ref)} to {ctx.price(last)} "
                f"in the closing window {window} ({cal.tz.key}) on {ctx.trade_date} "
                f"(alert from {th.ramp_move_pct}%)",
            )
        ]

    def _store(self, ctx: _Day, findings: list[_Finding]) -> list[dict[str, Any]]:
        keyed: dict[str, _Finding] = {}
        for f in findings:
            key = "|".join(
                (f.kind, ctx.market.code, f.instrument or "-", f.org_id or "-", ctx.trade_date)
            )
            keyed.setdefault(key, f)
        existing = {
            a.key: a
            for a in self.session.scalars(select(ExAlert).where(ExAlert.key.in_(list(keyed))))
        }
        now = utcnow()
        new: list[ExAlert] = []
        rows: list[tuple[ExAlert, bool]] = []
        for key, f in keyed.items():
            row = existing.get(key)
            if row is None:
                row = ExAlert(
                    market_code=ctx.market.code,
                    instrument_code=f.instrument,
                    kind=f.kind,
                    severity=ctx.th.severity[f.kind],
                    org_id=f.org_id,
                    trade_date=ctx.trade_date,
                    key=key,
                    metrics=f.metrics,
                    message=f.message[:1000],
                    status="open",
                    created_at=now,
                )
                self.session.add(row)
                new.append(row)
            rows.append((row, key not in existing))
        if new:
            self.session.flush()
            AuditLog(self.session, self.signer).append(
                [
                    {
                        "type": "exchange.alert",
                        "subject": f"exalert:{a.id}",
                        "alert_id": a.id,
                        "market": a.market_code,
                        "instrument": a.instrument_code,
                        "kind": a.kind,
                        "severity": a.severity,
                        "trade_date": a.trade_date,
                        "digest": _digest(
                            {"key": a.key, "metrics": a.metrics, "message": a.message}
                        ),
                    }
                    for a in new
                ]
            )
        views = self._views([r for r, _ in rows])
        for view, (_, is_new) in zip(views, rows, strict=True):
            view["new"] = is_new
        return views

    # -- listing and review ---------------------------------------------------------------
    def alerts(
        self,
        actor: Actor,
        *,
        market: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Alerts of the markets ``actor`` surveils, newest first, and their total count."""
        visible = self.visible_markets(actor)
        if status is not None and status not in ALERT_STATUSES:
            raise Invalid(f"unknown alert status {status!r}", code="exchange.invalid_filter")
        if kind is not None and kind not in ALERT_KINDS:
            raise Invalid(f"unknown alert kind {kind!r}", code="exchange.invalid_filter")
        if limit < 1 or offset < 0:
            raise Invalid("limit must be >= 1 and offset >= 0", code="exchange.invalid_filter")
        conds: list[ColumnElement[bool]] = [ExAlert.market_code.in_(visible)]
        if market:
            conds.append(ExAlert.market_code == market)
        if status:
            conds.append(ExAlert.status == status)
        if kind:
            conds.append(ExAlert.kind == kind)
        rows, total = page(
            self.session,
            ExAlert,
            conds,
            [ExAlert.created_at.desc(), ExAlert.id.desc()],
            limit,
            offset,
        )
        return self._views(list(rows)), total

    def alert(self, actor: Actor, alert_id: str) -> dict[str, Any]:
        """One alert (``exchange.alert_not_found`` when absent or outside the scope)."""
        return self._views([self._visible_alert(actor, alert_id)])[0]

    def _visible_alert(self, actor: Actor, alert_id: str) -> ExAlert:
        actor.require(Perm.EXCHANGE_SURVEIL)
        row = self.session.get(ExAlert, alert_id)
        market = self.registry.catalog.markets.get(row.market_code) if row else None
        if row is None or market is None or not self.covers_market(actor, market):
            raise NotFound(f"alert {alert_id!r} not found", code="exchange.alert_not_found")
        return row

    def review(self, actor: Actor, alert_id: str, *, status: str, note: str) -> dict[str, Any]:
        """Acknowledge or close an alert, with a note (required to close).

        Transitions: ``open → acknowledged``, ``open → closed``, ``acknowledged → closed``;
        anything else is ``exchange.invalid_review``. One ``exchange.alert.reviewed`` leaf
        is appended (status and reviewer, not the note).
        """
        row = self._visible_alert(actor, alert_id)
        note = note.strip()
        allowed = {"open": {"acknowledged", "closed"}, "acknowledged": {"closed"}}
        if status not in REVIEW_STATUSES:
            raise Invalid(
                f"review status must be one of {list(REVIEW_STATUSES)}, not {status!r}",
                code="exchange.invalid_review",
            )
        if status not in allowed.get(row.status, set()):
            raise Invalid(
                f"alert {alert_id} is {row.status}; it cannot become {status}",
                code="exchange.invalid_review",
            )
        if status == "closed" and not note:
            raise Invalid("closing an alert needs a note", code="exchange.invalid_review")
        if len(note) > 1000:
            raise Invalid(
                "the note is longer than 1,000 characters", code="exchange.invalid_review"
            )
        row.status = status
        row.note = note or None
        row.reviewed_by = actor.user_id
        row.reviewed_at = as_utc(self.clock())
        self.session.flush()
        AuditLog(self.session, self.signer).append(
            [
                {
                    "type": "exchange.alert.reviewed",
                    "subject": f"exalert:{row.id}",
                    "alert_id": row.id,
                    "status": status,
                    "by": actor.user_id,
                }
            ]
        )
        return self._views([row])[0]

    def _views(self, rows: list[ExAlert]) -> list[dict[str, Any]]:
        ids = {r.org_id for r in rows if r.org_id}
        codes: dict[str, str] = {}
        if ids:
            codes = {
                str(i): str(c)
                for i, c in self.session.execute(
                    select(Organisation.id, Organisation.code).where(Organisation.id.in_(ids))
                )
            }
        return [
            {
                "id": r.id,
                "market": r.market_code,
                "instrument": r.instrument_code,
                "kind": r.kind,
                "severity": r.severity,
                "org_id": r.org_id,
                "org_code": codes.get(r.org_id) if r.org_id else None,
                "trade_date": r.trade_date,
                "key": r.key,
                "metrics": r.metrics,
                "message": r.message,
                "status": r.status,
                "note": r.note,
                "reviewed_by": r.reviewed_by,
                "reviewed_at": as_utc(r.reviewed_at).isoformat() if r.reviewed_at else None,
                "created_at": as_utc(r.created_at).isoformat() if r.created_at else None,
            }
            for r in rows
        ]
