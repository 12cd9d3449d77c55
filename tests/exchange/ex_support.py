"""Helpers for the exchange service tests: a demo world with units, cash and traders."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from greencircle.audit.keys import LogSigner, signer_from
from greencircle.auth.models import Organisation, User, UserRole
from greencircle.auth.policy import Actor
from greencircle.auth.service import actor_for_user, hash_password
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.kit.timeutil import utcnow
from greencircle.registry.integrity import verify_ledger
from greencircle.registry.models import RegAccount, RegBalance, RegInstrument
from greencircle.registry.service import AllocationInput, RegistryService
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work
from tests_support import DEMO_PASSWORD, Api, make_api, make_settings

T = TypeVar("T")

SIGNER = LogSigner("test.greencircle/exchange", Ed25519PrivateKey.generate())
MARKET = "CN-CQ"
PRODUCT = "CQEA"
YEAR = 2025
INSTRUMENT = f"{MARKET}:{PRODUCT}:{YEAR}"
SELLER = "CQ-CEM-01"
BUYER = "CQ-STE-01"


def load_actor(session: Any, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    return actor_for_user(user, auth_method="test", token_id="")


def org_id(session: Any, code: str) -> str:
    oid = session.scalar(select(Organisation.id).where(Organisation.code == code))
    assert oid is not None, code
    return str(oid)


def fund(
    url: str,
    signer: LogSigner,
    *,
    units: dict[str, int],
    cash_minor: dict[str, int],
) -> None:
    """Allocate CQEA 2025 allowances and deposit CNY to demo organisations (by code)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as s:
            if s.scalar(select(User).where(User.username == "cq-eeb-2")) is None:
                s.add(
                    User(
                        username="cq-eeb-2",
                        display_name="cq-eeb-2",
                        password_hash=hash_password(DEMO_PASSWORD),  # the demo's second regulator
                        organisation_id=org_id(s, "CQ-EEB"),
                        role_rows=[UserRole(role="regulator")],
                    )
                )
        if units:
            with unit_of_work(factory) as s:
                svc = RegistryService(s, signer)
                plan = svc.create_allocation_plan(
                    load_actor(s, "cq-eeb"),
                    market_code=MARKET,
                    year=YEAR,
                    product=PRODUCT,
                    lines=[
                        AllocationInput(org_id(s, code), "grandfathering", Decimal(q))
                        for code, q in units.items()
                    ],
                )
            with unit_of_work(factory) as s:
                RegistryService(s, signer).approve_allocation_plan(
                    load_actor(s, "cq-eeb-2"), plan.plan_id
                )
            with unit_of_work(factory) as s:
                RegistryService(s, signer).issue_allocation(load_actor(s, "cq-eeb"), plan.plan_id)
        with unit_of_work(factory) as s:
            svc = RegistryService(s, signer)
            bank = load_actor(s, "settle-01")
            for code, amount in cash_minor.items():
                svc.deposit(
                    bank,
                    org_id=org_id(s, code),
                    currency="CNY",
                    amount_minor=amount,
                    reference=f"test deposit {code}",
                )
    finally:
        engine.dispose()


