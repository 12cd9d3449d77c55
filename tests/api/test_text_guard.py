"""One rule for every text a client sends: no control or format characters, in any domain.

Schemas of names use ``SafeText`` (single line); the unit of work refuses NUL bytes, other
control characters and bidi/zero-width characters in every JSON or form body before an
endpoint runs (``invalid_text``), so notes, titles and comments of every domain are covered.
"""

from __future__ import annotations

import pytest

from greencircle.kit.text import find_unsafe_in

BAD = ["\x00", "\u202e", "\u2066", "\u200b", "\x1b", "\ufeff"]


@pytest.mark.parametrize("char", BAD)
def test_bodies_of_every_domain_refuse_control_and_format_characters(api, char):
    bodies = [
        ("/v1/registry/transfers", {"note": f"paid{char}", "quantity": 1}),
        ("/v1/energy/sites", {"code": "S-1", "name_en": f"Site{char}"}),
        ("/v1/exchange/orders", {"legs": [{"memo": char}]}),
    ]
    for path, body in bodies:
        r = api.post(path, "cq-eeb", json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == "invalid_text"
        assert f"U+{ord(char):04X}" in r.json()["detail"]


def test_form_posts_are_checked_too(api):
    r = api.post(
        "/console/registry/transfer",
        "cq-eeb",
        data={"note": "a\u202eb", "csrf": "x"},
    )
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_text"


def test_nothing_is_stored_and_line_breaks_stay_allowed(api):
    before = api.get("/v1/organisations", "gc-secretariat").json()["total"]
    org = {
        "code": "CQ-TXT-01",
        "org_type": "enterprise",
        "name_en": "Text Co",
        "name_zh": "文本公司",
        "jurisdiction_code": "CN-CQ",
        "registration_no": "\x00",
    }
    assert api.post("/v1/organisations", "gc-secretariat", json=org).status_code == 422
    assert api.get("/v1/organisations", "gc-secretariat").json()["total"] == before
    # A multi-line note passes the body rule (single-line fields are narrowed by SafeText).
    assert find_unsafe_in({"note": "line 1\r\nline 2\tend"}) is None
    assert find_unsafe_in({"a": [{"b": "x\u202e"}]}) == ("a[0].b", "U+202E")
    assert find_unsafe_in({"k\x00": "v"}) == ("k\x00", "U+0000")


def test_plain_text_in_any_script_passes(api):
    org = {
        "code": "KZ-TXT-01",
        "org_type": "enterprise",
        "name_en": "Qazaq Green — Ltd.",
        "name_zh": "哈萨克绿色有限公司",
        "jurisdiction_code": "CN-CQ",
        "registration_no": "ТОО-2026/7",
    }
    r = api.post("/v1/organisations", "gc-secretariat", json=org)
    assert r.status_code == 201, r.text
    assert r.json()["registration_no"] == "ТОО-2026/7"
