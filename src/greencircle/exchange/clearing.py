"""Pre-trade holds and trade settlement shared by every trading mode.

Every order of every mode (continuous book, listed agreement, block agreement, auction,
call auction) is an :class:`~greencircle.exchange.models.ExOrder` row carrying its
registry holds, so one :class:`Clearing` reserves, releases and settles them all:

* **buy** orders reserve the market currency (price × quantity + fee) from the buyer's
  cash account; a buyer funding in another currency (``funding_currency``) instead
  reserves that currency at the current FX snapshot, and the currency's FX provider
  reserves the market currency (:mod:`.fx`);
* **sell** orders reserve units that are available, unpledged, unfrozen and, where the
  market has the T+1 resale rule, not bought on the exchange on the same trading day;
* a trade settles delivery versus payment (:meth:`RegistryService.settle_dvp`) or, for an
  FX-funded buyer, with the FX leg payment versus payment
  (:meth:`RegistryService.settle_dvp_pvp`); fees go to the exchange operator; the trade
  row and an ``exchange.trade`` log leaf are written in the same transaction.

Nothing here commits; callers run under :meth:`BookRegistry.transact` (or their own unit
of work) and own the order's life cycle (open/filled quantities, status).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import OrgType, Role
from greencircle.errors import Conflict, PlatformError
from greencircle.exchange.calendar import load_calendar
from greencircle.exchange.fx import FxService, convert_minor, fill_payment, load_fx_config
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.rules import MarketRules, fee_minor, load_rules
from greencircle.exchange.surveillance import check_position, record_rejection
from greencircle.exchange.units import unit_of
from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import utcnow
from greencircle.registry.markets import Market
from greencircle.registry.results import InstrumentView
from greencircle.registry.service import RegistryService

if TYPE_CHECKING:
    from greencircle.exchange.service import BookRegistry

__all__ = ["Clearing", "ClearingHost", "Rejection", "TradeCtx"]


@dataclass(frozen=True)
class Rejection:
    """A command refused by a rule: stable ``code`` and an English ``detail``."""

    code: str
    detail: str


@dataclass
class TradeCtx:
    """What settling an instrument of a market needs.

    Attributes
    ----------
    cash_per_tick
        Money per tick per t [minor units of the market currency].
    unit_minor
        Registry minor units per t of the instrument.
    """

    market: Market
    rules: MarketRules
    inst: InstrumentView
    cash_per_tick: int
    unit_minor: int

    @property
    def currency(self) -> str:
        """The market's settlement currency."""
        return self.market.currency.value


