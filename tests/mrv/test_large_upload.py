"""A 10 MiB upload end to end: HTTP 202, a background job, progress, the stored result.

Uploads over 2 MiB run as jobs. The job stores the file in one write transaction and
reports progress meanwhile; on SQLite a progress write on a second connection waited for
that transaction and the job failed with ``database is locked``. Runs on SQLite and on
PostgreSQL. The expected total is recomputed here (E = FC × NCV × CC × OF × 44/12).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from greencircle.mrv.endpoints import ASYNC_UPLOAD_BYTES

DIESEL = Decimal("42.652") * Decimal("20.2") / 1000 * Decimal("0.98") * 44 / 12  # tCO2/t
TEN_MIB = 10 * 1024 * 1024
#: The file fills a 10 MiB request (the platform's body limit) up to the multipart framing.
FILE_BYTES = TEN_MIB - 1024
NOTE = "monthly meter reading; boiler house 2; checked by the shift engineer (see log book)"


def _big_csv() -> tuple[bytes, int, Decimal]:
    lines = ["record_id,facility_id,period,category,item,quantity,unit,comment"]
    size, n, tonnes = len(lines[0]) + 1, 0, Decimal(0)
    while size < FILE_BYTES - 200:
        n += 1
        qty = Decimal(n % 997 + 1) + Decimal("0.125")
        tonnes += qty
        line = (
            f"CQ-POW-01-F1/boiler-{n % 7}/meter-{n:07d},CQ-POW-01-F1,2025-{n % 12 + 1:02d},"
            f"fuel,diesel,{qty},t,{NOTE} #{n}"
        )
        lines.append(line)
        size += len(line) + 1
    return ("\n".join(lines) + "\n").encode(), n, tonnes


@pytest.mark.slow
@pytest.mark.postgres
def test_ten_mib_upload_runs_as_a_job_and_stores_everything(api_any):
    api = api_any
    content, n, tonnes = _big_csv()
    assert FILE_BYTES - 200 <= len(content) <= FILE_BYTES and len(content) > ASYNC_UPLOAD_BYTES
    cq = api.org_id("CQ-POW-01")
    r = api.client.post(
        f"/v1/mrv/uploads?org_id={cq}",
        headers=api.auth("cq-pow-01"),
        files={"file": ("big.csv", content, "text/csv")},
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert r.headers["location"] == f"/v1/jobs/{job_id}"
    api.client.app.state.jobs.wait(job_id, 900)
    job = api.get(f"/v1/jobs/{job_id}", "cq-pow-01").json()
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == 1.0 and job["message"] == "done"
    result = job["result"]
    assert (result["new"], result["rows_total"], result["duplicate"]) == (n, n, False)
    # each record is rounded to 1e-10 t, so n records differ from the exact sum by < n·1e-10
    expected = tonnes * DIESEL
    assert abs(Decimal(result["emissions_tco2"]) - expected) <= n * Decimal("1e-10")
    listed = api.get(f"/v1/mrv/records?org_id={cq}&year=2025&limit=1", "cq-pow-01").json()
    assert listed["total"] == n
    # the same file again is recognised, even as a job
    again = api.client.post(
        f"/v1/mrv/uploads?org_id={cq}",
        headers=api.auth("cq-pow-01"),
        files={"file": ("big.csv", content, "text/csv")},
    )
    assert again.status_code == 202
    api.client.app.state.jobs.wait(again.json()["job_id"], 900)
    dup = api.get(f"/v1/jobs/{again.json()['job_id']}", "cq-pow-01").json()
    assert dup["status"] == "succeeded" and dup["result"]["duplicate"] is True
