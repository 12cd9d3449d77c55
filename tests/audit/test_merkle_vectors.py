"""Published RFC 6962/9162 test vectors from transparency-dev/merkle.

Sources (github.com/transparency-dev/merkle, Apache-2.0, values transcribed verbatim):

* ``testonly/constants.go``: ``LeafInputs``, ``NodeHashes`` (all perfect subtrees of the
  8-leaf tree) and ``RootHashes`` (roots at sizes 0..8).
* ``proof/verify_test.go``: ``inclusionProofs``, ``consistencyProofs``, the corruption
  probes of ``corruptInclusionProof``/``corruptConsistencyProof`` and the edge-case tables
  of ``TestVerifyInclusion``/``TestVerifyConsistency``.
* ``proof/proof_test.go``: the node-ID plans of ``TestInclusion``/``TestConsistency``
  (which stored nodes a proof needs, including "rehash" groups for ragged subtrees).
"""

from __future__ import annotations

import pytest

from greencircle.audit import merkle
from greencircle.audit.errors import ProofError
from greencircle.audit.merkle import (
    MemoryTree,
    consistency_proof,
    empty_root,
    inclusion_proof,
    leaf_hash,
    plan_consistency,
    plan_inclusion,
    root_at,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# testonly/constants.go LeafInputs()
LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# testonly/constants.go NodeHashes(): [level][index]
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# testonly/constants.go RootHashes() / EmptyRootHash(): index = tree size
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# proof/verify_test.go inclusionProofs: (1-based leaf, size, proof); {0, 0, nil} is the
# file's deliberately invalid entry and is skipped there too.
INCLUSION_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        2,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# proof/verify_test.go consistencyProofs: (size1, size2, proof)
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

# proof/verify_test.go
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
EMPTY_TREE_HASH = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    return MemoryTree(leaf_hash(d) for d in LEAVES)


def test_hash_primitives() -> None:
    assert empty_root() == ROOTS[0] == EMPTY_TREE_HASH
    assert leaf_hash(LEAVES[0]) == NODE_HASHES[0][0]
    assert merkle.node_hash(NODE_HASHES[0][0], NODE_HASHES[0][1]) == NODE_HASHES[1][0]


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_roots_from_leaf_hashes(size: int) -> None:
    assert root_from_leaf_hashes(leaf_hash(d) for d in LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_roots_from_store(tree: MemoryTree, size: int) -> None:
    assert root_at(tree, size) == ROOTS[size]
    assert tree.root(size) == ROOTS[size]


def test_every_stored_node_matches_published(tree: MemoryTree) -> None:
    stored = {(lv, ix): hh for lv, ix, hh in tree.nodes()}
    published = {(lv, ix): hh for lv, row in enumerate(NODE_HASHES) for ix, hh in enumerate(row)}
    assert stored == published


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION_PROOFS)
def test_published_inclusion_proofs(
    tree: MemoryTree, leaf: int, size: int, proof: list[bytes]
) -> None:
    index = leaf - 1
    assert inclusion_proof(tree, index, size) == proof
    lh = leaf_hash(LEAVES[index])
    assert root_from_inclusion_proof(lh, index, size, proof) == ROOTS[size]
    assert verify_inclusion(lh, index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY_PROOFS)
def test_published_consistency_proofs(
    tree: MemoryTree, size1: int, size2: int, proof: list[bytes]
) -> None:
    assert consistency_proof(tree, size1, size2) == proof
    assert verify_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof)


