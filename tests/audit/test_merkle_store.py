"""Storage plan, batch appends, MemoryTree, JCS leaves and the hash-algorithm parameter."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from greencircle.audit.algorithms import HashAlgorithm, get_hash_algorithm
from greencircle.audit.errors import AlgorithmError, MissingNodeError, ProofError
from greencircle.audit.merkle import (
    RFC9162_SHA256,
    MemoryTree,
    NodeKey,
    TreeHasher,
    append_leaves,
    canonical_json,
    consistency_proof,
    event_leaf_hash,
    frontier_keys,
    inclusion_proof,
    leaf_hash,
    new_perfect_nodes,
    plan_consistency,
    plan_inclusion,
    root_at,
    root_from_leaf_hashes,
    subtree_hash,
    subtree_keys,
    tree_hasher,
    verify_consistency,
    verify_inclusion,
)


class DictStore:
    """A SubtreeStore over a dict that records every batch request."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}
        self.calls: list[tuple[NodeKey, ...]] = []

    def get_nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        self.calls.append(tuple(keys))
        return {k: self.nodes[k] for k in keys if k in self.nodes}

    def insert(self, rows: list[tuple[int, int, bytes]]) -> None:
        for level, index, h in rows:
            assert (level, index) not in self.nodes, "a node is written twice"
            self.nodes[level, index] = h


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(f"{seed}:{i}".encode()) for i in range(n)]


def _store_by_batches(leaves: list[bytes], sizes: list[int]) -> tuple[DictStore, bytes]:
    store = DictStore()
    pos = 0
    root = RFC9162_SHA256.empty()
    for size in sizes:
        batch = leaves[pos : pos + size]
        result = append_leaves(pos, batch, store)
        store.insert(result.nodes)
        pos += len(batch)
        assert result.tree_size == pos
        root = result.root
    return store, root


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=25))
def test_batches_reproduce_one_at_a_time(sizes: list[int]) -> None:
    total = sum(sizes)
    leaves = _leaves(total)
    store, root = _store_by_batches(leaves, sizes)
    one_by_one = MemoryTree()
    for leaf in leaves:
        one_by_one.append(leaf)
    assert store.nodes == {(lv, ix): h for lv, ix, h in one_by_one.nodes()}
    assert root == one_by_one.root() == root_from_leaf_hashes(leaves)
    # Each batch reads its frontier with at most one query, and none for an empty tree.
    assert len(store.calls) == sum(1 for i in range(len(sizes)) if sum(sizes[:i]) > 0)


def test_new_perfect_nodes_rows_and_frontier_read() -> None:
    tree = MemoryTree(_leaves(5))
    store = DictStore()
    store.insert(list(tree.nodes()))
    new = _leaves(8)[5:]
    rows = new_perfect_nodes(5, new, store)
    # Leaves 5, 6, 7 complete (1,2) with leaf 5, then (1,3), (2,1) and (3,0) with leaf 7.
    assert [(lv, ix) for lv, ix, _ in rows] == [
        (0, 5),
        (1, 2),
        (0, 6),
        (0, 7),
        (1, 3),
        (2, 1),
        (3, 0),
    ]
    assert store.calls == [tuple(frontier_keys(5))] == [((2, 0), (0, 4))]
    store.insert(rows)
    assert root_at(store, 8) == root_from_leaf_hashes(_leaves(8))


def test_append_requires_frontier_and_valid_hashes() -> None:
    with pytest.raises(MissingNodeError) as excinfo:
        new_perfect_nodes(6, _leaves(1), DictStore())
    assert excinfo.value.keys == ((1, 2), (2, 0))
    with pytest.raises(ProofError):
        new_perfect_nodes(0, [b"short"], DictStore())
    with pytest.raises(ProofError):
        new_perfect_nodes(-1, [], DictStore())
    assert append_leaves(0, [], DictStore()).root == RFC9162_SHA256.empty()


def test_large_tree_one_batch_per_proof() -> None:
    n = (1 << 16) + 12_345
    leaves = _leaves(n, seed=7)
    store, root = _store_by_batches(leaves, [50_000, 1, n - 50_001])
    assert sum(len(c) for c in store.calls) <= 2 * 17
    assert root == root_from_leaf_hashes(leaves)
    rng = random.Random(2024)
    for _ in range(50):
        size = rng.randint(1, n)
        index = rng.randrange(size)
        store.calls.clear()
        proof = inclusion_proof(store, index, size)
        assert len(store.calls) <= 1
        assert all(len(c) <= 2 * size.bit_length() for c in store.calls)
        assert verify_inclusion(leaves[index], index, size, proof, root_at(store, size))
        first = rng.randint(0, size)
        store.calls.clear()
        cproof = consistency_proof(store, first, size)
        assert len(store.calls) <= 1
        assert verify_consistency(first, size, root_at(store, first), root_at(store, size), cproof)


