"""Tables of MRV: uploads, activity records with receipts, reports and verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greencircle.storage.base import Base, created_at_column, id_column

#: Report workflow states, in order.
REPORT_STATES = ("draft", "submitted", "under_verification", "verified", "returned", "locked")


class MrvUpload(Base):
    """One accepted upload of activity data (a file or a JSON batch).

    ``content_sha256`` is unique per organisation, so re-uploading the same file is
    recognised and not counted twice.
    """

    __tablename__ = "mrv_uploads"
    __table_args__ = (UniqueConstraint("org_id", "content_sha256"),)

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(26))
    filename: Mapped[str] = mapped_column(String(200))
    fmt: Mapped[str] = mapped_column(String(8))
    content_sha256: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_new: Mapped[int] = mapped_column(Integer)
    rows_unchanged: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()


class ActivityRecord(Base):
    """A monthly activity record and its calculated emissions (exact decimal text).

    ``inputs``, ``quantity``, ``unit``, ``emissions_tco2``, ``receipt_sha256`` and
    ``leaf_index`` are the figures **as the enterprise reported them**; a verifier's
    correction never overwrites them but is kept beside them in the ``adjusted_*``
    columns (with its own receipt in the log). The record counts at its *effective*
    value: the adjusted one when there is one, else the reported one.
    """

    __tablename__ = "mrv_activity_records"
    __table_args__ = (UniqueConstraint("org_id", "record_id"),)

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id"), index=True)
    upload_id: Mapped[str | None] = mapped_column(ForeignKey("mrv_uploads.id"))
    record_id: Mapped[str] = mapped_column(String(80))
    year: Mapped[int] = mapped_column(Integer, index=True)
    period: Mapped[str] = mapped_column(String(7))
    category: Mapped[str] = mapped_column(String(16))
    item: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    emissions_tco2: Mapped[str] = mapped_column(String(48))
    method: Mapped[str] = mapped_column(String(40))
    factor_ids: Mapped[str] = mapped_column(String(300))
    receipt_sha256: Mapped[str] = mapped_column(String(64))
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)
    adjusted_inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    adjusted_emissions_tco2: Mapped[str | None] = mapped_column(String(48))
    adjusted_method: Mapped[str | None] = mapped_column(String(40))
    adjusted_factor_ids: Mapped[str | None] = mapped_column(String(300))
    adjusted_receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    adjusted_leaf_index: Mapped[int | None] = mapped_column(BigInteger)
    adjusted_by: Mapped[str | None] = mapped_column(String(26))
    adjusted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    adjustment_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()

    @property
    def effective_emissions_tco2(self) -> str:
        """The figure the record counts at: adjusted if a verifier adjusted it [tCO2]."""
        return self.adjusted_emissions_tco2 or self.emissions_tco2

    @property
    def effective_inputs(self) -> dict[str, Any]:
        """Inputs the record counts with (adjusted inputs, if any)."""
        return self.adjusted_inputs or self.inputs


class ProductionRecord(Base):
    """Monthly output of a facility (for emission intensity), e.g. MWh or t clinker."""

    __tablename__ = "mrv_production"
    __table_args__ = (UniqueConstraint("facility_id", "period"),)

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    facility_id: Mapped[str] = mapped_column(ForeignKey("facilities.id"))
    year: Mapped[int] = mapped_column(Integer, index=True)
    period: Mapped[str] = mapped_column(String(7))
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))


class EmissionReport(Base):
    """An enterprise's annual emissions report and its verification state.

    Three figures side by side [tCO2, exact decimal text]: ``reported_tco2`` (the sum of
    the enterprise's own figures), ``adjusted_tco2`` (the sum after the verifier's
    adjustments; None while there are none) and ``verified_tco2`` (the figure the verifier
    confirmed, which the registry uses).
    """

    __tablename__ = "mrv_reports"
    __table_args__ = (UniqueConstraint("org_id", "year"),)

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(24), index=True, default="draft")
    verifier_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    reported_tco2: Mapped[str] = mapped_column(String(48))
    adjusted_tco2: Mapped[str | None] = mapped_column(String(48))
    verified_tco2: Mapped[str | None] = mapped_column(String(48))
    records: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReportEvent(Base):
    """Every change of a report: who, when, from which state to which, and why."""

    __tablename__ = "mrv_report_events"

    id: Mapped[str] = id_column()
    report_id: Mapped[str] = mapped_column(ForeignKey("mrv_reports.id"), index=True)
    at: Mapped[datetime] = created_at_column()
    actor_user_id: Mapped[str] = mapped_column(String(26))
    actor_org_id: Mapped[str] = mapped_column(String(26))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)