class Clearing:
    """Holds and settlement for one database session (never commits).

    Parameters
    ----------
    session
        The unit of work.
    signer
        Transparency-log signer.
    registry
        The registry service of the same session.
    rules
        Trading rules per market (defaults to the packaged data).
    clock
        Current UTC time.
    enforce_hours
        Refuse commands outside the market's sessions (:mod:`.calendar`).
    """

    def __init__(
        self,
        session: Session,
        signer: LogSigner,
        registry: RegistryService,
        *,
        rules: dict[str, MarketRules] | None = None,
        clock: Callable[[], datetime] = utcnow,
        enforce_hours: bool = True,
    ) -> None:
        self.enforce_hours = enforce_hours
        self.session = session
        self.signer = signer
        self.registry = registry
        self.rules = rules if rules is not None else load_rules()
        self.clock = clock
        self.fx = FxService(session, signer)
        self._orgs: dict[str, Organisation] = {}

    # -- orders ---------------------------------------------------------------------------
    @staticmethod
    def new_order(
        tc: TradeCtx,
        actor: Actor,
        *,
        side: str,
        kind: str,
        tif: str,
        price_ticks: int | None,
        quantity: int,
        mode: str,
        now: datetime,
        venue_ref: str | None = None,
        client_order_id: str | None = None,
        protection_ticks: int | None = None,
        open_quantity: int | None = None,
    ) -> ExOrder:
        """A new ``open`` order row of ``actor`` on ``tc``'s instrument, nothing filled,
        held or journalled yet (the caller reserves, journals and adds it).

        Parameters
        ----------
        tc
            The trading context (market and instrument).
        actor
            The ordering user and organisation.
        side, kind, tif, mode
            ``buy`` / ``sell``; ``limit`` / ``market``; time in force; trading mode.
        price_ticks
            Limit price [ticks] (``None`` for a market order).
        quantity
            Ordered quantity [t].
        now
            Creation time (also the update time).
        venue_ref
            Listing, proposal or auction the order belongs to.
        client_order_id
            The client's idempotency key.
        protection_ticks
            Market-order protection price [ticks].
        open_quantity
            Open quantity [t] (default: ``quantity``).
        """
        return ExOrder(
            id=new_id(),
            org_id=actor.org_id,
            user_id=actor.user_id,
            client_order_id=client_order_id,
            market_code=tc.market.code,
            instrument_code=tc.inst.code,
            instrument_id=tc.inst.id,
            side=side,
            kind=kind,
            tif=tif,
            price_ticks=price_ticks,
            protection_ticks=protection_ticks,
            quantity=quantity,
            open_quantity=quantity if open_quantity is None else open_quantity,
            filled_quantity=0,
            cancelled_quantity=0,
            notional_minor=0,
            fee_minor=0,
            status="open",
            reason=None,
            hold_id=None,
            hold_open=0,
            mode=mode,
            venue_ref=venue_ref,
            created_at=now,
            updated_at=now,
        )

    # -- context --------------------------------------------------------------------------
    def org_by_code(self, code: str) -> Organisation:
        """An organisation by code (cached; ``exchange.operator_missing`` if absent)."""
        org = self._orgs.get(code)
        if org is None:
            org = self.session.scalar(select(Organisation).where(Organisation.code == code))
            if org is None:
                raise Conflict(
                    f"organisation {code!r} needed by the exchange is missing",
                    code="exchange.operator_missing",
                )
            self._orgs[code] = org
        return org

    def engine_actor(self, actor: Actor, rules: MarketRules) -> Actor:
        """The exchange acting on the registry (holds, settlement) for ``actor``'s command."""
        org = self.org_by_code(rules.operator_org)
        return Actor(
            user_id=actor.user_id,
            username="exchange-engine",
            org_id=org.id,
            org_type=OrgType.EXCHANGE_OPERATOR,
            org_jurisdiction_code=org.jurisdiction_code,
            org_jurisdiction_path=org.jurisdiction.path,
            roles=frozenset({Role.EXCHANGE_OPERATOR}),
            auth_method="exchange",
        )

    def context(self, market_code: str, instrument: str) -> TradeCtx | Rejection:
        """The trading context of ``instrument`` (``PRODUCT:VINTAGE`` or full code)."""
        rules = self.rules.get(market_code)
        if rules is None:
            return Rejection("unknown_market", f"market {market_code!r} is not traded")
        market = self.registry.catalog.market(market_code)
        code = (
            instrument
            if instrument.startswith(f"{market_code}:")
            else f"{market_code}:{instrument}"
        )
        try:
            inst = self.registry.resolve_instrument(code)
        except PlatformError:
            return Rejection("unknown_instrument", f"instrument {code!r} is not listed")
        if inst.market_code != market_code or inst.instrument_class == "cash":
            return Rejection("unknown_instrument", f"instrument {code!r} is not listed")
        cur = self.registry.catalog.currency(market.currency.value)
        minor = rules.tick * (10**cur.scale)
        if minor != minor.to_integral_value():
            raise Conflict(f"tick {rules.tick} is below the minor unit of {cur.code}")
        return TradeCtx(market, rules, inst, int(minor), 10**inst.scale)

    def trading_day(self, market: Market, at: datetime | None = None) -> str:
        """The market's local date of ``at`` (default: now) as ``YYYY-MM-DD``."""
        return (at or self.clock()).astimezone(ZoneInfo(market.timezone)).date().isoformat()

    def check_session(self, ctx: TradeCtx, mode: str) -> Rejection | None:
        """``market_closed`` when ``mode`` is not in session now (if hours are enforced).

        ``mode``: ``continuous``, ``listed``, ``block``, ``auction`` or ``call``.
        """
        if not self.enforce_hours:
            return None
        st = load_calendar().session(ctx.market.code, mode, self.clock())
        if st.open:
            return None
        return Rejection("market_closed", f"{st.code}: {st.detail}")

    def cash_needed(self, ctx: TradeCtx, price_ticks: int, quantity: int) -> int:
        """Market-currency cost of buying ``quantity`` at ``price_ticks``, fee included."""
        notional = price_ticks * quantity * ctx.cash_per_tick
        return notional + fee_minor(notional, ctx.rules.fee_bps)

    # -- reservation ----------------------------------------------------------------------
    def _scales(self, market_code: str, funding: str) -> tuple[int, int]:
        """Minor-unit scales of the market's currency and of ``funding``."""
        cat = self.registry.catalog
        return cat.currency(cat.market(market_code).currency.value).scale, cat.currency(
            funding
        ).scale

    def _order_fx(self, row: ExOrder) -> tuple[Decimal, int, int]:
        """An FX-funded buy order's locked rate and the two currencies' scales."""
        rate = Decimal(self.fx.get(str(row.fx_rate_id)).rate)
        return (rate, *self._scales(row.market_code, str(row.funding_currency)))

    def reserve_buy(
        self,
        ctx: TradeCtx,
        actor: Actor,
        engine: Actor,
        row: ExOrder,
        need_minor: int,
        funding_currency: str | None = None,
    ) -> Rejection | None:
        """Reserve ``need_minor`` of the market currency for buy order ``row``.

        Sets the row's hold fields. With a foreign ``funding_currency`` the buyer's hold
        is in that currency at the current rate snapshot and the FX provider holds the
        market currency. Rejections: ``not_eligible``, ``position_limit_exceeded`` (the
        buyer's holding plus ``row.quantity`` would pass the large-holding limit, see
        :mod:`.surveillance`; recorded for surveillance), ``insufficient_funds``,
        ``fx_not_supported``, ``fx_rate_unavailable``, ``fx_liquidity``.
        """
        try:
            self.registry.open_holding_account(actor, actor.org_id, ctx.market.code)
        except PlatformError as exc:
            return Rejection("not_eligible", f"{exc.code}: {exc.detail}")
        over = check_position(
            self.session,
            org_id=actor.org_id,
            market=ctx.market.code,
            instrument_id=ctx.inst.id,
            extra_units=int(row.quantity) * ctx.unit_minor,
        )
        if over is not None:
            record_rejection(
                self.session,
                market=ctx.market.code,
                instrument=ctx.inst.code,
                org_id=actor.org_id,
                user_id=actor.user_id,
                code="position_limit_exceeded",
                detail=over,
                side="buy",
                price_ticks=row.price_ticks,
                quantity=int(row.quantity),
                at=self.clock(),
            )
            return Rejection("position_limit_exceeded", over)
        row.hold_open = 0
        row.fx_hold_open = 0
        row.paid_minor = 0
        if need_minor <= 0:
            return None
        ref = f"exorder:{row.id}"
        if funding_currency in (None, ctx.currency):
            res = self.registry.reserve_cash(
                engine,
                org_id=actor.org_id,
                currency=ctx.currency,
                amount_minor=need_minor,
                reference=ref,
            )
            if not res.ok:
                return Rejection("insufficient_funds", f"{res.code}: {res.detail}")
            row.hold_id, row.hold_open = res.hold_id, need_minor
            return None
        assert funding_currency is not None
        provider_code = load_fx_config().fx_provider.get(funding_currency)
        if provider_code is None:
            return Rejection("fx_not_supported", f"funding in {funding_currency} is not offered")
        rate_row = self.fx.current(funding_currency, ctx.currency, self.clock())
        if rate_row is None:
            return Rejection(
                "fx_rate_unavailable",
                f"no {funding_currency}/{ctx.currency} rate snapshot is valid now",
            )
        ms, fs = self._scales(ctx.market.code, funding_currency)
        pay = convert_minor(need_minor, Decimal(rate_row.rate), ms, fs)
        res = self.registry.reserve_cash(
            engine,
            org_id=actor.org_id,
            currency=funding_currency,
            amount_minor=pay,
            reference=ref,
        )
        if not res.ok:
            return Rejection("insufficient_funds", f"{res.code}: {res.detail}")
        provider = self.org_by_code(provider_code)
        fx_res = self.registry.reserve_cash(
            engine,
            org_id=provider.id,
            currency=ctx.currency,
            amount_minor=need_minor,
            reference=f"{ref}:fx",
        )
        if not fx_res.ok:
            assert res.hold_id is not None
            self.registry.void_hold(engine, res.hold_id)  # nothing stays reserved
            return Rejection(
                "fx_liquidity",
                f"the FX provider cannot supply {need_minor} {ctx.currency} minor units now",
            )
        row.hold_id, row.hold_open = res.hold_id, pay
        row.fx_hold_id, row.fx_hold_open = fx_res.hold_id, need_minor
        row.funding_currency, row.fx_rate_id = funding_currency, rate_row.id
        return None

    def bought_today(self, ctx: TradeCtx, org_id: str) -> int:
        """Units [t] of the instrument ``org_id`` bought on the exchange today."""
        return int(
            self.session.scalar(
                select(func.coalesce(func.sum(ExTrade.quantity), 0)).where(
                    ExTrade.buyer_org_id == org_id,
                    ExTrade.market_code == ctx.market.code,
                    ExTrade.instrument_code == ctx.inst.code,
                    ExTrade.trade_date == self.trading_day(ctx.market),
                )
            )
            or 0
        )

    def reserve_sell(
        self, ctx: TradeCtx, actor: Actor, engine: Actor, row: ExOrder, quantity: int
    ) -> Rejection | None:
        """Reserve ``quantity`` [t] of units for sell order ``row`` (sets its hold fields).

        Rejections: ``not_eligible``, ``insufficient_units``, ``resale_restricted`` (T+1,
        allowances only: units bought on the exchange today are not sellable before the
        next trading day; what the participant held before stays sellable).
        """
        units = quantity * ctx.unit_minor
        t_plus_1 = ctx.rules.resale_t_plus_1 and ctx.inst.instrument_class == "allowance"
        if t_plus_1 and (today := self.bought_today(ctx, actor.org_id)):
            acc = self.registry.repo.account_by_number(
                f"{ctx.market.code}.{self.registry.repo.org(actor.org_id).code}"
            )
            bal = self.registry.repo.balance(acc.id, ctx.inst.id) if acc is not None else None
            free = (int(bal.posted) - int(bal.held)) if bal is not None else 0
            sellable = free - today * ctx.unit_minor
            if units > sellable:
                return Rejection(
                    "resale_restricted",
                    f"{today} {unit_of(ctx.inst.instrument_class)} bought today are sellable "
                    f"from the next trading day (T+1); {max(0, sellable) // ctx.unit_minor} "
                    f"{unit_of(ctx.inst.instrument_class)} can be sold now",
                )
        try:
            res = self.registry.reserve_units(
                engine,
                org_id=actor.org_id,
                instrument_id=ctx.inst.id,
                quantity=units,
                reference=f"exorder:{row.id}",
            )
        except PlatformError as exc:
            return Rejection("not_eligible", f"{exc.code}: {exc.detail}")
        if not res.ok:
            return Rejection("insufficient_units", f"{res.code}: {res.detail}")
        row.hold_id, row.hold_open = res.hold_id, units
        row.fx_hold_open = 0
        row.paid_minor = 0
        return None

    def release(self, engine: Actor, row: ExOrder, keep_minor: int = 0) -> None:
        """Void the order's holds down to what ``keep_minor`` still needs.

        ``keep_minor`` is in the hold's own terms for sell orders (units) and in the
        market currency for buy orders (converted to the funding currency for FX buyers).
        """
        keep = keep_minor
        if row.side == "buy" and row.fx_hold_id:
            rate, ms, fs = self._order_fx(row)
            spent = int(row.notional_minor) + int(row.fee_minor)
            keep = convert_minor(spent + keep_minor, rate, ms, fs) - int(row.paid_minor)
            surplus_fx = int(row.fx_hold_open) - keep_minor
            if surplus_fx > 0:
                self.registry.void_hold(engine, row.fx_hold_id, surplus_fx)
                row.fx_hold_open = keep_minor
        surplus = int(row.hold_open) - keep
        if row.hold_id and surplus > 0:
            self.registry.void_hold(engine, row.hold_id, surplus)
            row.hold_open = keep

    # -- settlement -----------------------------------------------------------------------
    def settle(
        self,
        ctx: TradeCtx,
        engine: Actor,
        buy: ExOrder,
        sell: ExOrder,
        quantity: int,
        price_ticks: int,
        *,
        mode: str,
        aggressor: str,
        seq: int,
        now: datetime,
        sets_close: bool = True,
        fee_bps: Decimal | None = None,
    ) -> ExTrade:
        """Settle one trade between two orders holding their reservations.

        Moves units and money in one registry transaction, pays both fees to the operator,
        updates both orders' filled quantity, notional, fees and open holds, and adds the
        trade row (the caller logs it with :meth:`log_trades`).
        """
        assert buy.hold_id is not None
        assert sell.hold_id is not None
        bps = ctx.rules.fee_bps if fee_bps is None else fee_bps
        units = quantity * ctx.unit_minor
        notional = price_ticks * quantity * ctx.cash_per_tick
        fee_b = fee_minor(notional, bps)
        fee_s = fee_b
        trade_id = new_id()
        operator = self.org_by_code(ctx.rules.operator_org)
        paid: int | None = None
        if buy.fx_hold_id:
            rate, ms, fs = self._order_fx(buy)
            spent = int(buy.notional_minor) + int(buy.fee_minor)
            paid = fill_payment(spent, notional + fee_b, rate, ms, fs)
            settlement = self.registry.settle_dvp_pvp(
                engine,
                unit_hold_id=sell.hold_id,
                cash_hold_id=buy.hold_id,
                fx_hold_id=buy.fx_hold_id,
                quantity=units,
                pay_minor=paid,
                payees=[(sell.org_id, notional), (operator.id, fee_b)],
                reference=f"extrade:{trade_id}",
            )
            buy.hold_open = int(buy.hold_open) - paid
            buy.fx_hold_open = int(buy.fx_hold_open) - notional - fee_b
            buy.paid_minor = int(buy.paid_minor) + paid
        else:
            settlement = self.registry.settle_dvp(
                engine,
                unit_hold_id=sell.hold_id,
                cash_hold_id=buy.hold_id,
                quantity=units,
                cash_amount_minor=notional,
                reference=f"extrade:{trade_id}",
            )
            buy.hold_open = int(buy.hold_open) - notional
            if fee_b:
                self.registry.post_hold(engine, buy.hold_id, to_org_id=operator.id, amount=fee_b)
                buy.hold_open = int(buy.hold_open) - fee_b
        sell.hold_open = int(sell.hold_open) - units
        if fee_s:
            res = self.registry.reserve_cash(
                engine,
                org_id=sell.org_id,
                currency=ctx.currency,
                amount_minor=fee_s,
                reference=f"exfee:{trade_id}",
            )
            if not res.ok or res.hold_id is None:
                raise Conflict(f"seller fee not payable: {res.detail}", code="exchange.fee_unpaid")
            self.registry.post_hold(engine, res.hold_id, to_org_id=operator.id, amount=fee_s)
        for o, fee in ((buy, fee_b), (sell, fee_s)):
            o.filled_quantity = int(o.filled_quantity) + quantity
            o.notional_minor = int(o.notional_minor) + notional
            o.fee_minor = int(o.fee_minor) + fee
            o.updated_at = now
        trade = ExTrade(
            id=trade_id,
            seq=seq,
            market_code=ctx.market.code,
            instrument_code=ctx.inst.code,
            price_ticks=price_ticks,
            quantity=quantity,
            notional_minor=notional,
            buy_order_id=buy.id,
            sell_order_id=sell.id,
            buyer_org_id=buy.org_id,
            seller_org_id=sell.org_id,
            aggressor=aggressor,
            buyer_fee_minor=fee_b,
            seller_fee_minor=fee_s,
            settlement_tx_id=settlement.tx.tx_id,
            trade_date=self.trading_day(ctx.market, now),
            executed_at=now,
            mode=mode,
            sets_close=sets_close,
            buyer_currency=buy.funding_currency if buy.fx_hold_id else None,
            buyer_paid_minor=paid,
            fx_rate_id=buy.fx_rate_id if buy.fx_hold_id else None,
        )
        self.session.add(trade)
        return trade

    def log_trades(self, ctx: TradeCtx, trades: Sequence[ExTrade], seq: int) -> None:
        """Append one ``exchange.trade`` leaf per trade (after the rows are flushed)."""
        if not trades:
            return
        self.session.flush()
        fmt = ctx.rules.scale.format
        leaves: list[dict[str, Any]] = []
        for t in trades:
            leaf: dict[str, Any] = {
                "type": "exchange.trade",
                "subject": f"extrade:{t.id}",
                "trade_id": t.id,
                "seq": seq,
                "mode": t.mode,
                "market": t.market_code,
                "instrument": t.instrument_code,
                "price": fmt(int(t.price_ticks)),
                "quantity": int(t.quantity),
                "buy_order_id": t.buy_order_id,
                "sell_order_id": t.sell_order_id,
                "aggressor": t.aggressor,
                "settlement_tx_id": t.settlement_tx_id,
            }
            if t.fx_rate_id:
                leaf |= {
                    "fx_rate_id": t.fx_rate_id,
                    "buyer_currency": t.buyer_currency,
                    "buyer_paid_minor": t.buyer_paid_minor,
                }
            leaves.append(leaf)
        AuditLog(self.session, self.signer).append(leaves)


class ClearingHost:
    """The wiring every exchange service shares: session, signer, books, registry, rules,
    clock and a :class:`Clearing` over them.

    Parameters
    ----------
    session
        The unit of work.
    signer
        Transparency-log signer.
    books
        The process-wide :class:`~greencircle.exchange.service.BookRegistry`.
    registry
        The registry service of the same session (defaults to one built here).
    rules
        Trading rules per market (defaults to the packaged data).
    clock
        Current UTC time.
    enforce_hours
        Refuse commands outside the market's sessions (:mod:`.calendar`).
    """

    def __init__(
        self,
        session: Session,
        signer: LogSigner,
        books: BookRegistry,
        *,
        registry: RegistryService | None = None,
        rules: dict[str, MarketRules] | None = None,
        clock: Callable[[], datetime] = utcnow,
        enforce_hours: bool = True,
    ) -> None:
        self.session = session
        self.signer = signer
        self.books = books
        self.registry = registry or RegistryService(session, signer)
        self.rules = rules if rules is not None else load_rules()
        self.clock = clock
        self.clearing = Clearing(
            session,
            signer,
            self.registry,
            rules=self.rules,
            clock=clock,
            enforce_hours=enforce_hours,
        )
