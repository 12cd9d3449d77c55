"""Proofs against an independent, naive implementation of the RFC 9162 definitions.

The reference below transcribes RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1
(PROOF/SUBPROOF) recursively over entry lists, with :mod:`hashlib` only; it shares no code
with ``greencircle.audit.merkle``. Every (index, size) and (first, second) pair up to 64
leaves is checked exhaustively, and Hypothesis explores larger trees and corruptions.
"""

from __future__ import annotations

import functools
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greencircle.audit.errors import ProofError
from greencircle.audit.merkle import (
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    root_at,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

MAX_EXHAUSTIVE = 64
MAX_TREE = 1100

ENTRIES = [f"entry-{i}".encode() * (i % 3 + 1) for i in range(MAX_TREE)]


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1), per RFC 9162 §2.1.1."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def ref_mth(start: int, end: int) -> bytes:
    """MTH(D[start:end]) of ENTRIES, straight from the RFC's recursive definition."""
    n = end - start
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + ENTRIES[start])
    k = _split(n)
    return _sha(b"\x01" + ref_mth(start, start + k) + ref_mth(start + k, end))


def ref_path(m: int, start: int, end: int) -> list[bytes]:
    """PATH(m, D[start:end]) (RFC 9162 §2.1.3.1)."""
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*ref_path(m, start, start + k), ref_mth(start + k, end)]
    return [*ref_path(m - k, start + k, end), ref_mth(start, start + k)]


def ref_subproof(m: int, start: int, end: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b) (RFC 9162 §2.1.4.1)."""
    n = end - start
    if m == n:
        return [] if b else [ref_mth(start, end)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, start, start + k, b), ref_mth(start + k, end)]
    return [*ref_subproof(m - k, start + k, end, False), ref_mth(start, start + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for 0 < m < n."""
    return ref_subproof(m, 0, n, True)


def ref_leaf(i: int) -> bytes:
    return ref_mth(i, i + 1)


TREE = MemoryTree(ref_leaf(i) for i in range(MAX_TREE))
OTHER = _sha(b"not a node")


def _flip(hash_: bytes, bit: int = 0) -> bytes:
    return bytes([hash_[0] ^ (1 << bit)]) + hash_[1:]


def _inclusion_corruptions(proof: list[bytes], root: bytes) -> list[list[bytes]]:
    """Every altered, dropped and added element variant of ``proof``."""
    out: list[list[bytes]] = []
    for i in range(len(proof)):
        out.append([*proof[:i], _flip(proof[i]), *proof[i + 1 :]])
        out.append(proof[:i] + proof[i + 1 :])
    for i in range(len(proof) + 1):
        for extra in (OTHER, root, *proof[:1]):
            out.append([*proof[:i], extra, *proof[i:]])
    return out


def test_roots_match_reference_exhaustive() -> None:
    for n in range(MAX_EXHAUSTIVE + 1):
        assert root_at(TREE, n) == ref_mth(0, n)
        assert root_from_leaf_hashes(ref_leaf(i) for i in range(n)) == ref_mth(0, n)


def test_inclusion_exhaustive() -> None:
    for n in range(1, MAX_EXHAUSTIVE + 1):
        root = ref_mth(0, n)
        for m in range(n):
            proof = inclusion_proof(TREE, m, n)
            assert proof == ref_path(m, 0, n), (m, n)
            leaf = ref_leaf(m)
            assert verify_inclusion(leaf, m, n, proof, root)
            assert root_from_inclusion_proof(leaf, m, n, proof) == root
            for bad in _inclusion_corruptions(proof, root):
                assert not verify_inclusion(leaf, m, n, bad, root), (m, n, bad)
            # Any other index, in range or not, fails (with this leaf or that one's).
            for j in (*range(-1, m), *range(m + 1, n + 2)):
                assert not verify_inclusion(leaf, j, n, proof, root), (m, n, j)
            assert not verify_inclusion(_flip(leaf, 3), m, n, proof, root)
            assert not verify_inclusion(leaf, m, n, proof, _flip(root, 5))
            # A wrong size whose path has a different length is always detected.
            for n2 in range(0, MAX_EXHAUSTIVE + 2):
                if n2 != n and (m >= n2 or len(ref_path(m, 0, n2)) != len(proof)):
                    assert not verify_inclusion(leaf, m, n2, proof, root), (m, n, n2)