def _corrupt_inclusion(
    index: int, size: int, proof: list[bytes], root: bytes, lh: bytes
) -> list[tuple[str, int, int, bytes, list[bytes], bytes]]:
    """Port of corruptInclusionProof (proof/verify_test.go)."""
    probes = [
        ("leafIndex - 1", index - 1, size, root, proof, lh),
        ("leafIndex + 1", index + 1, size, root, proof, lh),
        ("leafIndex ^ 2", index ^ 2, size, root, proof, lh),
        ("treeSize * 2", index, size * 2, root, proof, lh),
        ("treeSize / 2", index, size // 2, root, proof, lh),
        ("wrong leaf", index, size, root, proof, b"WrongLeaf"),
        ("empty root", index, size, EMPTY_TREE_HASH, proof, lh),
        ("random root", index, size, SOME_HASH, proof, lh),
        ("trailing garbage", index, size, root, [*proof, b""], lh),
        ("trailing root", index, size, root, [*proof, root], lh),
        ("preceding garbage", index, size, root, [b"", *proof], lh),
        ("preceding root", index, size, root, [root, *proof], lh),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((f"modified proof[{i}] bit 3", index, size, root, wrong, lh))
    if proof:
        probes.append(("removed component", index, size, root, proof[:-1], lh))
    if len(proof) > 1:
        probes.append(
            ("inserted component", index, size, root, [proof[0], SOME_HASH, *proof[1:]], lh)
        )
    return probes


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION_PROOFS)
def test_published_inclusion_corruptions_rejected(leaf: int, size: int, proof: list[bytes]) -> None:
    index = leaf - 1
    lh = leaf_hash(LEAVES[index])
    for desc, i, n, root, p, leaf_h in _corrupt_inclusion(index, size, proof, ROOTS[size], lh):
        assert not verify_inclusion(leaf_h, i, n, p, root), desc


def _corrupt_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """Port of corruptConsistencyProof (proof/verify_test.go)."""
    probes = [
        ("size1 - 1", size1 - 1, size2, root1, root2, proof),
        ("size1 + 1", size1 + 1, size2, root1, root2, proof),
        ("size1 ^ 2", size1 ^ 2, size2, root1, root2, proof),
        ("size2 * 2", size1, size2 * 2, root1, root2, proof),
        ("size2 / 2", size1, size2 // 2, root1, root2, proof),
        ("wrong root1", size1, size2, b"WrongRoot", root2, proof),
        ("wrong root2", size1, size2, root1, b"WrongRoot", proof),
        ("swapped roots", size1, size2, root2, root1, proof),
        ("empty proof", size1, size2, root1, root2, []),
        ("trailing garbage", size1, size2, root1, root2, [*proof, b""]),
        ("trailing root1", size1, size2, root1, root2, [*proof, root1]),
        ("trailing root2", size1, size2, root1, root2, [*proof, root2]),
        ("preceding garbage", size1, size2, root1, root2, [b"", *proof]),
        ("preceding root1", size1, size2, root1, root2, [root1, *proof]),
        ("preceding root2", size1, size2, root1, root2, [root2, *proof]),
        ("preceding proof[0]", size1, size2, root1, root2, [proof[0], *proof]),
        ("truncated proof", size1, size2, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((f"modified proof[{i}] bit 4", size1, size2, root1, root2, wrong))
    return probes


@pytest.mark.parametrize(("size1", "size2", "proof"), [c for c in CONSISTENCY_PROOFS if c[2]])
def test_published_consistency_corruptions_rejected(
    size1: int, size2: int, proof: list[bytes]
) -> None:
    probes = _corrupt_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof)
    for desc, s1, s2, r1, r2, p in probes:
        assert not verify_consistency(s1, s2, r1, r2, p), desc


def test_verify_inclusion_single_entry() -> None:
    # TestVerifyInclusionSingleEntry: root and leaf hash of a 1-entry tree coincide.
    lh = leaf_hash(b"data")
    assert verify_inclusion(lh, 0, 1, [], lh)
    assert not verify_inclusion(b"", 0, 1, [], lh)
    assert not verify_inclusion(lh, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], b"")  # wrong hash size


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_verify_inclusion_invalid_probes(index: int, size: int) -> None:
    # TestVerifyInclusion: empty proofs with invalid root/leaf combinations.
    assert not verify_inclusion(SOME_HASH, index, size, [], b"")
    assert not verify_inclusion(b"", index, size, [], EMPTY_TREE_HASH)
    assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_TREE_HASH)


def test_verify_consistency_edge_table() -> None:
    # TestVerifyConsistency's table. Upstream uses 12-byte "don't care" roots for the
    # trivially consistent rows; this implementation also checks hash lengths and pins the
    # size-0 root to the empty-tree hash, so those rows use real hashes here.
    root1, root2 = b"don't care 1", b"don't care 2"
    proof2 = [EMPTY_TREE_HASH]
    rejected = [
        (0, 0, root1, root2, []),
        (1, 1, root1, root2, []),
        (1, 0, root1, root2, []),  # time travel to the past
        (2, 1, root1, root2, []),
        (1, 2, root1, root2, []),  # empty proof
        (0, 0, EMPTY_TREE_HASH, root2, []),  # roots don't match
        (1, 1, EMPTY_TREE_HASH, root2, []),
        (0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, proof2),  # roots match, proof not empty
        (0, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, proof2),
        (1, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, proof2),
    ]
    for s1, s2, r1, r2, p in rejected:
        assert not verify_consistency(s1, s2, r1, r2, p), (s1, s2)
    accepted: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, []),
        (0, 1, EMPTY_TREE_HASH, ROOTS[1], []),
        (1, 1, ROOTS[1], ROOTS[1], []),
    ]
    for s1, s2, r1, r2, p in accepted:
        assert verify_consistency(s1, s2, r1, r2, p), (s1, s2)
    # Stricter than upstream: a non-empty-tree root claimed for size 0 is rejected.
    assert not verify_consistency(0, 1, SOME_HASH, ROOTS[1], [])


