"""Names refuse control characters; organisation search treats ``%`` and ``_`` literally."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("bad", ["Evil\x00Corp", "Corp\u202egnp.exe", "Two\nLines"])
def test_names_with_control_characters_are_refused_and_nothing_is_stored(api, bad):
    body = {
        "code": "CQ-TXT-01",
        "org_type": "enterprise",
        "name_en": bad,
        "name_zh": "文本测试有限公司",
        "jurisdiction_code": "CN-CQ-500101",
    }
    r = api.post("/v1/organisations", "cq-eeb", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_text"
    r = api.get("/v1/organisations?q=CQ-TXT-01", "gc-secretariat")
    assert r.json()["total"] == 0
    oid = api.org_id("CQ-POW-01")
    r = api.patch(f"/v1/organisations/{oid}", "cq-eeb", json={"name_zh": bad})
    assert r.json()["error"] == "invalid_text"
    uid = api.get("/v1/auth/me", "cq-pow-01").json()["user_id"]
    r = api.patch(f"/v1/users/{uid}", "cq-pow-01", json={"display_name": bad})
    assert r.json()["error"] == "invalid_text"
    r = api.post("/v1/auth/api-keys", "cq-pow-01", json={"name": bad})
    assert r.json()["error"] == "invalid_text"
    assert api.get(f"/v1/organisations/{oid}", "cq-eeb").json()["name_zh"] != bad


def test_search_treats_percent_and_underscore_as_text(api):
    body = {
        "code": "CQ-PCT-01",
        "org_type": "enterprise",
        "name_en": "Hundred_Percent 100% Green",
        "name_zh": "百分百_绿色",
        "jurisdiction_code": "CN-CQ-500101",
    }
    assert api.post("/v1/organisations", "cq-eeb", json=body).status_code == 201
    everything = api.get("/v1/organisations?limit=500", "gc-secretariat").json()["total"]

    def hits(q):
        r = api.get("/v1/organisations", "gc-secretariat", params={"q": q, "limit": 500})
        assert r.status_code == 200, r.text
        return {o["code"] for o in r.json()["items"]}

    # before: "%" and "_" matched every organisation
    assert everything > 1
    assert hits("%") == {"CQ-PCT-01"}
    assert hits("_") == {"CQ-PCT-01"}
    assert hits("100%") == {"CQ-PCT-01"}
    assert hits("t_p") == set()  # "_" is not "any one character"
    assert hits("百分百_") == {"CQ-PCT-01"}
    assert hits("\\") == set()  # the escape character itself is literal too
    # a NUL in a query parameter is refused, not passed to the database
    r = api.get("/v1/organisations", "gc-secretariat", params={"q": "a\x00"})
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_text"
