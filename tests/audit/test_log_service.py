"""The database-backed transparency log on SQLite and PostgreSQL.

Expected roots and proofs come from an independent in-memory computation: leaf hashes
made with the ``rfc8785`` package and ``hashlib`` directly, and the naive RFC 9162
recursion below; signatures are checked with ``cryptography`` directly.
"""

from __future__ import annotations

import base64
import hashlib
import threading

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import event, select

from greencircle.audit.keys import LogSigner, load_or_create_signing_key
from greencircle.audit.models import LogLeaf
from greencircle.audit.service import AuditLog
from greencircle.errors import Conflict, Invalid
from greencircle.storage.engine import make_session_factory, unit_of_work


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, written out naively."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


@pytest.fixture
def signer(tmp_path):
    return LogSigner("test.example/log", load_or_create_signing_key(tmp_path))


@pytest.fixture
def factory(databases, backend, engines):
    return make_session_factory(engines(databases.new(backend)))


def events(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "type": "test.event",
            "n": i,
            "org_id": None,
            "note": f"事件 {i}",
            "at": "2026-01-01T00:00:00+00:00",
        }
        for i in range(start, start + n)
    ]


def test_roots_and_proofs_match_the_naive_rfc_definition(factory, signer):
    evs = events(37)
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        # uneven batches exercise the frontier between appends
        for chunk in (evs[:1], evs[1:6], evs[6:7], evs[7:20], evs[20:]):
            log.append(chunk)
    data = [rfc8785.dumps(e) for e in evs]
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        assert log.tree_size() == 37
        for n in range(0, 38):
            assert log.root(n) == mth(data[:n])
        for n in range(1, 38):
            for m in range(n):
                assert log.inclusion(m, n) == path(m, data[:n])
        for n in range(1, 38):
            for m in range(1, n + 1):
                assert log.consistency(m, n) == subproof(m, data[:n], True)
        stored = s.scalars(select(LogLeaf).order_by(LogLeaf.idx)).all()
        assert [leaf.data.encode() for leaf in stored] == data


def test_each_append_signs_a_verifiable_checkpoint(factory, signer):
    with unit_of_work(factory) as s:
        AuditLog(s, signer).append(events(5))
    with unit_of_work(factory) as s:
        cp = AuditLog(s, signer).checkpoint()
    body, _, sigline = cp.note.partition("\n\n")
    body += "\n"
    assert body == f"test.example/log\n5\n{base64.b64encode(cp.root_hash).decode()}\n"
    name, blob = sigline.removeprefix("— ").split()
    raw = base64.b64decode(blob)
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + signer.public_key).digest()[:4]
    assert raw[:4] == key_id
    Ed25519PublicKey.from_public_bytes(signer.public_key).verify(raw[4:], body.encode())
    assert cp.signature == raw[4:]
    with unit_of_work(factory) as s:
        assert AuditLog(s, signer).checkpoint(0).tree_size == 0  # the empty head was signed


def test_append_is_atomic_with_the_callers_transaction(factory, signer):
    with unit_of_work(factory) as s:
        AuditLog(s, signer).append(events(3))
    with pytest.raises(RuntimeError), unit_of_work(factory) as s:
        AuditLog(s, signer).append(events(4, 3))
        raise RuntimeError("the business change failed")
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        assert log.tree_size() == 3
        assert log.checkpoint().tree_size == 3


def test_bad_events_and_ranges_are_rejected(factory, signer):
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        with pytest.raises(Invalid):
            log.append([{"no_type": 1}])
        with pytest.raises(Invalid):
            log.append([{"type": "x", "value": float("nan")}])
        log.append(events(2))
        for call in (
            lambda: log.root(3),
            lambda: log.inclusion(2, 2),
            lambda: log.consistency(2, 1),
            lambda: log.leaves(0, 5000),
        ):
            with pytest.raises(Invalid):
                call()


def test_a_different_key_is_refused(factory, signer, tmp_path):
    with unit_of_work(factory) as s:
        AuditLog(s, signer).append(events(1))
    other = LogSigner(signer.origin, load_or_create_signing_key(tmp_path / "other"))
    with pytest.raises(Conflict) as err, unit_of_work(factory) as s:
        AuditLog(s, other).append(events(1))
    assert err.value.code == "log_key_mismatch"


def test_proofs_read_only_a_few_rows(databases, engines, signer):
    engine = engines(databases.new("sqlite"))
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        for start in range(0, 5000, 1000):
            log.append(events(1000, start))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        statements.clear()
        log.inclusion(1234, 4999)
        node_reads = [q for q in statements if "log_nodes" in q or "log_leaves" in q]
        assert len(node_reads) <= 2
        statements.clear()
        log.consistency(777, 4999)
        assert len([q for q in statements if "log_nodes" in q or "log_leaves" in q]) <= 2


def test_concurrent_appenders_leave_a_consistent_log(databases, backend, engines, signer):
    factory = make_session_factory(engines(databases.new(backend)))
    with unit_of_work(factory) as s:
        AuditLog(s, signer).ensure_initialised()
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for b in range(5):
                with unit_of_work(factory) as s:
                    AuditLog(s, signer).append(
                        [{"type": "t", "w": w, "b": b, "i": i} for i in range(7)]
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        leaves = s.scalars(select(LogLeaf).order_by(LogLeaf.idx)).all()
        assert [leaf.idx for leaf in leaves] == list(range(6 * 5 * 7))
        assert log.root(log.tree_size()) == mth([leaf.data.encode() for leaf in leaves])
        assert log.checkpoint().root_hash == log.root(log.tree_size())
