"""Access-control matrix: what each role may and may not read or change.

Expected visibility is computed here independently of the code under test: from the
shipped jurisdiction table (walking parent links) and the demo scenario's organisation
list, not from the SQL scope clause.
"""

from __future__ import annotations

import pytest

from greencircle.auth.roles import ROLE_PERMS, Perm, Role
from greencircle.auth.seed import jurisdiction_rows
from greencircle.demo.scenario import demo_organisations, username_for

SPECS = {s.code: s for s in demo_organisations()}
PARENTS = {r["code"]: r["parent_code"] or None for r in jurisdiction_rows()}


def ancestors(code: str) -> set[str]:
    out = {code}
    while PARENTS[code]:
        code = PARENTS[code]
        out.add(code)
    return out


def expected_visible(user_code: str) -> set[str]:
    spec = SPECS[user_code]
    if Role.PLATFORM_ADMIN in spec.roles:
        return set(SPECS)
    if Role.REGULATOR in spec.roles:
        return {c for c, s in SPECS.items() if spec.jurisdiction in ancestors(s.jurisdiction)}
    return {user_code}


def expected_manageable(user_code: str, target: str) -> bool:
    spec = SPECS[user_code]
    if Role.PLATFORM_ADMIN in spec.roles:
        return True
    if (
        Role.REGULATOR in spec.roles
        and target in expected_visible(user_code)
        and SPECS[target].org_type != "regulator"
    ):
        return True
    admin = {Role.ORG_ADMIN, Role.ENTERPRISE_ADMIN} & set(spec.roles)
    return bool(admin) and target == user_code


ACTORS = [
    "GC-SECRETARIAT",
    "CQ-EEB",
    "SC-EED",
    "CQ-POW-01",
    "SC-CEM-01",
    "VER-CQ-01",
    "BANK-SC-01",
    "SETTLE-01",
    "NCM-OPERATOR",
    "KZ-ENT-01",
    "CITIZEN-01",
]
TARGETS = [
    "GC-SECRETARIAT",
    "CQ-EEB",
    "SC-EED",
    "CQ-POW-01",
    "CQ-STE-01",
    "SC-POW-01",
    "SC-CEM-01",
    "VER-SC-01",
    "BANK-CQ-01",
    "KZ-ENT-01",
    "UZ-ENT-01",
]


@pytest.fixture
def ids(api):
    return {code: api.org_id(code) for code in SPECS}


def test_regulator_scope_is_not_trivial():
    cq = expected_visible("CQ-EEB")
    sc = expected_visible("SC-EED")
    assert len(cq) > 10
    assert len(sc) > 10
    assert not cq & sc
    assert "CQ-POW-01" in cq
    assert "SC-POW-01" in sc
    assert "KZ-ENT-01" not in cq | sc


@pytest.mark.parametrize("actor", ACTORS)
def test_listing_shows_exactly_the_scope(api, actor):
    r = api.get("/v1/organisations?limit=500", username_for(actor))
    assert r.status_code == 200
    assert {o["code"] for o in r.json()["items"]} == expected_visible(actor)
    assert r.json()["total"] == len(expected_visible(actor))


@pytest.mark.parametrize("actor", ACTORS)
def test_reading_each_organisation(api, ids, actor):
    for target in TARGETS:
        r = api.get(f"/v1/organisations/{ids[target]}", username_for(actor))
        if target in expected_visible(actor):
            assert r.status_code == 200, (actor, target)
            assert r.json()["code"] == target
        else:
            assert r.status_code == 403, (actor, target)
            assert r.json()["error"] == "org_out_of_scope"


@pytest.mark.parametrize("actor", ACTORS)
def test_changing_each_organisation(api, ids, actor):
    roles = set(SPECS[actor].roles)
    may_update = any(Perm.ORG_UPDATE in ROLE_PERMS[r] for r in roles)
    for target in TARGETS:
        r = api.patch(
            f"/v1/organisations/{ids[target]}",
            username_for(actor),
            json={"registration_no": f"TEST-{actor}"},
        )
        allowed = may_update and expected_manageable(actor, target)
        assert (r.status_code == 200) == allowed, (actor, target, r.text)
        if not allowed:
            assert r.status_code == 403
            assert r.json()["error"] in {"org_out_of_scope", "permission_denied"}


def test_enterprise_cannot_touch_another_enterprise(api, ids):
    me, other = "cq-pow-01", ids["SC-POW-01"]
    assert api.get(f"/v1/organisations/{other}", me).status_code == 403
    assert api.get(f"/v1/organisations/{other}/users", me).status_code == 403
    r = api.post(
        f"/v1/organisations/{other}/facilities",
        me,
        json={
            "code": "EVIL",
            "name_en": "x",
            "name_zh": "x",
            "sector": "power",
            "jurisdiction_code": "CN-SC",
        },
    )
    assert r.status_code == 403
    facs = api.get(f"/v1/facilities?organisation_id={other}", me).json()
    assert facs["items"] == []
    assert facs["total"] == 0
    own = api.get("/v1/facilities", me).json()
    assert {f["organisation_id"] for f in own["items"]} == {ids["CQ-POW-01"]}
    r = api.post(
        f"/v1/organisations/{other}/users",
        me,
        json={
            "username": "intruder",
            "display_name": "x",
            "password": "Sneaky-123456",
            "roles": ["enterprise_admin"],
        },
    )
    assert r.status_code == 403


