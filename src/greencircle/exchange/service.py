"""Durable continuous trading: orders, risk holds, matching, DvP settlement, journal.

One :class:`BookRegistry` per process (on ``app.state``) keeps the in-memory books
(:class:`~greencircle.exchange.book_fast.FastBook`, self-trade prevention
``cancel_newest`` per organisation) behind one lock. A command runs entirely under that
lock and is committed before the lock is released (:meth:`BookRegistry.transact`), so the
in-memory books always equal the committed database state; when anything fails the
transaction is rolled back and the books are dropped and rebuilt from the database on
next use (resting orders replayed in ``priority_seq`` order).

Per accepted command, in one transaction: a journal row (:mod:`.journal`), the order row,
the registry holds (:meth:`RegistryService.reserve_units` / :meth:`reserve_cash`), one
:meth:`RegistryService.settle_dvp` per fill plus the fee postings to the exchange
operator, the trade rows and one ``exchange.trade`` transparency-log leaf per trade.

Expected outcomes are result codes on :class:`OrderAck` (``status='rejected'`` with a
stable ``code``); exceptions are for the unexpected (and for permission / not found).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import OrgType, Perm, Role
from greencircle.errors import Conflict, Forbidden, NotFound, PlatformError
from greencircle.exchange.book import Code, Fill, Kind, Result, Side, STPMode, TimeInForce
from greencircle.exchange.book_fast import FastBook
from greencircle.exchange.journal import append_command
from greencircle.exchange.marketdata import daily_bars, vwap_ticks
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.prices import PriceCode
from greencircle.exchange.rules import MarketRules, band_limits, fee_minor, load_rules
from greencircle.kit.ids import new_id
from greencircle.kit.timeutil import utcnow
from greencircle.registry.markets import Market
from greencircle.registry.results import HoldResult, InstrumentView
from greencircle.registry.service import RegistryService

__all__ = ["BookRegistry", "ExchangeService", "OrderAck"]

T = TypeVar("T")

_TAPE = 50
_FINAL_REASON = {
    Code.CANCELLED: "ioc_remainder",
    Code.SELF_TRADE_PREVENTED: "self_trade_prevented",
    Code.FOK_NOT_FILLABLE: "fok_not_fillable",
}


# ==========================================================================================
# in-memory books
# ==========================================================================================
@dataclass
class BookState:
    """One (market, instrument) book, its recent trades and a change counter."""

    market: str
    instrument: str
    book: FastBook
    version: int = 0
    tape: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_TAPE))
    prev_close: tuple[str, int | None] | None = None  # (today, previous close [ticks])


class BookRegistry:
    """The process-wide books, guarded by one lock (one writer at a time).

    One lock rather than one per book: a command of one book also moves the trader's cash,
    shared by every book, and SQLite has a single writer anyway.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._books: dict[tuple[str, str], BookState] = {}
        self.changed = threading.Condition(threading.Lock())
        self.generation = 0

    def loaded(self) -> list[BookState]:
        """Books currently in memory."""
        return list(self._books.values())

    def get(self, session: Session, market: str, instrument: str) -> BookState:
        """The book of ``(market, instrument)``, rebuilt from the database on first use.

        Call with :attr:`lock` held.
        """
        key = (market, instrument)
        st = self._books.get(key)
        if st is None:
            st = self._load(session, market, instrument)
            self._books[key] = st
        return st

    @staticmethod
    def _load(session: Session, market: str, instrument: str) -> BookState:
        book = FastBook(STPMode.CANCEL_NEWEST)
        rows = session.execute(
            select(
                ExOrder.id, ExOrder.org_id, ExOrder.side, ExOrder.open_quantity, ExOrder.price_ticks
            )
            .where(
                ExOrder.market_code == market,
                ExOrder.instrument_code == instrument,
                ExOrder.status == "open",
            )
            .order_by(ExOrder.priority_seq)
        )
        for oid, org, side, qty, price in rows:
            res = book.place(oid, org, Side(side), int(qty), int(price or 0))
            if res.code is not Code.RESTING:  # the stored book crosses: a corrupt state
                raise Conflict(
                    f"order {oid} does not rest on rebuild ({res.code})", code="exchange.rebuild"
                )
        st = BookState(market, instrument, book)
        trades = session.scalars(
            select(ExTrade)
            .where(ExTrade.market_code == market, ExTrade.instrument_code == instrument)
            .order_by(ExTrade.seq.desc(), ExTrade.id.desc())
            .limit(_TAPE)
        ).all()
        for t in reversed(trades):
            st.tape.append(_tape_row(t))
        return st

    def invalidate(self) -> None:
        """Forget every book (they are rebuilt from the database on next use)."""
        self._books.clear()
        self.notify()

    def notify(self) -> None:
        """Wake live feeds (a book may have changed)."""
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def run_locked(self, session: Session, fn: Callable[[], T]) -> T:
        """Run ``fn`` and commit ``session``; the caller holds :attr:`lock`.

        On any exception the session is rolled back and the books are dropped, so memory
        never runs ahead of the database.
        """
        try:
            out = fn()
            session.commit()
        except BaseException:
            session.rollback()
            self.invalidate()
            raise
        return out

    def transact(self, session: Session, fn: Callable[[], T]) -> T:
        """Run ``fn`` under the book lock and commit ``session`` before releasing it.

        The session's open transaction (e.g. authentication reads) is committed first, so
        that no database lock is held while waiting for the book lock (SQLite takes its
        write lock at ``BEGIN``).
        """
        session.commit()
        with self.lock:
            out = self.run_locked(session, fn)
        self.notify()
        return out


