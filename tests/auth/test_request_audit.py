"""Every successful mutating request leaves one audit-trail row, in its own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests_support import console_login, visible_text


def requests_of(api, viewer, route):
    items = api.get("/v1/access-log?action=request.patch&limit=500", viewer).json()["items"]
    items += api.get("/v1/access-log?action=request.post&limit=500", viewer).json()["items"]
    return [e for e in items if e["detail"]["route"] == route]


def test_successful_changes_are_recorded_with_route_target_and_actor(api):
    oid = api.org_id("CQ-POW-01")
    r = api.patch(f"/v1/organisations/{oid}", "cq-pow-01", json={"sector": "power"})
    assert r.status_code == 200
    rows = requests_of(api, "cq-eeb", "/v1/organisations/{org_id}")
    assert len(rows) == 1
    row = rows[0]
    assert row["action"] == "request.patch"
    assert row["actor_username"] == "cq-pow-01"
    assert row["actor_org_id"] == oid == row["target_org_id"] == row["target_id"]
    assert row["detail"] == {
        "method": "PATCH",
        "route": "/v1/organisations/{org_id}",
        "params": {"org_id": oid},
        "status": 200,
    }
    # outside the bureau's jurisdiction the row is not shown
    assert requests_of(api, "sc-eed", "/v1/organisations/{org_id}") == []


def test_failed_requests_are_not_recorded_and_replays_once(api):
    oid = api.org_id("CQ-POW-01")
    bad = api.patch(f"/v1/organisations/{oid}", "cq-pow-01", json={"sector": "x" * 99})
    assert bad.status_code == 422
    denied = api.patch(f"/v1/organisations/{oid}", "sc-pow-01", json={"sector": "power"})
    assert denied.status_code == 403
    assert requests_of(api, "gc-secretariat", "/v1/organisations/{org_id}") == []
    headers = {"Idempotency-Key": "audit-once-1"}
    for _ in range(3):
        r = api.post("/v1/auth/api-keys", "cq-pow-01", json={"name": "k"}, headers=headers)
        assert r.status_code == 201
    rows = requests_of(api, "gc-secretariat", "/v1/auth/api-keys")
    assert [(e["actor_username"], e["detail"]["status"]) for e in rows] == [("cq-pow-01", 201)]


def test_console_audit_trail_shows_names_and_beijing_time(api):
    oid = api.org_id("CQ-POW-01")
    api.patch(f"/v1/organisations/{oid}", "cq-pow-01", json={"sector": "power"})
    row = requests_of(api, "cq-eeb", "/v1/organisations/{org_id}")[0]
    at = datetime.fromisoformat(row["at"].replace("Z", "+00:00"))
    beijing = (at.replace(tzinfo=None) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    for lang, org_name in (("en", "Changshou Thermal Power"), ("zh-CN", "长寿热电")):
        console_login(api, "cq-eeb", lang)
        text = visible_text(api.client.get("/console/access-log").text)
        assert f"{beijing} (UTC+8)" in text
        assert "cq-pow-01" in text
        assert "/v1/organisations/{org_id}" in text
        assert org_name in text
