"""Nobody locks out a whole bureau or themselves; only platform admins (de)activate orgs."""

from __future__ import annotations

import pytest

from tests_support import DEMO_PASSWORD


def login(api, username, password=DEMO_PASSWORD, **kw):
    return api.client.post(
        "/v1/auth/token", data={"username": username, "password": password}, **kw
    )


@pytest.mark.parametrize(("regulator", "own"), [("cq-eeb", "CQ-EEB"), ("sc-eed", "SC-EED")])
def test_regulator_cannot_deactivate_its_own_organisation(api, regulator, own):
    oid = api.org_id(own)
    r = api.patch(f"/v1/organisations/{oid}", regulator, json={"is_active": False})
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "permission_denied"
    assert api.get(f"/v1/organisations/{oid}", "gc-secretariat").json()["is_active"] is True
    assert login(api, regulator).status_code == 200  # the bureau still signs in
    # its profile can still be edited by its own admin
    r = api.patch(f"/v1/organisations/{oid}", regulator, json={"registration_no": "R-1"})
    assert r.status_code == 200


def test_regulator_cannot_deactivate_an_enterprise_either(api):
    oid = api.org_id("CQ-POW-01")
    r = api.patch(f"/v1/organisations/{oid}", "cq-eeb", json={"is_active": False})
    assert r.status_code == 403
    assert r.json()["error"] == "permission_denied"


def test_platform_admin_deactivates_others_but_not_its_own(api):
    oid = api.org_id("CQ-POW-01")
    token = api.token("cq-pow-01")
    r = api.patch(f"/v1/organisations/{oid}", "gc-secretariat", json={"is_active": False})
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    me = api.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["error"] == "user_inactive"
    r = api.patch(f"/v1/organisations/{oid}", "gc-secretariat", json={"is_active": True})
    assert r.status_code == 200
    assert login(api, "cq-pow-01").status_code == 200

    own = api.org_id("GC-SECRETARIAT")
    r = api.patch(f"/v1/organisations/{own}", "gc-secretariat", json={"is_active": False})
    assert r.status_code == 403
    assert r.json()["error"] == "own_organisation"
    assert api.get(f"/v1/organisations/{own}", "gc-secretariat").json()["is_active"] is True


def test_nobody_deactivates_themselves_or_changes_their_own_roles(api):
    for username in ("cq-eeb", "gc-secretariat", "cq-pow-01"):
        uid = api.get("/v1/auth/me", username).json()["user_id"]
        r = api.patch(f"/v1/users/{uid}", username, json={"is_active": False})
        assert r.status_code == 403, (username, r.text)
        assert r.json()["error"] == "own_account"
        r = api.patch(f"/v1/users/{uid}", username, json={"roles": ["org_admin"]})
        assert r.json()["error"] == "own_account"
        assert api.get("/v1/auth/me", username).status_code == 200
        # one's own display name is fine
        r = api.patch(f"/v1/users/{uid}", username, json={"display_name": "Renamed"})
        assert r.status_code == 200
