"""HTTP contract of /v1/energy: optimise (sync and as a job), sites, studies, compare, access."""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest

from greencircle.audit.merkle import canonical_json
from greencircle.energy import RESULT_KEYS
from greencircle.energy.result import SERIES_KEYS
from greencircle.energy.service import ASYNC_THRESHOLD_STEPS, KPI_TABLE, SYNC_MAX_STEPS
from greencircle.mrv.factors import METHOD_ELECTRICITY, lookup

OPTIMIZE = "/v1/energy/microgrid/optimize"
SITE = {
    "code": "MG-T1",
    "name_en": "Test Park Microgrid",
    "name_zh": "测试园区微电网",
    "jurisdiction_code": "CN-CQ-500116",
    "latitude_deg": 29.29,
    "longitude_deg": 106.26,
    "grid_code": "CN-SW",
}


def small_spec(n: int = 48, **over: Any) -> dict[str, Any]:
    """A PV + battery SPEC of ``n`` hourly steps with a per-kWp profile (fast to solve)."""
    h = np.arange(n) % 24
    spec: dict[str, Any] = {
        "timestep_hours": 1,
        "load_kw": (300 + 100 * ((h >= 8) & (h < 20))).astype(float).tolist(),
        "pv": {
            "profile_kw_per_kwp": np.clip(np.sin((h - 6) / 12 * np.pi), 0, None).round(4).tolist(),
            "cost_cny_per_kwp_year": 5.0,
        },
        "battery": {
            "energy_cost_cny_per_kwh_year": 1.0,
            "power_cost_cny_per_kw_year": 0.5,
            "charge_efficiency": 0.922,
            "discharge_efficiency": 0.922,
            "soc_min_fraction": 0.1,
            "soc_max_fraction": 0.95,
        },
        "grid": {
            "import_price_cny_per_kwh": {"tariff": "CN-SC-2023-LI", "flat_price_cny_per_kwh": 0.6},
            "export_price_cny_per_kwh": 0.3,
            "import_limit_kw": 1000,
            "export_limit_kw": 100,
        },
        "carbon": {"grid_tco2_per_mwh": {"grid_code": "CN-SW", "year": 2023}},
        "unserved_energy_cost_cny_per_kwh": 20,
        "operating_cost_weight": 8760 / n,
    }
    spec.update(over)
    return spec


def make_site(api: Any, user: str = "cq-che-01", **over: Any) -> dict[str, Any]:
    r = api.post("/v1/energy/sites", user, json={**SITE, **over})
    assert r.status_code == 201, r.text
    return dict(r.json())


def wait_job(api: Any, job_id: str, user: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        job = api.get(f"/v1/jobs/{job_id}", user).json()
        seen.append(job["status"])
        if job["status"] in {"succeeded", "failed"}:
            job["seen"] = seen
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {seen[-5:]}")


def test_sync_optimise_answers_the_result_contract(api):
    r = api.post(OPTIMIZE, "cq-che-01", json=small_spec())
    assert r.status_code == 200, r.text
    result = r.json()
    assert list(result)[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    assert result["status"] == "optimal"
    assert set(result["series"]) == set(SERIES_KEYS)
    assert all(len(v) == 48 for v in result["series"].values())
    for key in ("kpis", "cost_breakdown_cny", "notes"):
        assert result[key]
    kpis = result["kpis"]
    for key in (
        "self_consumption_ratio",
        "self_sufficiency_ratio",
        "avoided_emissions_tco2",
        "simple_payback_years",
    ):
        assert key in kpis
    assert "study_id" not in result  # not saved without a site
    # The grid factor comes from the MRV library, with its provenance.
    expected = lookup(METHOD_ELECTRICITY, "CN-SW", 2023).factor
    note = result["notes"]["grid_factor"]
    assert note["tco2_per_mwh"] == float(expected.value)
    assert note["factor_id"] == expected.factor_id
    assert note["fallback"] == []
    imported_mwh = sum(result["series"]["import_kw"]) / 1000 * (8760 / 48)
    assert result["emissions_tco2"] == pytest.approx(imported_mwh * float(expected.value), 1e-4)


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"battery": {"charge_efficiency": 2}}, "battery"),
        ({"load_kw": [1.0] * 47}, "pv.profile_kw_per_kwp"),
        ({"surprise": 1}, "surprise"),
        ({"carbon": {"grid_tco2_per_mwh": {"grid_code": "XX-NOWHERE", "year": 2023}}}, "carbon"),
        (
            {
                "pv": {
                    "site": {"preset": "chongqing", "weather_csv": "/etc/passwd"},
                    "cost_cny_per_kwp_year": 1,
                }
            },
            "pv.site.weather_csv",
        ),
    ],
)
def test_invalid_specs_are_422_with_code_and_location(api, patch, loc):
    r = api.post(OPTIMIZE, "cq-che-01", json=small_spec(**patch))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "energy.spec_invalid"
    where = " | ".join(f"{item['loc']}: {item['message']}" for item in body["detail"])
    assert loc in where, where
    assert "root:" not in r.text  # the named server file was never read


