"""Console user management within one's own organisation."""

from __future__ import annotations

import re

from greencircle.web.i18n import catalog
from tests_support import DEMO_PASSWORD, console_login, visible_text

NEW_PW = "Fresh-pass-2027"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def user_id(api, admin: str, username: str) -> str:
    org = api.get("/v1/auth/me", admin).json()["organisation"]["id"]
    users = api.get(f"/v1/organisations/{org}/users?limit=500", admin).json()["items"]
    return next(u["id"] for u in users if u["username"] == username)


def login_status(api, username: str, password: str = DEMO_PASSWORD) -> int:
    r = api.client.post("/v1/auth/token", data={"username": username, "password": password})
    return r.status_code


def offered_roles(html: str) -> set[str]:
    return set(re.findall(r'name="roles" value="(\w+)"', html))


def test_each_regulator_has_a_second_officer(api):
    for admin, second in (("cq-eeb", "cq-eeb-2"), ("sc-eed", "sc-eed-2")):
        me = api.get("/v1/auth/me", second).json()
        assert me["roles"] == ["regulator"]
        assert (
            me["organisation"]["id"] == api.get("/v1/auth/me", admin).json()["organisation"]["id"]
        )


def test_regulator_admin_adds_a_user_with_roles_of_its_org_type(api):
    console_login(api, "cq-eeb", "en")
    page = api.client.get("/console/users")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "cq-eeb-2" in text and "Chongqing Ecology and Environment Bureau" in text
    assert offered_roles(page.text) == {"regulator", "org_admin"}  # regulator organisation
    form = {"csrf": csrf_of(page.text), "username": "cq-eeb-3", "display_name": "Officer 3"}
    r = api.client.post("/console/users", data={**form, "password": NEW_PW, "roles": ["regulator"]})
    assert r.status_code == 200 and r.url.path == "/console/users"
    assert catalog("en")["users.done.created"] in visible_text(r.text)
    assert login_status(api, "cq-eeb-3", NEW_PW) == 200
    assert api.token("cq-eeb-3", NEW_PW)
    assert api.get("/v1/auth/me", "cq-eeb-3").json()["roles"] == ["regulator"]

    # refusals: a role of another org type, a taken name, a weak password, a bad name
    cases = [
        ({"username": "cq-eeb-4", "roles": ["enterprise_admin"]}, 422, "role_not_allowed"),
        ({"username": "cq-eeb-3", "roles": ["regulator"]}, 409, "duplicate_username"),
        (
            {"username": "cq-eeb-5", "roles": ["regulator"], "password": "abcdefghijkl"},
            422,
            "weak_password",
        ),
        ({"username": "X!", "roles": ["regulator"]}, 422, "invalid_field"),
        ({"username": "cq-eeb-6", "roles": []}, 422, "invalid_field"),
    ]
    for changes, status, code in cases:
        data = {**form, "password": NEW_PW, **changes}
        r = api.client.post("/console/users", data=data)
        assert r.status_code == status, (changes, r.status_code)
        assert catalog("en")[f"users.error.{code}"] in visible_text(r.text), code
    for name in ("cq-eeb-4", "cq-eeb-5", "cq-eeb-6"):
        assert login_status(api, name, NEW_PW) == 401  # nothing was created


def test_enterprise_admin_is_offered_enterprise_roles(api):
    console_login(api, "cq-pow-01", "zh-CN")
    page = api.client.get("/console/users")
    assert offered_roles(page.text) == {"org_admin", "enterprise_admin", "enterprise_reporter"}
    assert "长寿热电有限公司" in visible_text(page.text)  # organisation name in page language


def test_reset_password_and_deactivate_others_but_never_oneself(api):
    second = user_id(api, "cq-eeb", "cq-eeb-2")
    old_token = api.token("cq-eeb-2")
    key = api.post("/v1/auth/api-keys", "cq-eeb-2", json={"name": "k"}).json()["key"]
    console_login(api, "cq-eeb", "en")
    token = csrf_of(api.client.get("/console/users").text)

    r = api.client.post(
        f"/console/users/{second}/password", data={"csrf": token, "password": NEW_PW}
    )
    assert catalog("en")["users.done.password_reset"] in visible_text(r.text)
    assert login_status(api, "cq-eeb-2") == 401
    assert login_status(api, "cq-eeb-2", NEW_PW) == 200
    hdr = {"Authorization": f"Bearer {old_token}"}
    assert api.client.get("/v1/auth/me", headers=hdr).status_code == 401
    assert api.client.get("/v1/auth/me", headers={"X-API-Key": key}).status_code == 401

    r = api.client.post(f"/console/users/{second}/active", data={"csrf": token, "active": 0})
    assert catalog("en")["users.done.deactivated"] in visible_text(r.text)
    assert login_status(api, "cq-eeb-2", NEW_PW) == 401
    r = api.client.post(f"/console/users/{second}/active", data={"csrf": token, "active": 1})
    assert login_status(api, "cq-eeb-2", NEW_PW) == 200

    me = user_id(api, "cq-eeb", "cq-eeb")
    page = api.client.get("/console/users").text
    assert f"/console/users/{me}/active" not in page  # no button for oneself
    for path, data in (
        (f"/console/users/{me}/active", {"active": 0}),
        (f"/console/users/{me}/password", {"password": NEW_PW}),
    ):
        r = api.client.post(path, data={"csrf": token, **data})
        assert r.status_code == 403
        assert catalog("en")["users.error.own_account"] in visible_text(r.text)
    assert login_status(api, "cq-eeb") == 200


def test_only_user_managers_of_the_same_org(api):
    console_login(api, "cq-eeb-2", "en")  # regulator without the organisation admin role
    assert api.client.get("/console/users").status_code == 403
    assert 'href="/console/users"' not in api.client.get("/console").text
    second = user_id(api, "cq-eeb", "cq-eeb-2")
    console_login(api, "cq-pow-01", "en")  # an enterprise admin, another organisation
    token = csrf_of(api.client.get("/console/users").text)
    r = api.client.post(f"/console/users/{second}/active", data={"csrf": token, "active": 0})
    assert r.status_code == 403
    assert login_status(api, "cq-eeb-2") == 200
    r = api.client.post(f"/console/users/{second}/active", data={"csrf": "0" * 32, "active": 0})
    assert r.status_code == 403