# proof/proof_test.go: node IDs (level, index) of each proof, in upstream's layout: a
# ragged subtree appears as its perfect nodes from the smallest (rightmost) up, and
# ``rehash`` gives the half-open span of those IDs in the list.
_INCLUSION_PLANS: list[tuple[int, int, list[tuple[int, int]], tuple[int, int] | None]] = [
    (1, 0, [], None),
    (2, 0, [(0, 1)], None),
    (2, 1, [(0, 0)], None),
    (3, 1, [(0, 0), (0, 2)], None),
    (7, 0, [(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (7, 1, [(0, 0), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (7, 2, [(0, 3), (1, 0), (0, 6), (1, 2)], (2, 4)),
    (7, 3, [(0, 2), (1, 0), (0, 6), (1, 2)], (2, 4)),
    (7, 4, [(0, 5), (0, 6), (2, 0)], None),
    (7, 5, [(0, 4), (0, 6), (2, 0)], None),
    (7, 6, [(1, 2), (2, 0)], None),
    (4, 2, [(0, 3), (1, 0)], None),
    (5, 3, [(0, 2), (1, 0), (0, 4)], None),
    (6, 3, [(0, 2), (1, 0), (1, 2)], None),
    (6, 4, [(0, 5), (2, 0)], None),
    (15, 10, [(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)], (2, 4)),
    (31, 24, [(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)], (2, 4)),
    (
        95,
        81,
        [(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)],
        (3, 6),
    ),
]

_CONSISTENCY_PLANS: list[tuple[int, int, list[tuple[int, int]], tuple[int, int] | None]] = [
    (1, 2, [(0, 1)], None),
    (1, 4, [(0, 1), (1, 1)], None),
    (1, 6, [(0, 1), (1, 1), (1, 2)], None),
    (2, 3, [(0, 2)], None),
    (2, 8, [(1, 1), (2, 1)], None),
    (3, 7, [(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)], (3, 5)),
    (4, 7, [(0, 6), (1, 2)], (0, 2)),
    (5, 7, [(0, 4), (0, 5), (0, 6), (2, 0)], None),
    (6, 7, [(1, 2), (0, 6), (2, 0)], None),
    (7, 8, [(0, 6), (0, 7), (1, 2), (2, 0)], None),
    (1, 1, [], None),
    (2, 2, [], None),
    (3, 3, [], None),
    (4, 4, [], None),
    (5, 5, [], None),
    (7, 7, [], None),
    (8, 8, [], None),
    (2, 4, [(1, 1)], None),
    (3, 5, [(0, 2), (0, 3), (1, 0), (0, 4)], None),
    (3, 6, [(0, 2), (0, 3), (1, 0), (1, 2)], None),
    (4, 6, [(1, 2)], None),
    (1, 7, [(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (10, 15, [(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)], (2, 4)),
    (24, 31, [(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)], (1, 4)),
    (
        81,
        95,
        [(0, 80), (0, 81), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)],
        (4, 7),
    ),
]


def _upstream_layout(
    plan: merkle.ProofPlan,
) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    ids: list[tuple[int, int]] = []
    rehash: tuple[int, int] | None = None
    for keys in plan.range_keys:
        if len(keys) > 1:
            begin = len(ids)
            ids.extend(reversed(keys))
            rehash = (begin, len(ids))
        else:
            ids.extend(keys)
    return ids, rehash


@pytest.mark.parametrize(("size", "index", "ids", "rehash"), _INCLUSION_PLANS)
def test_inclusion_plans_match_upstream(
    size: int, index: int, ids: list[tuple[int, int]], rehash: tuple[int, int] | None
) -> None:
    assert _upstream_layout(plan_inclusion(index, size)) == (ids, rehash)


@pytest.mark.parametrize(("size1", "size2", "ids", "rehash"), _CONSISTENCY_PLANS)
def test_consistency_plans_match_upstream(
    size1: int, size2: int, ids: list[tuple[int, int]], rehash: tuple[int, int] | None
) -> None:
    assert _upstream_layout(plan_consistency(size1, size2)) == (ids, rehash)


@pytest.mark.parametrize(("size", "index"), [(0, 0), (0, 1), (1, 2), (0, 3), (7, 8), (5, -1)])
def test_inclusion_plan_rejects_bad_params(size: int, index: int) -> None:
    with pytest.raises(ProofError):
        plan_inclusion(index, size)


@pytest.mark.parametrize(("size1", "size2"), [(5, 0), (9, 8), (-1, 3)])
def test_consistency_plan_rejects_bad_params(size1: int, size2: int) -> None:
    with pytest.raises(ProofError):
        plan_consistency(size1, size2)
