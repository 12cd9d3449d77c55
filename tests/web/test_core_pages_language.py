"""Core pages name organisations in the page language and format their numbers."""

from __future__ import annotations

import re

import pytest

from tests_support import console_login, visible_text

# The demo's names, written out here (not read from the scenario under test)
NAMES = {
    "cq-eeb": ("Chongqing Ecology and Environment Bureau", "重庆市生态环境局"),
    "cq-pow-01": ("Changshou Thermal Power Co., Ltd.", "长寿热电有限公司"),
}


@pytest.mark.parametrize("user", sorted(NAMES))
def test_dashboard_heading_uses_the_name_of_the_page_language(api, user):
    en, zh = NAMES[user]
    for lang, shown, hidden in (("en", en, zh), ("zh-CN", zh, en)):
        console_login(api, user, lang)
        html = api.client.get("/console").text
        h1 = visible_text(re.search(r"<h1>(.*?)</h1>", html, re.S).group(1))
        assert shown in h1, (lang, h1)
        assert hidden not in visible_text(html), lang


def grouped(n: int) -> str:
    """Western thousands grouping, written independently of kit/fmt.py."""
    s = str(n)
    parts = []
    while len(s) > 3:
        parts.insert(0, s[-3:])
        s = s[:-3]
    return ",".join([s, *parts])


def test_audit_page_groups_the_tree_size(api):
    for i in range(3):  # make sure there is something to count
        api.post("/v1/auth/api-keys", "cq-pow-01", json={"name": f"k{i}"})
    size = api.get("/v1/audit/checkpoint", "gc-secretariat").json()["tree_size"]
    console_login(api, "gc-secretariat", "zh-CN")
    html = api.client.get("/console/audit").text
    cell = re.search(r'data-testid="tree-size">([^<]*)<', html).group(1)
    assert cell == grouped(size)
    assert grouped(1234567) == "1,234,567"


def test_dashboard_says_what_one_may_do_in_words_not_codes(api):
    from greencircle.web.i18n import catalog

    console_login(api, "cq-eeb", "zh-CN")
    html = api.client.get("/console").text
    can_do = re.search(r'<ul class="chips" data-testid="can-do">(.*?)</ul>', html, re.S).group(1)
    shown = visible_text(can_do)
    assert catalog("zh-CN")["nav.organisations"] in shown
    assert not re.search(r"[a-z]+\.[a-z_]+", shown), shown  # no permission codes up front
