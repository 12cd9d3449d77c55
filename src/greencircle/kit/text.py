r"""Strict text for names, titles and notes: no control or format characters.

NUL bytes break C-based tools and PostgreSQL text columns; bidirectional overrides
(U+202E and friends, "Trojan Source", CVE-2021-42574) make a name read differently from
what is stored; zero-width characters make two different names look the same. Every
free-text field a user types goes through one of the two types here:

- :data:`SafeText`: one line. Rejects every character of the Unicode categories ``Cc``
  (controls, including tab and newline), ``Cf`` (format: bidi controls, zero-width
  characters, BOM), ``Cs`` (lone surrogates) and the line/paragraph separators ``Zl`` and
  ``Zp``.
- :data:`SafeMultilineText`: the same, but tab, line feed and carriage return are allowed
  (notes, reasons, comments).

Both raise :class:`~greencircle.errors.Invalid` with the code ``invalid_text`` (HTTP 422,
``{"error": "invalid_text", "detail": "<field> contains ... (U+202E)"}``), naming the first
offending character by code point. The error is raised from inside validation on purpose:
Pydantic passes exceptions other than ``ValueError`` through, so the request fails with
this stable code rather than the generic ``validation_error``.

Examples
--------
>>> from pydantic import TypeAdapter
>>> TypeAdapter(SafeText).validate_python("Chongqing EEB 重庆")
'Chongqing EEB 重庆'
>>> TypeAdapter(SafeText).validate_python("a\x00b")
Traceback (most recent call last):
greencircle.errors.Invalid: invalid_text: text contains a control or formatting character (U+0000)
>>> find_unsafe("abc\u202edef", multiline=False)
'U+202E'
>>> find_unsafe("line 1\nline 2", multiline=True) is None
True
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from greencircle.errors import Invalid

_REJECTED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MULTILINE_ALLOWED = frozenset("\t\n\r")


def find_unsafe(value: str, *, multiline: bool) -> str | None:
    """The first rejected character of ``value`` as ``U+XXXX``, or ``None`` if clean."""
    for ch in value:
        if multiline and ch in _MULTILINE_ALLOWED:
            continue
        if unicodedata.category(ch) in _REJECTED:
            return f"U+{ord(ch):04X}"
    return None


def _validator(multiline: bool) -> Callable[[str, ValidationInfo], str]:
    def check(value: str, info: ValidationInfo) -> str:
        return require_safe_text(value, info.field_name or "text", multiline=multiline)

    return check


#: One line of text without control or format characters (names, titles, codes).
SafeText = Annotated[str, AfterValidator(_validator(multiline=False))]

#: Text that may span lines (tab, CR, LF allowed) but has no other control characters.
SafeMultilineText = Annotated[str, AfterValidator(_validator(multiline=True))]


def find_unsafe_in(document: object, path: str = "") -> tuple[str, str] | None:
    """The first string in a decoded JSON document or form with a rejected character.

    Walks keys and values; text may span lines (the rule of :data:`SafeMultilineText`),
    single-line fields are narrowed further by :data:`SafeText` in their schemas.

    Returns
    -------
    tuple of (str, str) or None
        ``(location, "U+XXXX")`` of the first offence (location like ``legs[0].note``).
    """
    if isinstance(document, str):
        bad = find_unsafe(document, multiline=True)
        return None if bad is None else (path or "body", bad)
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            found = find_unsafe_in(key, where) or find_unsafe_in(value, where)
            if found is not None:
                return found
    elif isinstance(document, list | tuple):
        for i, value in enumerate(document):
            found = find_unsafe_in(value, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def require_safe_text(value: str, field: str, *, multiline: bool = False) -> str:
    """Service-level check for text that does not come through a Pydantic model.

    Raises
    ------
    Invalid
        ``invalid_text`` (422) naming the field and the offending character.
    """
    bad = find_unsafe(value, multiline=multiline)
    if bad is not None:
        raise Invalid(
            f"{field} contains a control or formatting character ({bad})", code="invalid_text"
        )
    return value
