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


# -- login throttling: per account and client, never a whole address ----------------------


@pytest.fixture
def proxied(databases, tmp_path):
    """The app behind a trusted reverse proxy at 10.0.0.2 (TestClient's peer address)."""
    from fastapi.testclient import TestClient

    from greencircle.api.app import create_app
    from tests_support import Api, make_settings

    app = create_app(
        make_settings(databases.new("sqlite", "demo"), tmp_path, trusted_proxies=["10.0.0.0/24"])
    )
    with TestClient(app, raise_server_exceptions=False, client=("10.0.0.2", 4000)) as c:
        yield Api(c)
    app.state.engine.dispose()


def test_failures_of_many_users_behind_one_address_lock_out_nobody_else(api):
    # 30 failures from one address (a NAT), spread over 30 accounts: more than the old
    # per-address limit of 4 x 5 = 20
    enterprises = [f"{p}-{s}-0{i}" for p in ("cq", "sc") for s in ("pow", "cem") for i in (1, 2, 3)]
    for name in enterprises:
        for _ in range(2):
            assert login(api, name, "wrong-password-1").status_code == 401
    for _ in range(4):
        assert login(api, "nobody-at-all", "wrong-password-1").status_code == 401
    assert 2 * len(enterprises) + 4 > 20
    # everybody else at that address signs in
    for name in ("cq-eeb", "sc-eed", "cq-ste-01", "cq-pow-01"):
        assert login(api, name).status_code == 200, name


def test_one_client_guessing_does_not_lock_the_account_for_other_clients(proxied):
    api = proxied
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    owner = {"X-Forwarded-For": "198.51.100.20"}
    for _ in range(5):
        assert login(api, "cq-pow-02", "wrong-password-1", headers=guesser).status_code == 401
    r = login(api, "cq-pow-02", headers=guesser)  # the guesser is stopped, right or wrong
    assert r.status_code == 429
    assert r.json()["error"] == "login_throttled"
    assert login(api, "cq-pow-02", headers=owner).status_code == 200


def test_many_clients_together_lock_the_account(proxied):
    api = proxied
    for n in range(4):  # 4 clients x 5 failures = 20 = 4 x login_max_failures
        for _ in range(5):
            hdr = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
            assert login(api, "sc-cem-02", "wrong-password-1", headers=hdr).status_code == 401
    fresh = {"X-Forwarded-For": "198.51.100.99"}
    assert login(api, "sc-cem-02", headers=fresh).status_code == 429
    assert login(api, "sc-cem-03", headers=fresh).status_code == 200  # other accounts fine


def test_forwarded_header_is_ignored_from_an_untrusted_peer(api):
    # the TestClient peer ("testclient") is not a trusted proxy: a made-up header does not
    # give a guesser fresh addresses
    for n in range(5):
        hdr = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
        assert login(api, "cq-che-02", "wrong-password-1", headers=hdr).status_code == 401
    r = login(api, "cq-che-02", headers={"X-Forwarded-For": "203.0.113.200"})
    assert r.status_code == 429


def test_client_address_reads_the_chain_from_the_right():
    from types import SimpleNamespace

    from starlette.requests import Request

    from greencircle.api.deps import client_address

    def addr(peer, xff, trusted):
        app = SimpleNamespace(
            state=SimpleNamespace(settings=SimpleNamespace(trusted_proxies=trusted))
        )
        headers = [(b"x-forwarded-for", xff.encode())] if xff else []
        scope = {"type": "http", "client": (peer, 1), "headers": headers, "app": app}
        return client_address(Request(scope))

    trusted = ["10.0.0.0/8", "192.0.2.1"]
    assert addr("10.1.1.1", "198.51.100.5", trusted) == "198.51.100.5"
    # the client may prepend anything; only hops appended by trusted proxies count
    assert addr("10.1.1.1", "1.2.3.4, 198.51.100.5, 192.0.2.1", trusted) == "198.51.100.5"
    assert addr("203.0.113.9", "198.51.100.5", trusted) == "203.0.113.9"  # untrusted peer
    assert addr("10.1.1.1", "", trusted) == "10.1.1.1"
    assert addr("10.1.1.1", "not-an-ip", trusted) == "10.1.1.1"
    assert addr("10.1.1.1", "198.51.100.5", []) == "10.1.1.1"


# -- API keys end with the password -------------------------------------------------------


def test_password_change_revokes_api_keys(api):
    key = api.post("/v1/auth/api-keys", "cq-alu-01", json={"name": "gateway"}).json()["key"]
    assert api.client.get("/v1/auth/me", headers={"X-API-Key": key}).status_code == 200
    r = api.post(
        "/v1/auth/password",
        "cq-alu-01",
        json={"current_password": DEMO_PASSWORD, "new_password": "n3w-Secret-pw"},
    )
    assert r.status_code == 200
    r = api.client.get("/v1/auth/me", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert r.json()["error"] == "api_key_revoked"
    token = login(api, "cq-alu-01", "n3w-Secret-pw").json()["access_token"]
    keys = api.client.get("/v1/auth/api-keys", headers={"Authorization": f"Bearer {token}"})
    assert all(k["revoked_at"] is not None for k in keys.json())
