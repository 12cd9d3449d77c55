"""MRV services: intake of activity data, receipts in the log, reports and verification.

Services never commit; the request or CLI command is the unit of work. Every accepted
record gets a calculation receipt appended to the transparency log in the same
transaction, and every report state change is logged too, so a verified figure can be
traced by proof to the activity data it came from.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.audit.service import AuditLog
from greencircle.auth.models import Facility, Jurisdiction, Organisation
from greencircle.auth.policy import Actor, can_see_org, org_scope_clause
from greencircle.auth.roles import OrgType, Perm
from greencircle.auth.service import record_event
from greencircle.errors import Conflict, Forbidden, Invalid, NotFound
from greencircle.kit.timeutil import utcnow
from greencircle.mrv.engine import RESULT_COLUMNS, BatchResult, Engine
from greencircle.mrv.errors import InputFileError, MrvError
from greencircle.mrv.ingest import COLUMNS, RowError, read_activity_csv
from greencircle.mrv.models import (
    ActivityRecord,
    EmissionReport,
    MrvUpload,
    ProductionRecord,
    ReportEvent,
)
from greencircle.mrv.quality import (
    Finding,
    SectorDistribution,
    check_factor_use,
    check_fuel_parameters,
    check_intensity,
    check_missing_months,
    check_month_on_month,
)
from greencircle.mrv.receipt import receipt_from_result, receipt_sha256

MAX_ERRORS_RETURNED = 500
OUTPUT_UNITS = ("MWh", "t", "kWh", "GJ", "m3")
#: States in which the year's activity data may still change through uploads.
OPEN_STATES = ("draft", "returned")
ProgressFn = Callable[[float, str], None]


@dataclass
class IngestResult:
    """Outcome of an accepted upload."""

    upload: MrvUpload
    duplicate: bool = False
    new: int = 0
    corrected: int = 0
    unchanged: int = 0
    production: int = 0
    total_emissions_tco2: Decimal = Decimal(0)
    years: list[int] = field(default_factory=list)


def rows_rejected(errors: Sequence[RowError], total: int) -> Invalid:
    """The error for an upload with rejected rows (nothing was written)."""
    listed = [
        {"line": e.line, "record_id": e.record_id, "column": e.column, "reason": e.reason}
        for e in sorted(errors, key=lambda e: e.line)[:MAX_ERRORS_RETURNED]
    ]
    return Invalid(
        {
            "message": f"{len(errors)} of {total} rows rejected; nothing was stored",
            "rows_total": total,
            "rows_rejected": len(errors),
            "errors": listed,
        },
        code="mrv.rows_rejected",
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        raise Invalid(
            "numbers must be sent as decimal strings or integers, not floats",
            code="mrv.float_not_allowed",
        )
    return str(value).strip()


def records_to_table(records: Sequence[Mapping[str, Any]], lines: Sequence[int]) -> pa.Table:
    """Records -> the engine's string table with the given line numbers."""
    cols: dict[str, list[str]] = {c: [] for c in COLUMNS}
    for rec in records:
        if not isinstance(rec, Mapping):
            raise Invalid("every record must be a JSON object", code="mrv.invalid_record")
        for c in COLUMNS:
            cols[c].append(_as_text(rec.get(c)))
    table = pa.table({c: pa.array(v, pa.string()) for c, v in cols.items()})
    return table.append_column("line", pa.array(list(lines), pa.int64()))


def read_upload(content: bytes, fmt: str) -> tuple[pa.Table, list[RowError]]:
    """Parse an upload (CSV, XLSX template, JSON) into the engine table and row errors."""
    if fmt == "csv":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload.csv"
            path.write_bytes(content)
            try:
                chunks = list(read_activity_csv(path))
            except InputFileError as exc:
                raise Invalid(str(exc).replace(str(path), "file"), code=exc.code) from exc
        tables = [c.table for c in chunks if c.table.num_rows]
        errors = [e for c in chunks for e in c.errors]
        if not tables:
            return records_to_table([], []), errors
        return _unify(tables), errors
    if fmt == "xlsx":
        from greencircle.mrv.template import read_template

        numbered = read_template(content)
        return records_to_table([r for _, r in numbered], [n for n, _ in numbered]), []
    if fmt == "json":
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise Invalid(f"not JSON: {exc}", code="malformed_json") from exc
        records = data.get("records") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise Invalid(
                'expected a list of records or {"records": [...]}', code="mrv.invalid_record"
            )
        return records_to_table(records, range(1, len(records) + 1)), []
    raise Invalid(f"unsupported format {fmt!r}; use csv, xlsx or json", code="mrv.format")


