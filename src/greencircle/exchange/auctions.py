"""Auctions wired to holds and settlement: one-way sealed-bid auctions and call auctions.

The pure rules are :func:`~greencircle.exchange.auction.one_way_auction` and
:func:`~greencircle.exchange.auction.call_auction`; this service keeps their inputs and
outputs in the database and moves the registry units and money through the shared
:class:`~greencircle.exchange.clearing.Clearing` code.

* **One-way auction** (an authority sells allowances). A regulator whose jurisdiction
  covers the market's authority jurisdiction creates it; the offered units are an
  :class:`ExOrder` sell row (``mode='auction'``, ``venue_ref`` = auction id) holding the
  units in the authority's **auction reserve account** (``<market>.<org code>``, see
  :meth:`AuctionService.issue_reserve`). Bids are buy rows that reserve price × quantity +
  fee (optionally FX-funded). Clearing runs ``one_way_auction`` and settles each award
  delivery versus payment at the award price (uniform: the clearing price; pay-as-bid:
  the bid's own price), then releases what is left of every hold.
* **Call auction** (pollutant-discharge rights). The exchange operator or the market's
  regulator opens a session for an instrument of class ``pollutant`` with a reference
  price; participants enter buy and sell orders (holds); clearing runs ``call_auction``
  and settles the executed quantities at the uniform price (``sets_close=True``: pollutant
  products have no continuous book, so the call price is their close).

Every accepted command is journaled (:func:`~greencircle.exchange.journal.append_command`)
and runs under :meth:`BookRegistry.transact` (the caller wraps it). Expected outcomes are
result codes on :class:`~greencircle.exchange.service.OrderAck`; exceptions only for
permission (``Forbidden``) and missing auctions or orders (``NotFound``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Organisation
from greencircle.auth.policy import Actor
from greencircle.auth.roles import Perm
from greencircle.errors import Conflict, Forbidden, Invalid, NotFound
from greencircle.exchange.auction import (
    Bid,
    CallOrder,
    Pricing,
    call_auction,
    one_way_auction,
)
from greencircle.exchange.clearing import Clearing, ClearingHost, Rejection, TradeCtx
from greencircle.exchange.journal import append_command
from greencircle.exchange.models import ExOrder, ExTrade
from greencircle.exchange.models_auctions import (
    AUCTION_KINDS,
    PRICINGS,
    ExAuction,
    ExReserveRequest,
)
from greencircle.exchange.prices import PriceCode
from greencircle.exchange.rules import MarketRules
from greencircle.exchange.service import BookRegistry, ExchangeService, OrderAck
from greencircle.exchange.units import instrument_units, unit_of
from greencircle.kit.ids import new_id
from greencircle.kit.paging import page
from greencircle.kit.timeutil import as_utc, utcnow
from greencircle.registry.errors import FourEyesRequired
from greencircle.registry.ledger import AccountKind
from greencircle.registry.models import RegAccount
from greencircle.registry.posting import Leg
from greencircle.registry.service import RegistryService

#: Languages an auction title may be given in (the console's languages).
TITLE_LANGUAGES = ("en", "zh-CN")

__all__ = ["CALL_CLASSES", "STATE_CODES", "AuctionService", "effective_status"]

#: Instrument classes traded in call auctions.
CALL_CLASSES = ("pollutant",)
#: Rejection codes that are a state conflict (HTTP 409) rather than a bad request (422).
STATE_CODES = frozenset(
    {"auction_not_open", "auction_not_closed", "auction_finished", "order_not_open"}
)
_MODE = {"one_way": "auction", "call": "call"}


def _reject(code: str, detail: str) -> OrderAck:
    return OrderAck("rejected", code, detail)


def effective_status(auction: ExAuction, now: datetime) -> str:
    """The auction's state at ``now``: stored final states, else derived from its window."""
    if auction.status in ("closed", "cleared", "cancelled"):
        return auction.status
    if now < as_utc(auction.opens_at):
        return "scheduled"
    if now < as_utc(auction.closes_at):
        return "open"
    return "closed"


def _ratio(num: int, den: int) -> str | None:
    if den <= 0:
        return None
    return str((Decimal(num) / Decimal(den)).quantize(Decimal("0.01"), ROUND_HALF_UP))


