"""All SQL of the energy domain: sites and studies, with the actor's scope applied."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Select, func, or_, select, true

from greencircle.auth.models import Jurisdiction
from greencircle.auth.policy import Actor
from greencircle.energy.models import EnergySite, EnergyStudy
from greencircle.storage.repository import Page, Repository

__all__ = ["SiteRepo", "StudyRepo", "site_scope_clause"]


def site_scope_clause(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on :class:`EnergySite` selecting the sites ``actor`` may read.

    Platform administrators: all. Everybody: their own organisation's sites. Regulators,
    in addition: sites located in their jurisdiction subtree (by the site's own
    jurisdiction, not its owner's).
    """
    if actor.is_platform_admin:
        return true()
    own = EnergySite.organisation_id == actor.org_id
    if actor.is_regulator:
        in_scope = EnergySite.jurisdiction_code.in_(
            select(Jurisdiction.code).where(
                Jurisdiction.path.startswith(actor.org_jurisdiction_path, autoescape=True)
            )
        )
        return or_(own, in_scope)
    return own


class SiteRepo(Repository[EnergySite]):
    """Microgrid sites."""

    model = EnergySite
    SORTABLE: ClassVar[dict[str, Any]] = {
        "code": EnergySite.code,
        "name_en": EnergySite.name_en,
        "jurisdiction_code": EnergySite.jurisdiction_code,
        "grid_code": EnergySite.grid_code,
        "created_at": EnergySite.created_at,
    }

    def by_code(self, organisation_id: str, code: str) -> EnergySite | None:
        """Site ``code`` of one organisation."""
        stmt = select(EnergySite).where(
            EnergySite.organisation_id == organisation_id, EnergySite.code == code
        )
        return self.session.scalar(stmt)

    def search(
        self,
        actor: Actor,
        *,
        organisation_id: str | None = None,
        sort: str | None = "code",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[EnergySite]:
        """Sites the actor may read."""
        stmt: Select[Any] = select(EnergySite).where(site_scope_clause(actor))
        if organisation_id:
            stmt = stmt.where(EnergySite.organisation_id == organisation_id)
        return self.paginate(stmt, limit=limit, offset=offset, sort=sort, sortable=self.SORTABLE)

    def study_counts(self, site_ids: list[str]) -> dict[str, int]:
        """Number of studies of each site in ``site_ids``."""
        if not site_ids:
            return {}
        stmt = (
            select(EnergyStudy.site_id, func.count())
            .where(EnergyStudy.site_id.in_(site_ids))
            .group_by(EnergyStudy.site_id)
        )
        return {str(site_id): int(n) for site_id, n in self.session.execute(stmt)}


class StudyRepo(Repository[EnergyStudy]):
    """Studies (optimisation runs) of sites."""

    model = EnergyStudy
    SORTABLE: ClassVar[dict[str, Any]] = {
        "created_at": EnergyStudy.created_at,
        "label": EnergyStudy.label,
        "status": EnergyStudy.status,
        "solver_status": EnergyStudy.solver_status,
        "finished_at": EnergyStudy.finished_at,
    }

    def search(
        self,
        actor: Actor,
        *,
        site_id: str | None = None,
        status: str | None = None,
        sort: str | None = "-created_at",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[EnergyStudy]:
        """Studies of the sites the actor may read."""
        visible = select(EnergySite.id).where(site_scope_clause(actor))
        stmt: Select[Any] = select(EnergyStudy).where(EnergyStudy.site_id.in_(visible))
        if site_id:
            stmt = stmt.where(EnergyStudy.site_id == site_id)
        if status:
            stmt = stmt.where(EnergyStudy.status == status)
        return self.paginate(stmt, limit=limit, offset=offset, sort=sort, sortable=self.SORTABLE)

    def by_label(self, site_id: str, label: str) -> EnergyStudy | None:
        """The latest study of a site with this label."""
        stmt = (
            select(EnergyStudy)
            .where(EnergyStudy.site_id == site_id, EnergyStudy.label == label)
            .order_by(EnergyStudy.created_at.desc(), EnergyStudy.id.desc())
            .limit(1)
        )
        return self.session.scalar(stmt)
