"""Authentication: password login, throttling, token expiry and revocation, API keys."""

from __future__ import annotations

from sqlalchemy import select

from greencircle.auth.models import User
from tests_support import DEMO_PASSWORD


def login(api, username, password=DEMO_PASSWORD):
    return api.client.post("/v1/auth/token", data={"username": username, "password": password})


def test_login_issues_a_bearer_token(api):
    r = login(api, "cq-pow-01")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    me = api.client.get(
        "/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    ).json()
    assert me["username"] == "cq-pow-01"
    assert me["organisation"]["code"] == "CQ-POW-01"
    assert set(me["roles"]) == {"enterprise_admin", "enterprise_reporter"}


def test_passwords_are_stored_as_argon2id(api):
    session = api.client.app.state.session_factory()
    user = session.scalar(select(User).where(User.username == "cq-pow-01"))
    session.close()
    assert user.password_hash.startswith("$argon2id$")
    assert DEMO_PASSWORD not in user.password_hash


def test_wrong_password_and_unknown_user_look_the_same(api):
    a = login(api, "cq-pow-01", "wrong-password-1")
    b = login(api, "nobody-at-all", "wrong-password-1")
    assert a.status_code == b.status_code == 401
    assert (
        a.json()
        == b.json()
        == {"error": "invalid_credentials", "detail": "wrong username or password"}
    )


def test_login_is_throttled_after_repeated_failures(api):
    for _ in range(5):
        assert login(api, "sc-pow-01", "wrong-password-1").status_code == 401
    r = login(api, "sc-pow-01")  # even the right password is refused now
    assert r.status_code == 429
    assert r.json()["error"] == "login_throttled"
    assert int(r.headers["retry-after"]) > 0
    assert login(api, "sc-pow-02").status_code == 200  # other users are not locked


def test_logout_revokes_the_token(api):
    token = login(api, "cq-cem-01").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/v1/auth/me", headers=headers).status_code == 200
    assert api.client.post("/v1/auth/revoke", headers=headers).json() == {"revoked": True}
    r = api.client.get("/v1/auth/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "token_revoked"
    assert login(api, "cq-cem-01").status_code == 200  # a new login works


def test_password_change_invalidates_older_tokens(api):
    old = login(api, "cq-che-01").json()["access_token"]
    headers = {"Authorization": f"Bearer {old}"}
    weak = api.client.post(
        "/v1/auth/password",
        headers=headers,
        json={"current_password": DEMO_PASSWORD, "new_password": "abcdefghijk"},
    )
    assert weak.status_code == 422
    assert weak.json()["error"] == "weak_password"
    r = api.client.post(
        "/v1/auth/password",
        headers=headers,
        json={"current_password": DEMO_PASSWORD, "new_password": "n3w-Secret-pw"},
    )
    assert r.status_code == 200
    assert api.client.get("/v1/auth/me", headers=headers).json()["error"] == "token_revoked"
    assert login(api, "cq-che-01").status_code == 401
    assert login(api, "cq-che-01", "n3w-Secret-pw").status_code == 200


def test_api_keys_authenticate_until_revoked(api):
    created = api.post("/v1/auth/api-keys", "cq-ste-01", json={"name": "meter gateway"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("gck_")
    me = api.client.get("/v1/auth/me", headers={"X-API-Key": key}).json()
    assert me["username"] == "cq-ste-01"
    assert me["auth_method"] == "api_key"
    bearer = api.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert bearer.status_code == 200
    listed = api.get("/v1/auth/api-keys", "cq-ste-01").json()
    assert [k["prefix"] for k in listed] == [created.json()["prefix"]]
    assert "key" not in listed[0]
    # Another user cannot revoke it.
    other = api.delete(f"/v1/auth/api-keys/{created.json()['id']}", "sc-ste-01")
    assert other.status_code == 404
    assert api.delete(f"/v1/auth/api-keys/{created.json()['id']}", "cq-ste-01").status_code == 200
    r = api.client.get("/v1/auth/me", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert r.json()["error"] == "api_key_revoked"
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    r = api.client.get("/v1/auth/me", headers={"X-API-Key": tampered})
    assert r.json()["error"] == "invalid_api_key"


def test_deactivated_user_loses_access_immediately(api):
    token = api.token("cq-alu-01")
    uid = api.get("/v1/auth/me", "cq-alu-01").json()["user_id"]
    r = api.patch(f"/v1/users/{uid}", "cq-eeb", json={"is_active": False})
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    r = api.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"] == "user_inactive"