class Market:
    """A demo database with funded traders, the exchange service and balance helpers."""

    def __init__(
        self,
        url: str,
        *,
        signer: LogSigner = SIGNER,
        fee_bps: str | None = None,
        lot: int = 1,
        enforce_hours: bool = False,
    ) -> None:
        self.url = url
        self.enforce_hours = enforce_hours
        self.signer = signer
        self.engine = make_engine(url)
        self.factory = make_session_factory(self.engine)
        self.books = BookRegistry()
        self.rules: Any = None
        if fee_bps is not None or lot != 1:
            import dataclasses

            from greencircle.exchange.rules import load_rules

            self.rules = {
                k: dataclasses.replace(
                    v, fee_bps=Decimal(fee_bps) if fee_bps is not None else v.fee_bps, lot=lot
                )
                for k, v in load_rules().items()
            }
        self._actors: dict[str, Actor] = {}
        self.now: datetime | None = None

    def clock(self) -> datetime:
        return self.now or utcnow()

    def close(self) -> None:
        self.engine.dispose()

    def actor(self, username: str) -> Actor:
        if username not in self._actors:
            with unit_of_work(self.factory) as s:
                self._actors[username] = load_actor(s, username)
        return self._actors[username]

    def org(self, code: str) -> str:
        with unit_of_work(self.factory) as s:
            return org_id(s, code)

    def run(self, fn: Callable[[ExchangeService], T]) -> T:
        """Run a command in its own transaction under the book lock (like the API)."""
        session = self.factory()
        try:
            svc = ExchangeService(
                session,
                self.signer,
                self.books,
                rules=self.rules,
                clock=self.clock,
                enforce_hours=self.enforce_hours,
            )
            return self.books.transact(session, lambda: fn(svc))
        finally:
            session.close()

    def place(self, username: str, **kw: Any) -> Any:
        kw.setdefault("market", MARKET)
        kw.setdefault("instrument", f"{PRODUCT}:{YEAR}")
        return self.run(lambda svc: svc.place(self.actor(username), **kw))

    def balances(self) -> dict[tuple[str, str], tuple[int, int]]:
        """``(account number, instrument code) -> (posted, held)`` of every balance."""
        with unit_of_work(self.factory) as s:
            rows = s.execute(
                select(RegAccount.number, RegInstrument.code, RegBalance.posted, RegBalance.held)
                .join(RegAccount, RegAccount.id == RegBalance.account_id)
                .join(RegInstrument, RegInstrument.id == RegBalance.instrument_id)
            )
            return {(a, i): (int(p), int(h)) for a, i, p, h in rows}

    def posted(self, account: str, instrument: str) -> int:
        return self.balances().get((account, instrument), (0, 0))[0]

    def held(self, account: str, instrument: str) -> int:
        return self.balances().get((account, instrument), (0, 0))[1]

    def totals(self) -> dict[str, int]:
        """Sum of posted balances per instrument (0 under double entry)."""
        out: dict[str, int] = {}
        for (_, inst), (posted, _) in self.balances().items():
            out[inst] = out.get(inst, 0) + posted
        return out

    def violations(self) -> list[str]:
        with unit_of_work(self.factory) as s:
            return verify_ledger(s)


def funded_api(
    databases: Any, tmp_path: Any, *, units: dict[str, int], cash_minor: dict[str, int]
) -> Iterator[Api]:
    """An API over a new demo database, organisations funded as :func:`fund` does."""
    url = databases.new("sqlite", "demo")
    fund(url, signer_from(make_settings(url, tmp_path)), units=units, cash_minor=cash_minor)
    yield from make_api(url, tmp_path)


def demo_api(databases: Any, tmp_path: Any, *loaders: Callable[..., Any]) -> Iterator[Api]:
    """An API over a new demo database with the demo ``loaders`` run and committed."""
    for api in make_api(databases.new("sqlite", "demo"), tmp_path):
        state = api.client.app.state
        for load in loaders:
            session = state.session_factory()
            try:
                load(session, state.log_signer)
                session.commit()
            finally:
                session.close()
        yield api


def csrf_of(html: str) -> str:
    """The CSRF token of a console form."""
    m = re.search(r'name="csrf" value="(\w+)"', html)
    assert m is not None
    return m.group(1)


def issue_itmo(session: Any, signer: LogSigner, *, to: str, project: str, quantity: int) -> str:
    """Issue SCO-ITMO 2025 of ``project`` to organisation ``to`` (the Chongqing bureau acts
    for the SCO market's authority); returns the instrument code."""
    tx = RegistryService(session, signer).issue(
        load_actor(session, "cq-eeb"),
        market_code="SCO",
        product="SCO-ITMO",
        vintage=2025,
        to_org_id=org_id(session, to),
        quantity=quantity,
        project_id=project,
        reference="ITMO issuance",
    )
    return tx.legs[0].instrument_code
