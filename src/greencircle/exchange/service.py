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

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import Conflict, Forbidden, Invalid, NotFound
from greencircle.exchange.book import Code, Fill, Kind, Result, Side, STPMode, TimeInForce
from greencircle.exchange.book_fast import FastBook
from greencircle.exchange.clearing import Clearing, ClearingHost, Rejection, TradeCtx
from greencircle.exchange.journal import append_command
from greencircle.exchange.marketdata import daily_bars, previous_close
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.prices import PriceCode
from greencircle.exchange.rules import MarketRules, band_limits, fee_minor
from greencircle.exchange.surveillance import record_rejection
from greencircle.exchange.units import instrument_units, unit_of
from greencircle.kit.paging import page
from greencircle.registry.markets import Market

__all__ = ["ORDER_SORTS", "BookRegistry", "ExchangeService", "OrderAck"]

T = TypeVar("T")

_TAPE = 50
#: Sort orders of :meth:`ExchangeService.my_orders`: name -> (column, descending).
ORDER_SORTS: dict[str, tuple[str, bool]] = {
    "newest": ("priority_seq", True),
    "oldest": ("priority_seq", False),
    "instrument": ("instrument_code", False),
    "price_high": ("price_ticks", True),
    "price_low": ("price_ticks", False),
    "quantity_high": ("quantity", True),
    "quantity_low": ("quantity", False),
    "status": ("status", False),
}
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
                ExOrder.mode == "continuous",
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
class _Ctx(TradeCtx):
    """Per-book context of a command: the trading context and the in-memory book."""

    state: BookState = field(default_factory=lambda: BookState("", "", FastBook()))


