"""Bad input gets a 4xx with a stable error code, never a 500."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greencircle.auth.service import TokenCodec
from greencircle.kit.timeutil import utcnow
from tests_support import TEST_SECRET

ORG = {
    "code": "CQ-NEW-01",
    "org_type": "enterprise",
    "name_en": "New Co",
    "name_zh": "新公司",
    "jurisdiction_code": "CN-CQ",
}


def test_health_and_version_are_open(api):
    assert api.get("/v1/health").json() == {"status": "ok", "database": "ok"}
    v = api.get("/v1/version").json()
    assert v["api"] == "v1"
    assert v["database_backend"] == "sqlite"
    assert v["schema_revision"]


def test_openapi_lists_v1_routes(api):
    spec = api.get("/openapi.json").json()
    assert "/v1/organisations" in spec["paths"]
    assert "/v1/auth/token" in spec["paths"]


def test_malformed_json_is_400(api):
    r = api.post(
        "/v1/organisations",
        "cq-eeb",
        content=b'{"code": ',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "malformed_json"


def test_unknown_field_is_422_with_location(api):
    r = api.post("/v1/organisations", "cq-eeb", json={**ORG, "colour": "green"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "validation_error"
    assert any(d["loc"][-1] == "colour" and d["type"] == "extra_forbidden" for d in body["detail"])


def test_wrong_types_are_422(api):
    r = api.post("/v1/organisations", "cq-eeb", json={**ORG, "org_type": 7, "name_en": []})
    assert r.status_code == 422
    locs = {tuple(d["loc"]) for d in r.json()["detail"]}
    assert ("body", "org_type") in locs
    assert ("body", "name_en") in locs


def test_not_an_object_is_422(api):
    r = api.post("/v1/organisations", "cq-eeb", json=[1, 2, 3])
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"


def test_oversized_body_is_413(databases, tmp_path):
    from tests_support import make_api

    for api in make_api(databases.new("sqlite", "demo"), tmp_path, max_body_bytes=2048):
        big = {**ORG, "name_en": "x" * 5000}
        r = api.post("/v1/organisations", "cq-eeb", json=big)
        assert r.status_code == 413
        assert r.json()["error"] == "payload_too_large"
        # A body that fits still works afterwards.
        assert api.post("/v1/organisations", "cq-eeb", json=ORG).status_code == 201


def test_missing_bad_expired_and_forged_tokens_are_401(api):
    assert api.get("/v1/organisations").json()["error"] == "not_authenticated"
    cases = {
        "garbage": "not.a.token",
        "forged": jwt.encode(
            {"sub": "x", "jti": "y", "iat": 1, "exp": 4102444800, "iss": "greencircle", "ep": 0},
            "another-secret-another-secret-12345",
            algorithm="HS256",
        ),
        "expired": TokenCodec(TEST_SECRET, 1)
        .issue("01", now=utcnow() - timedelta(hours=2))
        .access_token,
    }
    codes = {}
    for name, token in cases.items():
        r = api.get("/v1/organisations", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.headers["www-authenticate"] == "Bearer"
        codes[name] = r.json()["error"]
    assert codes == {
        "garbage": "invalid_token",
        "forged": "invalid_token",
        "expired": "token_expired",
    }
    r = api.get("/v1/organisations", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    r = api.get("/v1/organisations", headers={"X-API-Key": "gck_nope_nope"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_api_key"


def test_unknown_route_and_method_are_json(api):
    r = api.get("/v1/nothing-here", "cq-eeb")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    r = api.client.put("/v1/health")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"


def test_bad_query_parameters_are_422(api):
    r = api.get("/v1/organisations?limit=100000", "cq-eeb")
    assert r.status_code == 422
    r = api.get("/v1/organisations?sort=password_hash", "cq-eeb")
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_sort"
    r = api.get("/v1/organisations?type=wizard", "cq-eeb")
    assert r.status_code == 422


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(st.sampled_from([*ORG, "extra", ""]), json_values, max_size=8)
    | json_values
)
def test_fuzzed_bodies_never_cause_a_server_error(api, body):
    r = api.post(
        "/v1/organisations",
        "cq-eeb",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code < 500, r.text
    assert "error" in r.json() or r.status_code == 201


def test_static_assets_are_served_whole(api):
    r = api.get("/static/console.css")
    assert r.status_code == 200
    assert len(r.content) == int(r.headers["content-length"]) > 1000
