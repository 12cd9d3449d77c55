"""Listed agreement (挂牌协议) and block agreement (大宗协议) trading services.

Both modes reuse the shared clearing layer (:class:`~.clearing.Clearing`): every listing,
taker order and block side is an :class:`~.models.ExOrder` row (``mode='listed'`` or
``'block'``) carrying its registry holds, so reservations (cash with fee, FX funding, units
with the T+1 resale rule), DvP settlement, fees and the ``exchange.trade`` log leaves are
the same code as the continuous book's. These rows never enter the continuous book.

**Listed agreement.** A participant posts a listing (side, price on the tick within
±``band_pct`` of the previous close, quantity below the block minimum); its cash or units
are reserved. A taker picks one listing among the best five distinct opposing price
levels (:class:`~.listed.ListedBoard`) and trades at the listing's price, for all or
part of it; the taker's own order (``kind='limit'``, ``tif='IOC'``, ``venue_ref`` = the
listing's id) reserves and settles at once. Listed trades count in the day's close
(``sets_close``).

**Block agreement.** The initiator proposes a trade (side, named counterparty, price
within ±``band_pct`` of the previous close from ``data/block_rules.toml``, quantity at
least ``min_quantity``, expiry) and its side is reserved at once; the counterparty
confirms (its side reserves, the trade settles, ``sets_close=False``) or rejects; the
initiator may withdraw; an open proposal past its expiry is expired (holds released) by
the operator's :meth:`AgreementService.expire` or lazily when it is read or answered.

Every accepted command appends one journal row (:func:`~.journal.append_command`:
``list``, ``take``, ``cancel_listing``, ``amend_listing``, ``propose``, ``confirm``,
``reject``, ``withdraw``, ``expire``) in the command's transaction. Commands run under
:meth:`~.service.BookRegistry.transact` (the continuous book's process-wide lock, so cash
holds of every mode are serialised); nothing here commits. Expected outcomes are result
codes on :class:`~.service.OrderAck`; exceptions are for permission and not found.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import Conflict, Forbidden, NotFound
from greencircle.exchange.calendar import load_calendar
from greencircle.exchange.clearing import Clearing, Rejection, TradeCtx
from greencircle.exchange.journal import append_command
from greencircle.exchange.listed import ListedBoard, ListedCode, check_block_trade, within_band
from greencircle.exchange.marketdata import previous_close
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.models_agreements import ExBlockProposal
from greencircle.exchange.prices import PriceCode
from greencircle.exchange.rules import MarketRules, band_limits
from greencircle.exchange.service import BookRegistry, ExchangeService, OrderAck
from greencircle.exchange.units import instrument_units, unit_of
from greencircle.kit.ids import new_id
from greencircle.kit.paging import page
from greencircle.kit.timeutil import as_utc, utcnow
from greencircle.registry.service import RegistryService

__all__ = [
    "BLOCK_RULES_FILE",
    "AgreementService",
    "BlockRules",
    "load_block_rules",
]

BLOCK_RULES_FILE = Path(__file__).parent / "data" / "block_rules.toml"

#: Distinct price levels per side a taker may pick from (national rule, confirmed).
BEST_LEVELS = 5

_TAKE_CODES = {
    ListedCode.UNKNOWN_LISTING: "listing_not_open",
    ListedCode.INVALID_QUANTITY: "quantity_exceeds_listing",
    ListedCode.SELF_TRADE: "self_trade",
    ListedCode.NOT_IN_BEST_LEVELS: "listing_not_in_best_levels",
}


# ==========================================================================================
# block rules (data)
# ==========================================================================================
@dataclass(frozen=True)
class BlockRules:
    """Block agreement rules of one market (``data/block_rules.toml``).

    Attributes
    ----------
    market
        Market code.
    band_pct
        Price band around the previous close [%] (no band without a previous close).
    min_quantity
        Smallest block trade [t].
    sets_close
        Whether block trades count in the day's close (``false`` nationally).
    statuses
        ``rule -> (status, source)``.
    """

    market: str
    band_pct: Decimal
    min_quantity: int
    sets_close: bool
    statuses: dict[str, tuple[str, str]]

    @property
    def band_bp(self) -> int:
        """The band [basis points]."""
        return int(self.band_pct * 100)


@cache
def load_block_rules(path: Path = BLOCK_RULES_FILE) -> dict[str, BlockRules]:
    """Every market's block rules from the TOML file (cached)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults: dict[str, Any] = data["defaults"]
    out: dict[str, BlockRules] = {}
    for code, raw in data.get("markets", {}).items():
        facts = {name: raw.get(name, fact) for name, fact in defaults.items()}
        out[code] = BlockRules(
            market=code,
            band_pct=Decimal(str(facts["band_pct"]["value"])),
            min_quantity=int(facts["min_quantity"]["value"]),
            sets_close=bool(facts["sets_close"]["value"]),
            statuses={k: (str(v["status"]), str(v["source"])) for k, v in facts.items()},
        )
    return out


def _reject(code: str, detail: str) -> OrderAck:
    return OrderAck("rejected", code, detail)


def _rejected(r: Rejection) -> OrderAck:
    return OrderAck("rejected", r.code, r.detail)


def _band_bp(rules: MarketRules) -> int:
    return int(rules.band_pct * 100)


def _other(side: str) -> str:
    return "sell" if side == "buy" else "buy"