# ==========================================================================================
# results
# ==========================================================================================
@dataclass(frozen=True)
class OrderAck:
    """Outcome of a command: ``accepted`` (with the order and its trades) or ``rejected``.

    ``code`` is the engine's result code for accepted commands (``resting``, ``filled``,
    ``cancelled``, ``amended``, ``self_trade_prevented``, ``fok_not_fillable``) and the
    rejection code otherwise (``insufficient_funds``, ``off_tick_price``, ...).
    """

    status: str
    code: str
    detail: str | None = None
    order: dict[str, Any] | None = None
    trades: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False

    @property
    def ok(self) -> bool:
        """Whether the command was accepted."""
        return self.status == "accepted"

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            "order": self.order,
            "trades": self.trades,
            "replayed": self.replayed,
        }


def _reject(code: str, detail: str) -> OrderAck:
    return OrderAck("rejected", code, detail)


def _tape_row(t: ExTrade) -> dict[str, Any]:
    return {
        "id": t.id,
        "seq": int(t.seq),
        "price_ticks": int(t.price_ticks),
        "quantity": int(t.quantity),
        "aggressor": t.aggressor,
        "executed_at": t.executed_at.isoformat() if t.executed_at else None,
    }


@dataclass
class _Ctx:
    """Per-book context of a command."""

    market: Market
    rules: MarketRules
    inst: InstrumentView
    state: BookState
    cash_per_tick: int  # money per tick per t [minor units]
    unit_minor: int  # registry minor units per t