def test_tree_size_is_bound_by_the_root_not_the_path() -> None:
    """RFC 9162 verification cannot tell tree sizes whose proofs have the same shape.

    The proof for leaf 0 of a 3-leaf tree also "verifies" as a proof for a 4-leaf tree
    against the 3-leaf root: the size must come from a signed checkpoint together with
    the root. This documents the behaviour rather than a defect.
    """
    proof = inclusion_proof(TREE, 0, 3)
    assert verify_inclusion(ref_leaf(0), 0, 4, proof, ref_mth(0, 3))
    # Likewise for consistency: PROOF(1, D[3]) also passes as a proof from 1 to 4.
    proof = consistency_proof(TREE, 1, 3)
    assert verify_consistency(1, 4, ref_mth(0, 1), ref_mth(0, 3), proof)


def test_consistency_exhaustive() -> None:
    for n in range(0, MAX_EXHAUSTIVE + 1):
        root2 = ref_mth(0, n)
        for m in range(0, n + 1):
            root1 = ref_mth(0, m)
            proof = consistency_proof(TREE, m, n)
            expected = ref_proof(m, n) if 0 < m < n else []
            assert proof == expected, (m, n)
            assert verify_consistency(m, n, root1, root2, proof), (m, n)
            assert not verify_consistency(m, n, _flip(root1), root2, proof)
            if m > 0 or n == 0:  # every tree extends the empty tree: root2 is free then
                assert not verify_consistency(m, n, root1, _flip(root2), proof)
            corruptions = _inclusion_corruptions(proof, root1)
            corruptions += [[root1, *proof], [root2, *proof], [*proof, root2]]
            for bad in corruptions:
                assert not verify_consistency(m, n, root1, root2, bad), (m, n, bad)
            if m != n:
                assert not verify_consistency(m, n, root2, root1, proof), (m, n)
            # Any other claimed old size with the same root and proof fails.
            for m2 in range(-1, n + 2):
                if m2 != m and ref_mth(0, max(0, min(m2, n))) != root1:
                    assert not verify_consistency(m2, n, root1, root2, proof), (m, m2, n)
            # A wrong new size is detected whenever its proof has a different length
            # (as for inclusion, same-shape sizes are bound by the signed root instead).
            for n2 in range(m + 1, MAX_EXHAUSTIVE + 2):
                if m > 0 and n2 != n and len(ref_proof(m, n2)) != len(proof):
                    assert not verify_consistency(m, n2, root1, root2, proof), (m, n, n2)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_inclusion_random_large(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, MAX_TREE), label="size")
    m = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(TREE, m, n)
    assert proof == ref_path(m, 0, n)
    root = ref_mth(0, n)
    leaf = ref_leaf(m)
    assert verify_inclusion(leaf, m, n, proof, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 7), label="bit")
        altered = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        assert not verify_inclusion(leaf, m, n, altered, root)
        assert not verify_inclusion(leaf, m, n, proof[:i] + proof[i + 1 :], root)
    j = data.draw(st.integers(0, len(proof)), label="insert_at")
    assert not verify_inclusion(leaf, m, n, [*proof[:j], OTHER, *proof[j:]], root)
    other = data.draw(st.integers(-1, n).filter(lambda x: x != m), label="other_index")
    assert not verify_inclusion(leaf, other, n, proof, root)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_consistency_random_large(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, MAX_TREE), label="second")
    m = data.draw(st.integers(1, n - 1), label="first")
    proof = consistency_proof(TREE, m, n)
    assert proof == ref_proof(m, n)
    root1, root2 = ref_mth(0, m), ref_mth(0, n)
    assert verify_consistency(m, n, root1, root2, proof)
    i = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 7), label="bit")
    altered = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
    assert not verify_consistency(m, n, root1, root2, altered)
    assert not verify_consistency(m, n, root1, root2, proof[:i] + proof[i + 1 :])
    j = data.draw(st.integers(0, len(proof)), label="insert_at")
    assert not verify_consistency(m, n, root1, root2, [*proof[:j], OTHER, *proof[j:]])
    m2 = data.draw(st.integers(1, n).filter(lambda x: x != m), label="other_first")
    if ref_mth(0, m2) != root1:
        assert not verify_consistency(m2, n, root1, root2, proof)


@pytest.mark.parametrize(
    ("leaf_index", "tree_size", "proof_len"),
    [(0, 0, 0), (-1, 5, 3), (5, 5, 3), (0, 1, 1), (0, 2, 0), (0, 2, 2)],
)
def test_root_from_inclusion_proof_rejects(leaf_index: int, tree_size: int, proof_len: int) -> None:
    with pytest.raises(ProofError):
        root_from_inclusion_proof(ref_leaf(0), leaf_index, tree_size, [OTHER] * proof_len)


def test_root_from_inclusion_proof_rejects_wrong_hash_length() -> None:
    with pytest.raises(ProofError):
        root_from_inclusion_proof(ref_leaf(0), 0, 2, [OTHER[:31]])
