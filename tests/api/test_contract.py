"""The API as its OpenAPI document describes it: bounds, error model, statuses, media types."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from greencircle.kit.paging import MAX_LIMIT, MAX_OFFSET

TOO_BIG = 2**63  # one past the largest signed 64-bit integer SQLite and PostgreSQL bind
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


def paged_routes(app: Any) -> list[tuple[str, str, set[str]]]:
    """(method, path, {"offset", "limit"} ∩ its query parameters) of every API route,
    found from the routes' own dependencies (not from the OpenAPI document)."""
    out = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        names = query_names(route.dependant)
        paged = names & {"offset", "limit"}
        if paged:
            for method in sorted(context.methods or ()):
                out.append((method, str(context.path_format), paged))
    return out


def validator(spec: dict[str, Any], ref: str) -> Any:
    """A JSON Schema validator for ``ref`` with the document's components."""
    return jsonschema_rs.validator_for({"$ref": ref, "components": spec["components"]})


def test_every_offset_and_limit_is_bounded_in_the_schema(api):
    app = api.client.app
    spec = api.get("/openapi.json").json()
    routes = paged_routes(app)
    # The listings where the fuzzer found the overflow are among them.
    assert {path for _, path, _ in routes} >= {
        "/v1/organisations",
        "/v1/facilities",
        "/v1/access-log",
        "/v1/energy/sites",
        "/v1/energy/studies",
        "/v1/exchange/orders",
        "/v1/exchange/trades",
        "/v1/exchange/listed/listings",
        "/v1/exchange/block/proposals",
        "/v1/exchange/auctions",
        "/v1/exchange/auctions/reserve",
        "/v1/exchange/fx/rates",
        "/v1/exchange/surveillance/alerts",
    }
    for method, path, paged in routes:
        params = {p["name"]: p for p in spec["paths"][path][method.lower()]["parameters"]}
        for name in paged:
            schema = params[name]["schema"]
            bound = MAX_OFFSET if name == "offset" else MAX_LIMIT
            assert schema.get("maximum") == bound, (method, path, name, schema)
            assert schema.get("minimum") == (0 if name == "offset" else 1), (method, path, name)


def test_offset_past_int64_is_422_on_every_listing(api):
    """Before the bound, ``offset ≥ 2**63`` overflowed in the database driver (500)."""
    for method, path, paged in paged_routes(api.client.app):
        url = re.sub(r"\{[^}]+\}", "x", path)
        for name in paged:
            r = api.client.request(method, url, params={name: TOO_BIG}, headers=api.auth("cq-eeb"))
            assert r.status_code == 422, (method, path, name, r.status_code, r.text)
            body = r.json()
            assert body["error"] == "validation_error"
            assert ["query", name] in [d["loc"] for d in body["detail"]]


def test_largest_allowed_offset_answers_an_empty_page(api):
    r = api.get(f"/v1/organisations?offset={MAX_OFFSET}&limit={MAX_LIMIT}", "cq-eeb")
    assert r.status_code == 200
    assert r.json()["items"] == []
    assert r.json()["total"] > 0


def test_errors_are_documented_with_the_one_error_body(api):
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["ErrorBody"]["required"]) == {"error", "detail"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            statuses = {int(s) for s in op["responses"]}
            for status in statuses - set(range(200, 400)):
                content = op["responses"][str(status)]["content"]
                assert content == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                }, (method, path, status)
            authed = "security" in op
            assert ({401, 403} <= statuses) == authed, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert {400, 409, 413} <= statuses, (method, path)
            if op.get("parameters") or "requestBody" in op:
                assert {404, 422} <= statuses, (method, path)


