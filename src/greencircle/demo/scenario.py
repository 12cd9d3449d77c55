"""The demo scenario: regions, regulators, a market operator, ~30 emitters and partners.

Everything here is fictitious: organisation names are composed from place names and
sector words and do not describe real companies. The scenario is deterministic (same
content on every run) and loading it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from greencircle.auth.models import Facility, Organisation, User, UserRole
from greencircle.auth.roles import OrgType, Role
from greencircle.auth.seed import seed_jurisdictions
from greencircle.auth.service import hash_password

DEMO_PASSWORD = "demo-pass-2026"

# Approximate centres used for facility coordinates [deg].
PLACES: dict[str, tuple[str, str, float, float]] = {
    "CN-CQ-500101": ("Wanzhou", "万州", 30.81, 108.41),
    "CN-CQ-500102": ("Fuling", "涪陵", 29.70, 107.39),
    "CN-CQ-500105": ("Jiangbei", "江北", 29.61, 106.57),
    "CN-CQ-500110": ("Qijiang", "綦江", 29.03, 106.65),
    "CN-CQ-500115": ("Changshou", "长寿", 29.86, 107.08),
    "CN-CQ-500116": ("Jiangjin", "江津", 29.29, 106.26),
    "CN-CQ-500119": ("Nanchuan", "南川", 29.16, 107.10),
    "CN-SC-510100": ("Chengdu", "成都", 30.66, 104.07),
    "CN-SC-510300": ("Zigong", "自贡", 29.34, 104.78),
    "CN-SC-510400": ("Panzhihua", "攀枝花", 26.58, 101.72),
    "CN-SC-510500": ("Luzhou", "泸州", 28.87, 105.44),
    "CN-SC-510600": ("Deyang", "德阳", 31.13, 104.40),
    "CN-SC-510700": ("Mianyang", "绵阳", 31.47, 104.68),
    "CN-SC-511100": ("Leshan", "乐山", 29.55, 103.77),
    "CN-SC-511500": ("Yibin", "宜宾", 28.77, 104.63),
    "CN-SC-511700": ("Dazhou", "达州", 31.21, 107.47),
    "CN-SC-513200": ("Ngawa", "阿坝", 31.90, 102.22),
}

SECTOR_WORDS: dict[str, tuple[str, str, str, str]] = {
    # sector: (company word en, company word zh, facility word en, facility word zh)
    "power": ("Thermal Power", "热电", "Power Station", "发电厂"),
    "cement": ("Cement", "水泥", "Clinker Line", "熟料生产线"),
    "steel": ("Iron & Steel", "钢铁", "Steel Works", "炼钢厂"),
    "chemicals": ("Chemical", "化工", "Chemical Plant", "化工厂"),
    "aluminium": ("Aluminium", "铝业", "Smelter", "电解铝厂"),
}

# (sector, jurisdiction, number of facilities): 30 key emitting units.
ENTERPRISES: list[tuple[str, str, int]] = [
    ("power", "CN-CQ-500115", 2),
    ("power", "CN-CQ-500101", 1),
    ("power", "CN-CQ-500116", 1),
    ("power", "CN-CQ-500102", 1),
    ("power", "CN-SC-510500", 1),
    ("power", "CN-SC-511500", 2),
    ("power", "CN-SC-510400", 1),
    ("power", "CN-SC-511700", 1),
    ("cement", "CN-CQ-500119", 1),
    ("cement", "CN-CQ-500110", 1),
    ("cement", "CN-CQ-500101", 1),
    ("cement", "CN-SC-511100", 1),
    ("cement", "CN-SC-510600", 1),
    ("cement", "CN-SC-510700", 1),
    ("cement", "CN-SC-511700", 1),
    ("steel", "CN-CQ-500116", 1),
    ("steel", "CN-CQ-500110", 1),
    ("steel", "CN-SC-510400", 2),
    ("steel", "CN-SC-510100", 1),
    ("steel", "CN-SC-511100", 1),
    ("chemicals", "CN-CQ-500115", 2),
    ("chemicals", "CN-CQ-500102", 1),
    ("chemicals", "CN-SC-510300", 1),
    ("chemicals", "CN-SC-510500", 1),
    ("chemicals", "CN-SC-511500", 1),
    ("chemicals", "CN-SC-510600", 1),
    ("aluminium", "CN-CQ-500119", 1),
    ("aluminium", "CN-SC-513200", 1),
    ("aluminium", "CN-SC-511100", 1),
    ("aluminium", "CN-SC-510100", 1),
]


@dataclass(frozen=True)
class OrgSpec:
    """One demo organisation with its first user."""

    code: str
    org_type: OrgType
    name_en: str
    name_zh: str
    jurisdiction: str
    roles: tuple[Role, ...]
    sector: str | None = None
    facilities: int = 0


def demo_organisations() -> list[OrgSpec]:
    """The full, deterministic list of demo organisations."""
    specs = [
        OrgSpec(
            "GC-SECRETARIAT",
            OrgType.PLATFORM,
            "Green Circle Platform Secretariat",
            "绿色经济圈平台秘书处",
            "CN",
            (Role.PLATFORM_ADMIN, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "CQ-EEB",
            OrgType.REGULATOR,
            "Chongqing Ecology and Environment Bureau",
            "重庆市生态环境局",
            "CN-CQ",
            (Role.REGULATOR, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "SC-EED",
            OrgType.REGULATOR,
            "Sichuan Department of Ecology and Environment",
            "四川省生态环境厅",
            "CN-SC",
            (Role.REGULATOR, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "NCM-OPERATOR",
            OrgType.EXCHANGE_OPERATOR,
            "National Carbon Market Operator",
            "全国碳市场交易运营机构",
            "CN",
            (Role.EXCHANGE_OPERATOR, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "VER-CQ-01",
            OrgType.VERIFIER,
            "Bayu Carbon Verification Centre",
            "巴渝碳核查中心",
            "CN-CQ",
            (Role.VERIFIER, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "VER-SC-01",
            OrgType.VERIFIER,
            "Tianfu Low-Carbon Assurance Ltd.",
            "天府低碳认证有限公司",
            "CN-SC-510100",
            (Role.VERIFIER, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "BANK-CQ-01",
            OrgType.FINANCIAL_INSTITUTION,
            "Yangtze Green Commercial Bank",
            "长江绿色商业银行",
            "CN-CQ",
            (Role.FINANCIAL_INSTITUTION, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "BANK-SC-01",
            OrgType.FINANCIAL_INSTITUTION,
            "Shu Rural Green Bank",
            "蜀乡绿色银行",
            "CN-SC-510100",
            (Role.FINANCIAL_INSTITUTION, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "SETTLE-01",
            OrgType.SETTLEMENT_BANK,
            "Western Settlement Bank",
            "西部结算银行",
            "CN-CQ",
            (Role.SETTLEMENT_BANK, Role.ORG_ADMIN),
        ),
        OrgSpec(
            "KZ-ENT-01",
            OrgType.ENTERPRISE,
            "Steppe Energy LLP",
            "草原能源有限责任合伙企业",
            "KZ-75",
            (Role.ENTERPRISE_ADMIN,),
            "power",
            1,
        ),
        OrgSpec(
            "UZ-ENT-01",
            OrgType.ENTERPRISE,
            "Tashkent Cement JSC",
            "塔什干水泥股份公司",
            "UZ-TK",
            (Role.ENTERPRISE_ADMIN,),
            "cement",
            1,
        ),
        OrgSpec(
            "CITIZEN-01",
            OrgType.INDIVIDUAL,
            "Demo Citizen",
            "示范市民",
            "CN-CQ-500105",
            (Role.INDIVIDUAL,),
        ),
    ]
    counters: dict[tuple[str, str], int] = {}
    for sector, jur, n_fac in ENTERPRISES:
        province = "CQ" if jur.startswith("CN-CQ") else "SC"
        key = (province, sector)
        counters[key] = counters.get(key, 0) + 1
        place_en, place_zh, _lat, _lon = PLACES[jur]
        word_en, word_zh, _f_en, _f_zh = SECTOR_WORDS[sector]
        code = f"{province}-{sector[:3].upper()}-{counters[key]:02d}"
        specs.append(
            OrgSpec(
                code,
                OrgType.ENTERPRISE,
                f"{place_en} {word_en} Co., Ltd.",
                f"{place_zh}{word_zh}有限公司",
                jur,
                (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_REPORTER),
                sector,
                n_fac,
            )
        )
    return specs


FACILITY_PLACES_EXTRA = {
    "KZ-75": ("Almaty", "阿拉木图", 43.24, 76.89),
    "UZ-TK": ("Tashkent", "塔什干", 41.31, 69.28),
}


# Further users: (organisation code, username, display name, roles). Each regulator has a
# second officer so that four-eyes steps (allocation plans, reserve issuance) can be
# requested by one and approved by another, in the browser too.
EXTRA_USERS: list[tuple[str, str, str, tuple[Role, ...]]] = [
    ("CQ-EEB", "cq-eeb-2", "Chongqing EEB second approver", (Role.REGULATOR,)),
    ("SC-EED", "sc-eed-2", "Sichuan DEE second approver", (Role.REGULATOR,)),
]


def username_for(code: str) -> str:
    """Demo login name of an organisation's first user (``CQ-POW-01`` → ``cq-pow-01``)."""
    return code.lower()