def test_async_run_returns_202_and_the_job_ends_with_the_result(api):
    r = api.post(f"{OPTIMIZE}?async=true", "cq-che-01", json=small_spec())
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["poll"] == f"/v1/jobs/{accepted['job_id']}"
    assert r.headers["location"] == accepted["poll"]
    assert accepted["n_steps"] == 48 and accepted["study_id"] is None
    job = wait_job(api, accepted["job_id"], "cq-che-01")
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    assert list(job["result"])[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    assert job["result"]["status"] == "optimal"
    # The job is private to the organisation that started it.
    assert api.get(accepted["poll"], "sc-che-01").json()["error"] == "org_out_of_scope"


def test_large_runs_go_async_by_size_and_cannot_be_forced_sync_beyond_the_cap(api):
    n = ASYNC_THRESHOLD_STEPS + 24
    spec = small_spec(n)
    r = api.post(OPTIMIZE, "cq-che-01", json=spec)
    assert r.status_code == 202, r.text
    job = wait_job(api, r.json()["job_id"], "cq-che-01", timeout_s=120)
    assert job["status"] == "succeeded"
    assert len(job["result"]["series"]["load_kw"]) == n
    big = small_spec(SYNC_MAX_STEPS + 24)
    r = api.post(f"{OPTIMIZE}?async=false", "cq-che-01", json=big)
    assert r.status_code == 422
    assert r.json()["error"] == "energy.sync_too_large"


def test_unresolvable_grid_factor_is_refused_before_any_job(api):
    site = make_site(api)
    spec = small_spec(carbon={"grid_tco2_per_mwh": {"grid_code": "CN-SW", "year": 1995}})
    r = api.post(f"{OPTIMIZE}?async=true&site_id={site['id']}", "cq-che-01", json=spec)
    assert r.status_code == 422
    assert r.json()["error"] == "energy.spec_invalid"
    assert "1995" in r.json()["detail"][0]["message"]
    assert api.get(f"/v1/energy/studies?site_id={site['id']}", "cq-che-01").json()["total"] == 0
    # Nor may a site's default grid fail later: the SPEC's start year is checked too.
    spec = small_spec(start="1995-01-01T00:00:00")
    del spec["carbon"]
    r = api.post(f"{OPTIMIZE}?async=true&site_id={site['id']}", "cq-che-01", json=spec)
    assert r.status_code == 422 and r.json()["error"] == "energy.spec_invalid"


def test_a_failing_background_run_fails_the_job_and_the_study_with_its_code(api, monkeypatch):
    from greencircle.energy import service
    from greencircle.errors import Invalid

    def broken(*_a: Any, **_k: Any) -> dict[str, Any]:
        raise Invalid("weather station offline", code="energy.weather_csv_invalid")

    monkeypatch.setattr(service, "optimize_spec", broken)
    site = make_site(api)
    r = api.post(f"{OPTIMIZE}?async=true&site_id={site['id']}", "cq-che-01", json=small_spec())
    assert r.status_code == 202
    job = wait_job(api, r.json()["job_id"], "cq-che-01")
    assert job["status"] == "failed"
    assert job["error"]["error"] == "energy.weather_csv_invalid"
    study = api.get(f"/v1/energy/studies/{r.json()['study_id']}", "cq-che-01").json()
    assert study["status"] == "failed"
    assert study["error"]["error"] == "energy.weather_csv_invalid"
    assert study["result_sha256"] is None and study["log_index"] is not None
    r = api.get(f"/v1/energy/studies/{study['id']}/result", "cq-che-01")
    assert r.status_code == 409 and r.json()["error"] == "energy.study_not_finished"


def test_site_run_saves_a_logged_study_whose_digests_verify(api_any):
    api = api_any
    site = make_site(api)
    assert site["organisation_id"] == api.org_id("CQ-CHE-01")
    spec = small_spec()
    del spec["carbon"]  # the site's grid and the SPEC's year pick the factor
    titles = urlencode({"label_en": "Base case", "label_zh": "基准方案"})
    r = api.post(f"{OPTIMIZE}?site_id={site['id']}&label=base&{titles}", "cq-che-01", json=spec)
    assert r.status_code == 200, r.text
    result = r.json()
    study_id = result.pop("study_id")
    assert r.headers["location"] == f"/v1/energy/studies/{study_id}"
    assert result["notes"]["grid_factor"]["grid_code"] == "CN-SW"
    assert result["notes"]["grid_factor"]["requested_year"] == 2023

    study = api.get(f"/v1/energy/studies/{study_id}", "cq-che-01").json()
    assert study["status"] == "succeeded" and study["solver_status"] == "optimal"
    assert study["label"] == "base" and study["site_id"] == site["id"]
    assert (study["label_en"], study["label_zh"]) == ("Base case", "基准方案")
    assert "series" not in study["result"]
    assert study["kpis"]["pv_kwp"] == pytest.approx(result["pv_kwp"])
    assert study["spec"]["carbon"]["grid_tco2_per_mwh"] == {"grid_code": "CN-SW", "year": 2023}
    assert study["spec_sha256"] == hashlib.sha256(canonical_json(study["spec"])).hexdigest()

    full = api.get(f"/v1/energy/studies/{study_id}/result", "cq-che-01").json()
    assert full == result
    assert study["result_sha256"] == hashlib.sha256(canonical_json(full)).hexdigest()

    idx = study["log_index"]
    (leaf,) = api.get(f"/v1/audit/leaves?start={idx}&end={idx + 1}", "cq-che-01").json()
    event = leaf["data"]
    assert event["type"] == "energy.study"
    assert event["subject"] == study_id
    assert event["org_id"] == site["organisation_id"]
    assert event["spec_sha256"] == study["spec_sha256"]
    assert event["result_sha256"] == study["result_sha256"]


def test_async_site_run_lists_the_study_and_finishes_it(api):
    site = make_site(api)
    r = api.post(f"{OPTIMIZE}?async=true&site_id={site['id']}", "cq-che-01", json=small_spec())
    assert r.status_code == 202
    study_id = r.json()["study_id"]
    assert study_id
    job = wait_job(api, r.json()["job_id"], "cq-che-01")
    assert job["status"] == "succeeded"
    assert job["result"]["study_id"] == study_id
    study = api.get(f"/v1/energy/studies/{study_id}", "cq-che-01").json()
    assert study["status"] == "succeeded"
    assert study["job_id"] == job["id"]
    assert study["log_index"] is not None
    result = dict(job["result"])
    result.pop("study_id")
    assert study["result_sha256"] == hashlib.sha256(canonical_json(result)).hexdigest()


def test_access_control_on_sites_and_studies(api):
    site = make_site(api)
    url = f"{OPTIMIZE}?site_id={site['id']}"
    r = api.post(url, "cq-che-01", json=small_spec())
    study_id = r.json()["study_id"]
    # Another enterprise can neither read nor run on the site.
    for path in (f"/v1/energy/sites/{site['id']}", f"/v1/energy/studies/{study_id}"):
        other = api.get(path, "sc-che-01")
        assert other.status_code == 403 and other.json()["error"] == "org_out_of_scope", path
    r = api.post(url, "sc-che-01", json=small_spec())
    assert r.status_code == 403 and r.json()["error"] == "org_out_of_scope"
    assert api.get("/v1/energy/sites", "sc-che-01").json()["total"] == 0
    # Sichuan's regulator cannot read a Chongqing site; Chongqing's can, but not run.
    r = api.get(f"/v1/energy/studies/{study_id}", "sc-eed")
    assert r.status_code == 403 and r.json()["error"] == "org_out_of_scope"
    assert api.get("/v1/energy/studies", "sc-eed").json()["total"] == 0
    assert api.get(f"/v1/energy/studies/{study_id}", "cq-eeb").status_code == 200
    assert api.get("/v1/energy/studies", "cq-eeb").json()["total"] == 1
    r = api.post(url, "cq-eeb", json=small_spec())
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    # The platform secretariat reads everything; a bank holds no energy permission.
    assert api.get(f"/v1/energy/studies/{study_id}", "gc-secretariat").status_code == 200
    r = api.get("/v1/energy/sites", "bank-cq-01")
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    r = api.post(OPTIMIZE, "bank-cq-01", json={"not": "a spec"})
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    # Sites are created for one's own organisation only; codes are unique per owner.
    foreign = {**SITE, "organisation_id": site["organisation_id"]}
    r = api.post("/v1/energy/sites", "sc-che-01", json=foreign)
    assert r.status_code == 403 and r.json()["error"] == "org_out_of_scope"
    assert api.post("/v1/energy/sites", "cq-che-01", json=SITE).json()["error"] == "duplicate_code"
    assert api.get("/v1/energy/sites/nope", "cq-che-01").json()["error"] == "energy.site_not_found"
    r = api.get("/v1/energy/studies/nope", "cq-che-01")
    assert r.json()["error"] == "energy.study_not_found"
    assert api.post(OPTIMIZE, json=small_spec()).status_code == 401


def test_openapi_documents_the_energy_routes(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/energy/sites",
        "/v1/energy/sites/{site_id}",
        "/v1/energy/microgrid/optimize",
        "/v1/energy/studies",
        "/v1/energy/studies/compare",
        "/v1/energy/studies/{study_id}",
        "/v1/energy/studies/{study_id}/result",
    ):
        assert path in paths, path
    params = {p["name"] for p in paths["/v1/energy/microgrid/optimize"]["post"]["parameters"]}
    assert {"site_id", "label", "async", "time_limit_s"} <= params


def test_site_validation(api):
    r = api.post("/v1/energy/sites", "cq-che-01", json={**SITE, "jurisdiction_code": "CN-XX"})
    assert r.json()["error"] == "unknown_jurisdiction"
    r = api.post("/v1/energy/sites", "cq-che-01", json={**SITE, "grid_code": "ZZ-NONE"})
    assert r.status_code == 422 and r.json()["error"] == "energy.grid_factor_not_found"
    r = api.post("/v1/energy/sites", "cq-che-01", json={**SITE, "timezone": "Mars/Olympus"})
    assert r.json()["error"] == "invalid_timezone"
    r = api.post("/v1/energy/sites", "cq-che-01", json={**SITE, "latitude_deg": 95})
    assert r.status_code == 422


def test_studies_page_sort_and_compare(api):
    site = make_site(api)
    url = f"{OPTIMIZE}?site_id={site['id']}"
    ids = []
    for label, cost in (("b-cheap-pv", 2.0), ("a-dear-pv", 50.0), ("c-mid-pv", 10.0)):
        spec = small_spec()
        spec["pv"]["cost_cny_per_kwp_year"] = cost
        r = api.post(f"{url}&label={label}", "cq-che-01", json=spec)
        assert r.status_code == 200, r.text
        ids.append(r.json()["study_id"])
    page = api.get("/v1/energy/studies?sort=label&limit=2", "cq-che-01").json()
    assert page["total"] == 3 and page["limit"] == 2
    assert [s["label"] for s in page["items"]] == ["a-dear-pv", "b-cheap-pv"]
    page2 = api.get("/v1/energy/studies?sort=label&limit=2&offset=2", "cq-che-01").json()
    assert [s["label"] for s in page2["items"]] == ["c-mid-pv"]
    newest = api.get("/v1/energy/studies", "cq-che-01").json()["items"]
    assert [s["id"] for s in newest] == ids[::-1]
    r = api.get("/v1/energy/studies?sort=password", "cq-che-01")
    assert r.status_code == 422 and r.json()["error"] == "invalid_sort"

    cmp = api.get(f"/v1/energy/studies/compare?ids={ids[0]},{ids[1]}", "cq-che-01").json()
    assert [s["id"] for s in cmp["studies"]] == ids[:2]
    rows = {row["key"]: row for row in cmp["kpis"]}
    assert list(rows) == [k.key for k in KPI_TABLE]
    for i, sid in enumerate(ids[:2]):
        full = api.get(f"/v1/energy/studies/{sid}/result", "cq-che-01").json()
        assert rows["pv_kwp"]["values"][i] == pytest.approx(full["pv_kwp"])
        assert rows["avoided_emissions_tco2"]["values"][i] == pytest.approx(
            full["kpis"]["avoided_emissions_tco2"]
        )
    # Cheaper PV is built bigger.
    assert rows["pv_kwp"]["values"][0] > rows["pv_kwp"]["values"][1]
    r = api.get(f"/v1/energy/studies/compare?ids={ids[0]}", "cq-che-01")
    assert r.status_code == 422 and r.json()["error"] == "energy.compare_count"
    r = api.get(f"/v1/energy/studies/compare?ids={ids[0]}&ids={ids[1]}", "sc-che-01")
    assert r.status_code == 403


def test_an_idempotent_replay_returns_the_same_job_and_study(api):
    site = make_site(api)
    url = f"{OPTIMIZE}?async=true&site_id={site['id']}"
    headers = {"Idempotency-Key": "run-2026-001"}
    first = api.post(url, "cq-che-01", json=small_spec(), headers=headers)
    assert first.status_code == 202
    wait_job(api, first.json()["job_id"], "cq-che-01")
    again = api.post(url, "cq-che-01", json=small_spec(), headers=headers)
    assert again.status_code == 202 and again.json() == first.json()
    assert api.get(f"/v1/energy/studies?site_id={site['id']}", "cq-che-01").json()["total"] == 1
    other = api.post(url, "cq-che-01", json=small_spec(n=24), headers=headers)
    assert other.status_code == 409