def test_subtree_keys_and_hash() -> None:
    assert subtree_keys(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert subtree_keys(8, 13) == [(2, 2), (0, 12)]
    assert subtree_keys(16, 32) == [(4, 1)]
    for bad in [(0, 0), (3, 2), (-1, 1), (1, 3), (4, 12), (2, 6)]:
        with pytest.raises(ProofError):
            subtree_keys(*bad)
    leaves = _leaves(40)
    tree = MemoryTree(leaves)
    assert subtree_hash(tree, 32, 40) == root_from_leaf_hashes(leaves[32:40])
    assert subtree_hash(tree, 32, 39) == root_from_leaf_hashes(leaves[32:39])
    assert subtree_hash(tree, 5, 6) == leaves[5]
    with pytest.raises(MissingNodeError):
        subtree_hash(tree, 32, 48)


def test_memory_tree_bounds_and_nodes() -> None:
    tree = MemoryTree(_leaves(10))
    assert len(tree) == tree.size == 10
    assert tree.node(3, 0) == root_from_leaf_hashes(_leaves(8))
    with pytest.raises(MissingNodeError):
        tree.node(3, 1)
    with pytest.raises(ProofError):
        tree.root(11)
    with pytest.raises(ProofError):
        tree.inclusion_proof(10)
    with pytest.raises(ProofError):
        tree.consistency_proof(3, 11)
    with pytest.raises(ProofError):
        tree.append(b"\x00" * 31)
    assert tree.get_nodes([(0, 9), (0, 10), (9, 0), (-1, 0)]) == {(0, 9): _leaves(10)[9]}
    assert tree.consistency_proof(4) == consistency_proof(tree, 4, 10)


def test_plans_batch_together() -> None:
    """Two proofs' keys can be fetched with one query and assembled from one mapping."""
    tree = MemoryTree(_leaves(100))
    inc, con = plan_inclusion(37, 90), plan_consistency(45, 90)
    nodes = tree.get_nodes(list(dict.fromkeys(inc.keys + con.keys)))
    assert inc.assemble(nodes) == inclusion_proof(tree, 37, 90)
    assert con.assemble(nodes) == consistency_proof(tree, 45, 90)
    with pytest.raises(MissingNodeError):
        inc.assemble({})


def test_canonical_json_and_event_leaf() -> None:
    event = {"b": [1, 2.5, "五"], "a": None, "c": {"z": True, "y": 1e21}}
    assert canonical_json(event) == '{"a":null,"b":[1,2.5,"五"],"c":{"y":1e+21,"z":true}}'.encode()
    assert event_leaf_hash(event) == hashlib.sha256(b"\x00" + canonical_json(event)).digest()
    assert event_leaf_hash({"a": 1, "b": 2}) == event_leaf_hash({"b": 2, "a": 1})
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"x": float("nan")})
    with pytest.raises(ValueError, match="integer"):
        canonical_json({"x": 2**60})


def test_hash_algorithm_parameter() -> None:
    assert tree_hasher("sha256") is RFC9162_SHA256
    with pytest.raises(AlgorithmError):
        tree_hasher("sm3")
    with pytest.raises(AlgorithmError):
        get_hash_algorithm("nope")
    # Any registered-style algorithm plugs in; BLAKE2s stands in for SM3 here.
    blake = TreeHasher(HashAlgorithm("blake2s", 32, hashlib.blake2s))
    leaves = [blake.leaf(bytes([i])) for i in range(13)]
    tree = MemoryTree(leaves, hasher=blake)
    root = tree.root()
    assert root == root_from_leaf_hashes(leaves, hasher=blake)
    assert root != root_from_leaf_hashes(leaves)
    proof = tree.inclusion_proof(6)
    assert verify_inclusion(leaves[6], 6, 13, proof, root, hasher=blake)
    assert not verify_inclusion(leaves[6], 6, 13, proof, root)
    cproof = tree.consistency_proof(5)
    assert verify_consistency(5, 13, tree.root(5), root, cproof, hasher=blake)
    assert not verify_consistency(5, 13, tree.root(5), root, cproof)
    assert blake.empty() == hashlib.blake2s(b"").digest()