# ==========================================================================================
# service
# ==========================================================================================
class ExchangeService(ClearingHost):
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
    enforce_hours
        Refuse orders outside the continuous sessions (``market_closed``).
    """

    # -- helpers --------------------------------------------------------------------------
    def _engine_actor(self, actor: Actor, rules: MarketRules) -> Actor:
        return self.clearing.engine_actor(actor, rules)

    def _context(
        self, market_code: str, instrument: str, *, load_book: bool = True
    ) -> _Ctx | OrderAck:
        tc = self.clearing.context(market_code, instrument)
        if isinstance(tc, Rejection):
            return _reject(tc.code, tc.detail)
        state = (
            self.books.get(self.session, market_code, tc.inst.code)
            if load_book
            else BookState(market_code, tc.inst.code, FastBook())
        )
        return _Ctx(tc.market, tc.rules, tc.inst, tc.cash_per_tick, tc.unit_minor, state)

    def _today(self, market: Market) -> str:
        return self.clearing.trading_day(market)

    def previous_close(self, ctx: _Ctx) -> int | None:
        """Close [ticks] of the last trading day before today (VWAP), or ``None``."""
        today = self._today(ctx.market)
        st = ctx.state
        if st.prev_close is not None and st.prev_close[0] == today:
            return st.prev_close[1]
        close = previous_close(self.session, st.market, st.instrument, today)
        st.prev_close = (today, close)
        return close

    def _check_quantity(self, ctx: _Ctx, quantity: object) -> OrderAck | None:
        unit = unit_of(ctx.inst.instrument_class)
        if type(quantity) is not int or quantity <= 0:
            return _reject(
                "invalid_quantity", f"quantity {quantity!r} must be an integer > 0 [{unit}]"
            )
        if quantity % ctx.rules.lot:
            return _reject(
                "lot_size",
                f"quantity {quantity} {unit} is not a multiple of the lot {ctx.rules.lot} {unit}",
            )
        if quantity > ctx.rules.max_order_lots * ctx.rules.lot:
            return _reject(
                "quantity_too_large",
                f"quantity {quantity} {unit} exceeds "
                f"{ctx.rules.max_order_lots * ctx.rules.lot} {unit} "
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
        return self.clearing.cash_needed(ctx, price_ticks, quantity)

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
            **instrument_units(row.instrument_code),
            "quantity": int(row.quantity),
            "open_quantity": int(row.open_quantity),
            "filled_quantity": filled,
            "cancelled_quantity": int(row.cancelled_quantity),
            "notional_minor": int(row.notional_minor),
            "fee_minor": int(row.fee_minor),
            "status": row.status,
            "reason": row.reason,
            "mode": row.mode,
            "funding_currency": row.funding_currency,
            "fx_rate_id": row.fx_rate_id,
            "paid_minor": int(row.paid_minor or 0),
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
            **instrument_units(t.instrument_code),
            "aggressor": t.aggressor,
            "mode": t.mode,
            "sets_close": bool(t.sets_close),
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
                "buyer_currency": t.buyer_currency,
                "buyer_paid_minor": t.buyer_paid_minor,
                "fx_rate_id": t.fx_rate_id,
            }
        return out

    def _watch(
        self, ctx: _Ctx, actor: Actor, ack: OrderAck, side: Side, price: object, quantity: int
    ) -> None:
        """Record a band breach for market surveillance (position-limit breaches are
        recorded by :meth:`Clearing.reserve_buy`)."""
        record_rejection(
            self.session,
            market=ctx.market.code,
            instrument=ctx.inst.code,
            org_id=actor.org_id,
            user_id=actor.user_id,
            code=ack.code,
            detail=ack.detail or "",
            side=side.value,
            price_ticks=price if isinstance(price, int) else None,
            quantity=quantity,
            at=self.clock(),
        )

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
        funding_currency: str | None = None,
    ) -> OrderAck:
        """Enter an order (call under :meth:`BookRegistry.transact`).

        ``funding_currency``: a buyer paying in another currency than the market's (KZT,
        UZS, RUB, USD) at the current FX snapshot (see :mod:`.clearing`).

        Rejections (no effect): ``market_closed`` (outside the sessions),
        ``unknown_market``, ``unknown_instrument``, ``invalid_order``,
        ``invalid_quantity``, ``lot_size``, ``quantity_too_large``,
        ``price_required``, ``price_not_allowed``, ``malformed_price``,
        ``non_positive_price``, ``off_tick_price``, ``outside_price_band``,
        ``not_eligible``, ``insufficient_funds``, ``insufficient_units``,
        ``resale_restricted``, ``position_limit_exceeded`` (large-holding limit, see
        :mod:`.surveillance`), ``fx_not_supported``, ``fx_rate_unavailable``,
        ``fx_liquidity``.
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
        if (closed := self.clearing.check_session(ctx, "continuous")) is not None:
            return _reject(closed.code, closed.detail)
        if (bad := self._check_quantity(ctx, quantity)) is not None:
            return bad
        price_ticks: int | None = None
        protection: int | None = None
        if kind_e is Kind.LIMIT:
            got = self._check_price(ctx, price)
            if isinstance(got, OrderAck):
                if got.code == "outside_price_band":
                    self._watch(
                        ctx,
                        actor,
                        got,
                        side_e,
                        ctx.rules.scale.ticks_or_code(price or ""),
                        quantity,
                    )
                return got
            price_ticks = got
        else:
            if price is not None:
                return _reject("price_not_allowed", "a market order takes no price")
            band = band_limits(self.previous_close(ctx), ctx.rules.band_pct)
            if band is not None:
                protection = band[1] if side_e is Side.BUY else band[0]
        engine = self._engine_actor(actor, ctx.rules)
        now = self.clock()
        row = Clearing.new_order(
            ctx,
            actor,
            side=side_e.value,
            kind=kind_e.value,
            tif=tif_e.value,
            price_ticks=price_ticks,
            quantity=quantity,
            mode="continuous",
            now=now,
            client_order_id=client_order_id,
            protection_ticks=protection,
            open_quantity=0,
        )
        if side_e is Side.BUY:
            need = (
                self._cash_needed(ctx, price_ticks, quantity)
                if price_ticks is not None
                else self._walk_cost(ctx, quantity, protection)
            )
            bad_hold = self.clearing.reserve_buy(ctx, actor, engine, row, need, funding_currency)
        else:
            if funding_currency not in (None, ctx.currency):
                return _reject("invalid_order", "funding_currency applies to buy orders only")
            bad_hold = self.clearing.reserve_sell(ctx, actor, engine, row, quantity)
        if bad_hold is not None:
            return _reject(bad_hold.code, bad_hold.detail)
        row.priority_seq = append_command(
            self.session,
            market=market,
            instrument=ctx.inst.code,
            command="new",
            order_id=row.id,
            payload={
                "side": side_e.value,
                "kind": kind_e.value,
                "tif": tif_e.value,
                "price_ticks": price_ticks,
                "protection_ticks": protection,
                "quantity": quantity,
                "client_order_id": client_order_id,
                "funding_currency": row.funding_currency,
                "fx_rate_id": row.fx_rate_id,
            },
            actor_user_id=actor.user_id,
            org_id=actor.org_id,
        )
        seq = int(row.priority_seq)
        order_id = row.id
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
        if row is None or row.mode != "continuous":  # other modes have their own commands
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
                ExOrder.mode == "continuous",
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

        An amendment needing more than the order's reservation (more quantity, a higher buy
        price) tops the hold up (:meth:`RegistryService.extend_hold`); if the account cannot
        cover it, ``insufficient_funds`` / ``insufficient_units`` and nothing changes. An
        FX-funded order cannot be topped up (``amend_exceeds_reservation``). Surplus
        reservation is released.
        Rejections: ``order_not_open``, ``invalid_amend``, price and quantity codes.
        """
        row = self._own_order(actor, order_id)
        if row.status != "open":
            return _reject("order_not_open", f"order {order_id} is {row.status}")
        if price is None and quantity is None:
            return _reject("invalid_amend", "give a new price and/or quantity")
        ctx = self._context(row.market_code, row.instrument_code)
        assert not isinstance(ctx, OrderAck)
        if (closed := self.clearing.check_session(ctx, "continuous")) is not None:
            return _reject(closed.code, closed.detail)
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
        engine = self._engine_actor(actor, ctx.rules)
        held = int(row.fx_hold_open) if row.fx_hold_id else int(row.hold_open)
        if need > held:
            if row.fx_hold_id or not row.hold_id:
                return _reject(
                    "amend_exceeds_reservation",
                    f"the amended order needs {need} reserved, the order holds {held}; "
                    "an FX-funded order cannot be topped up: cancel it and enter a new order",
                )
            top = self.registry.extend_hold(engine, row.hold_id, need - held)
            if not top.ok:
                code = "insufficient_funds" if row.side == Side.BUY.value else "insufficient_units"
                return _reject(code, f"top-up of the reservation refused: {top.detail}")
            row.hold_open = need
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
        trades = self._apply(ctx, engine, row, result, seq, self.clock(), mode="amend")
        return OrderAck(
            "accepted", result.code.value, None, self.order_view(row, ctx.rules), trades
        )

    # -- effects --------------------------------------------------------------------------
    def _release(self, engine: Actor, row: ExOrder, keep: int = 0) -> None:
        """Void the order's holds down to what ``keep`` still needs (see Clearing)."""
        self.clearing.release(engine, row, keep)

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
        self.clearing.log_trades(ctx, trades, seq)
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
        trade = self.clearing.settle(
            ctx,
            engine,
            buy,
            sell,
            fill.quantity,
            fill.price_ticks,
            mode="continuous",
            aggressor=fill.taker_side.value,
            seq=seq,
            now=now,
        )
        if maker.id != taker.id:
            maker.open_quantity = int(maker.open_quantity) - fill.quantity
            if maker.open_quantity == 0:
                maker.status = "filled"
                self._release(engine, maker)
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
        instrument: str | None = None,
        mode: str | None = None,
        sort: str = "newest",
    ) -> tuple[list[dict[str, Any]], int]:
        """The actor organisation's orders across instruments and trading modes, and their
        total count.

        Filters: ``status``, ``market``, ``instrument`` (full code), ``mode``
        (``continuous``, ``listed``, ...). ``sort``: one of :data:`ORDER_SORTS` (default
        ``newest``: entry order, newest first).
        """
        actor.require(Perm.EXCHANGE_READ)
        conds = [ExOrder.org_id == actor.org_id]
        if status:
            conds.append(ExOrder.status == status)
        if market:
            conds.append(ExOrder.market_code == market)
        if instrument:
            conds.append(ExOrder.instrument_code == instrument)
        if mode:
            conds.append(ExOrder.mode == mode)
        if sort not in ORDER_SORTS:
            raise Invalid(f"sort must be one of {list(ORDER_SORTS)}", code="exchange.bad_sort")
        column, descending = ORDER_SORTS[sort]
        key = getattr(ExOrder, column)
        first = key.desc() if descending else key.asc()
        order_by = [first.nulls_last(), ExOrder.priority_seq.desc()]
        rows, total = page(self.session, ExOrder, conds, order_by, limit, offset)
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
            **instrument_units(st.instrument),
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
        """Daily bars of the close-setting trades (continuous, listed, call; not block or
        one-way auction trades): close = VWAP of the day's trades; and the previous close."""
        ctx = self._public_ctx(market, instrument)
        dates = self.session.scalars(
            select(ExTrade.trade_date)
            .where(
                ExTrade.market_code == market,
                ExTrade.instrument_code == ctx.inst.code,
                ExTrade.sets_close.is_(True),
            )
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
                        ExTrade.sets_close.is_(True),
                    )
                    .order_by(ExTrade.seq, ExTrade.id)
                )
            ]
        fmt = ctx.rules.scale.format
        prev = self.previous_close(ctx)
        return {
            "market": market,
            "instrument": ctx.inst.code,
            **instrument_units(ctx.inst.code),
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