def test_regulator_acts_only_in_its_jurisdiction(api):
    new = {"code": "NEW-01", "org_type": "enterprise", "name_en": "n", "name_zh": "n"}
    ok = api.post("/v1/organisations", "cq-eeb", json={**new, "jurisdiction_code": "CN-CQ-500101"})
    assert ok.status_code == 201
    r = api.post(
        "/v1/organisations",
        "cq-eeb",
        json={**new, "code": "NEW-02", "jurisdiction_code": "CN-SC-510100"},
    )
    assert r.status_code == 403
    assert r.json()["error"] == "jurisdiction_out_of_scope"
    r = api.post(
        "/v1/organisations",
        "cq-eeb",
        json={**new, "code": "NEW-03", "org_type": "regulator", "jurisdiction_code": "CN-CQ"},
    )
    assert r.status_code == 403
    # The SC regulator does not see what CQ created.
    assert api.get(f"/v1/organisations/{ok.json()['id']}", "sc-eed").status_code == 403


@pytest.mark.parametrize("actor", ["CQ-POW-01", "VER-CQ-01", "BANK-SC-01", "CITIZEN-01"])
def test_non_regulators_cannot_register_organisations(api, actor):
    r = api.post(
        "/v1/organisations",
        username_for(actor),
        json={
            "code": "NEW-09",
            "org_type": "enterprise",
            "name_en": "n",
            "name_zh": "n",
            "jurisdiction_code": SPECS[actor].jurisdiction,
        },
    )
    assert r.status_code == 403
    assert r.json()["error"] == "permission_denied"


def test_user_management_respects_org_type_and_scope(api, ids):
    body = {
        "username": "cq-pow-01-ops",
        "display_name": "Ops",
        "password": "Ops-pass-2026x",
        "roles": ["enterprise_reporter"],
    }
    # An enterprise admin manages its own users; a reporter does not.
    r = api.post(f"/v1/organisations/{ids['CQ-POW-01']}/users", "cq-pow-01", json=body)
    assert r.status_code == 201
    assert r.json()["roles"] == ["enterprise_reporter"]
    api.token("cq-pow-01-ops", "Ops-pass-2026x")
    r = api.post(
        f"/v1/organisations/{ids['CQ-POW-01']}/users",
        "cq-pow-01-ops",
        json={**body, "username": "cq-pow-01-x"},
    )
    assert r.status_code == 403
    assert r.json()["error"] == "permission_denied"
    # A regulator onboards users of enterprises in its jurisdiction, not elsewhere.
    r = api.post(
        f"/v1/organisations/{ids['CQ-POW-01']}/users",
        "cq-eeb",
        json={**body, "username": "cq-pow-01-y"},
    )
    assert r.status_code == 201
    r = api.post(
        f"/v1/organisations/{ids['SC-POW-01']}/users",
        "cq-eeb",
        json={**body, "username": "sc-pow-01-y"},
    )
    assert r.status_code == 403
    r = api.post(
        f"/v1/organisations/{ids['CQ-POW-01']}/users",
        "gc-secretariat",
        json={**body, "username": "cq-pow-01-z", "roles": ["verifier"]},
    )
    assert r.status_code == 422
    assert r.json()["error"] == "role_not_allowed"
    r = api.post(
        f"/v1/organisations/{ids['VER-CQ-01']}/users",
        "ver-cq-01",
        json={**body, "username": "ver-cq-01-b", "roles": ["platform_admin"]},
    )
    assert r.status_code == 422  # platform_admin does not fit a verifier organisation
    r = api.post(
        f"/v1/organisations/{ids['VER-CQ-01']}/users",
        "ver-cq-01",
        json={**body, "username": "ver-cq-01-b", "roles": ["verifier"]},
    )
    assert r.status_code == 201
    dup = api.post(
        f"/v1/organisations/{ids['VER-CQ-01']}/users",
        "ver-cq-01",
        json={**body, "username": "ver-cq-01-b", "roles": ["verifier"]},
    )
    assert dup.status_code == 409
    assert dup.json()["error"] == "duplicate_username"


def test_access_log_records_changes_within_scope(api, ids):
    api.patch(f"/v1/organisations/{ids['CQ-POW-01']}", "cq-pow-01", json={"sector": "power"})
    api.patch(f"/v1/organisations/{ids['SC-POW-01']}", "sc-pow-01", json={"sector": "power"})
    cq = api.get("/v1/access-log?action=org.update", "cq-eeb").json()["items"]
    assert {e["target_id"] for e in cq} == {ids["CQ-POW-01"]}
    everything = api.get("/v1/access-log?action=org.update", "gc-secretariat").json()["items"]
    assert {e["target_id"] for e in everything} == {ids["CQ-POW-01"], ids["SC-POW-01"]}
    assert api.get("/v1/access-log", "cq-pow-01").status_code == 403


def test_every_protected_route_rejects_anonymous_callers(api):
    from fastapi.routing import APIRoute

    open_paths = {"/v1/health", "/v1/version", "/v1/auth/token"}
    for route in api.client.app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/v1"):
            continue
        if route.path in open_paths:
            continue
        path = route.path.replace("{", "").replace("}", "")
        for method in route.methods - {"HEAD"}:
            r = api.client.request(method, path)
            assert r.status_code in {401, 422}, (method, route.path, r.status_code)
            if r.status_code == 401:
                assert r.json()["error"] == "not_authenticated"
