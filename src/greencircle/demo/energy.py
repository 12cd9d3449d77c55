"""Demo: a microgrid study for a Chongqing chemical industrial park (Changshou district).

The site belongs to the demo enterprise ``CQ-CHE-01``; two studies (PV + battery, PV
only) are computed with the real optimiser through :class:`~greencircle.energy.service.
EnergyService`, so they are saved, logged in the transparency log and comparable like
any user's. The load profile is synthetic (a seeded, deterministic continuous-process
park); the tariff is the Sichuan large-industry TOU schedule (``CN-SC-2023-LI``, status
``recall``) used as a stand-in, because no Chongqing tariff is shipped (none could be
verified; the site and study pages say so); the grid factor is looked up for the site's
province (CN-CQ → Southwest grid) in the MRV factor library. Export is PV surplus only
(no battery export). A six-hour grid
outage on the evening of 2 July may be bridged by the battery or paid as unserved energy.
Loading twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Organisation, User
from greencircle.auth.service import actor_for_user
from greencircle.energy.forms import process_load_kw
from greencircle.energy.models import EnergySite
from greencircle.energy.repository import SiteRepo, StudyRepo
from greencircle.energy.service import EnergyService

__all__ = ["DEMO_SITE_CODE", "DEMO_STUDIES", "DEMO_TITLES", "demo_spec", "load_energy_demo"]

OWNER_CODE = "CQ-CHE-01"
OWNER_USER = "cq-che-01"
DEMO_SITE_CODE = "CQ-CHE-01-MG1"
HOURS = 8760
#: Study labels (language-neutral keys) → whether the battery may be built.
DEMO_STUDIES: dict[str, bool] = {"PV+BESS 2023": True, "PV-only 2023": False}
#: Study titles per language (English, Chinese).
DEMO_TITLES: dict[str, tuple[str, str]] = {
    "PV+BESS 2023": ("PV + battery 2023", "光伏+储能 2023"),
    "PV-only 2023": ("PV only 2023", "仅光伏 2023"),
}

SITE: dict[str, Any] = {
    "code": DEMO_SITE_CODE,
    "name_en": "Changshou Chemical Park Microgrid",
    "name_zh": "长寿化工园区微电网",
    "jurisdiction_code": "CN-CQ-500115",
    "latitude_deg": 29.86,
    "longitude_deg": 107.08,
    "grid_code": "CN-CQ",
    "timezone": "Asia/Shanghai",
}


def demo_load_kw(hours: int = HOURS) -> list[float]:
    """Hourly load of a continuous-process chemical park [kW] (seeded, deterministic).

    A 3.0 MW process base running day and night, 0.9 MW of day-shift load on working
    days (08:00–20:00), summer cooling (+12 % around late July) and ±2 % noise
    (:func:`greencircle.energy.forms.process_load_kw`, the console's "process" profile).
    """
    return process_load_kw(hours, 3000.0, 900.0)


def demo_spec(with_battery: bool, hours: int = HOURS) -> dict[str, Any]:
    """SPEC of a demo study (the grid factor comes from the site: CN-CQ, 2023)."""
    spec: dict[str, Any] = {
        "timestep_hours": 1,
        "start": "2023-01-01T00:00:00",
        "timezone": "Asia/Shanghai",
        "load_kw": demo_load_kw(hours),
        "pv": {
            "site": {
                "preset": "chongqing",
                "latitude_deg": SITE["latitude_deg"],
                "longitude_deg": SITE["longitude_deg"],
                "tilt_deg": 15,
            },
            "cost_cny_per_kwp_year": 220.0,
            "max_kwp": 8000,
        },
        "grid": {
            "import_price_cny_per_kwh": {
                "tariff": "CN-SC-2023-LI",
                "flat_price_cny_per_kwh": 0.62,
            },
            "export_price_cny_per_kwh": 0.35,
            "import_limit_kw": 6000,
            "export_limit_kw": 1000,
        },
        "carbon": {"price_cny_per_tco2": 80},
        "outages": [{"start_step": 4380 + 18, "steps": 6, "critical_load_fraction": 0.0}],
        "unserved_energy_cost_cny_per_kwh": 20,
        "economics": {"discount_rate": 0.06, "lifetime_years": 20},
    }
    if with_battery:
        spec["battery"] = {
            "energy_cost_cny_per_kwh_year": 110.0,
            "power_cost_cny_per_kw_year": 45.0,
            "charge_efficiency": 0.922,
            "discharge_efficiency": 0.922,
            "soc_min_fraction": 0.1,
            "soc_max_fraction": 0.95,
        }
    return spec


def load_energy_demo(session: Session, signer: LogSigner) -> dict[str, int]:
    """Add the demo site and its studies (the caller commits). Idempotent.

    Returns
    -------
    dict
        ``{"energy_sites": n, "energy_studies": m}`` added by this call.
    """
    counts = {"energy_sites": 0, "energy_studies": 0}
    owner = session.scalar(select(Organisation).where(Organisation.code == OWNER_CODE))
    user = session.scalar(select(User).where(User.username == OWNER_USER))
    if owner is None or user is None:
        raise LookupError(f"load the base demo first: {OWNER_CODE} / {OWNER_USER} missing")
    service = EnergyService(session, actor_for_user(user, auth_method="demo", token_id=""))
    site: EnergySite | None = SiteRepo(session).by_code(owner.id, DEMO_SITE_CODE)
    if site is None:
        from greencircle.energy.schemas import SiteIn

        site = service.create_site(SiteIn(**SITE))
        counts["energy_sites"] += 1
    studies = StudyRepo(session)
    for label, with_battery in DEMO_STUDIES.items():
        existing = studies.by_label(site.id, label)
        if existing is not None and existing.status == "succeeded":
            continue
        spec = service.effective_spec(demo_spec(with_battery), site)
        service.run(
            spec,
            signer=signer,
            site=site,
            label=label,
            time_limit_s=300,
            titles=DEMO_TITLES[label],
        )
        counts["energy_studies"] += 1
    return counts