# ==========================================================================================
# service
# ==========================================================================================
class ExchangeService:
    """Continuous trading for one database session (never commits: see
    :meth:`BookRegistry.transact`, which the caller wraps commands in).

    Parameters
    ----------
    session
        The unit of work.
    signer
        Transparency-log signer.
    books
        The process-wide :class:`BookRegistry`.
    registry
        The registry service of the same session (defaults to one built here).
    rules
        Trading rules per market (defaults to the packaged data).
    clock
        Current UTC time.
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
    ) -> None:
        self.session = session
        self.signer = signer
        self.books = books
        self.registry = registry or RegistryService(session, signer)
        self.rules = rules if rules is not None else load_rules()
        self.clock = clock
        self._operators: dict[str, Organisation] = {}

    # -- helpers --------------------------------------------------------------------------
    def _operator_org(self, rules: MarketRules) -> Organisation:
        org = self._operators.get(rules.operator_org)
        if org is None:
            org = self.session.scalar(
                select(Organisation).where(Organisation.code == rules.operator_org)
            )
            if org is None:
                raise Conflict(
                    f"exchange operator organisation {rules.operator_org!r} is missing",
                    code="exchange.operator_missing",
                )
            self._operators[rules.operator_org] = org
        return org

    def _engine_actor(self, actor: Actor, rules: MarketRules) -> Actor:
        """The exchange acting on the registry (holds, settlement) for ``actor``'s command."""
        org = self._operator_org(rules)
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

    def _context(
        self, market_code: str, instrument: str, *, load_book: bool = True
    ) -> _Ctx | OrderAck:
        rules = self.rules.get(market_code)
        if rules is None:
            return _reject("unknown_market", f"market {market_code!r} has no continuous book")
        market = self.registry.catalog.market(market_code)
        code = (
            instrument
            if instrument.startswith(f"{market_code}:")
            else f"{market_code}:{instrument}"
        )
        try:
            inst = self.registry.resolve_instrument(code)
        except PlatformError:
            return _reject("unknown_instrument", f"instrument {code!r} is not listed")
        if inst.market_code != market_code or inst.instrument_class == "cash":
            return _reject("unknown_instrument", f"instrument {code!r} is not listed")
        cur = self.registry.catalog.currency(market.currency.value)
        minor = rules.tick * (10**cur.scale)
        if minor != minor.to_integral_value():
            raise Conflict(f"tick {rules.tick} is below the minor unit of {cur.code}")
        state = (
            self.books.get(self.session, market_code, inst.code)
            if load_book
            else BookState(market_code, inst.code, FastBook())
        )
        return _Ctx(market, rules, inst, state, int(minor), 10**inst.scale)

    def _today(self, market: Market) -> str:
        return self.clock().astimezone(ZoneInfo(market.timezone)).date().isoformat()

    def previous_close(self, ctx: _Ctx) -> int | None:
        """Close [ticks] of the last trading day before today (VWAP), or ``None``."""
        today = self._today(ctx.market)
        st = ctx.state
        if st.prev_close is not None and st.prev_close[0] == today:
            return st.prev_close[1]
        last_day = self.session.scalar(
            select(func.max(ExTrade.trade_date)).where(
                ExTrade.market_code == st.market,
                ExTrade.instrument_code == st.instrument,
                ExTrade.trade_date < today,
            )
        )
        close = None
        if last_day is not None:
            rows = self.session.execute(
                select(ExTrade.price_ticks, ExTrade.quantity).where(
                    ExTrade.market_code == st.market,
                    ExTrade.instrument_code == st.instrument,
                    ExTrade.trade_date == last_day,
                )
            )
            close = vwap_ticks((int(p), int(q)) for p, q in rows)
        st.prev_close = (today, close)
        return close

    def _check_quantity(self, ctx: _Ctx, quantity: object) -> OrderAck | None:
        if type(quantity) is not int or quantity <= 0:
            return _reject("invalid_quantity", f"quantity {quantity!r} must be an integer > 0 [t]")
        if quantity % ctx.rules.lot:
            return _reject(
                "lot_size", f"quantity {quantity} is not a multiple of the lot {ctx.rules.lot} t"
            )
        if quantity > ctx.rules.max_order_lots * ctx.rules.lot:
            return _reject(
                "quantity_too_large",
                f"quantity {quantity} exceeds {ctx.rules.max_order_lots * ctx.rules.lot} t "
                "(block trades are not traded in the continuous book)",
            )
        return None

    def _check_price(self, ctx: _Ctx, price: str | None) -> int | OrderAck:
        if price is None:
            return _reject("price_required", "a limit order needs a price")
        got = ctx.rules.scale.ticks_or_code(price)
        if isinstance(got, PriceCode):
            return _reject(got.value, got.explain(price, ctx.rules.tick))
        band = band_limits(self.previous_close(ctx), ctx.rules.band_pct)
        if band is not None and not band[0] <= got <= band[1]:
            fmt = ctx.rules.scale.format
            return _reject(
                "outside_price_band",
                f"price {price} is outside the band [{fmt(band[0])}, {fmt(band[1])}] "
                f"(±{ctx.rules.band_pct}% of the previous close)",
            )
        return got

    def _cash_needed(self, ctx: _Ctx, price_ticks: int, quantity: int) -> int:
        notional = price_ticks * quantity * ctx.cash_per_tick
        return notional + fee_minor(notional, ctx.rules.fee_bps)

    def _walk_cost(self, ctx: _Ctx, quantity: int, limit: int | None) -> int:
        """Money [minor] a market buy of ``quantity`` can spend against the asks up to
        ``limit`` (fees included)."""
        left = quantity
        notional = 0
        for lvl in ctx.state.book.depth(None).asks:
            if left == 0 or (limit is not None and lvl.price_ticks > limit):
                break
            take = min(left, lvl.quantity)
            notional += lvl.price_ticks * take * ctx.cash_per_tick
            left -= take
        return notional + fee_minor(notional, ctx.rules.fee_bps)

    def _hold_rejection(self, res: HoldResult, side: Side) -> OrderAck:
        what = "insufficient_funds" if side is Side.BUY else "insufficient_units"
        return _reject(what, f"{res.code}: {res.detail}")

    def order_view(self, row: ExOrder, rules: MarketRules | None = None) -> dict[str, Any]:
        """JSON view of an order (prices as decimal strings on the market's tick)."""
        rules = rules or self.rules[row.market_code]
        fmt = rules.scale.format
        filled = int(row.filled_quantity)
        return {
            "id": row.id,
            "client_order_id": row.client_order_id,
            "market": row.market_code,
            "instrument": row.instrument_code,
            "side": row.side,
            "kind": row.kind,
            "tif": row.tif,
            "price": fmt(int(row.price_ticks)) if row.price_ticks is not None else None,
            "protection_price": (
                fmt(int(row.protection_ticks)) if row.protection_ticks is not None else None
            ),
            "quantity": int(row.quantity),
            "open_quantity": int(row.open_quantity),
            "filled_quantity": filled,
            "cancelled_quantity": int(row.cancelled_quantity),
            "notional_minor": int(row.notional_minor),
            "fee_minor": int(row.fee_minor),
            "status": row.status,
            "reason": row.reason,
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        }

    def trade_view(self, t: ExTrade, *, private: bool = True) -> dict[str, Any]:
        """JSON view of a trade (``private``: with order ids, counterparties' fees)."""
        fmt = self.rules[t.market_code].scale.format
        out: dict[str, Any] = {
            "id": t.id,
            "seq": int(t.seq),
            "market": t.market_code,
            "instrument": t.instrument_code,
            "price": fmt(int(t.price_ticks)),
            "quantity": int(t.quantity),
            "aggressor": t.aggressor,
            "trade_date": t.trade_date,
            "executed_at": t.executed_at.isoformat() if t.executed_at else None,
        }
        if private:
            out |= {
                "buy_order_id": t.buy_order_id,
                "sell_order_id": t.sell_order_id,
                "notional_minor": int(t.notional_minor),
                "buyer_fee_minor": int(t.buyer_fee_minor),
                "seller_fee_minor": int(t.seller_fee_minor),
                "settlement_tx_id": t.settlement_tx_id,
            }
        return out

    # -- commands -------------------------------------------------------------------------
    def place(
        self,
        actor: Actor,
        *,
        market: str,
        instrument: str,
        side: str,
        quantity: int,
        price: str | None = None,
        kind: str = "limit",
        tif: str = "GTC",
        client_order_id: str | None = None,
    ) -> OrderAck:
        """Enter an order (call under :meth:`BookRegistry.transact`).

        Rejections (no effect): ``unknown_market``, ``unknown_instrument``,
        ``invalid_order``, ``invalid_quantity``, ``lot_size``, ``quantity_too_large``,
        ``price_required``, ``price_not_allowed``, ``malformed_price``,
        ``non_positive_price``, ``off_tick_price``, ``outside_price_band``,
        ``not_eligible``, ``insufficient_funds``, ``insufficient_units``.
        """
        actor.require(Perm.EXCHANGE_TRADE)
        if client_order_id is not None:
            prior = self.session.scalar(
                select(ExOrder).where(
                    ExOrder.org_id == actor.org_id, ExOrder.client_order_id == client_order_id
                )
            )
            if prior is not None:
                return OrderAck(
                    "accepted", prior.status, None, self.order_view(prior), replayed=True
                )
        try:
            side_e, kind_e, tif_e = Side(side), Kind(kind), TimeInForce(tif)
        except ValueError as exc:
            return _reject("invalid_order", str(exc))
        ctx = self._context(market, instrument)
        if isinstance(ctx, OrderAck):
            return ctx
        if (bad := self._check_quantity(ctx, quantity)) is not None:
            return bad
        price_ticks: int | None = None
        protection: int | None = None
        if kind_e is Kind.LIMIT:
            got = self._check_price(ctx, price)
            if isinstance(got, OrderAck):
                return got
            price_ticks = got
        else:
            if price is not None:
                return _reject("price_not_allowed", "a market order takes no price")
            band = band_limits(self.previous_close(ctx), ctx.rules.band_pct)
            if band is not None:
                protection = band[1] if side_e is Side.BUY else band[0]
        engine = self._engine_actor(actor, ctx.rules)
        order_id = new_id()
        hold_id: str | None = None
        hold_amount = 0
        if side_e is Side.BUY:
            try:
                self.registry.open_holding_account(actor, actor.org_id, market)
            except PlatformError as exc:
                return _reject("not_eligible", f"{exc.code}: {exc.detail}")
            if price_ticks is not None:
                hold_amount = self._cash_needed(ctx, price_ticks, quantity)
            else:
                hold_amount = self._walk_cost(ctx, quantity, protection)
            if hold_amount:
                res = self.registry.reserve_cash(
                    engine,
                    org_id=actor.org_id,
                    currency=ctx.market.currency.value,
                    amount_minor=hold_amount,
                    reference=f"exorder:{order_id}",
                )
                if not res.ok:
                    return self._hold_rejection(res, side_e)
                hold_id = res.hold_id
        else:
            hold_amount = quantity * ctx.unit_minor
            try:
                res = self.registry.reserve_units(
                    engine,
                    org_id=actor.org_id,
                    instrument_id=ctx.inst.id,
                    quantity=hold_amount,
                    reference=f"exorder:{order_id}",
                )
            except PlatformError as exc:
                return _reject("not_eligible", f"{exc.code}: {exc.detail}")
            if not res.ok:
                return self._hold_rejection(res, side_e)
            hold_id = res.hold_id
        seq = append_command(
            self.session,
            market=market,
            instrument=ctx.inst.code,
            command="new",
            order_id=order_id,
            payload={
                "side": side_e.value,
                "kind": kind_e.value,
                "tif": tif_e.value,
                "price_ticks": price_ticks,
                "protection_ticks": protection,
                "quantity": quantity,
                "client_order_id": client_order_id,
            },
            actor_user_id=actor.user_id,
            org_id=actor.org_id,
        )
        now = self.clock()
        row = ExOrder(
            id=order_id,
            org_id=actor.org_id,
            user_id=actor.user_id,
            client_order_id=client_order_id,
            market_code=market,
            instrument_code=ctx.inst.code,
            instrument_id=ctx.inst.id,
            side=side_e.value,
            kind=kind_e.value,
            tif=tif_e.value,
            price_ticks=price_ticks,
            protection_ticks=protection,
            quantity=quantity,
            open_quantity=0,
            filled_quantity=0,
            cancelled_quantity=0,
            notional_minor=0,
            fee_minor=0,
            status="open",
            reason=None,
            hold_id=hold_id,
            hold_open=hold_amount if hold_id else 0,
            priority_seq=seq,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        book = ctx.state.book
        limit = price_ticks if price_ticks is not None else protection
        eng_tif = tif_e if kind_e is Kind.LIMIT or tif_e is TimeInForce.FOK else TimeInForce.IOC
        if limit is None:
            result = book.place(
                order_id, actor.org_id, side_e, quantity, None, Kind.MARKET, eng_tif
            )
        else:
            result = book.place(
                order_id, actor.org_id, side_e, quantity, limit, Kind.LIMIT, eng_tif
            )
        if result.code is Code.FOK_NOT_FILLABLE:
            result = Result(Code.FOK_NOT_FILLABLE, cancelled_quantity=quantity)
        trades = self._apply(ctx, engine, row, result, seq, now)
        return OrderAck(
            "accepted", result.code.value, None, self.order_view(row, ctx.rules), trades
        )

    def _own_order(self, actor: Actor, order_id: str) -> ExOrder:
        if Perm.EXCHANGE_TRADE not in actor.perms and Perm.EXCHANGE_OPERATE not in actor.perms:
            actor.require(Perm.EXCHANGE_TRADE)
        row = self.session.get(ExOrder, order_id)
        if row is None:
            raise NotFound(f"order {order_id!r} not found", code="exchange.order_not_found")
        if row.org_id != actor.org_id and Perm.EXCHANGE_OPERATE not in actor.perms:
            raise Forbidden(
                "the order belongs to another participant", code="exchange.not_order_owner"
            )
        return row

    def cancel(self, actor: Actor, order_id: str) -> OrderAck:
        """Cancel a resting order (owner or operator); releases its hold.

        Rejection: ``order_not_open``.
        """
        row = self._own_order(actor, order_id)
        if row.status != "open":
            return _reject("order_not_open", f"order {order_id} is {row.status}")
        ctx = self._context(row.market_code, row.instrument_code)
        assert not isinstance(ctx, OrderAck)
        seq = append_command(
            self.session,
            market=row.market_code,
            instrument=row.instrument_code,
            command="cancel",
            order_id=order_id,
            payload={},
            actor_user_id=actor.user_id,
            org_id=actor.org_id,
        )
        result = ctx.state.book.cancel(order_id)
        if result.code is not Code.CANCELLED:
            raise Conflict(
                f"order {order_id} is open but not in the book", code="exchange.book_mismatch"
            )
        engine = self._engine_actor(actor, ctx.rules)
        row.reason = "cancelled_by_owner" if row.org_id == actor.org_id else "cancelled_by_operator"
        self._apply(ctx, engine, row, result, seq, self.clock(), mode="cancel")
        return OrderAck("accepted", result.code.value, None, self.order_view(row, ctx.rules))

    def expire(self, actor: Actor, market: str, instrument: str) -> list[str]:
        """End of the trading day: cancel every resting order of a book (exchange operator),
        releasing their holds; one ``expire`` journal row per order. Returns the order ids.
        """
        actor.require(Perm.EXCHANGE_OPERATE)
        ctx = self._public_ctx(market, instrument, load_book=True)
        rows = self.session.scalars(
            select(ExOrder)
            .where(
                ExOrder.market_code == market,
                ExOrder.instrument_code == ctx.inst.code,
                ExOrder.status == "open",
            )
            .order_by(ExOrder.priority_seq)
        ).all()
        engine = self._engine_actor(actor, ctx.rules)
        now = self.clock()
        for row in rows:
            seq = append_command(
                self.session,
                market=market,
                instrument=ctx.inst.code,
                command="expire",
                order_id=row.id,
                payload={},
                actor_user_id=actor.user_id,
                org_id=actor.org_id,
            )
            result = ctx.state.book.cancel(row.id)
            if result.code is not Code.CANCELLED:
                raise Conflict(
                    f"order {row.id} is open but not in the book", code="exchange.book_mismatch"
                )
            row.reason = "expired"
            self._apply(ctx, engine, row, result, seq, now, mode="cancel")
        return [r.id for r in rows]

    def amend(
        self, actor: Actor, order_id: str, *, price: str | None = None, quantity: int | None = None
    ) -> OrderAck:
        """Change a resting order's price and/or open quantity (see :mod:`.book`).

        The new order must fit in the order's current reservation (a decrease of quantity,
        a lower buy price, any sell price); otherwise ``amend_exceeds_reservation`` (cancel
        and enter a new order). Surplus reservation is released.
        Rejections: ``order_not_open``, ``invalid_amend``, price and quantity codes.
        """
        row = self._own_order(actor, order_id)
        if row.status != "open":
            return _reject("order_not_open", f"order {order_id} is {row.status}")
        if price is None and quantity is None:
            return _reject("invalid_amend", "give a new price and/or quantity")
        ctx = self._context(row.market_code, row.instrument_code)
        assert not isinstance(ctx, OrderAck)
        new_p = int(row.price_ticks or 0)
        if price is not None:
            got = self._check_price(ctx, price)
            if isinstance(got, OrderAck):
                return got
            new_p = got
        new_q = int(row.open_quantity) if quantity is None else quantity
        if (bad := self._check_quantity(ctx, new_q)) is not None:
            return bad
        if row.side == Side.BUY.value:
            need = self._cash_needed(ctx, new_p, new_q)
        else:
            need = new_q * ctx.unit_minor
        if need > int(row.hold_open):
            return _reject(
                "amend_exceeds_reservation",
                f"the amended order needs {need} reserved, the order holds {row.hold_open}; "
                "cancel it and enter a new order",
            )
        seq = append_command(
            self.session,
            market=row.market_code,
            instrument=row.instrument_code,
            command="amend",
            order_id=order_id,
            payload={"price_ticks": new_p, "quantity": new_q},
            actor_user_id=actor.user_id,
            org_id=actor.org_id,
        )
        loses_priority = new_p != row.price_ticks or new_q > int(row.open_quantity)
        result = ctx.state.book.amend(order_id, price_ticks=new_p, quantity=new_q)
        if not result.code.accepted:
            raise Conflict(f"amend of {order_id} refused by the book: {result.code}")
        if loses_priority:
            row.priority_seq = seq
        row.price_ticks = new_p
        engine = self._engine_actor(actor, ctx.rules)
        trades = self._apply(ctx, engine, row, result, seq, self.clock(), mode="amend")
        return OrderAck(
            "accepted", result.code.value, None, self.order_view(row, ctx.rules), trades
        )

    # -- effects --------------------------------------------------------------------------
    def _release(self, engine: Actor, row: ExOrder, keep: int = 0) -> None:
        """Void the order's hold down to ``keep`` [minor units]."""
        surplus = int(row.hold_open) - keep
        if row.hold_id and surplus > 0:
            self.registry.void_hold(engine, row.hold_id, surplus)
            row.hold_open = keep

    def _apply(
        self,
        ctx: _Ctx,
        engine: Actor,
        row: ExOrder,
        result: Result,
        seq: int,
        now: datetime,
        *,
        mode: str = "new",
    ) -> list[dict[str, Any]]:
        """Persist the engine's result of a ``new``, ``cancel`` or ``amend`` command: settle
        the fills, update the orders, release surplus holds."""
        trades: list[ExTrade] = []
        for fill in result.fills:
            trades.append(self._settle(ctx, engine, row, fill, seq, now))
        if mode == "new":
            row.cancelled_quantity = result.cancelled_quantity
        else:
            row.cancelled_quantity = int(row.cancelled_quantity) + result.cancelled_quantity
        row.open_quantity = 0 if mode == "cancel" else result.resting_quantity
        row.updated_at = now
        if row.open_quantity > 0:
            row.status = "open"
            if row.side == Side.BUY.value and row.price_ticks is not None:
                keep = self._cash_needed(ctx, int(row.price_ticks), int(row.open_quantity))
            else:
                keep = int(row.open_quantity) * ctx.unit_minor
            self._release(engine, row, keep)
        else:
            row.status = "filled" if result.code is Code.FILLED else "cancelled"
            if row.status == "cancelled" and row.reason is None:
                row.reason = _FINAL_REASON.get(result.code, result.code.value)
                if result.code is Code.CANCELLED and row.kind == Kind.MARKET.value:
                    row.reason = "market_remainder"
            self._release(engine, row)
        self.session.flush()
        if trades:
            AuditLog(self.session, self.signer).append(
                [
                    {
                        "type": "exchange.trade",
                        "subject": f"extrade:{t.id}",
                        "trade_id": t.id,
                        "seq": seq,
                        "market": t.market_code,
                        "instrument": t.instrument_code,
                        "price": ctx.rules.scale.format(int(t.price_ticks)),
                        "quantity": int(t.quantity),
                        "buy_order_id": t.buy_order_id,
                        "sell_order_id": t.sell_order_id,
                        "aggressor": t.aggressor,
                        "settlement_tx_id": t.settlement_tx_id,
                    }
                    for t in trades
                ]
            )
        st = ctx.state
        for t in trades:
            st.tape.append(_tape_row(t))
        st.version += 1
        return [self.trade_view(t) for t in trades]

    def _settle(
        self, ctx: _Ctx, engine: Actor, taker: ExOrder, fill: Fill, seq: int, now: datetime
    ) -> ExTrade:
        maker = self.session.get(ExOrder, fill.maker_order_id)
        if maker is None:
            raise Conflict(
                f"maker order {fill.maker_order_id} missing", code="exchange.book_mismatch"
            )
        buy, sell = (taker, maker) if fill.taker_side is Side.BUY else (maker, taker)
        assert buy.hold_id is not None
        assert sell.hold_id is not None
        qty = fill.quantity
        units = qty * ctx.unit_minor
        notional = fill.price_ticks * qty * ctx.cash_per_tick
        fee_b = fee_minor(notional, ctx.rules.fee_bps)
        fee_s = fee_b
        trade_id = new_id()
        settlement = self.registry.settle_dvp(
            engine,
            unit_hold_id=sell.hold_id,
            cash_hold_id=buy.hold_id,
            quantity=units,
            cash_amount_minor=notional,
            reference=f"extrade:{trade_id}",
        )
        buy.hold_open = int(buy.hold_open) - notional
        sell.hold_open = int(sell.hold_open) - units
        operator = self._operator_org(ctx.rules)
        if fee_b:
            self.registry.post_hold(engine, buy.hold_id, to_org_id=operator.id, amount=fee_b)
            buy.hold_open = int(buy.hold_open) - fee_b
        if fee_s:
            res = self.registry.reserve_cash(
                engine,
                org_id=sell.org_id,
                currency=ctx.market.currency.value,
                amount_minor=fee_s,
                reference=f"exfee:{trade_id}",
            )
            if not res.ok or res.hold_id is None:
                raise Conflict(f"seller fee not payable: {res.detail}", code="exchange.fee_unpaid")
            self.registry.post_hold(engine, res.hold_id, to_org_id=operator.id, amount=fee_s)
        for o, fee in ((buy, fee_b), (sell, fee_s)):
            o.filled_quantity = int(o.filled_quantity) + qty
            o.notional_minor = int(o.notional_minor) + notional
            o.fee_minor = int(o.fee_minor) + fee
        if maker.id != taker.id:
            maker.open_quantity = int(maker.open_quantity) - qty
            maker.updated_at = now
            if maker.open_quantity == 0:
                maker.status = "filled"
                self._release(engine, maker)
        trade = ExTrade(
            id=trade_id,
            seq=seq,
            market_code=ctx.state.market,
            instrument_code=ctx.state.instrument,
            price_ticks=fill.price_ticks,
            quantity=qty,
            notional_minor=notional,
            buy_order_id=buy.id,
            sell_order_id=sell.id,
            buyer_org_id=buy.org_id,
            seller_org_id=sell.org_id,
            aggressor=fill.taker_side.value,
            buyer_fee_minor=fee_b,
            seller_fee_minor=fee_s,
            settlement_tx_id=settlement.tx.tx_id,
            trade_date=self._today(ctx.market),
            executed_at=now,
        )
        self.session.add(trade)
        return trade

    # -- queries --------------------------------------------------------------------------
    def my_orders(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        market: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """The actor organisation's orders, newest first, and their total count."""
        actor.require(Perm.EXCHANGE_READ)
        conds = [ExOrder.org_id == actor.org_id]
        if status:
            conds.append(ExOrder.status == status)
        if market:
            conds.append(ExOrder.market_code == market)
        total = int(
            self.session.scalar(select(func.count()).select_from(ExOrder).where(*conds)) or 0
        )
        rows = self.session.scalars(
            select(ExOrder)
            .where(*conds)
            .order_by(ExOrder.priority_seq.desc())
            .limit(limit)
            .offset(offset)
        )
        return [self.order_view(r) for r in rows], total

    def order(self, actor: Actor, order_id: str) -> dict[str, Any]:
        """One order (owner or operator)."""
        actor.require(Perm.EXCHANGE_READ)
        row = self.session.get(ExOrder, order_id)
        if row is None or (row.org_id != actor.org_id and Perm.EXCHANGE_OPERATE not in actor.perms):
            raise NotFound(f"order {order_id!r} not found", code="exchange.order_not_found")
        return self.order_view(row)

    def my_trades(
        self, actor: Actor, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Trades of the actor's organisation (either side), newest first."""
        actor.require(Perm.EXCHANGE_READ)
        cond = or_(ExTrade.buyer_org_id == actor.org_id, ExTrade.seller_org_id == actor.org_id)
        total = int(self.session.scalar(select(func.count()).select_from(ExTrade).where(cond)) or 0)
        rows = self.session.scalars(
            select(ExTrade)
            .where(cond)
            .order_by(ExTrade.seq.desc(), ExTrade.id.desc())
            .limit(limit)
            .offset(offset)
        )
        out = []
        for t in rows:
            view = self.trade_view(t)
            view["side"] = "buy" if t.buyer_org_id == actor.org_id else "sell"
            out.append(view)
        return out, total

    def _public_ctx(self, market: str, instrument: str, *, load_book: bool = False) -> _Ctx:
        ctx = self._context(market, instrument, load_book=load_book)
        if isinstance(ctx, OrderAck):
            raise NotFound(ctx.detail, code=f"exchange.{ctx.code}")
        return ctx

    def depth(self, market: str, instrument: str, levels: int | None = 5) -> dict[str, Any]:
        """Aggregated depth (call with the book lock held, or accept a racy read)."""
        ctx = self._public_ctx(market, instrument, load_book=True)
        return self.snapshot(ctx.state, ctx.rules, levels)

    def snapshot(self, st: BookState, rules: MarketRules, levels: int | None = 5) -> dict[str, Any]:
        """Depth and recent trades of a book (for market data and the live feed)."""
        fmt = rules.scale.format
        d = st.book.depth(levels)
        return {
            "market": st.market,
            "instrument": st.instrument,
            "version": st.version,
            "bids": [
                {"price": fmt(lv.price_ticks), "quantity": lv.quantity, "orders": lv.orders}
                for lv in d.bids
            ],
            "asks": [
                {"price": fmt(lv.price_ticks), "quantity": lv.quantity, "orders": lv.orders}
                for lv in d.asks
            ],
            "last_trades": [
                {
                    **{k: v for k, v in t.items() if k != "price_ticks"},
                    "price": fmt(t["price_ticks"]),
                }
                for t in list(st.tape)[-10:]
            ],
        }

    def tape(self, market: str, instrument: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The public trade tape, newest first (no participants)."""
        ctx = self._public_ctx(market, instrument)
        rows = self.session.scalars(
            select(ExTrade)
            .where(ExTrade.market_code == market, ExTrade.instrument_code == ctx.inst.code)
            .order_by(ExTrade.seq.desc(), ExTrade.id.desc())
            .limit(limit)
        )
        return [self.trade_view(t, private=False) for t in rows]

    def ohlc(self, market: str, instrument: str, *, days: int = 30) -> dict[str, Any]:
        """Daily bars (close = VWAP of the day's trades) and the previous close."""
        ctx = self._public_ctx(market, instrument)
        dates = self.session.scalars(
            select(ExTrade.trade_date)
            .where(ExTrade.market_code == market, ExTrade.instrument_code == ctx.inst.code)
            .group_by(ExTrade.trade_date)
            .order_by(ExTrade.trade_date.desc())
            .limit(days)
        ).all()
        rows: list[tuple[str, int, int]] = []
        if dates:
            rows = [
                (d, int(p), int(q))
                for d, p, q in self.session.execute(
                    select(ExTrade.trade_date, ExTrade.price_ticks, ExTrade.quantity)
                    .where(
                        ExTrade.market_code == market,
                        ExTrade.instrument_code == ctx.inst.code,
                        ExTrade.trade_date >= min(dates),
                    )
                    .order_by(ExTrade.seq, ExTrade.id)
                )
            ]
        fmt = ctx.rules.scale.format
        prev = self.previous_close(ctx)
        return {
            "market": market,
            "instrument": ctx.inst.code,
            "interval": "1d",
            "previous_close": fmt(prev) if prev is not None else None,
            "bars": [
                {
                    "date": b.date,
                    "open": fmt(b.open),
                    "high": fmt(b.high),
                    "low": fmt(b.low),
                    "last": fmt(b.last),
                    "close": fmt(b.close),
                    "volume": b.volume,
                    "trades": b.trades,
                }
                for b in daily_bars(rows)
            ],
        }
