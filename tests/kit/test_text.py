"""SafeText: control and formatting characters are refused, ordinary text of any script kept."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from greencircle.errors import Invalid
from greencircle.kit.text import SafeMultilineText, SafeText, find_unsafe


class Form(BaseModel):
    name: SafeText
    note: SafeMultilineText = ""


# Independent list: characters named in Unicode's own charts as controls or formats.
BAD = {
    "\x00": "NUL",
    "\x07": "BEL",
    "\x1b": "ESC",
    "\x7f": "DEL",
    "\x85": "NEL (C1 control)",
    "\u200b": "ZERO WIDTH SPACE",
    "\u200e": "LEFT-TO-RIGHT MARK",
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE (BOM)",
    "\u2028": "LINE SEPARATOR",
    "\u2029": "PARAGRAPH SEPARATOR",
    "\ud800": "lone surrogate",
}
GOOD = [
    "Chongqing Ecology and Environment Bureau",
    "重庆市生态环境局",
    "Ташкент цемент",
    "Société Générale — 50 % & co_",
    "Almaty 🌿",
    "a\u00a0b",  # no-break space is a space, not a control
]


@pytest.mark.parametrize("ch", sorted(BAD))
def test_control_and_format_characters_are_refused(ch):
    with pytest.raises(Invalid) as err:
        Form(name=f"Bureau{ch}name")
    assert err.value.code == "invalid_text"
    assert err.value.status_code == 422
    assert f"U+{ord(ch):04X}" in str(err.value.detail)
    assert "name" in str(err.value.detail)


@pytest.mark.parametrize("text", GOOD)
def test_ordinary_text_passes_unchanged(text):
    assert Form(name=text, note=text).name == text


def test_multiline_allows_tab_and_newlines_only():
    assert Form(name="x", note="line 1\n\tline 2\r\n").note == "line 1\n\tline 2\r\n"
    for ch in ("\n", "\t", "\r"):
        with pytest.raises(Invalid):
            Form(name=f"a{ch}b")
    for ch in ("\x00", "\u202e", "\x0b"):
        with pytest.raises(Invalid):
            Form(name="x", note=f"a{ch}b")


def test_first_offending_character_is_named():
    assert find_unsafe("ok\u202eno\x00", multiline=False) == "U+202E"
    assert find_unsafe("fine", multiline=False) is None
