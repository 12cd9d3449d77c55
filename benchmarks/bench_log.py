"""Transparency-log benchmark: durable batched appends, and proof latency at 1 M leaves.

Run: ``.venv/bin/python benchmarks/bench_log.py [--leaves 1000000] [--batch 50000]``

Appends go through :class:`greencircle.audit.service.AuditLog` on a file SQLite database
(WAL, ``synchronous=NORMAL``, one commit per batch, i.e. durable at each commit point), each
batch signing a checkpoint. In the same run the floor is a bare ``executemany`` insert of
the same leaf rows (hash precomputed) into an identical table, committed per batch. Proofs
are served from the stored perfect-subtree nodes; medians and p99 over random requests.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from greencircle.audit.keys import LogSigner, load_or_create_signing_key
from greencircle.audit.merkle import canonical_json, leaf_hash
from greencircle.audit.service import AuditLog
from greencircle.storage import migrate
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work


def events(start: int, n: int) -> list[dict[str, object]]:
    return [
        {
            "type": "bench.event",
            "org_id": None,
            "subject": f"s{i}",
            "n": i,
            "emissions_tco2": "3.0959096373",
            "at": "2026-01-01T00:00:00+00:00",
        }
        for i in range(start, start + n)
    ]


def floor(path: Path, total: int, batch: int) -> float:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE leaves (idx INTEGER PRIMARY KEY, leaf_hash BLOB, event_type TEXT,"
        " org_id TEXT, subject TEXT, data TEXT, appended_at TEXT)"
    )
    t = 0.0
    for start in range(0, total, batch):
        evs = events(start, min(batch, total - start))
        t0 = time.perf_counter()
        rows = []
        for i, e in enumerate(evs):
            data = canonical_json(e)
            rows.append(
                (
                    start + i,
                    leaf_hash(data),
                    "bench.event",
                    None,
                    e["subject"],
                    data.decode(),
                    "2026-01-01T00:00:00+00:00",
                )
            )
        con.executemany("INSERT INTO leaves VALUES (?,?,?,?,?,?,?)", rows)
        con.commit()
        t += time.perf_counter() - t0
    con.close()
    return total / t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leaves", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--proofs", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-log-"))
    url = f"sqlite:///{tmp / 'log.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    signer = LogSigner("bench.example/log", load_or_create_signing_key(tmp))
    append_s = 0.0
    for start in range(0, args.leaves, args.batch):
        evs = events(start, min(args.batch, args.leaves - start))
        t0 = time.perf_counter()
        with unit_of_work(factory) as s:
            AuditLog(s, signer).append(evs)
        append_s += time.perf_counter() - t0
        print(f"  appended {start + len(evs):>9,} leaves", flush=True)
    rate = args.leaves / append_s
    floor_rate = floor(tmp / "floor.db", args.leaves, args.batch)
    rng = random.Random(7)
    n = args.leaves
    incl, cons = [], []
    with unit_of_work(factory) as s:
        log = AuditLog(s, signer)
        for _ in range(args.proofs):
            i = rng.randrange(n)
            t0 = time.perf_counter()
            log.inclusion(i, n)
            incl.append((time.perf_counter() - t0) * 1000)
            a = rng.randrange(1, n)
            t0 = time.perf_counter()
            log.consistency(a, n)
            cons.append((time.perf_counter() - t0) * 1000)

    def p99(v: list[float]) -> float:
        return sorted(v)[int(0.99 * len(v)) - 1]

    print()
    print(f"log size {n:,} leaves, batches of {args.batch:,}, SQLite WAL (file), 2 cores")
    print(f"{'measure':48} {'value':>14} {'vs floor':>9}")
    print(
        f"{'AuditLog.append (hash, nodes, sign, commit)':48} {rate:>11,.0f} /s "
        f"{rate / floor_rate:>8.2f}x"
    )
    print(
        f"{'floor: bare sqlite3 executemany of leaf rows':48} {floor_rate:>11,.0f} /s {1.0:>8.2f}x"
    )
    print(
        f"{'inclusion proof, median / p99':48} {statistics.median(incl):>8.3f} ms "
        f"/ {p99(incl):.3f} ms"
    )
    print(
        f"{'consistency proof, median / p99':48} {statistics.median(cons):>8.3f} ms "
        f"/ {p99(cons):.3f} ms"
    )
    print(
        "published peers: Trillian ~60-1,200 leaves/s per tree; Tessera (POSIX) "
        "1,600-2,900 writes/s"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
