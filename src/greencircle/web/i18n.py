"""Message catalogs for the console (zh-CN and en). Every key exists in every catalog.

Each language is a folder ``i18n/<lang>/`` of JSON files, one per domain (``core.json``,
``energy.json``, ...); they are merged, and a key defined twice is an error.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger("greencircle.web")

CATALOG_DIR = Path(__file__).parent / "i18n"
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> dict[str, str]:
    """The message catalog of ``lang`` (``zh-CN`` or ``en``)."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    merged: dict[str, str] = {}
    for path in sorted((CATALOG_DIR / lang).glob("*.json")):
        part: dict[str, str] = json.loads(path.read_text("utf-8"))
        clash = merged.keys() & part.keys()
        if clash:
            raise ValueError(f"{path}: keys defined twice: {sorted(clash)[:5]}")
        merged.update(part)
    return merged


class _KeepMissing(dict[str, object]):
    """Placeholder values; a placeholder without a value is left as ``{name}``."""

    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def translate(lang: str, key: str, **values: object) -> str:
    """Look up ``key`` in ``lang``'s catalog and fill ``{placeholders}``.

    A missing key renders as the key itself (and is logged): a page with one untranslated
    label is still usable, while an exception here would turn the whole page into a 500.
    Missing keys are a bug all the same; ``tests/web/test_catalog_keys.py`` finds every
    literal key in templates and code and fails on any absent from a catalog.
    """
    text = catalog(lang).get(key)
    if text is None:
        log.warning("message key %r missing from the %s catalog", key, lang)
        return key
    return text.format_map(_KeepMissing(values)) if values else text


def negotiate(cookie: str | None, accept_language: str | None, user_locale: str | None) -> str:
    """Pick the language: explicit cookie, then the user's setting, then the browser's."""
    if cookie in LANGUAGES:
        return cookie
    if user_locale in LANGUAGES:
        return user_locale
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return DEFAULT_LANGUAGE
