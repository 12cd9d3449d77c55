"""Console forms: create a site and build + run a study without JSON; errors on the form."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from greencircle.demo.energy import demo_spec
from greencircle.energy.forms import STUDY_DEFAULTS, parse_load_csv, study_spec_from_form
from greencircle.web.i18n import catalog
from tests_support import console_login

from .test_energy_console import demo_ids


def test_default_study_form_builds_the_demo_spec() -> None:
    """The form's defaults are the demo PV+BESS study (built independently in demo/)."""
    built = study_spec_from_form(dict(STUDY_DEFAULTS))
    assert built.errors == {} and built.spec is not None
    demo = demo_spec(with_battery=True)
    spec = built.spec
    assert spec["load_kw"] == demo["load_kw"]
    assert spec["grid"]["import_price_cny_per_kwh"] == demo["grid"]["import_price_cny_per_kwh"]
    for key in ("export_price_cny_per_kwh", "import_limit_kw", "export_limit_kw"):
        assert spec["grid"][key] == demo["grid"][key]
    assert spec["grid"]["battery_export"] is False
    assert spec["pv"]["max_kwp"] == demo["pv"]["max_kwp"]
    assert spec["battery"]["charge_efficiency"] == pytest.approx(0.922)
    assert spec["battery"]["soc_min_fraction"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("changes", "field", "key"),
    [
        ({"base_kw": "abc"}, "base_kw", "energy.form.err.number"),
        ({"pv_min_kwp": "900", "pv_max_kwp": "100"}, "pv_max_kwp", "energy.form.err.min_max"),
        ({"battery_enabled": "", "battery_export": "on"}, "battery_export", None),
        ({"battery_soc_max_percent": "140"}, "battery_soc_max_percent", "energy.form.err.range"),
        ({"year": "2023.5"}, "year", "energy.form.err.range"),
        ({"load_profile": "upload"}, "load_file", "energy.form.err.required"),
        ({"tariff": "CN-XX-1"}, "tariff", "energy.form.err.choice"),
    ],
)
def test_study_form_errors_name_the_field(changes: dict[str, str], field: str, key: str | None):
    built = study_spec_from_form({**STUDY_DEFAULTS, **changes})
    assert built.spec is None
    assert field in built.errors
    assert built.errors[field] == (key or "energy.form.err.export_needs_battery")
    assert built.errors[field] in catalog("en") and built.errors[field] in catalog("zh-CN")


def test_uploaded_load_needs_one_value_per_hour() -> None:
    values = [float(i % 7) for i in range(8760)]
    text = "load_kw\n" + "\n".join(str(v) for v in values)
    assert parse_load_csv(text, 8760) == values
    with pytest.raises(ValueError, match="load_count"):
        parse_load_csv(text, 8784)
    with pytest.raises(ValueError, match="load_value"):
        parse_load_csv(text + "\n-1", 8761)


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m
    return m.group(1)


def test_site_form_creates_a_site_and_shows_errors(energy_api: Any) -> None:
    api = energy_api
    console_login(api, "cq-che-01", "zh-CN")
    page = api.client.get("/console/energy/sites/new")
    assert page.status_code == 200
    good = {
        "csrf": _csrf(page.text),
        "code": "CQ-CHE-01-MG2",
        "name_zh": "长寿二期微电网",
        "name_en": "Changshou Phase II Microgrid",
        "jurisdiction_code": "CN-CQ-500115",
        "latitude_deg": "29.9",
        "longitude_deg": "107.1",
        "grid_code": "CN-CQ",
        "timezone": "Asia/Shanghai",
    }
    before = api.get("/v1/energy/sites", "cq-che-01").json()["total"]
    bad = api.client.post("/console/energy/sites", data={**good, "latitude_deg": "95"})
    assert bad.status_code == 422
    assert catalog("zh-CN")["energy.form.err.invalid"] in bad.text
    bad = api.client.post("/console/energy/sites", data={**good, "jurisdiction_code": "CN-ZZ"})
    assert bad.status_code == 422
    assert catalog("zh-CN")["energy.form.err.unknown_jurisdiction"] in bad.text
    assert api.get("/v1/energy/sites", "cq-che-01").json()["total"] == before
    ok = api.client.post("/console/energy/sites", data=good, follow_redirects=False)
    assert ok.status_code == 303
    site_page = api.client.get(ok.headers["location"]).text
    assert "长寿二期微电网" in site_page
    # No Chongqing tariff is shipped, and the page says so.
    assert catalog("zh-CN")["energy.tariff.none_shipped"].format(province="重庆市") in site_page
    dup = api.client.post("/console/energy/sites", data=good)
    assert dup.status_code == 409
    assert catalog("zh-CN")["energy.form.err.duplicate_code"] in dup.text
    assert api.get("/v1/energy/sites", "cq-che-01").json()["total"] == before + 1
    assert api.client.post("/console/energy/sites", data={**good, "csrf": "x"}).status_code == 403


def test_study_form_runs_a_study_in_the_background(energy_api: Any) -> None:
    api = energy_api
    site_id, _ = demo_ids(api)
    console_login(api, "cq-che-01", "en")
    page = api.client.get(f"/console/energy/sites/{site_id}/studies/new")
    assert page.status_code == 200
    form = {**STUDY_DEFAULTS, "csrf": _csrf(page.text), "label_en": "Form run"}
    form["label_zh"] = "表单研究"
    form.update(battery_enabled="", pv_max_kwp="500")
    n_before = api.get(f"/v1/energy/studies?site_id={site_id}", "cq-che-01").json()["total"]
    bad = api.client.post(
        f"/console/energy/sites/{site_id}/studies", data={**form, "battery_export": "on"}
    )
    assert bad.status_code == 422
    assert catalog("en")["energy.form.err.export_needs_battery"] in bad.text
    assert api.get(f"/v1/energy/studies?site_id={site_id}", "cq-che-01").json()["total"] == (
        n_before
    )
    r = api.client.post(
        f"/console/energy/sites/{site_id}/studies", data=form, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    study_id = r.headers["location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        study = api.get(f"/v1/energy/studies/{study_id}", "cq-che-01").json()
        if study["status"] in {"succeeded", "failed"}:
            break
        time.sleep(0.2)
    assert study["status"] == "succeeded", study
    assert (study["label"], study["label_en"], study["label_zh"]) == (
        "Form run",
        "Form run",
        "表单研究",
    )
    console_login(api, "cq-che-01", "zh-CN")
    assert "研究: 表单研究" in api.client.get(f"/console/energy/studies/{study_id}").text
    assert study["spec"]["grid"]["battery_export"] is False
    assert study["spec"]["carbon"]["grid_tco2_per_mwh"] == {"grid_code": "CN-CQ", "year": 2023}
    assert study["result"]["pv_kwp"] <= 500 + 1e-6
    # A regulator may read but not run.
    console_login(api, "cq-eeb", "en")
    assert api.client.get(f"/console/energy/sites/{site_id}/studies/new").status_code == 403