class AuctionService(ClearingHost):
    """Auction commands and views for one database session (never commits).

    Parameters
    ----------
    session
        The unit of work.
    signer
        Transparency-log signer.
    books
        The process-wide :class:`BookRegistry` (its lock serialises every exchange
        command; run commands through :meth:`BookRegistry.transact`).
    registry
        The registry service of the same session (defaults to one built here).
    rules
        Trading rules per market (defaults to the packaged data).
    clock
        Current UTC time.
    enforce_hours
        Refuse bids outside the ``auction`` / ``call`` sessions (``market_closed``).
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
        super().__init__(
            session,
            signer,
            books,
            registry=registry,
            rules=rules,
            clock=clock,
            enforce_hours=enforce_hours,
        )
        self.exchange = ExchangeService(
            session,
            signer,
            books,
            registry=self.registry,
            rules=self.rules,
            clock=clock,
            enforce_hours=enforce_hours,
        )

    # -- scope ----------------------------------------------------------------------------
    def _authority_path(self, market_code: str) -> str:
        market = self.registry.catalog.market(market_code)
        return self.registry.repo.jurisdiction_path(market.authority_jurisdiction)

    def is_authority(self, actor: Actor, market_code: str) -> bool:
        """Whether ``actor`` is a regulator acting for the market's authority (may create
        and run its auctions): :attr:`Perm.EXCHANGE_AUCTION` and a jurisdiction covering
        the market's ``authority_jurisdiction`` (same scoping as the registry)."""
        if Perm.EXCHANGE_AUCTION not in actor.perms or market_code not in self.rules:
            return False
        return actor.is_regulator and actor.covers_path(self._authority_path(market_code))

    def _require_authority(self, actor: Actor, market_code: str) -> None:
        actor.require(Perm.EXCHANGE_AUCTION)
        if not self.is_authority(actor, market_code):
            raise Forbidden(
                f"{actor.username} does not act for the authority of market {market_code}",
                code="exchange.not_authority",
            )

    def _may_run(self, actor: Actor, auction: ExAuction) -> bool:
        """The market's authority or the exchange operator."""
        return Perm.EXCHANGE_OPERATE in actor.perms or self.is_authority(actor, auction.market_code)

    def _auction(self, auction_id: str) -> ExAuction:
        row = self.session.get(ExAuction, auction_id)
        if row is None:
            raise NotFound(f"auction {auction_id!r} not found", code="exchange.auction_not_found")
        return row

    def _org_code(self, org_id: str) -> str:
        org = self.session.get(Organisation, org_id)
        return org.code if org is not None else org_id

    # -- the authority's auction reserve -------------------------------------------------
    def reserve_account(self, actor: Actor, market_code: str) -> RegAccount:
        """Open (or return) the authority's auction reserve account ``<market>.<org>``.

        A holding account of the regulator's organisation. Regulators are not among the
        market's ``eligible_org_types`` (they do not trade), so the registry's
        ``open_holding_account`` refuses them; the account is opened here through the
        registry's repository and logged as ``registry.account.opened`` with ``purpose =
        auction_reserve``. It holds only units issued by :meth:`issue_reserve`.
        """
        self._require_authority(actor, market_code)
        repo = self.registry.repo
        number = f"{market_code}.{repo.org(actor.org_id).code}"
        existed = repo.account_by_number(number)
        acc = repo.ensure_account(
            {
                "number": number,
                "kind": AccountKind.HOLDING.value,
                "market_code": market_code,
                "org_id": actor.org_id,
                "currency": None,
                "is_system": False,
            }
        )
        if existed is None:
            self.registry.poster.append(
                {
                    "type": "registry.account.opened",
                    "org_id": actor.org_id,
                    "subject": f"regacc:{number}",
                    "account": number,
                    "market": market_code,
                    "purpose": "auction_reserve",
                    "by": actor.user_id,
                }
            )
        return acc

    def _reserve_view(self, row: ExReserveRequest) -> dict[str, Any]:
        return {
            "id": row.id,
            "market": row.market_code,
            "product": row.product,
            "vintage": int(row.vintage),
            "instrument": row.instrument_code,
            "quantity": int(row.quantity),
            **instrument_units(row.instrument_code),
            "status": row.status,
            "requested_by": row.requested_by_user_id,
            "decided_by": row.decided_by_user_id,
            "reason": row.reason,
            "tx_id": row.tx_id,
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        }

    def request_reserve(
        self,
        actor: Actor,
        *,
        market: str,
        product: str,
        vintage: int,
        quantity: int,
        project_id: str | None = None,
        region: str | None = None,
        pollutant: str | None = None,
    ) -> dict[str, Any]:
        """Request ``quantity`` [t] new units for the authority's auction reserve account.

        Nothing is issued until a second regulator of the authority approves
        (:meth:`approve_reserve`). Needs :attr:`Perm.REGISTRY_ISSUE` and the market's
        authority (``exchange.not_authority``); ``invalid_quantity`` and the registry's
        errors for a bad instrument. Logged as ``exchange.reserve.requested``.
        """
        actor.require(Perm.REGISTRY_ISSUE)
        self._require_authority(actor, market)
        if type(quantity) is not int or quantity <= 0:
            raise Invalid(f"quantity {quantity!r} must be an integer > 0", code="invalid_quantity")
        inst = self.registry.instrument(
            market, product, vintage, project_id=project_id, region=region, pollutant=pollutant
        )
        row = ExReserveRequest(
            market_code=market,
            product=product,
            vintage=vintage,
            project_id=project_id,
            region=region,
            pollutant=pollutant,
            instrument_code=inst.code,
            quantity=quantity,
            status="pending",
            requested_by_user_id=actor.user_id,
            requested_by_org_id=actor.org_id,
            created_at=self.clock(),
        )
        self.session.add(row)
        self.session.flush()
        self._log_reserve(row, "requested")
        return self._reserve_view(row)

    def _log_reserve(self, row: ExReserveRequest, event: str) -> None:
        AuditLog(self.session, self.signer).append(
            [
                {
                    "type": f"exchange.reserve.{event}",
                    "org_id": row.requested_by_org_id,
                    "subject": f"exreserve:{row.id}",
                    "market": row.market_code,
                    "instrument": row.instrument_code,
                    "quantity": int(row.quantity),
                    "requested_by": row.requested_by_user_id,
                    "decided_by": row.decided_by_user_id,
                    "tx_id": row.tx_id,
                }
            ]
        )

    def _pending_reserve(self, actor: Actor, request_id: str) -> ExReserveRequest:
        actor.require(Perm.REGISTRY_ISSUE)
        row = self.session.get(ExReserveRequest, request_id)
        if row is None:
            raise NotFound(
                f"reserve request {request_id!r} not found", code="exchange.reserve_not_found"
            )
        self._require_authority(actor, row.market_code)
        if row.status != "pending":
            raise Conflict(
                f"reserve request {request_id} is {row.status}", code="exchange.reserve_not_pending"
            )
        if row.requested_by_user_id == actor.user_id:
            raise FourEyesRequired("the requester may not decide; a second regulator must")
        return row

    def approve_reserve(self, actor: Actor, request_id: str) -> dict[str, Any]:
        """A second regulator of the authority approves: the units are issued now.

        One ``issue`` transaction from the market's issuance account into the authority's
        reserve account (double entry, a new serial block with origin ``AR<vintage>-<jur>``,
        a ``registry.issue`` log leaf with ``purpose = auction_reserve``).
        Errors: ``exchange.reserve_not_found`` (404), ``exchange.reserve_not_pending``
        (409), ``four_eyes_required`` (403, the requester), ``exchange.not_authority``.
        """
        row = self._pending_reserve(actor, request_id)
        inst = self.registry.instrument(
            row.market_code,
            row.product,
            int(row.vintage),
            project_id=row.project_id,
            region=row.region,
            pollutant=row.pollutant,
        )
        acc = self.reserve_account(actor, row.market_code)
        source = self.registry.repo.ensure_account(
            {
                "number": f"{row.market_code}.SYS.{AccountKind.ISSUANCE.value.upper()}",
                "kind": AccountKind.ISSUANCE.value,
                "market_code": row.market_code,
                "org_id": None,
                "currency": None,
                "is_system": True,
            }
        )
        origin = f"AR{int(row.vintage)}-{actor.org_jurisdiction_code}"[:40]
        leg = Leg(inst, source, acc, int(row.quantity) * 10 ** int(inst.scale), origin)
        tx = self.registry.poster.post(
            kind="issue",
            market_code=row.market_code,
            legs=[leg],
            balances=self.registry.poster.lock([leg]),
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            event_org_id=actor.org_id,
            reference=f"auction-reserve:{row.id}",
            event={"purpose": "auction_reserve", "requested_by": row.requested_by_user_id},
        )
        row.status, row.decided_by_user_id, row.decided_at = "issued", actor.user_id, self.clock()
        row.tx_id = tx.tx_id
        self._log_reserve(row, "issued")
        return self._reserve_view(row) | {
            "account": acc.number,
            "leaf_index": tx.leaf_index,
            "serials": [s for leg_view in tx.legs for s in leg_view.serials],
        }

    def reject_reserve(self, actor: Actor, request_id: str, reason: str) -> dict[str, Any]:
        """A second regulator of the authority rejects the request (nothing is issued)."""
        row = self._pending_reserve(actor, request_id)
        row.status, row.decided_by_user_id, row.decided_at = "rejected", actor.user_id, self.clock()
        row.reason = reason[:400]
        self._log_reserve(row, "rejected")
        return self._reserve_view(row)

    def reserve_requests(
        self, actor: Actor, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Reserve requests of the markets the actor is the authority of, newest first."""
        actor.require(Perm.EXCHANGE_AUCTION)
        markets = [m for m in self.rules if self.is_authority(actor, m)]
        conds: list[ColumnElement[bool]] = [ExReserveRequest.market_code.in_(markets)]
        if status:
            conds.append(ExReserveRequest.status == status)
        rows, total = page(
            self.session,
            ExReserveRequest,
            conds,
            [ExReserveRequest.created_at.desc(), ExReserveRequest.id.desc()],
            limit,
            offset,
        )
        return [self._reserve_view(r) for r in rows], total

    # -- views ----------------------------------------------------------------------------
    def view(self, auction: ExAuction) -> dict[str, Any]:
        """Public JSON view of an auction (no bids; the public result once cleared)."""
        fmt = self.rules[auction.market_code].scale.format

        def price(ticks: int | None) -> str | None:
            return fmt(int(ticks)) if ticks is not None else None

        result = auction.result or {}
        return {
            "id": auction.id,
            "kind": auction.kind,
            "market": auction.market_code,
            "instrument": auction.instrument_code,
            "title": auction.title,
            "titles": dict(auction.titles or {}),
            **instrument_units(auction.instrument_code),
            "pricing": auction.pricing,
            "side": auction.side,
            "offered_quantity": int(auction.offered_quantity),
            "reserve_price": price(auction.reserve_price_ticks),
            "max_per_bidder": (
                int(auction.max_per_bidder) if auction.max_per_bidder is not None else None
            ),
            "min_bid_quantity": int(auction.min_bid_quantity),
            "reference_price": price(auction.reference_price_ticks),
            "opens_at": as_utc(auction.opens_at).isoformat(),
            "closes_at": as_utc(auction.closes_at).isoformat(),
            "status": effective_status(auction, self.clock()),
            "authority_org": self._org_code(auction.created_by_org_id),
            "clearing_price": price(auction.clearing_price_ticks),
            "sold_quantity": int(auction.sold_quantity),
            "result": result.get("public"),
            "created_at": as_utc(auction.created_at).isoformat() if auction.created_at else None,
            "cleared_at": as_utc(auction.cleared_at).isoformat() if auction.cleared_at else None,
        }

    def _bid_rows(self, auction: ExAuction, org_id: str | None = None) -> list[ExOrder]:
        conds = [
            ExOrder.venue_ref == auction.id,
            ExOrder.mode == _MODE[auction.kind],
            ExOrder.id != (auction.seller_order_id or ""),
        ]
        if org_id is not None:
            conds.append(ExOrder.org_id == org_id)
        return list(
            self.session.scalars(select(ExOrder).where(*conds).order_by(ExOrder.priority_seq))
        )

    def _bid_view(self, row: ExOrder, *, with_org: bool = False) -> dict[str, Any]:
        out = self.exchange.order_view(row, self.rules[row.market_code])
        out["auction_id"] = row.venue_ref
        if with_org:
            out["org"] = self._org_code(row.org_id)
        return out

    def list_auctions(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        market: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Auctions (public), newest first, and their total; ``status`` is the effective
        state (``scheduled``, ``open``, ``closed``, ``cleared``, ``cancelled``)."""
        actor.require(Perm.EXCHANGE_READ)
        now = self.clock()
        conds: list[Any] = []
        if status == "scheduled":
            conds += [ExAuction.status == "scheduled", ExAuction.opens_at > now]
        elif status == "open":
            conds += [
                ExAuction.status == "scheduled",
                ExAuction.opens_at <= now,
                ExAuction.closes_at > now,
            ]
        elif status == "closed":
            conds.append(
                or_(
                    ExAuction.status == "closed",
                    and_(ExAuction.status == "scheduled", ExAuction.closes_at <= now),
                )
            )
        elif status is not None:
            conds.append(ExAuction.status == status)
        if market:
            conds.append(ExAuction.market_code == market)
        if kind:
            conds.append(ExAuction.kind == kind)
        rows, total = page(
            self.session,
            ExAuction,
            conds,
            [ExAuction.created_at.desc(), ExAuction.id.desc()],
            limit,
            offset,
        )
        return [self.view(r) for r in rows], total

    def get(self, actor: Actor, auction_id: str) -> dict[str, Any]:
        """An auction with the caller's own bids; the authority and the operator also see
        every bid, **after clearing only** (bids are sealed until then)."""
        actor.require(Perm.EXCHANGE_READ)
        a = self._auction(auction_id)
        out = self.view(a)
        out["my_bids"] = [self._bid_view(r) for r in self._bid_rows(a, actor.org_id)]
        runs = self._may_run(actor, a)
        out["is_authority"] = self.is_authority(actor, a.market_code)
        out["can_clear"] = runs
        out["all_bids"] = (
            [self._bid_view(r, with_org=True) for r in self._bid_rows(a)]
            if runs and a.status == "cleared"
            else None
        )
        return out

    def results(self, actor: Actor, auction_id: str) -> dict[str, Any]:
        """Result of a cleared auction: the public part, the caller's own awards and (the
        authority, the operator) every bid with its award. ``exchange.auction_not_cleared``
        (409) before clearing."""
        actor.require(Perm.EXCHANGE_READ)
        a = self._auction(auction_id)
        if a.status != "cleared" or a.result is None:
            raise Conflict(
                f"auction {auction_id} is {effective_status(a, self.clock())}",
                code="exchange.auction_not_cleared",
            )
        fmt = self.rules[a.market_code].scale.format
        awards = [{**w, "price": fmt(int(w["price_ticks"]))} for w in a.result.get("awards", [])]
        out: dict[str, Any] = {
            "auction": self.view(a),
            "public": a.result["public"],
            "my_awards": [
                {k: v for k, v in w.items() if k != "org_id"}
                for w in awards
                if w["org_id"] == actor.org_id
            ],
            "all_bids": None,
        }
        if self._may_run(actor, a):
            won = {w["order_id"]: w for w in awards}
            out["all_bids"] = [
                self._bid_view(r, with_org=True) | {"awarded": won.get(r.id, {}).get("quantity", 0)}
                for r in self._bid_rows(a)
            ]
        return out

    # -- commands -------------------------------------------------------------------------
    def _price(self, ctx: TradeCtx, price: str | None) -> int | OrderAck:
        if price is None or price == "":
            return _reject("price_required", "a price is required")
        got = ctx.rules.scale.ticks_or_code(price)
        if isinstance(got, PriceCode):
            return _reject(got.value, got.explain(price, ctx.rules.tick))
        return got

    def _quantity(self, ctx: TradeCtx, quantity: object, what: str) -> int | OrderAck:
        u = unit_of(ctx.inst.instrument_class)
        if type(quantity) is not int or quantity <= 0:
            return _reject("invalid_quantity", f"{what} {quantity!r} must be an integer > 0 [{u}]")
        if quantity % ctx.rules.lot:
            return _reject(
                "lot_size", f"{what} {quantity} is not a multiple of the lot {ctx.rules.lot} {u}"
            )
        return quantity

    def _auction_ctx(self, a: ExAuction) -> TradeCtx:
        """The trading context of an existing auction (listed when it was created)."""
        tc = self.clearing.context(a.market_code, a.instrument_code)
        assert not isinstance(tc, Rejection)
        return tc

    def _journal(
        self, actor: Actor, a: ExAuction, command: str, order_id: str, payload: dict[str, Any]
    ) -> int:
        """Append ``actor``'s ``command`` on auction ``a`` to the exchange journal."""
        return append_command(
            self.session,
            market=a.market_code,
            instrument=a.instrument_code,
            command=command,
            order_id=order_id,
            payload=payload,
            actor_user_id=actor.user_id,
            org_id=actor.org_id,
        )

    def _new_row(
        self,
        actor: Actor,
        ctx: TradeCtx,
        auction_id: str,
        mode: str,
        side: str,
        price_ticks: int,
        quantity: int,
        client_order_id: str | None,
    ) -> ExOrder:
        return Clearing.new_order(
            ctx,
            actor,
            side=side,
            kind="limit",
            tif="GTC",
            price_ticks=price_ticks,
            quantity=quantity,
            mode=mode,
            now=self.clock(),
            venue_ref=auction_id,
            client_order_id=client_order_id,
        )

    def create(
        self,
        actor: Actor,
        *,
        market: str,
        instrument: str,
        title: str,
        opens_at: datetime,
        titles: Mapping[str, str] | None = None,
        closes_at: datetime,
        kind: str = "one_way",
        pricing: str = "uniform",
        offered_quantity: int = 0,
        reserve_price: str | None = None,
        max_per_bidder: int | None = None,
        min_bid_quantity: int | None = None,
        reference_price: str | None = None,
        client_ref: str | None = None,
    ) -> OrderAck:
        """Create an auction; ``order`` of the answer is the auction's view.

        One-way (``kind='one_way'``): the market's authority only (regulator,
        :attr:`Perm.EXCHANGE_AUCTION`, jurisdiction covering the market's authority
        jurisdiction; others ``Forbidden exchange.not_authority``). ``offered_quantity``
        units are reserved at once from the authority's reserve account.

        Call (``kind='call'``): the exchange operator or the market's authority, for an
        instrument of class ``pollutant``, with a ``reference_price``.

        ``titles``: the title per console language (``{"en": ..., "zh-CN": ...}``), shown
        instead of ``title`` on pages in that language; never concatenated.

        Rejections: ``invalid_auction``, ``invalid_schedule``, ``unknown_market``,
        ``unknown_instrument``, ``instrument_not_eligible``, ``invalid_quantity``,
        ``lot_size``, price codes (``price_required``, ``off_tick_price``, ...),
        ``not_eligible`` / ``insufficient_units`` (the authority's reserve).
        """
        if kind == "call" and Perm.EXCHANGE_OPERATE in actor.perms:
            pass
        else:
            actor.require(Perm.EXCHANGE_AUCTION)
        if client_ref is not None:
            prior = self.session.scalar(
                select(ExAuction).where(
                    ExAuction.created_by_org_id == actor.org_id, ExAuction.client_ref == client_ref
                )
            )
            if prior is not None:
                return OrderAck("accepted", "created", None, self.view(prior), replayed=True)
        if kind not in AUCTION_KINDS:
            return _reject("invalid_auction", f"kind must be one of {list(AUCTION_KINDS)}")
        tc = self.clearing.context(market, instrument)
        if isinstance(tc, Rejection):
            return _reject(tc.code, tc.detail)
        if Perm.EXCHANGE_OPERATE not in actor.perms or kind == "one_way":
            self._require_authority(actor, market)
        now = self.clock()
        if opens_at.tzinfo is None or closes_at.tzinfo is None:
            return _reject("invalid_schedule", "opens_at and closes_at need a time zone")
        if not (as_utc(closes_at) > as_utc(opens_at) and as_utc(closes_at) > now):
            return _reject("invalid_schedule", "closes_at must be after opens_at and in future")
        if not title.strip():
            return _reject("invalid_auction", "a title is required")
        named = {k: v.strip()[:200] for k, v in (titles or {}).items() if v.strip()}
        if set(named) - set(TITLE_LANGUAGES):
            return _reject("invalid_auction", f"titles are given in {list(TITLE_LANGUAGES)}")
        lot = tc.rules.lot
        min_q = lot if min_bid_quantity is None else min_bid_quantity
        got_min = self._quantity(tc, min_q, "min_bid_quantity")
        if isinstance(got_min, OrderAck):
            return got_min
        auction = ExAuction(
            id=new_id(),
            kind=kind,
            market_code=market,
            instrument_code=tc.inst.code,
            instrument_id=tc.inst.id,
            title=title.strip()[:200],
            titles=named or None,
            pricing="uniform",
            side="two_sided" if kind == "call" else "sell",
            offered_quantity=0,
            reserve_price_ticks=None,
            max_per_bidder=None,
            min_bid_quantity=got_min,
            reference_price_ticks=None,
            opens_at=as_utc(opens_at),
            closes_at=as_utc(closes_at),
            status="scheduled",
            created_by_org_id=actor.org_id,
            created_by_user_id=actor.user_id,
            client_ref=client_ref,
            clearing_price_ticks=None,
            sold_quantity=0,
            result=None,
            seller_order_id=None,
            created_at=now,
            cleared_at=None,
        )
        seller: ExOrder | None = None
        if kind == "call":
            if tc.inst.instrument_class not in CALL_CLASSES:
                return _reject(
                    "instrument_not_eligible",
                    f"call auctions trade {list(CALL_CLASSES)} instruments, not "
                    f"{tc.inst.instrument_class}",
                )
            ref = self._price(tc, reference_price)
            if isinstance(ref, OrderAck):
                return ref
            auction.reference_price_ticks = ref
        else:
            if pricing not in PRICINGS:
                return _reject("invalid_auction", f"pricing must be one of {list(PRICINGS)}")
            offered = self._quantity(tc, offered_quantity, "offered_quantity")
            if isinstance(offered, OrderAck):
                return offered
            reserve = self._price(tc, reserve_price)
            if isinstance(reserve, OrderAck):
                return reserve
            if max_per_bidder is not None:
                cap = self._quantity(tc, max_per_bidder, "max_per_bidder")
                if isinstance(cap, OrderAck):
                    return cap
                if cap < got_min:
                    return _reject("invalid_auction", "max_per_bidder is below min_bid_quantity")
                auction.max_per_bidder = cap
            auction.pricing = pricing
            auction.offered_quantity = offered
            auction.reserve_price_ticks = reserve
            engine = self.clearing.engine_actor(actor, tc.rules)
            seller = self._new_row(actor, tc, auction.id, "auction", "sell", reserve, offered, None)
            bad = self.clearing.reserve_sell(tc, actor, engine, seller, offered)
            if bad is not None:
                return _reject(bad.code, bad.detail)
            auction.seller_order_id = seller.id
        seq = self._journal(
            actor,
            auction,
            "auction_create",
            auction.id,
            {
                "kind": kind,
                "pricing": auction.pricing,
                "offered_quantity": int(auction.offered_quantity),
                "reserve_price_ticks": auction.reserve_price_ticks,
                "max_per_bidder": auction.max_per_bidder,
                "min_bid_quantity": int(auction.min_bid_quantity),
                "reference_price_ticks": auction.reference_price_ticks,
                "opens_at": as_utc(opens_at).isoformat(),
                "closes_at": as_utc(closes_at).isoformat(),
                "seller_order_id": auction.seller_order_id,
                "client_ref": client_ref,
            },
        )
        self.session.add(auction)
        if seller is not None:
            seller.priority_seq = seq
            self.session.add(seller)
        self.session.flush()
        return OrderAck("accepted", "created", None, self.view(auction))

    def bid(
        self,
        actor: Actor,
        auction_id: str,
        *,
        price: str | None,
        quantity: int,
        side: str = "buy",
        client_order_id: str | None = None,
        funding_currency: str | None = None,
    ) -> OrderAck:
        """Enter a sealed bid (one-way: ``side='buy'``) or a call-auction order.

        A buy reserves price × quantity + fee (``funding_currency``: FX-funded, see
        :mod:`.clearing`); a sell reserves the units. ``order`` is the bid's view.

        Rejections (no effect): ``auction_not_open``, ``market_closed``,
        ``invalid_order``, ``invalid_quantity``, ``lot_size``, ``below_min_bid``,
        ``above_bidder_cap``, price codes, ``below_reserve``, ``self_trade_prevented``
        (an organisation with an open order on the other side of a call auction),
        ``not_eligible``, ``insufficient_funds``, ``insufficient_units``,
        ``resale_restricted``, ``fx_not_supported``, ``fx_rate_unavailable``,
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
                    "accepted", prior.status, None, self._bid_view(prior), replayed=True
                )
        a = self._auction(auction_id)
        state = effective_status(a, self.clock())
        if state != "open":
            return _reject("auction_not_open", f"auction {a.id} is {state}")
        tc = self.clearing.context(a.market_code, a.instrument_code)
        if isinstance(tc, Rejection):
            return _reject(tc.code, tc.detail)
        mode = _MODE[a.kind]
        if (closed := self.clearing.check_session(tc, mode)) is not None:
            return _reject(closed.code, closed.detail)
        if side not in (("buy",) if a.kind == "one_way" else ("buy", "sell")):
            return _reject("invalid_order", f"side {side!r} is not accepted in a {a.kind} auction")
        if side == "sell" and funding_currency not in (None, tc.currency):
            return _reject("invalid_order", "funding_currency applies to buy orders only")
        qty = self._quantity(tc, quantity, "quantity")
        if isinstance(qty, OrderAck):
            return qty
        u = unit_of(tc.inst.instrument_class)
        if qty < int(a.min_bid_quantity):
            return _reject(
                "below_min_bid",
                f"quantity {qty} {u} is below the minimum bid {a.min_bid_quantity} {u}",
            )
        price_ticks = self._price(tc, price)
        if isinstance(price_ticks, OrderAck):
            return price_ticks
        fmt = tc.rules.scale.format
        mine = [r for r in self._bid_rows(a, actor.org_id) if r.status == "open"]
        if a.kind == "one_way":
            assert a.reserve_price_ticks is not None
            if price_ticks < int(a.reserve_price_ticks):
                return _reject(
                    "below_reserve",
                    f"price {fmt(price_ticks)} is below the reserve price "
                    f"{fmt(int(a.reserve_price_ticks))}",
                )
            if a.max_per_bidder is not None:
                bid_total = sum(int(r.quantity) for r in mine) + qty
                if bid_total > int(a.max_per_bidder):
                    return _reject(
                        "above_bidder_cap",
                        f"the organisation's bids would total {bid_total} {u}, above the cap "
                        f"of {a.max_per_bidder} {u} per bidder",
                    )
        elif any(r.side != side for r in mine):
            return _reject(
                "self_trade_prevented",
                "the organisation has an open order on the other side of this call auction",
            )
        engine = self.clearing.engine_actor(actor, tc.rules)
        row = self._new_row(actor, tc, a.id, mode, side, price_ticks, qty, client_order_id)
        if side == "buy":
            need = self.clearing.cash_needed(tc, price_ticks, qty)
            bad = self.clearing.reserve_buy(tc, actor, engine, row, need, funding_currency)
        else:
            bad = self.clearing.reserve_sell(tc, actor, engine, row, qty)
        if bad is not None:
            return _reject(bad.code, bad.detail)
        row.priority_seq = self._journal(
            actor,
            a,
            "auction_bid",
            row.id,
            {
                "auction_id": a.id,
                "kind": a.kind,
                "side": side,
                "price_ticks": price_ticks,
                "quantity": qty,
                "client_order_id": client_order_id,
                "funding_currency": row.funding_currency,
                "fx_rate_id": row.fx_rate_id,
            },
        )
        self.session.add(row)
        self.session.flush()
        return OrderAck("accepted", "resting", None, self._bid_view(row))

    def own_bid(self, actor: Actor, order_id: str) -> ExOrder:
        """An auction bid of the caller's organisation (others' bids are ``NotFound``)."""
        row = self.session.get(ExOrder, order_id)
        if (
            row is None
            or row.org_id != actor.org_id
            or row.mode not in ("auction", "call")
            or (row.side == "sell" and row.mode == "auction")
        ):
            raise NotFound(f"bid {order_id!r} not found", code="exchange.order_not_found")
        return row

    def withdraw_bid(self, actor: Actor, order_id: str) -> OrderAck:
        """Withdraw an own bid while the auction is open; releases its hold.

        Rejections: ``auction_not_open``, ``order_not_open``.
        """
        actor.require(Perm.EXCHANGE_TRADE)
        row = self.own_bid(actor, order_id)
        a = self._auction(str(row.venue_ref))
        state = effective_status(a, self.clock())
        if state != "open":
            return _reject("auction_not_open", f"auction {a.id} is {state}")
        if row.status != "open":
            return _reject("order_not_open", f"bid {order_id} is {row.status}")
        tc = self._auction_ctx(a)
        self._journal(actor, a, "auction_withdraw", row.id, {"auction_id": a.id})
        engine = self.clearing.engine_actor(actor, tc.rules)
        row.cancelled_quantity = int(row.open_quantity)
        row.open_quantity = 0
        row.status = "cancelled"
        row.reason = "cancelled_by_owner"
        row.updated_at = self.clock()
        self.clearing.release(engine, row)
        self.session.flush()
        return OrderAck("accepted", "cancelled", None, self._bid_view(row))

    def clear(self, actor: Actor, auction_id: str, *, close_now: bool = False) -> OrderAck:
        """Close (if ``close_now``) and clear an auction; settle every award.

        Who: the market's authority or the exchange operator, once ``closes_at`` has
        passed. ``close_now=True`` (the authority only; the operator gets ``Forbidden
        exchange.not_authority``) closes the auction early, at the current time, and
        clears it in the same transaction. ``order`` of the answer is the auction's view
        with its public result; ``trades`` are the settled trades.

        Rejections: ``auction_finished`` (already cleared or cancelled),
        ``auction_not_closed`` (before ``closes_at`` without ``close_now``).
        """
        a = self._auction(auction_id)
        if not self._may_run(actor, a):
            if Perm.EXCHANGE_AUCTION in actor.perms:
                raise Forbidden(
                    f"{actor.username} does not act for the authority of {a.market_code}",
                    code="exchange.not_authority",
                )
            actor.require(Perm.EXCHANGE_OPERATE)
        if close_now and not self.is_authority(actor, a.market_code):
            raise Forbidden(
                "only the market's authority may close an auction early",
                code="exchange.not_authority",
            )
        now = self.clock()
        if a.status in ("cleared", "cancelled"):
            return _reject("auction_finished", f"auction {a.id} is {a.status}")
        if now < as_utc(a.closes_at):
            if not close_now:
                return _reject(
                    "auction_not_closed",
                    f"auction {a.id} closes at {as_utc(a.closes_at).isoformat()}",
                )
            a.closes_at = now
            if now < as_utc(a.opens_at):
                a.opens_at = now
        tc = self._auction_ctx(a)
        seq = self._journal(actor, a, "auction_clear", a.id, {"close_now": close_now})
        engine = self.clearing.engine_actor(actor, tc.rules)
        rows = [r for r in self._bid_rows(a) if r.status == "open"]
        if a.kind == "one_way":
            trades, public, awards = self._clear_one_way(tc, engine, a, rows, seq, now)
        else:
            trades, public, awards = self._clear_call(tc, engine, a, rows, seq, now)
        for r in rows:
            self._finish(engine, r, now)
        self.session.flush()
        self.clearing.log_trades(tc, trades, seq)
        a.status = "cleared"
        a.cleared_at = now
        a.result = {"public": public, "awards": awards}
        fmt = tc.rules.scale.format
        AuditLog(self.session, self.signer).append(
            [
                {
                    "type": "exchange.auction_result",
                    "subject": f"exauction:{a.id}",
                    "auction_id": a.id,
                    "seq": seq,
                    "kind": a.kind,
                    "market": a.market_code,
                    "instrument": a.instrument_code,
                    **public,
                    "awards": [
                        {
                            "order_id": w["order_id"],
                            "side": w["side"],
                            "quantity": w["quantity"],
                            "price": fmt(int(w["price_ticks"])),
                        }
                        for w in awards
                    ],
                    "trade_ids": [t.id for t in trades],
                }
            ]
        )
        self.session.flush()
        return OrderAck(
            "accepted",
            "cleared",
            None,
            self.view(a),
            [self.exchange.trade_view(t) for t in trades],
        )

    def _finish(self, engine: Actor, row: ExOrder, now: datetime) -> None:
        """End an order at clearing: the unfilled rest is cancelled and released."""
        rest = int(row.quantity) - int(row.filled_quantity)
        row.open_quantity = 0
        row.cancelled_quantity = rest
        row.updated_at = now
        if rest == 0:
            row.status = "filled"
        else:
            row.status = "cancelled"
            row.reason = "auction_unfilled"
        self.clearing.release(engine, row)

    def _clear_one_way(
        self,
        tc: TradeCtx,
        engine: Actor,
        a: ExAuction,
        rows: list[ExOrder],
        seq: int,
        now: datetime,
    ) -> tuple[list[ExTrade], dict[str, Any], list[dict[str, Any]]]:
        seller = self.session.get(ExOrder, a.seller_order_id)
        if seller is None:
            raise Conflict(f"auction {a.id} has no offer row", code="exchange.auction_corrupt")
        assert a.reserve_price_ticks is not None
        bids = [
            Bid(r.id, r.org_id, int(r.price_ticks or 0), int(r.quantity), int(r.priority_seq))
            for r in rows
        ]
        res = one_way_auction(
            bids,
            int(a.offered_quantity),
            int(a.reserve_price_ticks),
            pricing=Pricing(a.pricing),
            bidder_cap=int(a.max_per_bidder) if a.max_per_bidder is not None else None,
        )
        by_id = {r.id: r for r in rows}
        trades: list[ExTrade] = []
        awards: list[dict[str, Any]] = []
        for w in res.awards:
            buy = by_id[w.bid_id]
            trades.append(
                self.clearing.settle(
                    tc,
                    engine,
                    buy,
                    seller,
                    w.quantity,
                    w.price_ticks,
                    mode="auction",
                    aggressor="buy",
                    seq=seq,
                    now=now,
                    sets_close=False,
                )
            )
            awards.append(
                {
                    "order_id": w.bid_id,
                    "org_id": w.bidder,
                    "side": "buy",
                    "quantity": w.quantity,
                    "price_ticks": w.price_ticks,
                }
            )
        self._finish(engine, seller, now)
        demand = sum(b.quantity for b in bids if b.price_ticks >= int(a.reserve_price_ticks))
        fmt = tc.rules.scale.format
        public = {
            "clearing_price": (
                fmt(res.clearing_price_ticks) if res.clearing_price_ticks is not None else None
            ),
            "pricing": a.pricing,
            "offered": int(a.offered_quantity),
            "sold": res.sold,
            "unsold": res.unsold,
            "bids": len(bids),
            "bidders": len({b.bidder for b in bids}),
            "winners": len({w.bidder for w in res.awards}),
            "demand": demand,
            "bid_to_cover": _ratio(demand, int(a.offered_quantity)),
            "notional_minor": sum(int(t.notional_minor) for t in trades),
        }
        a.clearing_price_ticks = res.clearing_price_ticks
        a.sold_quantity = res.sold
        return trades, public, awards

    def _clear_call(
        self,
        tc: TradeCtx,
        engine: Actor,
        a: ExAuction,
        rows: list[ExOrder],
        seq: int,
        now: datetime,
    ) -> tuple[list[ExTrade], dict[str, Any], list[dict[str, Any]]]:
        orders = [
            CallOrder(
                r.id,
                r.org_id,
                r.side,
                int(r.price_ticks or 0),
                int(r.quantity),
                int(r.priority_seq),
            )
            for r in rows
        ]
        res = call_auction(orders, a.reference_price_ticks)
        by_id = {r.id: r for r in rows}
        buys = [(by_id[f.order_id], f.quantity) for f in res.fills if f.side == "buy"]
        sells = [(by_id[f.order_id], f.quantity) for f in res.fills if f.side == "sell"]
        trades: list[ExTrade] = []
        i = j = 0
        left_b = buys[0][1] if buys else 0
        left_s = sells[0][1] if sells else 0
        while res.price_ticks is not None and i < len(buys) and j < len(sells):
            q = min(left_b, left_s)
            trades.append(
                self.clearing.settle(
                    tc,
                    engine,
                    buys[i][0],
                    sells[j][0],
                    q,
                    res.price_ticks,
                    mode="call",
                    aggressor="buy",
                    seq=seq,
                    now=now,
                    sets_close=True,
                )
            )
            left_b -= q
            left_s -= q
            if left_b == 0:
                i += 1
                left_b = buys[i][1] if i < len(buys) else 0
            if left_s == 0:
                j += 1
                left_s = sells[j][1] if j < len(sells) else 0
        awards = [
            {
                "order_id": f.order_id,
                "org_id": f.account,
                "side": f.side,
                "quantity": f.quantity,
                "price_ticks": res.price_ticks,
            }
            for f in res.fills
        ]
        fmt = tc.rules.scale.format
        public = {
            "clearing_price": fmt(res.price_ticks) if res.price_ticks is not None else None,
            "reference_price": (
                fmt(int(a.reference_price_ticks)) if a.reference_price_ticks is not None else None
            ),
            "volume": res.volume,
            "imbalance": res.imbalance,
            "buy_orders": sum(1 for o in orders if o.side == "buy"),
            "sell_orders": sum(1 for o in orders if o.side == "sell"),
            "participants": len({o.account for o in orders}),
            "buy_quantity": sum(o.quantity for o in orders if o.side == "buy"),
            "sell_quantity": sum(o.quantity for o in orders if o.side == "sell"),
            "notional_minor": sum(int(t.notional_minor) for t in trades),
        }
        a.clearing_price_ticks = res.price_ticks
        a.sold_quantity = res.volume
        return trades, public, awards

    def cancel(self, actor: Actor, auction_id: str) -> OrderAck:
        """Cancel an auction that is not cleared (its authority or the exchange operator):
        every open bid and the authority's offer are cancelled and their holds released.

        Rejection: ``auction_finished``.
        """
        a = self._auction(auction_id)
        if not self._may_run(actor, a):
            if Perm.EXCHANGE_AUCTION in actor.perms:
                raise Forbidden(
                    f"{actor.username} does not act for the authority of {a.market_code}",
                    code="exchange.not_authority",
                )
            actor.require(Perm.EXCHANGE_OPERATE)
        if a.status in ("cleared", "cancelled"):
            return _reject("auction_finished", f"auction {a.id} is {a.status}")
        tc = self._auction_ctx(a)
        self._journal(actor, a, "auction_cancel", a.id, {})
        engine = self.clearing.engine_actor(actor, tc.rules)
        now = self.clock()
        rows = [r for r in self._bid_rows(a) if r.status == "open"]
        seller = self.session.get(ExOrder, a.seller_order_id) if a.seller_order_id else None
        if seller is not None and seller.status == "open":
            rows.append(seller)
        for r in rows:
            self._finish(engine, r, now)
            r.reason = "auction_cancelled"
        a.status = "cancelled"
        self.session.flush()
        return OrderAck("accepted", "cancelled", None, self.view(a))

    def check_exists(self, auction_id: str) -> None:
        """Raise ``NotFound`` unless the auction exists (HTTP checks before the lock)."""
        self._auction(auction_id)
