"""``greencircle demo load`` adds the Chongqing industrial-park microgrid study."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from greencircle.audit.models import LogLeaf
from greencircle.cli.main import app
from greencircle.config import get_settings
from greencircle.demo.energy import DEMO_SITE_CODE, DEMO_STUDIES, HOURS, SITE
from greencircle.energy.models import EnergySite, EnergyStudy
from greencircle.energy.service import headline_kpis
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("GREENCIRCLE_DATABASE_URL", url)
    monkeypatch.setenv("GREENCIRCLE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.mark.slow
def test_demo_load_adds_the_microgrid_site_and_studies_once(cli_db):
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "'energy_sites': 1" in first.output
    assert f"'energy_studies': {len(DEMO_STUDIES)}" in first.output
    second = runner.invoke(app, ["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "'energy_sites': 0" in second.output and "'energy_studies': 0" in second.output

    engine = make_engine(cli_db)
    with unit_of_work(make_session_factory(engine)) as s:
        site = s.scalar(select(EnergySite).where(EnergySite.code == DEMO_SITE_CODE))
        assert site is not None
        assert (site.name_en, site.name_zh) == (SITE["name_en"], SITE["name_zh"])
        studies = list(s.scalars(select(EnergyStudy).where(EnergyStudy.site_id == site.id)))
        assert sorted(st.label for st in studies) == sorted(DEMO_STUDIES)
        for st in studies:
            assert st.status == "succeeded" and st.solver_status == "optimal"
            assert st.series is not None and len(st.series["load_kw"]) == HOURS
            kpis = headline_kpis(st.summary)
            assert kpis["pv_kwp"] and kpis["pv_kwp"] > 0
            assert kpis["avoided_emissions_tco2"] and kpis["avoided_emissions_tco2"] > 0
            leaf = s.get(LogLeaf, st.log_index)
            assert leaf is not None and leaf.event_type == "energy.study"
            assert leaf.subject == st.id
        by_label = {st.label: st for st in studies}
        with_battery = headline_kpis(by_label["PV+BESS 2023"].summary)
        pv_only = headline_kpis(by_label["PV-only 2023"].summary)
        assert with_battery["battery_kwh"] and with_battery["battery_kwh"] > 0
        assert pv_only["battery_kwh"] == 0
        # The optimiser may choose no battery, so allowing one can only lower the cost.
        assert with_battery["objective_cny"] <= pv_only["objective_cny"]  # type: ignore[operator]
        grid = by_label["PV+BESS 2023"].summary["notes"]["grid_factor"]  # type: ignore[index]
        assert grid["requested_code"] == "CN-CQ" and grid["grid_code"] == "CN-SW"
    engine.dispose()
