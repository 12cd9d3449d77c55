"""Tables of the energy domain: microgrid sites and the studies run on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.storage.base import Base, created_at_column, id_column


class EnergySite(Base):
    """A place where a microgrid is studied, owned by one organisation.

    ``grid_code`` names the grid whose emission factor applies (a regional grid such as
    ``CN-SW`` or a province such as ``CN-CQ``/``CN-50``).
    """

    __tablename__ = "energy_sites"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[str] = id_column()
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    latitude_deg: Mapped[float] = mapped_column(Float)
    longitude_deg: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str] = mapped_column(String(24))
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class EnergyStudy(Base):
    """One optimisation run of a SPEC on a site: the SPEC, the KPIs and the series.

    ``status`` is the run's state (``running``, ``succeeded``, ``failed``); the optimiser's
    own outcome (``optimal``, ``infeasible`` ...) is ``solver_status``. ``summary`` is the
    RESULT without ``series``; ``series`` holds the per-step arrays for the charts.
    ``label`` is the study's key (unique per site by convention); ``label_en`` and
    ``label_zh`` are its title per language (``label`` is shown where one is missing).
    """

    __tablename__ = "energy_studies"

    id: Mapped[str] = id_column()
    site_id: Mapped[str] = mapped_column(ForeignKey("energy_sites.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str | None] = mapped_column(String(200))
    label_zh: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True, default="running")
    solver_status: Mapped[str | None] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    series: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    spec_sha256: Mapped[str] = mapped_column(String(64))
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    job_id: Mapped[str | None] = mapped_column(String(26))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