# ==========================================================================================
# service
# ==========================================================================================
class AgreementService:
    """Listed and block agreement trading for one database session (never commits).

    Parameters
    ----------
    session
        The unit of work.
    signer
        Transparency-log signer.
    books
        The process-wide :class:`~.service.BookRegistry` (its lock serialises commands).
    registry
        The registry service of the same session (defaults to one built here).
    rules
        Trading rules per market (defaults to the packaged data).
    clock
        Current UTC time.
    enforce_hours
        Refuse commands outside the ``listed`` / ``block`` sessions (``market_closed``).
    block_rules
        Block rules per market (defaults to ``data/block_rules.toml``).
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
        block_rules: dict[str, BlockRules] | None = None,
    ) -> None:
        self.session = session
        self.books = books
        self.exchange = ExchangeService(
            session,
            signer,
            books,
            registry=registry,
            rules=rules,
            clock=clock,
            enforce_hours=enforce_hours,
        )
        self.registry = self.exchange.registry
        self.rules = self.exchange.rules
        self.clearing: Clearing = self.exchange.clearing
        self.clock = clock
        self.block_rules = block_rules if block_rules is not None else load_block_rules()

    # -- helpers --------------------------------------------------------------------------
    def _context(self, market: str, instrument: str) -> TradeCtx | OrderAck:
        tc = self.clearing.context(market, instrument)
        return _rejected(tc) if isinstance(tc, Rejection) else tc

    def _public(self, market: str, instrument: str) -> TradeCtx:
        tc = self._context(market, instrument)
        if isinstance(tc, OrderAck):
            raise NotFound(tc.detail, code=f"exchange.{tc.code}")
        return tc

    def _row_ctx(self, row: ExOrder | ExBlockProposal) -> TradeCtx:
        return self._public(row.market_code, row.instrument_code)

    def previous_close(self, tc: TradeCtx) -> int | None:
        """Close [ticks] of the last trading day before today (VWAP of the ``sets_close``
        trades: continuous and listed), as the continuous book computes it."""
        today = self.clearing.trading_day(tc.market)
        return previous_close(self.session, tc.market.code, tc.inst.code, today)

    def _price(self, tc: TradeCtx, price: str | None) -> int | OrderAck:
        if price is None:
            return _reject("price_required", "a listing or proposal needs a price")
        got = tc.rules.scale.ticks_or_code(price)
        if isinstance(got, PriceCode):
            return _reject(got.value, got.explain(price, tc.rules.tick))
        return got

    @staticmethod
    def _quantity(tc: TradeCtx, quantity: object) -> OrderAck | None:
        u = unit_of(tc.inst.instrument_class)
        if type(quantity) is not int or quantity <= 0:
            return _reject(
                "invalid_quantity", f"quantity {quantity!r} must be an integer > 0 [{u}]"
            )
        if quantity % tc.rules.lot:
            return _reject(
                "lot_size", f"quantity {quantity} is not a multiple of the lot {tc.rules.lot} {u}"
            )
        return None

    def _listed_price(self, tc: TradeCtx, price: str | None) -> int | OrderAck:
        got = self._price(tc, price)
        if isinstance(got, OrderAck):
            return got
        prev = self.previous_close(tc)
        if not within_band(got, prev, _band_bp(tc.rules)):
            band = band_limits(prev, tc.rules.band_pct)
            assert band is not None
            fmt = tc.rules.scale.format
            return _reject(
                "outside_price_band",
                f"price {price} is outside the band [{fmt(band[0])}, {fmt(band[1])}] "
                f"(±{tc.rules.band_pct}% of the previous close)",
            )
        return got

    def _reserve(
        self,
        tc: TradeCtx,
        actor: Actor,
        engine: Actor,
        row: ExOrder,
        funding_currency: str | None,
    ) -> OrderAck | None:
        """Reserve the row's cash (buy, fee included) or units (sell)."""
        price, qty = int(row.price_ticks or 0), int(row.quantity)
        if row.side == "buy":
            need = self.clearing.cash_needed(tc, price, qty)
            bad = self.clearing.reserve_buy(tc, actor, engine, row, need, funding_currency)
        else:
            if funding_currency not in (None, tc.currency):
                return _reject("invalid_order", "funding_currency applies to the buy side only")
            bad = self.clearing.reserve_sell(tc, actor, engine, row, qty)
        return _rejected(bad) if bad is not None else None

    def _keep(self, tc: TradeCtx, row: ExOrder) -> int:
        """Reservation an open row still needs (market currency for buys, units for sells)."""
        if row.side == "buy":
            return self.clearing.cash_needed(tc, int(row.price_ticks or 0), int(row.open_quantity))
        return int(row.open_quantity) * tc.unit_minor

    def _cross(
        self,
        actor: Actor,
        tc: TradeCtx,
        resting: ExOrder,
        *,
        command: str,
        mode: str,
        venue_key: str,
        venue_ref: str,
        side: str,
        price: int,
        quantity: int,
        tif: str,
        client_order_id: str | None,
        funding_currency: str | None,
        sets_close: bool,
    ) -> tuple[ExOrder, Actor, int, datetime, ExTrade] | OrderAck:
        """Enter ``actor``'s order against the ``resting`` one (a listing or a block
        initiator) in its mode, reserve, journal and settle the trade.

        Returns
        -------
        tuple or OrderAck
            ``(row, engine, seq, now, trade)``, or the rejection of the reservation.
        """
        engine = self.clearing.engine_actor(actor, tc.rules)
        now = self.clock()
        row = Clearing.new_order(
            tc,
            actor,
            kind="limit",
            side=side,
            price_ticks=price,
            quantity=quantity,
            mode=mode,
            tif=tif,
            venue_ref=venue_ref,
            client_order_id=client_order_id,
            now=now,
        )
        if (bad := self._reserve(tc, actor, engine, row, funding_currency)) is not None:
            return bad
        seq = self._journal(
            actor,
            row,
            command,
            {
                venue_key: venue_ref,
                "side": side,
                "price_ticks": price,
                "quantity": quantity,
                "client_order_id": client_order_id,
                "funding_currency": row.funding_currency,
                "fx_rate_id": row.fx_rate_id,
            },
        )
        row.priority_seq = seq
        self.session.add(row)
        buy, sell = (row, resting) if side == "buy" else (resting, row)
        trade = self.clearing.settle(
            tc,
            engine,
            buy,
            sell,
            quantity,
            price,
            mode=mode,
            aggressor=side,
            seq=seq,
            now=now,
            sets_close=sets_close,
        )
        return row, engine, seq, now, trade

    def _journal(self, actor: Actor, row: ExOrder, command: str, payload: dict[str, Any]) -> int:
        return append_command(
            self.session,
            market=row.market_code,
            instrument=row.instrument_code,
            command=command,
            order_id=row.id,
            payload=payload,
            actor_user_id=actor.user_id,
            org_id=actor.org_id,
        )

    def _prior(self, actor: Actor, client_order_id: str | None) -> ExOrder | None:
        if client_order_id is None:
            return None
        return self.session.scalar(
            select(ExOrder).where(
                ExOrder.org_id == actor.org_id, ExOrder.client_order_id == client_order_id
            )
        )

    @staticmethod
    def _may_command(actor: Actor) -> None:
        if Perm.EXCHANGE_TRADE not in actor.perms and Perm.EXCHANGE_OPERATE not in actor.perms:
            actor.require(Perm.EXCHANGE_TRADE)

    def order_view(self, row: ExOrder) -> dict[str, Any]:
        """JSON view of a listing, taker order or block side."""
        return self.exchange.order_view(row, self.rules[row.market_code]) | {
            "mode": row.mode,
            "venue_ref": row.venue_ref,
            "funding_currency": row.funding_currency,
        }

    # ======================================================================================
    # listed agreement
    # ======================================================================================
    def _listing_row(self, listing_id: str) -> ExOrder:
        row = self.session.get(ExOrder, listing_id)
        if row is None or row.mode != "listed" or row.venue_ref is not None:
            raise NotFound(f"listing {listing_id!r} not found", code="exchange.listing_not_found")
        return row

    def _own_listing(self, actor: Actor, listing_id: str, *, operator_ok: bool) -> ExOrder:
        self._may_command(actor)
        row = self._listing_row(listing_id)
        if row.org_id != actor.org_id and not (
            operator_ok and Perm.EXCHANGE_OPERATE in actor.perms
        ):
            raise Forbidden(
                "the listing belongs to another participant", code="exchange.not_listing_owner"
            )
        return row

    def _open_listings(self, tc: TradeCtx) -> ListedBoard:
        """The instrument's open listings as a :class:`ListedBoard` (time priority kept)."""
        board = ListedBoard(None)
        rows = self.session.execute(
            select(
                ExOrder.id, ExOrder.org_id, ExOrder.side, ExOrder.price_ticks, ExOrder.open_quantity
            )
            .where(
                ExOrder.market_code == tc.market.code,
                ExOrder.instrument_code == tc.inst.code,
                ExOrder.status == "open",
                ExOrder.mode == "listed",
                ExOrder.venue_ref.is_(None),
            )
            .order_by(ExOrder.priority_seq)
        )
        for oid, org, side, price, qty in rows:
            code = board.post(oid, org, side, int(price or 0), int(qty))
            if code is not ListedCode.OK:
                raise Conflict(f"stored listing {oid} is invalid ({code})", code="exchange.listing")
        return board

    def post_listing(
        self,
        actor: Actor,
        *,
        market: str,
        instrument: str,
        side: str,
        price: str | None,
        quantity: int,
        client_order_id: str | None = None,
        funding_currency: str | None = None,
    ) -> OrderAck:
        """Post a listing and reserve its cash (buy, fee included) or units (sell).

        Rejections (no effect): ``market_closed``, ``unknown_market``,
        ``unknown_instrument``, ``invalid_order``, ``invalid_quantity``, ``lot_size``,
        ``quantity_too_large`` (≥ the block minimum: a block trade), ``price_required``,
        ``malformed_price``, ``non_positive_price``, ``off_tick_price``,
        ``outside_price_band`` (±``band_pct`` % of the previous close), ``not_eligible``,
        ``insufficient_funds``, ``insufficient_units``, ``resale_restricted``, FX codes.
        Accepted code: ``listed``; a retry with the same ``client_order_id`` replays.
        """
        actor.require(Perm.EXCHANGE_TRADE)
        prior = self._prior(actor, client_order_id)
        if prior is not None:
            if prior.mode != "listed" or prior.venue_ref is not None:
                raise Conflict(
                    f"client order id {client_order_id!r} was used for another command",
                    code="exchange.client_order_id_reused",
                )
            return OrderAck("accepted", "listed", None, self.order_view(prior), replayed=True)
        if side not in ("buy", "sell"):
            return _reject("invalid_order", f"side {side!r} is not buy or sell")
        tc = self._context(market, instrument)
        if isinstance(tc, OrderAck):
            return tc
        if (closed := self.clearing.check_session(tc, "listed")) is not None:
            return _rejected(closed)
        if (bad := self._quantity(tc, quantity)) is not None:
            return bad
        if quantity > tc.rules.max_order_lots * tc.rules.lot:
            return _reject(
                "quantity_too_large",
                f"quantity {quantity} exceeds {tc.rules.max_order_lots * tc.rules.lot} "
                f"{unit_of(tc.inst.instrument_class)} (larger trades are block agreements)",
            )
        got = self._listed_price(tc, price)
        if isinstance(got, OrderAck):
            return got
        engine = self.clearing.engine_actor(actor, tc.rules)
        now = self.clock()
        row = Clearing.new_order(
            tc,
            actor,
            kind="limit",
            side=side,
            price_ticks=got,
            quantity=quantity,
            mode="listed",
            tif="GTC",
            venue_ref=None,
            client_order_id=client_order_id,
            now=now,
        )
        if (bad := self._reserve(tc, actor, engine, row, funding_currency)) is not None:
            return bad
        row.priority_seq = self._journal(
            actor,
            row,
            "list",
            {
                "side": side,
                "price_ticks": got,
                "quantity": quantity,
                "client_order_id": client_order_id,
                "funding_currency": row.funding_currency,
                "fx_rate_id": row.fx_rate_id,
            },
        )
        self.session.add(row)
        self.session.flush()
        return OrderAck("accepted", "listed", None, self.order_view(row))

    def take_listing(
        self,
        actor: Actor,
        listing_id: str,
        *,
        quantity: int,
        client_order_id: str | None = None,
        funding_currency: str | None = None,
    ) -> OrderAck:
        """Trade against one listing at its price (all or part of its open quantity).

        The listing must be among the best :data:`BEST_LEVELS` distinct price levels of
        its side. Rejections: ``market_closed``, ``listing_not_open``, ``self_trade``,
        ``invalid_quantity``, ``lot_size``, ``quantity_exceeds_listing``,
        ``listing_not_in_best_levels``, ``not_eligible``, ``insufficient_funds``,
        ``insufficient_units``, ``resale_restricted``, FX codes. Unknown listing:
        :class:`NotFound`. Accepted code: ``filled`` (with the trade).
        """
        actor.require(Perm.EXCHANGE_TRADE)
        prior = self._prior(actor, client_order_id)
        if prior is not None:
            if prior.mode != "listed" or prior.venue_ref != listing_id:
                raise Conflict(
                    f"client order id {client_order_id!r} was used for another command",
                    code="exchange.client_order_id_reused",
                )
            return OrderAck("accepted", prior.status, None, self.order_view(prior), replayed=True)
        listing = self._listing_row(listing_id)
        tc = self._row_ctx(listing)
        if (closed := self.clearing.check_session(tc, "listed")) is not None:
            return _rejected(closed)
        if listing.status != "open":
            return _reject("listing_not_open", f"listing {listing_id} is {listing.status}")
        if listing.org_id == actor.org_id:
            return _reject("self_trade", "the listing is your own organisation's")
        if (bad := self._quantity(tc, quantity)) is not None:
            return bad
        code, _fill = self._open_listings(tc).take(listing_id, actor.org_id, quantity)
        if code is not ListedCode.OK:
            detail = {
                "quantity_exceeds_listing": f"quantity {quantity} exceeds the listing's open "
                f"quantity {int(listing.open_quantity)} {unit_of(tc.inst.instrument_class)}",
                "listing_not_in_best_levels": f"the listing's price is not among the best "
                f"{BEST_LEVELS} price levels of its side",
            }
            mapped = _TAKE_CODES.get(code, "listing_not_open")
            return _reject(mapped, detail.get(mapped, f"listing {listing_id}: {code.value}"))
        crossed = self._cross(
            actor,
            tc,
            listing,
            command="take",
            mode="listed",
            venue_key="listing_id",
            venue_ref=listing.id,
            side=_other(listing.side),
            price=int(listing.price_ticks or 0),
            quantity=quantity,
            tif="IOC",
            client_order_id=client_order_id,
            funding_currency=funding_currency,
            sets_close=True,
        )
        if isinstance(crossed, OrderAck):
            return crossed
        row, engine, seq, now, trade = crossed
        row.open_quantity = 0
        row.status = "filled"
        self.clearing.release(engine, row)
        listing.open_quantity = int(listing.open_quantity) - quantity
        listing.updated_at = now
        if listing.open_quantity == 0:
            listing.status = "filled"
            self.clearing.release(engine, listing)
        else:
            self.clearing.release(engine, listing, self._keep(tc, listing))
        self.session.flush()
        self.clearing.log_trades(tc, [trade], seq)
        return OrderAck(
            "accepted", "filled", None, self.order_view(row), [self.exchange.trade_view(trade)]
        )

    def cancel_listing(self, actor: Actor, listing_id: str) -> OrderAck:
        """Withdraw what remains of a listing (its owner, or the exchange operator) and
        release its reservation. Rejection: ``listing_not_open``."""
        row = self._own_listing(actor, listing_id, operator_ok=True)
        if row.status != "open":
            return _reject("listing_not_open", f"listing {listing_id} is {row.status}")
        tc = self._row_ctx(row)
        engine = self.clearing.engine_actor(actor, tc.rules)
        self._journal(actor, row, "cancel_listing", {"open_quantity": int(row.open_quantity)})
        row.reason = "cancelled_by_owner" if row.org_id == actor.org_id else "cancelled_by_operator"
        row.cancelled_quantity = int(row.cancelled_quantity) + int(row.open_quantity)
        row.open_quantity = 0
        row.status = "cancelled"
        row.updated_at = self.clock()
        self.clearing.release(engine, row)
        self.session.flush()
        return OrderAck("accepted", "cancelled", None, self.order_view(row))

    def amend_listing(self, actor: Actor, listing_id: str, *, price: str | None) -> OrderAck:
        """Change an own open listing's price (band re-checked; time priority is lost).

        A buy listing priced higher tops its cash reservation up
        (:meth:`RegistryService.extend_hold`; ``insufficient_funds`` when it cannot, and
        ``amend_exceeds_reservation`` for an FX-funded listing); a lower price releases
        the surplus. Rejections: ``listing_not_open``, ``market_closed``, price codes.
        """
        row = self._own_listing(actor, listing_id, operator_ok=False)
        actor.require(Perm.EXCHANGE_TRADE)
        if row.status != "open":
            return _reject("listing_not_open", f"listing {listing_id} is {row.status}")
        tc = self._row_ctx(row)
        if (closed := self.clearing.check_session(tc, "listed")) is not None:
            return _rejected(closed)
        got = self._listed_price(tc, price)
        if isinstance(got, OrderAck):
            return got
        engine = self.clearing.engine_actor(actor, tc.rules)
        need = 0
        if row.side == "buy":
            need = self.clearing.cash_needed(tc, got, int(row.open_quantity))
            held = int(row.fx_hold_open) if row.fx_hold_id else int(row.hold_open)
            if need > held:
                if row.fx_hold_id or not row.hold_id:
                    return _reject(
                        "amend_exceeds_reservation",
                        f"the amended listing needs {need} reserved, it holds {held}; an "
                        "FX-funded listing cannot be topped up: cancel it and post a new one",
                    )
                top = self.registry.extend_hold(engine, row.hold_id, need - held)
                if not top.ok:
                    return _reject(
                        "insufficient_funds", f"top-up of the reservation refused: {top.detail}"
                    )
                row.hold_open = need
        old = int(row.price_ticks or 0)
        row.priority_seq = self._journal(
            actor, row, "amend_listing", {"old_price_ticks": old, "price_ticks": got}
        )
        row.price_ticks = got
        row.updated_at = self.clock()
        if row.side == "buy":
            self.clearing.release(engine, row, need)
        self.session.flush()
        return OrderAck("accepted", "amended", None, self.order_view(row))

    def board(self, market: str, instrument: str, levels: int = BEST_LEVELS) -> dict[str, Any]:
        """Public board: per side the best ``levels`` price levels with their listings
        (id, price, open quantity; no participant), the previous close and the band."""
        tc = self._public(market, instrument)
        board = self._open_listings(tc)
        fmt = tc.rules.scale.format
        prev = self.previous_close(tc)
        band = band_limits(prev, tc.rules.band_pct)
        out: dict[str, Any] = {
            "market": market,
            "instrument": tc.inst.code,
            "previous_close": fmt(prev) if prev is not None else None,
            "band": {"low": fmt(band[0]), "high": fmt(band[1])} if band else None,
            "band_pct": str(tc.rules.band_pct),
            "levels": levels,
        }
        for side, key in (("sell", "asks"), ("buy", "bids")):
            prices = board.levels(side, levels)
            rows = [x for x in board.listings.values() if x.side == side]
            out[key] = [
                {
                    "price": fmt(p),
                    "quantity": sum(x.quantity for x in rows if x.price_ticks == p),
                    "listings": [
                        {"id": x.listing_id, "price": fmt(p), "quantity": x.quantity}
                        for x in sorted(rows, key=lambda x: x.seq)
                        if x.price_ticks == p
                    ],
                }
                for p in prices
            ]
        return out

    def board_listing(self, listing_id: str) -> dict[str, Any]:
        """A listing as the public board shows it (no participant); unknown: 404."""
        row = self._listing_row(listing_id)
        fmt = self.rules[row.market_code].scale.format
        return {
            "id": row.id,
            "market": row.market_code,
            "instrument": row.instrument_code,
            "side": row.side,
            "price": fmt(int(row.price_ticks or 0)),
            "quantity": int(row.open_quantity),
            "status": row.status,
        }

    def listing(self, actor: Actor, listing_id: str) -> dict[str, Any]:
        """One own listing (or any, for the exchange operator); others' are 404."""
        actor.require(Perm.EXCHANGE_READ)
        row = self._listing_row(listing_id)
        if row.org_id != actor.org_id and Perm.EXCHANGE_OPERATE not in actor.perms:
            raise NotFound(f"listing {listing_id!r} not found", code="exchange.listing_not_found")
        return self.order_view(row)

    def my_listings(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        market: str | None = None,
        instrument: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """The actor organisation's listings (not its taker orders), newest first."""
        actor.require(Perm.EXCHANGE_READ)
        conds = [
            ExOrder.org_id == actor.org_id,
            ExOrder.mode == "listed",
            ExOrder.venue_ref.is_(None),
        ]
        if status:
            conds.append(ExOrder.status == status)
        if market:
            conds.append(ExOrder.market_code == market)
        if instrument:
            conds.append(ExOrder.instrument_code == instrument)
        rows, total = page(
            self.session, ExOrder, conds, [ExOrder.priority_seq.desc()], limit, offset
        )
        return [self.order_view(r) for r in rows], total

    # ======================================================================================
    # block agreement
    # ======================================================================================
    def _end_of_day(self, tc: TradeCtx, now: datetime) -> datetime:
        """End of the block session of the current (or next) trading day [UTC]."""
        cal = load_calendar()
        code = tc.market.code
        tz = cal.market(code).tz
        end_time = cal.sessions(code, "block")[-1][1]
        day = as_utc(now).astimezone(tz).date()
        end = datetime.combine(day, end_time, tz)
        while end <= now or not cal.is_trading_day(code, day):
            day = cal.next_trading_day(code, day)
            end = datetime.combine(day, end_time, tz)
        return end.astimezone(UTC)

    def _proposal_row(self, proposal_id: str) -> ExBlockProposal:
        prop = self.session.get(ExBlockProposal, proposal_id)
        if prop is None:
            raise NotFound(
                f"proposal {proposal_id!r} not found", code="exchange.proposal_not_found"
            )
        return prop

    def check_proposal(self, actor: Actor, proposal_id: str) -> ExBlockProposal:
        """The proposal if ``actor``'s organisation is a party (or the operator); others'
        are 404 (their existence is not disclosed)."""
        prop = self._proposal_row(proposal_id)
        if (
            actor.org_id
            not in (
                prop.initiator_org_id,
                prop.counterparty_org_id,
            )
            and Perm.EXCHANGE_OPERATE not in actor.perms
        ):
            raise NotFound(
                f"proposal {proposal_id!r} not found", code="exchange.proposal_not_found"
            )
        return prop

    def _org_code(self, org_id: str) -> str:
        org = self.session.get(Organisation, org_id)
        return org.code if org is not None else org_id

    def proposal_view(self, prop: ExBlockProposal, actor: Actor | None = None) -> dict[str, Any]:
        """JSON view of a proposal (``role``: the actor's part in it)."""
        rules = self.rules[prop.market_code]
        fmt = rules.scale.format
        role = None
        if actor is not None:
            role = (
                "initiator"
                if actor.org_id == prop.initiator_org_id
                else "counterparty"
                if actor.org_id == prop.counterparty_org_id
                else "operator"
            )
        tc = self._row_ctx(prop)
        notional = int(prop.price_ticks) * int(prop.quantity) * tc.cash_per_tick
        return {
            "id": prop.id,
            "market": prop.market_code,
            "instrument": prop.instrument_code,
            "initiator": self._org_code(prop.initiator_org_id),
            "counterparty": self._org_code(prop.counterparty_org_id),
            "side": prop.side,
            "role": role,
            "my_side": (
                prop.side
                if role == "initiator"
                else _other(prop.side)
                if role == "counterparty"
                else None
            ),
            "price": fmt(int(prop.price_ticks)),
            "quantity": int(prop.quantity),
            **instrument_units(prop.instrument_code),
            "notional_minor": notional,
            "status": prop.status,
            "reason": prop.reason,
            "note": prop.note,
            "expires_at": as_utc(prop.expires_at).isoformat(),
            "initiator_order_id": prop.initiator_order_id,
            "counterparty_order_id": prop.counterparty_order_id,
            "trade_id": prop.trade_id,
            "client_ref": prop.client_ref if role == "initiator" else None,
            "created_at": as_utc(prop.created_at).isoformat() if prop.created_at else None,
            "updated_at": as_utc(prop.updated_at).isoformat() if prop.updated_at else None,
        }

    def propose(
        self,
        actor: Actor,
        *,
        market: str,
        instrument: str,
        side: str,
        counterparty: str,
        price: str | None,
        quantity: int,
        expires_at: datetime | None = None,
        note: str | None = None,
        client_ref: str | None = None,
        funding_currency: str | None = None,
    ) -> OrderAck:
        """Propose a block trade to the organisation with code ``counterparty``.

        ``side`` is the initiator's; its cash (buy, fee included) or units (sell) are
        reserved now. ``expires_at`` defaults to the end of the day's block session.
        Rejections (no effect): ``market_closed`` (block is afternoon only),
        ``unknown_market``, ``unknown_instrument``, ``invalid_order``,
        ``unknown_counterparty``, ``self_trade``, ``invalid_quantity``, ``lot_size``,
        ``below_block_minimum``, price codes, ``outside_block_band``, ``invalid_expiry``,
        ``not_eligible``, ``insufficient_funds``, ``insufficient_units``,
        ``resale_restricted``, FX codes. Accepted code: ``proposed`` (``order`` is the
        proposal); a retry with the same ``client_ref`` replays.
        """
        actor.require(Perm.EXCHANGE_TRADE)
        if client_ref is not None:
            prior = self.session.scalar(
                select(ExBlockProposal).where(
                    ExBlockProposal.initiator_org_id == actor.org_id,
                    ExBlockProposal.client_ref == client_ref,
                )
            )
            if prior is not None:
                return OrderAck(
                    "accepted", prior.status, None, self.proposal_view(prior, actor), replayed=True
                )
        if side not in ("buy", "sell"):
            return _reject("invalid_order", f"side {side!r} is not buy or sell")
        tc = self._context(market, instrument)
        if isinstance(tc, OrderAck):
            return tc
        br = self.block_rules.get(tc.market.code)
        if br is None:
            return _reject("unknown_market", f"market {market!r} has no block trading")
        if (closed := self.clearing.check_session(tc, "block")) is not None:
            return _rejected(closed)
        cp = self.session.scalar(select(Organisation).where(Organisation.code == counterparty))
        if cp is None:
            return _reject("unknown_counterparty", f"organisation {counterparty!r} is unknown")
        if cp.id == actor.org_id:
            return _reject("self_trade", "the counterparty is your own organisation")
        if (bad := self._quantity(tc, quantity)) is not None:
            return bad
        got = self._price(tc, price)
        if isinstance(got, OrderAck):
            return got
        if (bad := self._block_check(tc, br, got, quantity)) is not None:
            return bad
        now = self.clock()
        expiry = self._end_of_day(tc, now) if expires_at is None else as_utc(expires_at)
        if expiry <= as_utc(now):
            return _reject("invalid_expiry", f"expiry {expiry.isoformat()} is not in the future")
        engine = self.clearing.engine_actor(actor, tc.rules)
        pid = new_id()
        row = Clearing.new_order(
            tc,
            actor,
            kind="limit",
            side=side,
            price_ticks=got,
            quantity=quantity,
            mode="block",
            tif="GTC",
            venue_ref=pid,
            client_order_id=None,
            now=now,
        )
        if (bad := self._reserve(tc, actor, engine, row, funding_currency)) is not None:
            return bad
        row.priority_seq = self._journal(
            actor,
            row,
            "propose",
            {
                "proposal_id": pid,
                "side": side,
                "counterparty_org_id": cp.id,
                "price_ticks": got,
                "quantity": quantity,
                "expires_at": expiry.isoformat(),
                "client_ref": client_ref,
                "funding_currency": row.funding_currency,
                "fx_rate_id": row.fx_rate_id,
            },
        )
        self.session.add(row)
        prop = ExBlockProposal(
            id=pid,
            market_code=tc.market.code,
            instrument_code=tc.inst.code,
            instrument_id=tc.inst.id,
            initiator_org_id=actor.org_id,
            initiator_user_id=actor.user_id,
            counterparty_org_id=cp.id,
            side=side,
            price_ticks=got,
            quantity=quantity,
            status="proposed",
            initiator_order_id=row.id,
            expires_at=expiry,
            note=note,
            client_ref=client_ref,
            created_at=now,
            updated_at=now,
        )
        self.session.add(prop)
        self.session.flush()
        return OrderAck("accepted", "proposed", None, self.proposal_view(prop, actor))

    def _block_check(
        self, tc: TradeCtx, br: BlockRules, price_ticks: int, quantity: int
    ) -> OrderAck | None:
        prev = self.previous_close(tc)
        code = check_block_trade(
            price_ticks, quantity, prev, band_bp=br.band_bp, minimum_quantity=br.min_quantity
        )
        if code is ListedCode.BELOW_BLOCK_MINIMUM:
            return _reject(
                "below_block_minimum",
                f"quantity {quantity} {unit_of(tc.inst.instrument_class)} is below the block "
                f"minimum {br.min_quantity} {unit_of(tc.inst.instrument_class)}",
            )
        if code is not ListedCode.OK:
            band = band_limits(prev, br.band_pct)
            assert band is not None
            fmt = tc.rules.scale.format
            return _reject(
                "outside_block_band",
                f"price {fmt(price_ticks)} is outside the block band "
                f"[{fmt(band[0])}, {fmt(band[1])}] (±{br.band_pct}% of the previous close)",
            )
        return None

    def _close_proposal(
        self, actor: Actor, prop: ExBlockProposal, status: str, command: str, reason: str
    ) -> None:
        """End an open proposal: cancel the initiator's side and release its holds."""
        tc = self._row_ctx(prop)
        init = self.session.get(ExOrder, prop.initiator_order_id)
        if init is None:
            raise Conflict(f"proposal {prop.id} has no initiator order", code="exchange.proposal")
        engine = self.clearing.engine_actor(actor, tc.rules)
        now = self.clock()
        self._journal(actor, init, command, {"proposal_id": prop.id, "status": status})
        init.cancelled_quantity = int(init.cancelled_quantity) + int(init.open_quantity)
        init.open_quantity = 0
        init.status = "cancelled"
        init.reason = reason
        init.updated_at = now
        self.clearing.release(engine, init)
        prop.status = status
        prop.reason = reason
        prop.updated_at = now
        self.session.flush()

    def _expire_if_due(self, actor: Actor, prop: ExBlockProposal) -> bool:
        if prop.status == "proposed" and as_utc(prop.expires_at) <= as_utc(self.clock()):
            self._close_proposal(actor, prop, "expired", "expire", "expired")
            return True
        return False

    def _not_open(self, prop: ExBlockProposal) -> OrderAck:
        if prop.status == "expired":
            return _reject("proposal_expired", f"proposal {prop.id} expired")
        return _reject("proposal_not_open", f"proposal {prop.id} is {prop.status}")

    def confirm(
        self,
        actor: Actor,
        proposal_id: str,
        *,
        client_order_id: str | None = None,
        funding_currency: str | None = None,
    ) -> OrderAck:
        """The named counterparty accepts: its side reserves and the trade settles at once
        (``mode='block'``, not in the close).

        Rejections: ``not_counterparty``, ``proposal_expired`` (the proposal is expired
        now, its holds released), ``proposal_not_open``, ``market_closed``,
        ``outside_block_band`` (the previous close moved since), ``not_eligible``,
        ``insufficient_funds``, ``insufficient_units``, ``resale_restricted``, FX codes.
        Accepted code: ``confirmed`` (with the trade).
        """
        actor.require(Perm.EXCHANGE_TRADE)
        prop = self.check_proposal(actor, proposal_id)
        prior = self._prior(actor, client_order_id)
        if prior is not None:
            if prior.mode != "block" or prior.venue_ref != proposal_id:
                raise Conflict(
                    f"client order id {client_order_id!r} was used for another command",
                    code="exchange.client_order_id_reused",
                )
            return OrderAck(
                "accepted", prop.status, None, self.proposal_view(prop, actor), replayed=True
            )
        if actor.org_id != prop.counterparty_org_id:
            return _reject("not_counterparty", "only the named counterparty may confirm")
        if self._expire_if_due(actor, prop) or prop.status != "proposed":
            return self._not_open(prop)
        tc = self._row_ctx(prop)
        if (closed := self.clearing.check_session(tc, "block")) is not None:
            return _rejected(closed)
        br = self.block_rules[tc.market.code]
        price, quantity = int(prop.price_ticks), int(prop.quantity)
        if (bad := self._block_check(tc, br, price, quantity)) is not None:
            return bad
        init = self.session.get(ExOrder, prop.initiator_order_id)
        if init is None:
            raise Conflict(f"proposal {prop.id} has no initiator order", code="exchange.proposal")
        crossed = self._cross(
            actor,
            tc,
            init,
            command="confirm",
            mode="block",
            venue_key="proposal_id",
            venue_ref=prop.id,
            side=_other(prop.side),
            price=price,
            quantity=quantity,
            tif="GTC",
            client_order_id=client_order_id,
            funding_currency=funding_currency,
            sets_close=br.sets_close,
        )
        if isinstance(crossed, OrderAck):
            return crossed
        row, engine, seq, now, trade = crossed
        for o in (row, init):
            o.open_quantity = 0
            o.status = "filled"
            o.updated_at = now
            self.clearing.release(engine, o)
        prop.status = "confirmed"
        prop.counterparty_order_id = row.id
        prop.trade_id = trade.id
        prop.updated_at = now
        self.session.flush()
        self.clearing.log_trades(tc, [trade], seq)
        return OrderAck(
            "accepted",
            "confirmed",
            None,
            self.proposal_view(prop, actor),
            [self.exchange.trade_view(trade)],
        )

    def reject(self, actor: Actor, proposal_id: str, *, reason: str | None = None) -> OrderAck:
        """The named counterparty declines; the initiator's holds are released.

        Rejections: ``not_counterparty``, ``proposal_expired``, ``proposal_not_open``.
        """
        actor.require(Perm.EXCHANGE_TRADE)
        prop = self.check_proposal(actor, proposal_id)
        if actor.org_id != prop.counterparty_org_id:
            return _reject("not_counterparty", "only the named counterparty may reject")
        if self._expire_if_due(actor, prop) or prop.status != "proposed":
            return self._not_open(prop)
        self._close_proposal(actor, prop, "rejected", "reject", "rejected_by_counterparty")
        if reason:
            prop.reason = f"rejected_by_counterparty: {reason}"[:200]
        return OrderAck("accepted", "rejected", None, self.proposal_view(prop, actor))

    def withdraw(self, actor: Actor, proposal_id: str) -> OrderAck:
        """The initiator withdraws an open proposal; its holds are released.

        Rejections: ``not_initiator``, ``proposal_expired``, ``proposal_not_open``.
        """
        actor.require(Perm.EXCHANGE_TRADE)
        prop = self.check_proposal(actor, proposal_id)
        if actor.org_id != prop.initiator_org_id:
            return _reject("not_initiator", "only the initiator may withdraw the proposal")
        if self._expire_if_due(actor, prop) or prop.status != "proposed":
            return self._not_open(prop)
        self._close_proposal(actor, prop, "withdrawn", "withdraw", "withdrawn")
        return OrderAck("accepted", "withdrawn", None, self.proposal_view(prop, actor))

    def expire(self, actor: Actor, *, market: str | None = None) -> list[str]:
        """Exchange operator: expire every open proposal past its expiry (releasing the
        initiators' holds); one ``expire`` journal row each. Returns their ids."""
        actor.require(Perm.EXCHANGE_OPERATE)
        return self._expire_due(actor, market=market)

    def _expire_due(
        self, actor: Actor, *, market: str | None = None, org_id: str | None = None
    ) -> list[str]:
        conds = [ExBlockProposal.status == "proposed"]
        if market:
            conds.append(ExBlockProposal.market_code == market)
        if org_id:
            conds.append(
                or_(
                    ExBlockProposal.initiator_org_id == org_id,
                    ExBlockProposal.counterparty_org_id == org_id,
                )
            )
        now = as_utc(self.clock())
        rows = self.session.scalars(
            select(ExBlockProposal).where(*conds).order_by(ExBlockProposal.created_at)
        ).all()
        done = []
        for prop in rows:
            if as_utc(prop.expires_at) <= now:
                self._close_proposal(actor, prop, "expired", "expire", "expired")
                done.append(prop.id)
        return done

    def proposal(self, actor: Actor, proposal_id: str) -> dict[str, Any]:
        """One proposal the actor's organisation is party to (operator: any); expires it
        first when it is due (call under :meth:`BookRegistry.transact`)."""
        actor.require(Perm.EXCHANGE_READ)
        prop = self.check_proposal(actor, proposal_id)
        self._expire_if_due(actor, prop)
        return self.proposal_view(prop, actor)

    def proposals(
        self,
        actor: Actor,
        *,
        role: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Proposals the actor's organisation initiated (``role='outgoing'``), received
        (``'incoming'``) or either (default; the operator sees all), newest first. Due
        proposals are expired first (call under :meth:`BookRegistry.transact`)."""
        actor.require(Perm.EXCHANGE_READ)
        operator = Perm.EXCHANGE_OPERATE in actor.perms
        self._expire_due(actor, org_id=None if operator else actor.org_id)
        conds = []
        if role == "incoming":
            conds.append(ExBlockProposal.counterparty_org_id == actor.org_id)
        elif role == "outgoing":
            conds.append(ExBlockProposal.initiator_org_id == actor.org_id)
        elif not operator:
            conds.append(
                or_(
                    ExBlockProposal.initiator_org_id == actor.org_id,
                    ExBlockProposal.counterparty_org_id == actor.org_id,
                )
            )
        if status:
            conds.append(ExBlockProposal.status == status)
        total = int(
            self.session.scalar(select(func.count()).select_from(ExBlockProposal).where(*conds))
            or 0
        )
        rows = self.session.scalars(
            select(ExBlockProposal)
            .where(*conds)
            .order_by(ExBlockProposal.created_at.desc(), ExBlockProposal.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [self.proposal_view(p, actor) for p in rows], total

    def trades(self, market: str, instrument: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Public listed and block trades of an instrument, newest first (no participants)."""
        tc = self._public(market, instrument)
        rows = self.session.scalars(
            select(ExTrade)
            .where(
                ExTrade.market_code == market,
                ExTrade.instrument_code == tc.inst.code,
                ExTrade.mode.in_(("listed", "block")),
            )
            .order_by(ExTrade.seq.desc(), ExTrade.id.desc())
            .limit(limit)
        )
        return [self.exchange.trade_view(t, private=False) | {"mode": t.mode} for t in rows]
