"""``Idempotency-Key``: a replay returns the first answer; a different body is a 409.

Run on SQLite and on PostgreSQL, including concurrent duplicates.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.routing import APIRoute

ORG = {
    "code": "CQ-IDEM-01",
    "org_type": "enterprise",
    "name_en": "Idem Co",
    "name_zh": "幂等公司",
    "jurisdiction_code": "CN-CQ-500115",
}


def count_orgs(api, code: str) -> int:
    r = api.get(f"/v1/organisations?q={code}&limit=500", "gc-secretariat")
    return sum(1 for o in r.json()["items"] if o["code"] == code)


def test_replay_returns_first_response(api_any):
    api = api_any
    key = {"Idempotency-Key": "create-idem-01"}
    first = api.post("/v1/organisations", "cq-eeb", json=ORG, headers=key)
    assert first.status_code == 201
    again = api.post("/v1/organisations", "cq-eeb", json=ORG, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count_orgs(api, ORG["code"]) == 1
    # Without the key, the same request is a real second attempt: a duplicate.
    dup = api.post("/v1/organisations", "cq-eeb", json=ORG)
    assert dup.status_code == 409
    assert dup.json()["error"] == "duplicate_code"


def test_same_key_different_body_is_409(api_any):
    api = api_any
    key = {"Idempotency-Key": "k-409"}
    assert api.post("/v1/organisations", "cq-eeb", json=ORG, headers=key).status_code == 201
    other = {**ORG, "code": "CQ-IDEM-02"}
    r = api.post("/v1/organisations", "cq-eeb", json=other, headers=key)
    assert r.status_code == 409
    assert r.json()["error"] == "idempotency_key_reused"
    assert count_orgs(api, "CQ-IDEM-02") == 0


def test_keys_are_scoped_per_user(api_any):
    api = api_any
    key = {"Idempotency-Key": "shared-key"}
    a = api.post("/v1/organisations", "cq-eeb", json=ORG, headers=key)
    b = api.post(
        "/v1/organisations", "gc-secretariat", json={**ORG, "code": "CQ-IDEM-03"}, headers=key
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_failed_request_is_not_stored_so_a_corrected_retry_works(api_any):
    api = api_any
    key = {"Idempotency-Key": "retry-after-fix"}
    bad = api.post(
        "/v1/organisations", "cq-eeb", json={**ORG, "jurisdiction_code": "XX"}, headers=key
    )
    assert bad.status_code == 422
    good = api.post(
        "/v1/organisations", "cq-eeb", json={**ORG, "jurisdiction_code": "XX"}, headers=key
    )
    assert good.status_code == 422  # the same wrong request fails the same way
    fixed = api.post("/v1/organisations", "cq-eeb", json=ORG, headers=key)
    assert fixed.status_code == 201


def test_invalid_key_is_400(api):
    r = api.post("/v1/organisations", "cq-eeb", json=ORG, headers={"Idempotency-Key": "x" * 201})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_idempotency_key"


def test_concurrent_duplicates_take_effect_once(api_any):
    api = api_any
    headers = {**api.auth("cq-eeb"), "Idempotency-Key": "race-1"}

    def attempt(_: int):
        return api.client.post("/v1/organisations", json=ORG, headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, range(16)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert count_orgs(api, ORG["code"]) == 1


def test_every_mutating_route_goes_through_the_idempotency_middleware(api):
    from greencircle.api.middleware import MUTATING, UnitOfWorkMiddleware

    app = api.client.app
    assert any(m.cls is UnitOfWorkMiddleware for m in app.user_middleware)
    methods = {m for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert methods - {"GET", "HEAD"} <= MUTATING
