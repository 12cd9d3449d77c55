"""Helpers for the registry tests: a demo world with actors, service factory and clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Organisation, User, UserRole
from greencircle.auth.policy import Actor
from greencircle.auth.service import actor_for_user
from greencircle.registry.integrity import verify_ledger
from greencircle.registry.interfaces import StaticEmissions, StaticPrices
from greencircle.registry.markets import Catalog, default_catalog
from greencircle.registry.service import RegistryService
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

SIGNER = LogSigner("test.greencircle/registry", Ed25519PrivateKey.generate())


class Clock:
    """A settable UTC clock."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 3, 1, 4, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def zero_threshold_catalog() -> Catalog:
    """The packaged catalog with every coverage threshold at 0 tCO2e: the rule tests use
    small figures (coverage itself, thresholds included, is tested with the packaged data
    in ``test_registry_coverage``)."""
    cat = default_catalog()
    coverage = {
        code: dataclasses.replace(
            cov, threshold_tco2e=dataclasses.replace(cov.threshold_tco2e, value=Decimal(0))
        )
        for code, cov in cat.coverage.items()
    }
    return dataclasses.replace(cat, coverage=coverage)


class World:
    """A demo database with registry service factories and demo actors."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.factory = make_session_factory(self.engine)
        self.emissions = StaticEmissions()
        self.prices = StaticPrices()
        self.clock = Clock()
        self.catalog = zero_threshold_catalog()
        self._actors: dict[str, Actor] = {}
        self._orgs: dict[str, str] = {}
        # Preload (nested units of work would wait on SQLite's writer lock).
        with unit_of_work(self.factory) as s:
            for org in s.scalars(select(Organisation)):
                self._orgs[org.code] = org.id
            for user in s.scalars(select(User)):
                self._actors[user.username] = actor_for_user(user, auth_method="test", token_id="")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def svc(self) -> Iterator[RegistryService]:
        """A service in its own unit of work (commits on success)."""
        with unit_of_work(self.factory) as session:
            yield RegistryService(
                session,
                SIGNER,
                emissions=self.emissions,
                prices=self.prices,
                catalog=self.catalog,
                clock=self.clock,
            )

    def actor(self, username: str) -> Actor:
        if username not in self._actors:
            with unit_of_work(self.factory) as s:
                user = s.scalar(select(User).where(User.username == username))
                assert user is not None, username
                self._actors[username] = actor_for_user(user, auth_method="test", token_id="")
        return self._actors[username]

    def org(self, code: str) -> str:
        if code not in self._orgs:
            with unit_of_work(self.factory) as s:
                oid = s.scalar(select(Organisation.id).where(Organisation.code == code))
                assert oid is not None, code
                self._orgs[code] = oid
        return self._orgs[code]

    def add_user(self, org_code: str, username: str, roles: tuple[str, ...]) -> Actor:
        """A second user of an organisation (for four-eyes)."""
        with unit_of_work(self.factory) as s:
            org_id = self.org(org_code)
            s.add(
                User(
                    username=username,
                    display_name=username,
                    password_hash="x",
                    organisation_id=org_id,
                    role_rows=[UserRole(role=r) for r in roles],
                )
            )
        return self.actor(username)

    def violations(self) -> list[str]:
        with unit_of_work(self.factory) as s:
            return verify_ledger(s)

    # -- common set-ups -----------------------------------------------------------------
    def issue_allowances(
        self, org_code: str, quantity: int, *, market: str = "CN-CQ", year: int = 2025
    ) -> str:
        """Allocate ``quantity`` allowances of ``year`` to an org via a four-eyes plan.

        Returns the instrument id.
        """
        reg, second = self.regulators(market)
        product = {"CN-CQ": "CQEA", "CN-SC": "SCEA", "CN-NATIONAL": "CEA"}[market]
        from greencircle.registry.service import AllocationInput

        with self.svc() as svc:
            plan = svc.create_allocation_plan(
                reg,
                market_code=market,
                year=year,
                product=product,
                lines=[AllocationInput(self.org(org_code), "grandfathering", Decimal(quantity))],
            )
        with self.svc() as svc:
            svc.approve_allocation_plan(second, plan.plan_id)
        with self.svc() as svc:
            svc.issue_allocation(reg, plan.plan_id)
            return svc.instrument(market, product, year).id

    def regulators(self, market: str) -> tuple[Actor, Actor]:
        code, user = {"CN-CQ": ("CQ-EEB", "cq-eeb"), "CN-SC": ("SC-EED", "sc-eed")}.get(
            market, ("CQ-EEB", "cq-eeb")
        )
        second = f"{user}-2"
        if second not in self._actors:
            self.add_user(code, second, ("regulator",))
        return self.actor(user), self.actor(second)

    def holding(self, org_code: str, market: str = "CN-CQ") -> str:
        return f"{market}.{org_code}"

    def balance(self, org_code: str, instrument_id: str, market: str = "CN-CQ") -> Any:
        with self.svc() as svc:
            return svc.balance(
                self.actor("gc-secretariat"), self.holding(org_code, market), instrument_id
            )


#: Verified 2025 emissions [tCO2e] used by the registry wiring tests (CQ-POW-04: none).
DEMO_VERIFIED_2025: dict[str, str] = {
    "CQ-CEM-01": "850000.4",
    "CQ-CEM-02": "920000",
    "CQ-CEM-03": "610000",
    "CQ-STE-01": "2300000",
    "CQ-STE-02": "1800000",
    "CQ-CHE-01": "450000",
    "CQ-CHE-02": "380000",
    "CQ-ALU-01": "1100000",
    "CQ-POW-01": "4200000",
    "CQ-POW-02": "3100000",
    "CQ-POW-03": "2600000",
}


def insert_verified(session: Any, values: dict[str, str], year: int) -> None:
    """Insert verified MRV reports (``mrv_reports``) for organisation codes."""
    from greencircle.mrv.models import EmissionReport

    for code, tco2 in values.items():
        org_id = session.scalar(select(Organisation.id).where(Organisation.code == code))
        assert org_id is not None, code
        session.add(
            EmissionReport(
                org_id=org_id,
                year=year,
                status="verified",
                reported_tco2=tco2,
                verified_tco2=tco2,
                records=12,
            )
        )
    session.flush()


def api_insert_verified(api: Any, values: dict[str, str], year: int) -> None:
    """Insert verified MRV reports into the database behind a test app."""
    factory = api.client.app.state.session_factory
    with unit_of_work(factory) as session:
        insert_verified(session, values, year)
