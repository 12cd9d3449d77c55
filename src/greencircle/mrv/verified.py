"""Verified annual emissions, as the registry uses them for compliance obligations."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.mrv.models import EmissionReport

#: Report states whose verified figure is final enough for a compliance obligation.
VERIFIED_STATES = ("verified", "locked")


class DbVerifiedEmissions:
    """:class:`~greencircle.registry.interfaces.VerifiedEmissionsSource` over MRV reports."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def verified_emissions(self, org_id: str, year: int) -> Decimal | None:
        """Verified emissions [tCO2] of ``org_id`` for ``year``; ``None`` if not verified."""
        stmt = select(EmissionReport.verified_tco2).where(
            EmissionReport.org_id == org_id,
            EmissionReport.year == year,
            EmissionReport.status.in_(VERIFIED_STATES),
        )
        value = self.session.scalar(stmt)
        return Decimal(value) if value is not None else None
