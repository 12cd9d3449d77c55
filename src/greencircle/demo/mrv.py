"""Demo MRV data: a year (2025) of monthly activity for every demo emitter, its annual
report taken through submission, verification and locking (two left mid-way).

The figures are synthetic but plausible for each sector (fuel mix, purchased electricity
and output), deterministic (seeded by the enterprise code) and computed by the real
engine; every record's receipt goes into the transparency log.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Facility, Organisation
from greencircle.auth.repository import UserRepo
from greencircle.auth.roles import OrgType
from greencircle.auth.service import actor_for_user
from greencircle.demo.scenario import username_for
from greencircle.mrv.models import EmissionReport
from greencircle.mrv.service import MrvService

YEAR = 2025
#: Seasonal load factor per month (Sichuan–Chongqing: summer and winter peaks).
SEASON = (1.08, 0.92, 0.97, 0.95, 1.0, 1.06, 1.15, 1.18, 1.02, 0.96, 0.98, 1.1)
#: Monthly base quantities per facility: (category, item, quantity, unit), and output.
PROFILES: dict[str, tuple[list[tuple[str, str, float, str]], tuple[float, str]]] = {
    "power": (
        [
            ("fuel", "bituminous_coal", 55_000, "t"),
            ("fuel", "natural_gas", 30, "10^4 Nm3"),
            ("electricity", "CN-ETS", 2_500, "MWh"),
        ],
        (118_000, "MWh"),
    ),
    "cement": (
        [("fuel", "bituminous_coal", 14_000, "t"), ("electricity", "CN-ETS", 9_000, "MWh")],
        (95_000, "t"),
    ),
    "steel": (
        [
            ("fuel", "coke", 21_000, "t"),
            ("fuel", "natural_gas", 180, "10^4 Nm3"),
            ("electricity", "CN-ETS", 32_000, "MWh"),
        ],
        (60_000, "t"),
    ),
    "chemicals": (
        [
            ("fuel", "natural_gas", 900, "10^4 Nm3"),
            ("heat", "heat", 40_000, "GJ"),
            ("electricity", "CN-ETS", 11_000, "MWh"),
        ],
        (30_000, "t"),
    ),
    "aluminium": (
        [("electricity", "CN-ETS", 150_000, "MWh"), ("fuel", "fuel_oil", 350, "t")],
        (11_000, "t"),
    ),
}
#: Enterprises whose report stops early, to show the workflow states.
RETURNED = "SC-CHE-03"
SUBMITTED_ONLY = "SC-ALU-02"
#: An enterprise reporting measured coal quality (overrides the defaults).
MEASURED = "CQ-POW-01"
#: An enterprise whose report the verifier adjusts.
ADJUSTED = "CQ-CEM-01"


def activity_csv(org: Organisation, facilities: list[Facility]) -> str:
    """The enterprise's 2025 monthly data as CSV in the ``mrv calculate`` format."""
    rng = random.Random(f"greencircle-demo-{org.code}")
    scale = rng.uniform(0.55, 1.6)
    fuels, (output, out_unit) = PROFILES[org.sector or "power"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "record_id",
            "facility_id",
            "period",
            "category",
            "item",
            "quantity",
            "unit",
            "ncv",
            "ncv_unit",
            "carbon_content_tc_per_tj",
        ]
    )
    for fac in facilities:
        fscale = scale * (0.7 if fac.code.endswith("F2") else 1.0)
        for m in range(1, 13):
            period = f"{YEAR}-{m:02d}"
            season = SEASON[m - 1] * rng.uniform(0.95, 1.05)
            for cat, item, base, unit in fuels:
                qty = round(base * fscale * season, 1 if unit != "t" else 0)
                measured = org.code == MEASURED and item == "bituminous_coal"
                w.writerow(
                    [
                        f"{fac.code}-{period}-{item}",
                        fac.code,
                        period,
                        cat,
                        item,
                        f"{qty:g}" if unit != "t" else str(int(qty)),
                        unit,
                        "22.35" if measured else "",
                        "GJ/t" if measured else "",
                        "26.18" if measured else "",
                    ]
                )
            w.writerow(
                [
                    f"{fac.code}-{period}-output",
                    fac.code,
                    period,
                    "output",
                    "product",
                    str(int(output * fscale * season)),
                    out_unit,
                    "",
                    "",
                    "",
                ]
            )
    return buf.getvalue()


def load_mrv_demo(
    session: Session, signer: LogSigner, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Load and verify the demo year (idempotent: enterprises with a 2025 report are skipped)."""
    users = UserRepo(session)

    def svc(username: str) -> MrvService:
        user = users.by_username(username)
        assert user is not None, username
        return MrvService(session, actor_for_user(user, auth_method="demo", token_id=""), signer)

    orgs = session.scalars(
        select(Organisation)
        .where(
            Organisation.org_type == OrgType.ENTERPRISE, Organisation.jurisdiction_code.like("CN-%")
        )
        .order_by(Organisation.code)
    ).all()
    counts = {"enterprises": 0, "records": 0, "verified": 0}
    for org in orgs:
        if progress:
            progress(org.code)
        if (
            session.scalar(
                select(EmissionReport.id).where(
                    EmissionReport.org_id == org.id, EmissionReport.year == YEAR
                )
            )
            is not None
        ):
            continue
        facilities = list(
            session.scalars(
                select(Facility).where(Facility.organisation_id == org.id).order_by(Facility.code)
            )
        )
        me = svc(username_for(org.code))
        result = me.ingest(
            org.id, f"{org.code}-{YEAR}.csv", activity_csv(org, facilities).encode(), "csv"
        )
        counts["enterprises"] += 1
        counts["records"] += result.new
        report = me.create_report(org.id, YEAR)
        me.submit(report.id, "2025 annual report")
        if org.code == SUBMITTED_ONLY:
            continue
        cq = org.jurisdiction_code.startswith("CN-CQ")
        regulator = svc("cq-eeb" if cq else "sc-eed")
        verifier_code = "VER-CQ-01" if cq else "VER-SC-01"
        verifier_org = session.scalar(
            select(Organisation).where(Organisation.code == verifier_code)
        )
        assert verifier_org is not None
        regulator.assign(report.id, verifier_org.id)
        verifier = svc(username_for(verifier_code))
        if org.code == RETURNED:
            verifier.return_report(
                report.id,
                "Heat purchase invoices for Q3 are missing; please attach them and resubmit.",
            )
            continue
        if org.code == ADJUSTED:
            fac = facilities[0]
            rec_id = f"{fac.code}-{YEAR}-07-electricity".replace("electricity", "CN-ETS")
            verifier.adjust(
                report.id,
                rec_id,
                {"quantity": "9850"},
                "Meter reading on the July invoice is 9,850 MWh, not the estimated value reported.",
            )
        verifier.verify(report.id, "Verified against invoices and meter readings.")
        regulator.lock(report.id, "")
        counts["verified"] += 1
    return counts
