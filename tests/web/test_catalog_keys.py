"""Every literal message key in templates and code exists in every catalog.

A missing key renders as the key itself (``translate`` falls back rather than turn a page
into a 500), so this scan is what keeps pages fully translated.
"""

from __future__ import annotations

import re
from pathlib import Path

from greencircle.web.i18n import LANGUAGES, catalog, translate

SRC = Path(__file__).parents[2] / "src/greencircle"
KEY = r"""["']([a-z][\w\-]*(?:\.[\w\-]+)+)["']"""
# t("a.b") / t('a.b', n=1) in templates and in code; translate(lang, "a.b") in code;
# NavItem("/path", "nav.x") for menu labels.
TEMPLATE_CALLS = re.compile(r"\bt\(\s*" + KEY)
PYTHON_CALLS = re.compile(
    r"(?:\bt\(\s*|\btranslate\(\s*[\w.\[\]\"'()]+\s*,\s*|NavItem\(\s*\"[^\"]*\"\s*,\s*)" + KEY
)


def literal_keys() -> dict[str, set[str]]:
    """Literal keys by file (relative path) found in templates and Python sources."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.html"):
        found[str(path.relative_to(SRC))] = set(TEMPLATE_CALLS.findall(path.read_text("utf-8")))
    for path in SRC.rglob("*.py"):
        found[str(path.relative_to(SRC))] = set(PYTHON_CALLS.findall(path.read_text("utf-8")))
    return {f: keys for f, keys in found.items() if keys}


def test_the_scanner_finds_keys_in_templates_and_code():
    found = literal_keys()
    # one known literal of each kind, so a broken pattern cannot pass silently
    assert "login.title" in found["web/templates/login.html"]
    assert "nav.dashboard" in found["web/nav.py"]
    assert "mrv.chart.monthly" in found["mrv/console.py"]
    assert sum(len(k) for k in found.values()) > 300


def test_every_literal_key_is_in_every_catalog():
    missing = {
        (lang, file, key)
        for file, keys in literal_keys().items()
        for key in keys
        for lang in LANGUAGES
        if key not in catalog(lang)
    }
    assert not missing, sorted(missing)


def test_a_missing_key_falls_back_to_the_key_itself():
    assert "no.such.key" not in catalog("en")
    assert translate("en", "no.such.key") == "no.such.key"
    assert translate("zh-CN", "no.such.key", n=3) == "no.such.key"
    # a placeholder without a value stays visible instead of raising
    key = next(k for k, v in catalog("en").items() if "{" in v)
    assert translate("en", key) == catalog("en")[key]