def _unify(tables: list[pa.Table]) -> pa.Table:
    names = sorted({n for t in tables for n in t.column_names})
    fixed = []
    for t in tables:
        for n in names:
            if n not in t.column_names:
                t = t.append_column(n, pa.nulls(t.num_rows, pa.string()))
        fixed.append(t.select(names))
    return pa.concat_tables(fixed)


class MrvService:
    """Activity data, receipts, findings and the report workflow, with access checks."""

    def __init__(self, session: Session, actor: Actor, signer: LogSigner | None = None) -> None:
        self.session = session
        self.actor = actor
        self.signer = signer

    # -- scope ---------------------------------------------------------------------------
    def _org(self, org_id: str) -> Organisation:
        org = self.session.get(Organisation, org_id)
        if org is None:
            org = self.session.scalar(select(Organisation).where(Organisation.code == org_id))
        if org is None:
            raise NotFound(f"organisation {org_id!r} not found")
        return org

    def _readable_org(self, org_id: str) -> Organisation:
        self.actor.require(Perm.MRV_READ)
        org = self._org(org_id)
        if can_see_org(self.actor, org) or self._verifies(org.id):
            return org
        raise Forbidden("this organisation is outside your scope", code="org_out_of_scope")

    def _verifies(self, org_id: str) -> bool:
        if OrgType(self.actor.org_type) != OrgType.VERIFIER:
            return False
        stmt = select(EmissionReport.id).where(
            EmissionReport.org_id == org_id,
            EmissionReport.verifier_org_id == self.actor.org_id,
        )
        return self.session.scalar(stmt.limit(1)) is not None

    def _own_enterprise(self, org_id: str, perm: Perm) -> Organisation:
        self.actor.require(perm)
        org = self._org(org_id)
        if org.id != self.actor.org_id and not self.actor.is_platform_admin:
            raise Forbidden("only the enterprise itself may do this", code="org_out_of_scope")
        if org.org_type != OrgType.ENTERPRISE:
            raise Invalid("activity data belongs to enterprises", code="mrv.not_an_enterprise")
        return org

    def _log(self) -> AuditLog:
        if self.signer is None:
            raise RuntimeError("MrvService needs the log signer for writes")
        return AuditLog(self.session, self.signer)

    # -- intake --------------------------------------------------------------------------
    def ingest(
        self,
        org_id: str,
        filename: str,
        content: bytes,
        fmt: str,
        progress: ProgressFn | None = None,
    ) -> IngestResult:
        """Validate and store an upload of monthly activity data, all or nothing.

        Rows are validated with line numbers (structure, values, units, factors,
        facility ownership, duplicates, years already under verification); if any row
        is rejected nothing is stored and every rejection is returned (``mrv.rows_rejected``).
        The same file uploaded again is recognised by its SHA-256 and changes nothing.
        A record id seen before with identical inputs is left as is; with different
        inputs it is corrected, if its year's report is still open (draft or returned).
        Rows with ``category = output`` are monthly production (for intensity).
        """
        org = self._own_enterprise(org_id, Perm.MRV_SUBMIT)
        digest = hashlib.sha256(content).hexdigest()
        seen = self.session.scalar(
            select(MrvUpload).where(MrvUpload.org_id == org.id, MrvUpload.content_sha256 == digest)
        )
        if seen is not None:
            return IngestResult(seen, duplicate=True)
        if progress:
            progress(0.05, "parsing")
        table, errors = read_upload(content, fmt)
        facilities = {
            f.code: f
            for f in self.session.scalars(
                select(Facility).where(Facility.organisation_id == org.id)
            )
        }
        by_id = {f.id: f for f in facilities.values()}
        rows = table.to_pylist()
        production: list[dict[str, Any]] = []
        activity: list[dict[str, Any]] = []
        for row in rows:
            fac = facilities.get(row["facility_id"] or "") or by_id.get(row["facility_id"] or "")
            if fac is None:
                errors.append(
                    RowError(
                        row["line"],
                        row["record_id"] or "",
                        "facility_id",
                        f"no facility {row['facility_id']!r} in {org.code}",
                    )
                )
                continue
            row["facility_id"] = fac.code
            (production if row["category"] == "output" else activity).append(row)
        production_rows, prod_errors = self._check_production(production, facilities)
        errors += prod_errors
        if progress:
            progress(0.3, "calculating")
        batch = self._calculate(activity)
        errors += batch.error_rows()
        results = {r["line"]: r for r in batch.results.select(list(RESULT_COLUMNS)).to_pylist()}
        existing = {
            r.record_id: r
            for r in self.session.scalars(
                select(ActivityRecord).where(
                    ActivityRecord.org_id == org.id,
                    ActivityRecord.record_id.in_([r["record_id"] for r in activity]),
                )
            )
        }
        years = {int(r["period"][:4]) for r in results.values()}
        years |= {int(p["period"][:4]) for p in production_rows}
        closed = self._closed_years(org.id, years)
        plan: list[tuple[dict[str, Any], dict[str, Any], ActivityRecord | None]] = []
        for row in activity:
            res = results.get(row["line"])
            if res is None:
                continue
            year = int(res["period"][:4])
            old = existing.get(row["record_id"])
            inputs = {c: row.get(c) or "" for c in COLUMNS}
            if old is not None and old.inputs == inputs:
                plan.append((inputs, res, old))
                continue
            if year in closed:
                errors.append(
                    RowError(
                        row["line"],
                        row["record_id"],
                        "period",
                        f"the {year} report is {closed[year]}; changes go through the verifier",
                    )
                )
                continue
            plan.append((inputs, res, old))
        for p in production_rows:
            if int(p["period"][:4]) in closed:
                errors.append(
                    RowError(
                        p["line"],
                        p["record_id"],
                        "period",
                        f"the {p['period'][:4]} report is closed",
                    )
                )
        if errors:
            raise rows_rejected(errors, len(rows))
        if progress:
            progress(0.7, "storing")
        upload = MrvUpload(
            org_id=org.id,
            uploaded_by=self.actor.user_id,
            filename=filename[:200],
            fmt=fmt,
            content_sha256=digest,
            rows_total=len(rows),
            rows_new=0,
            rows_unchanged=0,
        )
        self.session.add(upload)
        self.session.flush()
        out = IngestResult(upload, years=sorted(years))
        changed: list[tuple[ActivityRecord, dict[str, Any]]] = []
        for inputs, res, old in plan:
            if old is not None and old.inputs == inputs:
                out.unchanged += 1
                continue
            receipt = receipt_from_result(res, inputs)
            fields = _record_fields(inputs, res, receipt)
            if old is None:
                rec = ActivityRecord(
                    org_id=org.id,
                    upload_id=upload.id,
                    facility_id=facilities[inputs["facility_id"]].id,
                    **fields,
                )
                self.session.add(rec)
                out.new += 1
            else:
                rec = old
                for k, v in fields.items():
                    setattr(rec, k, v)
                rec.upload_id = upload.id
                out.corrected += 1
            changed.append((rec, receipt))
            out.total_emissions_tco2 += Decimal(fields["emissions_tco2"])
        for p in production_rows:
            out.production += self._store_production(org.id, facilities[p["facility_id"]], p)
        self.session.flush()
        if changed:
            events = [
                {
                    "type": "mrv.receipt",
                    "org_id": org.id,
                    "subject": f"mrvrec:{rec.id}",
                    "record_id": rec.record_id,
                    "receipt_sha256": rec.receipt_sha256,
                    "receipt": receipt,
                }
                for rec, receipt in changed
            ]
            for (rec, _r), idx in zip(changed, self._log().append(events), strict=True):
                rec.leaf_index = idx
        upload.rows_new = out.new + out.corrected
        upload.rows_unchanged = out.unchanged
        for year in out.years:
            self._refresh_report(org.id, year)
        record_event(
            self.session,
            self.actor,
            "mrv.upload",
            "mrv_upload",
            upload.id,
            org.id,
            {"rows": len(rows), "new": out.new, "corrected": out.corrected},
        )
        if progress:
            progress(1.0, "done")
        return out

    def _calculate(self, rows: list[dict[str, Any]]) -> BatchResult:
        table = records_to_table(rows, [r["line"] for r in rows])
        try:
            with Engine() as engine:
                return engine.run(table, ordered=True)
        except MrvError as exc:
            raise Invalid(str(exc), code=exc.code) from exc

    def calculate(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Compute records without storing anything (the JSON twin of ``mrv calculate``)."""
        self.actor.require(Perm.MRV_READ)
        rows = [
            {**{c: _as_text(r.get(c)) for c in COLUMNS}, "line": i + 1}
            for i, r in enumerate(records)
        ]
        batch = self._calculate(rows)
        results = batch.results.select(list(RESULT_COLUMNS)).to_pylist()
        return {
            "results": [_jsonable(r) for r in results],
            "errors": [asdict(e) for e in batch.error_rows()],
            "total_emissions_tco2": str(batch.total_emissions_tco2()),
        }

    def _check_production(
        self, rows: list[dict[str, Any]], facilities: Mapping[str, Facility]
    ) -> tuple[list[dict[str, Any]], list[RowError]]:
        ok: list[dict[str, Any]] = []
        errors: list[RowError] = []
        for r in rows:
            line, rid = r["line"], r["record_id"] or ""
            period = r["period"] or ""
            if (
                len(period) != 7
                or period[4] != "-"
                or not period.replace("-", "").isdigit()
                or not 1 <= int(period[5:]) <= 12
            ):
                errors.append(RowError(line, rid, "period", "period must be YYYY-MM"))
                continue
            try:
                qty = Decimal(r["quantity"] or "x")
            except InvalidOperation:
                errors.append(RowError(line, rid, "quantity", "quantity is not a decimal"))
                continue
            if not qty.is_finite() or qty < 0:
                errors.append(RowError(line, rid, "quantity", "quantity must be >= 0"))
                continue
            if r["unit"] not in OUTPUT_UNITS:
                errors.append(
                    RowError(
                        line, rid, "unit", f"output unit must be one of {', '.join(OUTPUT_UNITS)}"
                    )
                )
                continue
            ok.append({**r, "quantity": str(qty)})
        return ok, errors

    def _store_production(self, org_id: str, fac: Facility, p: Mapping[str, Any]) -> int:
        row = self.session.scalar(
            select(ProductionRecord).where(
                ProductionRecord.facility_id == fac.id, ProductionRecord.period == p["period"]
            )
        )
        if row is None:
            self.session.add(
                ProductionRecord(
                    org_id=org_id,
                    facility_id=fac.id,
                    year=int(p["period"][:4]),
                    period=p["period"],
                    quantity=p["quantity"],
                    unit=p["unit"],
                )
            )
            return 1
        if (row.quantity, row.unit) != (p["quantity"], p["unit"]):
            row.quantity, row.unit = p["quantity"], p["unit"]
            return 1
        return 0

    def _closed_years(self, org_id: str, years: Iterable[int]) -> dict[int, str]:
        stmt = select(EmissionReport.year, EmissionReport.status).where(
            EmissionReport.org_id == org_id,
            EmissionReport.year.in_(list(years)),
            EmissionReport.status.not_in(OPEN_STATES),
        )
        return {int(y): s for y, s in self.session.execute(stmt)}

    # -- reading -------------------------------------------------------------------------
    def records(self, org_id: str, year: int | None = None) -> list[ActivityRecord]:
        """Activity records of an organisation (optionally one year), by period."""
        org = self._readable_org(org_id)
        stmt = select(ActivityRecord).where(ActivityRecord.org_id == org.id)
        if year is not None:
            stmt = stmt.where(ActivityRecord.year == year)
        return list(
            self.session.scalars(stmt.order_by(ActivityRecord.period, ActivityRecord.record_id))
        )

    def uploads(self, org_id: str) -> list[MrvUpload]:
        """Uploads of an organisation, newest first."""
        org = self._readable_org(org_id)
        stmt = select(MrvUpload).where(MrvUpload.org_id == org.id)
        return list(self.session.scalars(stmt.order_by(MrvUpload.created_at.desc())))

    def monthly_by_source(self, org_id: str, year: int) -> dict[str, dict[str, str]]:
        """``{period: {category: tCO2}}`` of one organisation and year (exact sums)."""
        out: dict[str, dict[str, Decimal]] = {}
        for r in self.records(org_id, year):
            cell = out.setdefault(r.period, {})
            cell[r.category] = cell.get(r.category, Decimal(0)) + Decimal(r.emissions_tco2)
        return {p: {c: str(v) for c, v in cats.items()} for p, cats in sorted(out.items())}

    def intensity(self, org_id: str, year: int) -> list[dict[str, str]]:
        """Monthly emission intensity per facility: tCO2 per unit of output."""
        org = self._readable_org(org_id)
        emis: dict[tuple[str, str], Decimal] = {}
        for r in self.records(org.id, year):
            key = (r.facility_id, r.period)
            emis[key] = emis.get(key, Decimal(0)) + Decimal(r.emissions_tco2)
        prod = self.session.scalars(
            select(ProductionRecord).where(
                ProductionRecord.org_id == org.id, ProductionRecord.year == year
            )
        )
        out = []
        for p in sorted(prod, key=lambda p: (p.facility_id, p.period)):
            q = Decimal(p.quantity)
            e = emis.get((p.facility_id, p.period))
            if e is not None and q > 0:
                out.append(
                    {
                        "facility_id": p.facility_id,
                        "period": p.period,
                        "intensity": str((e / q).quantize(Decimal("0.000001"))),
                        "unit": f"tCO2/{p.unit}",
                    }
                )
        return out

    def findings(self, org_id: str, year: int) -> list[Finding]:
        """Plausibility findings of an organisation-year (nothing is changed by them)."""
        org = self._readable_org(org_id)
        recs = self.records(org.id, year)
        if not recs:
            return []
        rows = [{**r.inputs, "line": i + 1} for i, r in enumerate(recs)]
        batch = self._calculate(rows)
        res = batch.results
        out = check_fuel_parameters(res) + check_month_on_month(res)
        out += check_missing_months(res, start=f"{year}-01", end=f"{year}-12")
        out += check_factor_use(res)
        dist = self.sector_distribution(org, year)
        if dist is not None:
            emis, output = self._facility_totals(org.id, year)
            out += check_intensity(emis, output, dist)
        return out

    def _facility_totals(
        self, org_id: str | None, year: int, sector: str | None = None
    ) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        emis: dict[str, Decimal] = {}
        output: dict[str, Decimal] = {}
        stmt = select(ActivityRecord.facility_id, ActivityRecord.emissions_tco2).where(
            ActivityRecord.year == year
        )
        pstmt = select(ProductionRecord.facility_id, ProductionRecord.quantity).where(
            ProductionRecord.year == year
        )
        if org_id is not None:
            stmt = stmt.where(ActivityRecord.org_id == org_id)
            pstmt = pstmt.where(ProductionRecord.org_id == org_id)
        if sector is not None:
            fac = select(Facility.id).where(Facility.sector == sector)
            stmt = stmt.where(ActivityRecord.facility_id.in_(fac))
            pstmt = pstmt.where(ProductionRecord.facility_id.in_(fac))
        for fid, e in self.session.execute(stmt):
            emis[fid] = emis.get(fid, Decimal(0)) + Decimal(e)
        for fid, q in self.session.execute(pstmt):
            output[fid] = output.get(fid, Decimal(0)) + Decimal(q)
        return emis, output

    def sector_distribution(self, org: Organisation, year: int) -> SectorDistribution | None:
        """Intensity percentiles (p05, p95) of the organisation's sector among platform peers.

        Needs at least five facilities of the sector with both emissions and output.
        """
        if not org.sector:
            return None
        emis, output = self._facility_totals(None, year, org.sector)
        values = sorted(emis[f] / output[f] for f in emis if output.get(f))
        if len(values) < 5:
            return None

        def pct(p: Decimal) -> Decimal:
            pos = p * (len(values) - 1)
            lo = int(pos)
            hi = min(lo + 1, len(values) - 1)
            return values[lo] + (values[hi] - values[lo]) * (pos - lo)

        six = Decimal("0.000001")
        return SectorDistribution(
            org.sector,
            "tCO2/unit of output",
            pct(Decimal("0.05")).quantize(six),
            pct(Decimal("0.95")).quantize(six),
            f"platform peers {year}, n={len(values)} facilities",
        )

    # -- reports -------------------------------------------------------------------------
    def _refresh_report(self, org_id: str, year: int) -> EmissionReport | None:
        report = self.session.scalar(
            select(EmissionReport).where(
                EmissionReport.org_id == org_id, EmissionReport.year == year
            )
        )
        if report is not None and report.status in OPEN_STATES:
            total, n = self._totals(org_id, year)
            report.reported_tco2, report.records = str(total), n
        return report

    def _totals(self, org_id: str, year: int) -> tuple[Decimal, int]:
        values = self.session.scalars(
            select(ActivityRecord.emissions_tco2).where(
                ActivityRecord.org_id == org_id, ActivityRecord.year == year
            )
        ).all()
        return sum((Decimal(v) for v in values), Decimal(0)), len(values)

    def report(self, report_id: str) -> EmissionReport:
        """A report the actor may read (own, regulator in scope, assigned verifier)."""
        self.actor.require(Perm.MRV_READ)
        report = self.session.get(EmissionReport, report_id)
        if report is None:
            raise NotFound(f"report {report_id!r} not found", code="mrv.report_not_found")
        org = self._org(report.org_id)
        if not (can_see_org(self.actor, org) or report.verifier_org_id == self.actor.org_id):
            raise Forbidden("this report is outside your scope", code="org_out_of_scope")
        return report

    def reports(
        self, *, year: int | None = None, status: str | None = None, org_id: str | None = None
    ) -> list[EmissionReport]:
        """Reports visible to the actor, filtered."""
        self.actor.require(Perm.MRV_READ)
        visible = select(Organisation.id).where(org_scope_clause(self.actor))
        stmt = select(EmissionReport).where(
            (EmissionReport.org_id.in_(visible))
            | (EmissionReport.verifier_org_id == self.actor.org_id)
        )
        if year is not None:
            stmt = stmt.where(EmissionReport.year == year)
        if status:
            stmt = stmt.where(EmissionReport.status == status)
        if org_id:
            stmt = stmt.where(EmissionReport.org_id == self._org(org_id).id)
        return list(
            self.session.scalars(stmt.order_by(EmissionReport.year.desc(), EmissionReport.org_id))
        )

    def events(self, report_id: str) -> list[ReportEvent]:
        """The report's history."""
        report = self.report(report_id)
        stmt = select(ReportEvent).where(ReportEvent.report_id == report.id)
        return list(self.session.scalars(stmt.order_by(ReportEvent.at, ReportEvent.id)))

    def create_report(self, org_id: str, year: int) -> EmissionReport:
        """Open (or refresh) the draft annual report from the stored monthly data."""
        org = self._own_enterprise(org_id, Perm.MRV_SUBMIT)
        report = self._refresh_report(org.id, year)
        if report is not None:
            if report.status not in OPEN_STATES:
                raise Conflict(f"the {year} report is {report.status}", code="mrv.report_closed")
            return report
        total, n = self._totals(org.id, year)
        if n == 0:
            raise Invalid(f"no activity data for {year}", code="mrv.no_data")
        report = EmissionReport(
            org_id=org.id, year=year, status="draft", reported_tco2=str(total), records=n
        )
        self.session.add(report)
        self.session.flush()
        self._event(report, "create", "", "draft", "")
        return report

    def _event(
        self,
        report: EmissionReport,
        action: str,
        old: str,
        new: str,
        comment: str,
        detail: dict[str, Any] | None = None,
    ) -> ReportEvent:
        ev = ReportEvent(
            report_id=report.id,
            actor_user_id=self.actor.user_id,
            actor_org_id=self.actor.org_id,
            action=action,
            from_status=old,
            to_status=new,
            comment=comment,
            detail=detail or {},
        )
        self.session.add(ev)
        self.session.flush()
        [ev.leaf_index] = self._log().append(
            [
                {
                    "type": f"mrv.report.{action}",
                    "org_id": report.org_id,
                    "subject": f"mrvreport:{report.id}",
                    "report_id": report.id,
                    "year": report.year,
                    "from": old,
                    "to": new,
                    "reported_tco2": report.reported_tco2,
                    "verified_tco2": report.verified_tco2,
                    "comment": comment,
                    "detail": detail or {},
                    "actor_user_id": self.actor.user_id,
                }
            ]
        )
        return ev

    def _move(
        self,
        report: EmissionReport,
        allowed: tuple[str, ...],
        new: str,
        action: str,
        comment: str = "",
        detail: dict[str, Any] | None = None,
    ) -> EmissionReport:
        if report.status not in allowed:
            raise Conflict(
                f"cannot {action} a report that is {report.status} (needs {' or '.join(allowed)})",
                code="mrv.invalid_transition",
            )
        old = report.status
        report.status = new
        self._event(report, action, old, new, comment, detail)
        return report

    def submit(self, report_id: str, comment: str = "") -> EmissionReport:
        """Enterprise submits its draft (or returned, corrected) report."""
        report = self.report(report_id)
        self._own_enterprise(report.org_id, Perm.MRV_SUBMIT)
        self._refresh_report(report.org_id, report.year)
        report.submitted_at = utcnow()
        return self._move(report, OPEN_STATES, "submitted", "submit", comment)

    def assign(self, report_id: str, verifier_org_id: str) -> EmissionReport:
        """Regulator assigns a verification body; the report goes under verification."""
        self.actor.require(Perm.MRV_SUPERVISE)
        report = self.report(report_id)
        org = self._org(report.org_id)
        if not self.actor.covers_path(org.jurisdiction.path):
            raise Forbidden("outside your jurisdiction", code="jurisdiction_out_of_scope")
        verifier = self._org(verifier_org_id)
        if verifier.org_type != OrgType.VERIFIER:
            raise Invalid(f"{verifier.code} is not a verification body", code="mrv.not_a_verifier")
        report.verifier_org_id = verifier.id
        return self._move(
            report,
            ("submitted",),
            "under_verification",
            "assign",
            detail={"verifier_org_id": verifier.id, "verifier": verifier.code},
        )

    def _as_verifier(self, report_id: str) -> EmissionReport:
        self.actor.require(Perm.MRV_VERIFY)
        report = self.report(report_id)
        if report.verifier_org_id != self.actor.org_id:
            raise Forbidden(
                "only the assigned verification body may do this", code="mrv.not_assigned_verifier"
            )
        return report

    def adjust(
        self, report_id: str, record_id: str, changes: Mapping[str, str], reason: str
    ) -> ActivityRecord:
        """Verifier corrects inputs of one record, with a reason; kept in the history."""
        report = self._as_verifier(report_id)
        if report.status != "under_verification":
            raise Conflict(
                "adjustments are made during verification", code="mrv.invalid_transition"
            )
        if not reason.strip():
            raise Invalid("an adjustment needs a reason", code="mrv.reason_required")
        allowed = {
            "quantity",
            "unit",
            "ncv",
            "ncv_unit",
            "carbon_content_tc_per_tj",
            "oxidation_rate",
            "item",
            "factor_year",
        }
        if not changes or set(changes) - allowed:
            raise Invalid(f"adjustable fields: {sorted(allowed)}", code="mrv.invalid_adjustment")
        rec = self.session.scalar(
            select(ActivityRecord).where(
                ActivityRecord.org_id == report.org_id,
                ActivityRecord.record_id == record_id,
                ActivityRecord.year == report.year,
            )
        )
        if rec is None:
            raise NotFound(f"record {record_id!r} not in this report", code="mrv.record_not_found")
        inputs = {**rec.inputs, **{k: str(v) for k, v in changes.items()}}
        batch = self._calculate([{**inputs, "line": 1}])
        if batch.errors.num_rows:
            e = batch.error_rows()[0]
            raise Invalid(f"{e.column}: {e.reason}", code="mrv.invalid_adjustment")
        res = batch.results.select(list(RESULT_COLUMNS)).to_pylist()[0]
        receipt = receipt_from_result(res, inputs)
        before = {"inputs": rec.inputs, "emissions_tco2": rec.emissions_tco2}
        for k, v in _record_fields(inputs, res, receipt).items():
            setattr(rec, k, v)
        [rec.leaf_index] = self._log().append(
            [
                {
                    "type": "mrv.receipt",
                    "org_id": rec.org_id,
                    "subject": f"mrvrec:{rec.id}",
                    "record_id": rec.record_id,
                    "receipt_sha256": rec.receipt_sha256,
                    "receipt": receipt,
                    "adjusted_by": self.actor.user_id,
                    "reason": reason,
                }
            ]
        )
        total, n = self._totals(report.org_id, report.year)
        self._event(
            report,
            "adjust",
            report.status,
            report.status,
            reason,
            {
                "record_id": record_id,
                "before": before,
                "after": {"inputs": inputs, "emissions_tco2": rec.emissions_tco2},
                "total_before": report.reported_tco2,
                "total_after": str(total),
            },
        )
        report.reported_tco2, report.records = str(total), n
        return rec

    def verify(self, report_id: str, comment: str = "") -> EmissionReport:
        """Verifier confirms the figure: it becomes the verified emissions."""
        report = self._as_verifier(report_id)
        total, _n = self._totals(report.org_id, report.year)
        report.verified_tco2 = str(total)
        report.verified_at = utcnow()
        return self._move(report, ("under_verification",), "verified", "verify", comment)

    def return_report(self, report_id: str, comment: str) -> EmissionReport:
        """Verifier returns the report to the enterprise with comments."""
        report = self._as_verifier(report_id)
        if not comment.strip():
            raise Invalid("say what must be corrected", code="mrv.reason_required")
        return self._move(report, ("under_verification",), "returned", "return", comment)

    def lock(self, report_id: str, comment: str = "") -> EmissionReport:
        """Regulator locks a verified report (final for compliance)."""
        self.actor.require(Perm.MRV_SUPERVISE)
        report = self.report(report_id)
        if not self.actor.covers_path(self._org(report.org_id).jurisdiction.path):
            raise Forbidden("outside your jurisdiction", code="jurisdiction_out_of_scope")
        report.locked_at = utcnow()
        return self._move(report, ("verified",), "locked", "lock", comment)

    # -- summaries -----------------------------------------------------------------------
    def region_monthly(self, year: int) -> dict[str, dict[str, str]]:
        """``{period: {category: tCO2}}`` summed over the enterprises in the actor's scope."""
        self.actor.require(Perm.MRV_READ)
        visible = select(Organisation.id).where(org_scope_clause(self.actor))
        stmt = select(
            ActivityRecord.period, ActivityRecord.category, ActivityRecord.emissions_tco2
        ).where(ActivityRecord.year == year, ActivityRecord.org_id.in_(visible))
        out: dict[str, dict[str, Decimal]] = {}
        for period, category, value in self.session.execute(stmt):
            cell = out.setdefault(period, {})
            cell[category] = cell.get(category, Decimal(0)) + Decimal(value)
        return {p: {c: str(v) for c, v in cats.items()} for p, cats in sorted(out.items())}

    def region_summary(self, year: int, jurisdiction: str | None = None) -> dict[str, Any]:
        """Per-enterprise and per-province totals within the actor's scope."""
        self.actor.require(Perm.MRV_READ)
        stmt = (
            select(Organisation, EmissionReport)
            .join(EmissionReport, EmissionReport.org_id == Organisation.id)
            .where(EmissionReport.year == year, org_scope_clause(self.actor))
        )
        if jurisdiction:
            j = self.session.get(Jurisdiction, jurisdiction)
            if j is None:
                raise Invalid(f"unknown jurisdiction {jurisdiction!r}", code="unknown_jurisdiction")
            stmt = stmt.where(
                Organisation.jurisdiction_code.in_(
                    select(Jurisdiction.code).where(Jurisdiction.path.startswith(j.path))
                )
            )
        rows = []
        regions: dict[str, Decimal] = {}
        for org, rep in self.session.execute(stmt.order_by(Organisation.code)):
            value = Decimal(rep.verified_tco2 or rep.reported_tco2)
            province = org.jurisdiction.path.strip("/").split("/")[:2][-1]
            regions[province] = regions.get(province, Decimal(0)) + value
            rows.append(
                {
                    "org_id": org.id,
                    "code": org.code,
                    "name_en": org.name_en,
                    "name_zh": org.name_zh,
                    "sector": org.sector or "",
                    "jurisdiction_code": org.jurisdiction_code,
                    "status": rep.status,
                    "report_id": rep.id,
                    "emissions_tco2": str(value),
                    "verified": rep.verified_tco2 is not None,
                }
            )
        return {
            "year": year,
            "enterprises": rows,
            "regions": {k: str(v) for k, v in sorted(regions.items())},
        }


def _record_fields(
    inputs: Mapping[str, Any], res: Mapping[str, Any], receipt: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "record_id": inputs["record_id"],
        "year": int(res["period"][:4]),
        "period": res["period"],
        "category": res["category"],
        "item": res["item"],
        "direction": res["direction"],
        "quantity": inputs["quantity"],
        "unit": inputs["unit"],
        "inputs": dict(inputs),
        "emissions_tco2": str(res["emissions_tco2"]),
        "method": str(res["method"]),
        "factor_ids": str(res["factor_ids"])[:300],
        "receipt_sha256": receipt_sha256(receipt),
    }


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}


def csv_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """Rows as UTF-8 CSV (with BOM, so spreadsheet programs read Chinese correctly)."""
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r.get(c, "") for c in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def publish_factor_sets(session: Session, signer: LogSigner) -> int:
    """Append a ``mrv.factor_set.published`` event for every shipped set not yet logged.

    Sets are immutable (their content hash is pinned in ``factor_sets.csv``), so one event
    per (set, version) anchors every later receipt's factor ids to the exact file content.
    Returns how many events were appended.
    """
    from greencircle.mrv.factors import load_library

    log = AuditLog(session, signer)
    events = []
    for fs in load_library().sets:
        subject = f"factorset:{fs.factor_set}@{fs.version}"
        if not log.by_subject(subject):
            events.append(
                {
                    "type": "mrv.factor_set.published",
                    "subject": subject,
                    "factor_set": fs.factor_set,
                    "version": fs.version,
                    "sha256": fs.sha256,
                    "published": fs.published.isoformat(),
                    "title": fs.title,
                    "source": fs.source,
                    "status": fs.status,
                }
            )
    log.append(events)
    return len(events)