@pytest.mark.parametrize(
    ("method", "url", "user", "kwargs", "status", "code"),
    [
        ("post", "/v1/organisations", "cq-eeb", {"json": {"code": 7}}, 422, "validation_error"),
        (
            "post",
            "/v1/organisations",
            "cq-eeb",
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
            400,
            "malformed_json",
        ),
        ("get", "/v1/organisations", None, {}, 401, "not_authenticated"),
        ("get", "/v1/organisations/{org_id}", "cq-eeb", {}, 404, None),
        ("post", "/v1/exchange/fx/rates", "cq-pow-01", {"json": {}}, 422, "validation_error"),
        ("get", "/v1/exchange/settlement/statement?trade_date=0", "cq-eeb", {}, 422, None),
        ("get", "/v1/exchange/fx/rates/current?at=0.5", "cq-eeb", {}, 422, "validation_error"),
        ("get", "/v1/audit/bundle/{leaf_index}", "cq-eeb", {}, 422, None),
    ],
)
def test_error_bodies_match_the_documented_schema(api, method, url, user, kwargs, status, code):
    spec = api.get("/openapi.json").json()
    headers = {**(api.auth(user) if user else {}), **kwargs.pop("headers", {})}
    path = url.split("?")[0]
    filled = url.replace("{org_id}", "nope").replace("{leaf_index}", str(TOO_BIG))
    r = api.client.request(method.upper(), filled, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    documented = spec["paths"][path][method]
    assert str(status) in documented["responses"]
    validator(spec, "#/components/schemas/ErrorBody").validate(r.json())
    if code:
        assert r.json()["error"] == code
    if status == 401:
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_validation_detail_is_the_documented_list_of_issues(api):
    spec = api.get("/openapi.json").json()
    r = api.post("/v1/organisations", "cq-eeb", json={"code": 7})
    issue = validator(spec, "#/components/schemas/ValidationIssue")
    assert r.json()["detail"]
    for item in r.json()["detail"]:
        issue.validate(item)
    assert {tuple(d["loc"]) for d in r.json()["detail"]} >= {("body", "code"), ("body", "name_en")}


def test_file_routes_declare_their_media_types(api):
    spec = api.get("/openapi.json").json()
    ok = spec["paths"]["/v1/mrv/template.xlsx"]["get"]["responses"]["200"]["content"]
    assert list(ok) == [XLSX]
    r = api.get("/v1/mrv/template.xlsx", "cq-pow-01")
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX
    assert r.content[:2] == b"PK"  # a ZIP container, as XLSX is
    export = spec["paths"]["/v1/mrv/reports/{report_id}/export"]["get"]["responses"]["200"]
    assert set(export["content"]) == {XLSX, "text/csv"}
    stream = spec["paths"]["/v1/exchange/stream"]["get"]["responses"]["200"]
    assert list(stream["content"]) == ["text/event-stream"]
    cert = spec["paths"]["/v1/registry/retirements/{retirement_id}/certificate"]["get"]
    assert set(cert["responses"]["200"]["content"]) == {"text/html", "application/pdf"}


def test_method_not_allowed_lists_every_method_of_the_resource(api):
    r = api.client.options("/v1/organisations")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert set(r.headers["Allow"].split(", ")) == {"GET", "POST"}
    r = api.client.request("PUT", "/v1/organisations/x")
    assert set(r.headers["Allow"].split(", ")) == {"GET", "PATCH"}
    # A concrete path is its own resource, not an instance of /holds/{hold_id}.
    r = api.client.options("/v1/registry/holds/cash")
    assert r.headers["Allow"] == "POST"


def test_timestamps_are_rfc3339_with_offset(api):
    before = datetime.now(UTC)
    created = api.post(
        "/v1/organisations",
        "cq-eeb",
        json={
            "code": "CQ-TS-01",
            "org_type": "enterprise",
            "name_en": "Timestamp Co",
            "name_zh": "时间公司",
            "jurisdiction_code": "CN-CQ",
        },
    )
    assert created.status_code == 201, created.text
    after = datetime.now(UTC)
    for body in (
        created.json(),
        api.get(f"/v1/organisations/{created.json()['id']}", "cq-eeb").json(),
    ):
        stamp = body["created_at"]
        assert RFC3339.match(stamp), stamp
        # The offset is right, not just present: the instant lies between our two clocks.
        assert before <= datetime.fromisoformat(stamp) <= after
    listed = api.get("/v1/organisations?limit=500", "cq-eeb").json()["items"]
    assert listed and all(RFC3339.match(o["created_at"]) for o in listed)


def test_patch_null_on_a_required_field_is_422_not_500(api):
    me = api.get("/v1/auth/me", "cq-eeb").json()
    org_id = api.org_id("CQ-POW-01")
    for field in ("name_en", "is_active"):
        r = api.patch(f"/v1/organisations/{org_id}", "cq-eeb", json={field: None})
        assert r.status_code == 422, (field, r.text)
        assert r.json()["error"] == "validation_error"
    r = api.patch(f"/v1/organisations/{org_id}", "cq-eeb", json={"is_active": 0})
    assert r.status_code == 422  # a boolean, not a number
    # A nullable field may be cleared.
    r = api.patch(f"/v1/organisations/{org_id}", "cq-eeb", json={"registration_no": None})
    assert r.status_code == 200, r.text
    assert r.json()["registration_no"] is None
    users = api.get(f"/v1/organisations/{org_id}/users", "cq-eeb").json()["items"]
    r = api.patch(f"/v1/users/{users[0]['id']}", "cq-eeb", json={"roles": None})
    assert r.status_code == 422, r.text
    assert me["username"] == "cq-eeb"
