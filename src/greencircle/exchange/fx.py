"""Cross-border settlement: FX rate snapshots, conversion, end-of-day settlement reports.

A participant from an SCO country may fund its purchases in its own currency (KZT, UZS,
RUB, USD). Its buy orders then reserve the funding currency at a recorded rate snapshot,
and the FX provider of that currency (``data/fx.toml``) reserves the market currency; each
trade settles delivery versus payment (units against the market currency) with a
payment-versus-payment FX leg (funding currency to the provider), all in one registry
transaction (:meth:`RegistryService.settle_dvp_pvp`). The trade keeps the snapshot's id.

Conversion (``rate`` = market currency per 1 funding currency, exact decimal)::

    funding_minor = ceil(market_minor / 10**s_m / rate * 10**s_f)

rounded up, so the provider never gives more than it receives. Per fill the buyer pays
``conv(cumulative after) − conv(cumulative before)`` of the order's market-currency cost,
so the sum over fills equals the conversion of the total and never exceeds the hold.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import Conflict, Forbidden, Invalid, NotFound
from greencircle.exchange.models import ExFxRate, ExTrade
from greencircle.exchange.rules import load_rules
from greencircle.kit.timeutil import as_utc, utcnow
from greencircle.registry.markets import default_catalog

__all__ = [
    "FxConfig",
    "FxService",
    "convert_minor",
    "fill_payment",
    "load_fx_config",
    "outside_band",
    "parse_rate",
]

DATA_FILE = Path(__file__).parent / "data" / "fx.toml"


class FxError(Invalid):
    """An FX request that cannot be accepted."""

    code = "exchange.fx_invalid"


@dataclass(frozen=True)
class FxConfig:
    """Settlement banks, FX providers and demo rates (``data/fx.toml``).

    Attributes
    ----------
    settlement_bank
        Currency -> code of the settlement bank booking it.
    fx_provider
        Funding currency -> code of the organisation converting it.
    demo_rates
        Demo snapshots ``{base, quote, rate, status, source}``.
    band_pct
        A rate moving more than this from the pair's previous active snapshot needs a
        second user of the bank [%].
    absurd_min, absurd_max
        Rates outside ``[absurd_min, absurd_max]`` are refused [quote per 1 base].
    demo_validity_days, demo_refresh_days
        Validity of the demo's current rate, and how early it is renewed [days].
    facts
        ``{name: {value, status, source}}`` of the plausibility and demo settings (shown).
    """

    settlement_bank: dict[str, str]
    fx_provider: dict[str, str]
    demo_rates: tuple[dict[str, str], ...]
    band_pct: Decimal
    absurd_min: Decimal
    absurd_max: Decimal
    demo_validity_days: int
    demo_refresh_days: int
    facts: dict[str, dict[str, str]]


@cache
def load_fx_config(path: Path = DATA_FILE) -> FxConfig:
    """The cross-border settlement configuration (cached)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    banks: dict[str, str] = {}
    providers: dict[str, str] = {}
    for cur, facts in data.get("currencies", {}).items():
        banks[cur] = str(facts["settlement_bank"]["value"])
        if "fx_provider" in facts:
            providers[cur] = str(facts["fx_provider"]["value"])
    plaus, demo = data["plausibility"], data["demo"]
    facts = {
        k: {"value": str(v["value"]), "status": str(v["status"]), "source": str(v["source"])}
        for k, v in (plaus | {f"demo_{n}": f for n, f in demo.items()}).items()
    }
    for name, fact in facts.items():
        if fact["status"] not in ("confirmed", "recall", "estimate"):
            raise ValueError(f"fx.toml {name}: bad status {fact['status']!r}")
    return FxConfig(
        banks,
        providers,
        tuple(data.get("demo_rates", [])),
        band_pct=Decimal(str(plaus["band_pct"]["value"])),
        absurd_min=Decimal(str(plaus["absurd_min"]["value"])),
        absurd_max=Decimal(str(plaus["absurd_max"]["value"])),
        demo_validity_days=int(demo["validity_days"]["value"]),
        demo_refresh_days=int(demo["refresh_days"]["value"]),
        facts=facts,
    )


def parse_rate(text: str, config: FxConfig | None = None) -> Decimal:
    """An exact positive rate from its decimal text (``FxError`` otherwise).

    Non-finite values (``NaN``, ``Infinity``), non-positive ones and ones outside the
    configured ``[absurd_min, absurd_max]`` (``1e400``) are refused
    (``exchange.fx_bad_rate``).
    """
    cfg = config or load_fx_config()
    try:
        rate = Decimal(text.strip())
    except (InvalidOperation, TypeError, AttributeError):
        raise FxError(
            f"rate {text!r} is not a decimal number", code="exchange.fx_bad_rate"
        ) from None
    if not rate.is_finite() or rate <= 0:
        raise FxError(f"rate {text!r} must be a positive number", code="exchange.fx_bad_rate")
    if not cfg.absurd_min <= rate <= cfg.absurd_max:
        raise FxError(
            f"rate {text!r} is outside the plausible range [{cfg.absurd_min}, "
            f"{cfg.absurd_max}] (fx.toml, estimate)",
            code="exchange.fx_bad_rate",
        )
    return rate


