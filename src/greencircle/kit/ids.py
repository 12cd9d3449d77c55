"""Sortable unique identifiers."""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """Return a new 26-character ULID (48-bit millisecond time + 80 random bits).

    ULIDs sort by creation time, which keeps B-tree inserts local and listings stable.

    References
    ----------
    .. [1] ULID specification, https://github.com/ulid/spec
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))
