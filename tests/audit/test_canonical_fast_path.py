"""The fast canonical-JSON path produces exactly the bytes of the rfc8785 package."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from greencircle.audit.merkle import _json_fast_path_ok, canonical_json

keys = st.text(max_size=12)  # includes astral characters, which force the slow path
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=40)
    | st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=800, deadline=None)
@given(values)
def test_same_bytes_as_rfc8785(value):
    assert canonical_json(value) == rfc8785.dumps(value)


def test_fast_path_covers_typical_events_and_excludes_floats_and_astral_keys():
    event = {
        "type": "mrv.calculation",
        "emissions_tco2": "3.0959",
        "n": 3,
        "ok": True,
        "zh": "重庆",
        "ctl": "\x01\x1f\n",
        "list": [1, None, "a"],
    }
    assert _json_fast_path_ok(event, 0)
    assert not _json_fast_path_ok({"x": 1.5}, 0)
    assert not _json_fast_path_ok({"\U0001f600": 1}, 0)
    assert not _json_fast_path_ok({"big": 2**60}, 0)
    assert canonical_json(event) == rfc8785.dumps(event)