def outside_band(rate: Decimal, previous: Decimal, band_pct: Decimal) -> bool:
    """Whether ``rate`` moved more than ``band_pct`` % from ``previous``:
    ``|rate − previous| × 100 > band_pct × previous`` (exact decimals)."""
    return abs(rate - previous) * 100 > band_pct * previous


def convert_minor(market_minor: int, rate: Decimal, market_scale: int, funding_scale: int) -> int:
    """Funding-currency minor units buying ``market_minor`` at ``rate`` (rounded up).

    Parameters
    ----------
    market_minor
        Amount in the market currency [minor units].
    rate
        Market currency per 1 funding currency.
    market_scale, funding_scale
        Decimal places of the two currencies' minor units.
    """
    if market_minor <= 0:
        return 0
    value = Decimal(market_minor) * (Decimal(10) ** (funding_scale - market_scale)) / rate
    return int(value.to_integral_value(ROUND_CEILING))


def fill_payment(
    before_minor: int, fill_minor: int, rate: Decimal, market_scale: int, funding_scale: int
) -> int:
    """What one fill costs in the funding currency [minor]: the increment of the
    conversion of the order's cumulative market-currency cost (see module notes)."""
    after = convert_minor(before_minor + fill_minor, rate, market_scale, funding_scale)
    return after - convert_minor(before_minor, rate, market_scale, funding_scale)


def _iso(t: datetime) -> str:
    return t.isoformat()