def load_demo(session: Session, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Load the scenario into ``session`` (the caller commits). Idempotent.

    Returns
    -------
    dict
        Counts of what was added: jurisdictions, organisations, users, facilities.
    """
    counts = {
        "jurisdictions": seed_jurisdictions(session),
        "organisations": 0,
        "users": 0,
        "facilities": 0,
    }
    password_hash = hash_password(DEMO_PASSWORD)
    for spec in demo_organisations():
        if progress:
            progress(spec.code)
        org = session.scalar(select(Organisation).where(Organisation.code == spec.code))
        if org is None:
            org = Organisation(
                code=spec.code,
                org_type=spec.org_type.value,
                name_en=spec.name_en,
                name_zh=spec.name_zh,
                jurisdiction_code=spec.jurisdiction,
                sector=spec.sector,
            )
            session.add(org)
            session.flush()
            counts["organisations"] += 1
        username = username_for(spec.code)
        if session.scalar(select(User).where(User.username == username)) is None:
            session.add(
                User(
                    username=username,
                    display_name=spec.name_en,
                    password_hash=password_hash,
                    organisation_id=org.id,
                    locale="zh-CN" if spec.jurisdiction.startswith("CN") else "en",
                    role_rows=[UserRole(role=r.value) for r in spec.roles],
                )
            )
            counts["users"] += 1
        places = {**PLACES, **FACILITY_PLACES_EXTRA}
        for i in range(1, spec.facilities + 1):
            fac_code = f"{spec.code}-F{i}"
            exists = session.scalar(
                select(Facility).where(
                    Facility.organisation_id == org.id, Facility.code == fac_code
                )
            )
            if exists is None:
                assert spec.sector is not None
                place_en, place_zh, lat, lon = places[spec.jurisdiction]
                _w_en, _w_zh, f_en, f_zh = SECTOR_WORDS[spec.sector]
                session.add(
                    Facility(
                        organisation_id=org.id,
                        code=fac_code,
                        name_en=f"{place_en} {f_en} No. {i}",
                        name_zh=f"{place_zh}{f_zh}{i}号",
                        sector=spec.sector,
                        jurisdiction_code=spec.jurisdiction,
                        latitude_deg=round(lat + 0.01 * i, 4),
                        longitude_deg=round(lon + 0.01 * i, 4),
                    )
                )
                counts["facilities"] += 1
        session.flush()
    for code, username, display_name, roles in EXTRA_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            org = session.scalar(select(Organisation).where(Organisation.code == code))
            assert org is not None, code
            session.add(
                User(
                    username=username,
                    display_name=display_name,
                    password_hash=password_hash,
                    organisation_id=org.id,
                    locale="zh-CN",
                    role_rows=[UserRole(role=r.value) for r in roles],
                )
            )
            counts["users"] += 1
    session.flush()
    return counts