class FxService:
    """FX snapshots and settlement reports for one session (never commits)."""

    def __init__(self, session: Session, signer: LogSigner) -> None:
        self.session = session
        self.signer = signer
        self.catalog = default_catalog()
        self.config = load_fx_config()

    # -- rates ----------------------------------------------------------------------------
    def _currency_scale(self, code: str) -> int:
        try:
            return self.catalog.currency(code).scale
        except Exception as exc:
            raise FxError(
                f"unknown currency {code!r}", code="exchange.fx_unknown_currency"
            ) from exc

    def record_rate(
        self,
        actor: Actor,
        *,
        base: str,
        quote: str,
        rate: str,
        source: str,
        valid_from: datetime,
        valid_until: datetime,
        observed_at: datetime | None = None,
        source_ref: str | None = None,
        status: str = "confirmed",
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Record an immutable rate snapshot (settlement bank or exchange operator).

        A rate more than ``band_pct`` % (``data/fx.toml``) away from the pair's previous
        active snapshot is recorded with ``state='pending'`` and is not used until a second
        user of the same organisation approves it with a reason (:meth:`decide`); the
        recorder may give a ``reason`` too. Other rates are ``active`` at once.

        Errors: ``exchange.fx_unknown_currency``, ``exchange.fx_same_currency``,
        ``exchange.fx_bad_rate`` (not a number, non-finite, non-positive or outside the
        plausible range), ``exchange.fx_bad_validity``, ``exchange.fx_bad_status``.
        """
        actor.require(Perm.EXCHANGE_FX)
        self._currency_scale(base)
        self._currency_scale(quote)
        if base == quote:
            raise FxError("base and quote currency are the same", code="exchange.fx_same_currency")
        value = parse_rate(rate, self.config)
        if valid_from.tzinfo is None or valid_until.tzinfo is None:
            raise FxError("validity times need a time zone", code="exchange.fx_bad_validity")
        if valid_until <= valid_from:
            raise FxError("valid_until must be after valid_from", code="exchange.fx_bad_validity")
        # stored in UTC: the console records China-time inputs, and SQLite compares text
        valid_from, valid_until = as_utc(valid_from), as_utc(valid_until)
        if status not in ("confirmed", "recall", "estimate"):
            raise FxError(
                f"status {status!r} is not one of confirmed, recall, estimate",
                code="exchange.fx_bad_status",
            )
        previous = self.latest(base, quote)
        pending = previous is not None and outside_band(
            value, Decimal(previous.rate), self.config.band_pct
        )
        row = ExFxRate(
            state="pending" if pending else "active",
            reason=(reason or "").strip()[:400] or None,
            base_currency=base,
            quote_currency=quote,
            rate=str(value),
            source=source,
            source_ref=source_ref,
            status=status,
            observed_at=as_utc(observed_at) if observed_at else utcnow(),
            valid_from=valid_from,
            valid_until=valid_until,
            recorded_by_user_id=actor.user_id,
            recorded_by_org_id=actor.org_id,
        )
        self.session.add(row)
        self.session.flush()
        row.leaf_index = AuditLog(self.session, self.signer).append(
            [
                {
                    "type": "exchange.fx_rate",
                    "subject": f"exfx:{row.id}",
                    **self._body(row),
                    "state": row.state,
                }
            ]
        )[0]
        return self.view(row)

    def latest(self, base: str, quote: str) -> ExFxRate | None:
        """The pair's most recent active snapshot (latest ``valid_from``, then recorded)."""
        return self.session.scalar(
            select(ExFxRate)
            .where(
                ExFxRate.base_currency == base,
                ExFxRate.quote_currency == quote,
                ExFxRate.state == "active",
            )
            .order_by(ExFxRate.valid_from.desc(), ExFxRate.created_at.desc(), ExFxRate.id.desc())
            .limit(1)
        )

    def decide(self, actor: Actor, rate_id: str, *, approve: bool, reason: str) -> dict[str, Any]:
        """Approve or reject a pending snapshot (four eyes).

        The decider holds ``exchange.fx``, belongs to the recorder's organisation and is
        not the recorder; a reason is required. Errors: ``exchange.fx_rate_not_found``,
        ``exchange.fx_not_pending`` (409), ``exchange.fx_same_user`` (403),
        ``exchange.fx_other_bank`` (403), ``exchange.fx_reason_required`` (422).
        """
        actor.require(Perm.EXCHANGE_FX)
        row = self.get(rate_id)
        if row.recorded_by_org_id != actor.org_id:
            raise Forbidden(
                "only a user of the recording bank decides its rates", code="exchange.fx_other_bank"
            )
        if row.recorded_by_user_id == actor.user_id:
            raise Forbidden(
                "a second user must decide a rate outside the band", code="exchange.fx_same_user"
            )
        if row.state != "pending":
            raise Conflict(f"rate {rate_id} is {row.state}", code="exchange.fx_not_pending")
        text = reason.strip()
        if not text:
            raise FxError("a reason is required", code="exchange.fx_reason_required")
        row.state = "active" if approve else "rejected"
        row.decided_by_user_id = actor.user_id
        row.decision_reason = text[:400]
        row.decided_at = utcnow()
        self.session.flush()
        AuditLog(self.session, self.signer).append(
            [
                {
                    "type": "exchange.fx_rate_decision",
                    "subject": f"exfx:{row.id}",
                    "id": row.id,
                    "state": row.state,
                    "reason": row.decision_reason,
                    "decided_by": actor.user_id,
                }
            ]
        )
        return self.view(row)

    def pending(self, actor: Actor) -> list[dict[str, Any]]:
        """Pending snapshots recorded by the actor's organisation (oldest first)."""
        actor.require(Perm.EXCHANGE_FX)
        rows = self.session.scalars(
            select(ExFxRate)
            .where(ExFxRate.state == "pending", ExFxRate.recorded_by_org_id == actor.org_id)
            .order_by(ExFxRate.created_at, ExFxRate.id)
        )
        return [self.view(r) for r in rows]

    @staticmethod
    def _body(row: ExFxRate) -> dict[str, Any]:
        return {
            "id": row.id,
            "base": row.base_currency,
            "quote": row.quote_currency,
            "rate": row.rate,
            "source": row.source,
            "source_ref": row.source_ref,
            "status": row.status,
            "observed_at": _iso(row.observed_at),
            "valid_from": _iso(row.valid_from),
            "valid_until": _iso(row.valid_until),
        }

    def view(self, row: ExFxRate) -> dict[str, Any]:
        """JSON view of a snapshot."""
        return self._body(row) | {
            "leaf_index": row.leaf_index,
            "state": row.state,
            "reason": row.reason,
            "recorded_by_user_id": row.recorded_by_user_id,
            "decided_by_user_id": row.decided_by_user_id,
            "decision_reason": row.decision_reason,
            "decided_at": _iso(row.decided_at) if row.decided_at else None,
        }

    def current(self, base: str, quote: str, at: datetime) -> ExFxRate | None:
        """The snapshot valid at ``at`` (latest ``valid_from``, then latest recorded)."""
        return self.session.scalar(
            select(ExFxRate)
            .where(
                ExFxRate.base_currency == base,
                ExFxRate.quote_currency == quote,
                ExFxRate.valid_from <= at,
                ExFxRate.valid_until > at,
                ExFxRate.state == "active",
            )
            .order_by(ExFxRate.valid_from.desc(), ExFxRate.created_at.desc(), ExFxRate.id.desc())
            .limit(1)
        )

    def get(self, rate_id: str) -> ExFxRate:
        """A snapshot by id (``exchange.fx_rate_not_found``)."""
        row = self.session.get(ExFxRate, rate_id)
        if row is None:
            raise NotFound(f"FX rate {rate_id!r} not found", code="exchange.fx_rate_not_found")
        return row

    def rates(
        self, *, base: str | None = None, quote: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Snapshots, newest validity first (public reference data)."""
        q = select(ExFxRate)
        if base:
            q = q.where(ExFxRate.base_currency == base)
        if quote:
            q = q.where(ExFxRate.quote_currency == quote)
        rows = self.session.scalars(
            q.order_by(ExFxRate.valid_from.desc(), ExFxRate.id.desc()).limit(limit).offset(offset)
        )
        return [self.view(r) for r in rows]

    # -- settlement reports ---------------------------------------------------------------
    def _flows(self, trade_date: str, market: str | None) -> list[tuple[str, str, int]]:
        """``(org_id, currency, signed amount [minor])`` cash flows of the day's trades."""
        q = select(ExTrade).where(ExTrade.trade_date == trade_date)
        if market:
            q = q.where(ExTrade.market_code == market)
        rules = load_rules()
        orgs: dict[str, str] = {}

        def org_of(code: str) -> str:
            if code not in orgs:
                oid = self.session.scalar(select(Organisation.id).where(Organisation.code == code))
                if oid is None:
                    raise NotFound(f"organisation {code!r} missing", code="exchange.org_missing")
                orgs[code] = oid
            return orgs[code]

        flows: list[tuple[str, str, int]] = []
        for t in self.session.scalars(q):
            cur = self.catalog.market(t.market_code).currency.value
            operator = org_of(rules[t.market_code].operator_org)
            n, fb, fs = int(t.notional_minor), int(t.buyer_fee_minor), int(t.seller_fee_minor)
            flows += [(t.seller_org_id, cur, n - fs), (operator, cur, fb + fs)]
            if t.buyer_currency and t.buyer_currency != cur:
                provider = org_of(self.config.fx_provider[t.buyer_currency])
                paid = int(t.buyer_paid_minor or 0)
                flows += [
                    (t.buyer_org_id, t.buyer_currency, -paid),
                    (provider, t.buyer_currency, paid),
                    (provider, cur, -(n + fb)),
                ]
            else:
                flows.append((t.buyer_org_id, cur, -(n + fb)))
        return flows

    def settlement_report(
        self, actor: Actor, trade_date: str, *, market: str | None = None, netted: bool = True
    ) -> dict[str, Any]:
        """End-of-day settlement report per settlement bank and currency.

        For each (bank, currency): every participant's gross debits and credits [minor]
        and, when ``netted``, its net position; ``gross_total`` is the sum of debits (what
        would move trade by trade), ``netted_total`` the sum of positive net positions
        (what moves after netting). Net positions of a currency sum to zero.
        """
        if Perm.EXCHANGE_FX not in actor.perms and Perm.EXCHANGE_OPERATE not in actor.perms:
            actor.require(Perm.EXCHANGE_FX)
        per: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )
        for org, cur, amount in self._flows(trade_date, market):
            bank = self.config.settlement_bank.get(cur, "")
            cell = per[(bank, cur)][org]
            if amount < 0:
                cell[0] += -amount
            else:
                cell[1] += amount
        codes = {
            str(i): str(c)
            for i, c in self.session.execute(select(Organisation.id, Organisation.code))
        }
        groups = []
        for (bank, cur), rows in sorted(per.items()):
            lines = []
            for org, (debit, credit) in sorted(rows.items(), key=lambda kv: codes.get(kv[0], "")):
                line: dict[str, Any] = {
                    "org_code": codes.get(org, org),
                    "debit_minor": debit,
                    "credit_minor": credit,
                }
                if netted:
                    line["net_minor"] = credit - debit
                lines.append(line)
            group: dict[str, Any] = {
                "settlement_bank": bank,
                "currency": cur,
                "participants": lines,
                "gross_total_minor": sum(d for d, _c in rows.values()),
            }
            if netted:
                group["netted_total_minor"] = sum(max(0, c - d) for d, c in rows.values())
            groups.append(group)
        return {"trade_date": trade_date, "market": market, "netted": netted, "groups": groups}

    def statement(self, actor: Actor, trade_date: str) -> dict[str, Any]:
        """The actor organisation's own settlement lines of a day (every currency)."""
        actor.require(Perm.EXCHANGE_READ)
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for org, cur, amount in self._flows(trade_date, None):
            if org == actor.org_id:
                totals[cur][0 if amount < 0 else 1] += abs(amount)
        return {
            "trade_date": trade_date,
            "lines": [
                {"currency": c, "debit_minor": d, "credit_minor": k, "net_minor": k - d}
                for c, (d, k) in sorted(totals.items())
            ],
        }
