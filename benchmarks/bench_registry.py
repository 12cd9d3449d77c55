"""Registry transfer throughput, durable, on SQLite and PostgreSQL.

For each backend, single client and 8 concurrent clients, prints transfers per second
through :meth:`RegistryService.transfer` (one transaction per transfer: balance locks,
serial-block split, journal, serial history, transparency-log leaf and signed checkpoint)
and, in the same run on the same database, the floor: a bare SQL loop inserting one row
per committed transaction into a scratch table. The ratio floor / registry is the cost
of the registry per durable commit.

Durability: SQLite in WAL mode with ``synchronous=FULL``; PostgreSQL started here
(``initdb`` + ``pg_ctl`` on a temporary directory, loopback port) with ``fsync=on`` and
``synchronous_commit=on`` (the defaults).

Run: ``.venv/bin/python benchmarks/bench_registry.py [N]`` (N transfers per case,
default 400; about a minute).
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, event, select, text

from greencircle.audit.keys import LogSigner
from greencircle.auth.models import Organisation, User, UserRole
from greencircle.auth.service import actor_for_user
from greencircle.demo.scenario import load_demo
from greencircle.registry.integrity import verify_ledger
from greencircle.registry.service import AllocationInput, RegistryService
from greencircle.storage import migrate
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

ORGS = [f"CQ-{s}-0{i}" for s in ("POW", "CEM", "CHE") for i in (1, 2)] + ["CQ-STE-01", "CQ-STE-02"]
SIGNER = LogSigner("bench.greencircle/registry", Ed25519PrivateKey.generate())


class Postgres:
    """A throwaway durable PostgreSQL cluster on loopback (as tests/conftest.py does)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL binaries not found (apt-get install postgresql)")
        self.bindir = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="gc-bench-pg-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])

    def _run(self, *cmd: str) -> None:
        args = list(cmd)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, capture_output=True, text=True)

    def start(self) -> str:
        data = str(self.dir / "data")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            data,
            "-A",
            "trust",
            "-U",
            "greencircle",
            "-E",
            "UTF8",
            "--no-locale",
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            data,
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "bench"'))
        admin.dispose()
        return self.url("bench")

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://greencircle@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def durable_engine(url: str) -> Engine:
    engine = (
        make_engine(url, pool_size=10, max_overflow=10) if "postgresql" in url else make_engine(url)
    )
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _full(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

    return engine


def prepare(url: str) -> tuple[Engine, str, dict[str, Any]]:
    """Migrate, load the demo, allocate allowances to the benchmark organisations."""
    migrate.upgrade(url)
    engine = durable_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        load_demo(s)
    with unit_of_work(factory) as s:
        users = {u.username: u for u in s.scalars(select(User))}
        org_id = {o.code: o.id for o in s.scalars(select(Organisation))}
        s.add(
            User(
                username="cq-eeb-2",
                display_name="second",
                password_hash="x",
                organisation_id=org_id["CQ-EEB"],
                role_rows=[UserRole(role="regulator")],
            )
        )
    with unit_of_work(factory) as s:
        users = {u.username: u for u in s.scalars(select(User))}
        actors = {n: actor_for_user(u, auth_method="bench", token_id="") for n, u in users.items()}
    with unit_of_work(factory) as s:
        svc = RegistryService(s, SIGNER)
        plan = svc.create_allocation_plan(
            actors["cq-eeb"],
            market_code="CN-CQ",
            year=2025,
            product="CQEA",
            lines=[AllocationInput(org_id[o], "grandfathering", Decimal(10_000_000)) for o in ORGS],
        )
    with unit_of_work(factory) as s:
        RegistryService(s, SIGNER).approve_allocation_plan(actors["cq-eeb-2"], plan.plan_id)
    with unit_of_work(factory) as s:
        svc = RegistryService(s, SIGNER)
        svc.issue_allocation(actors["cq-eeb"], plan.plan_id)
        inst = svc.instrument("CN-CQ", "CQEA", 2025).id
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, "
                "src VARCHAR(40), dst VARCHAR(40), amount BIGINT)"
            )
        )
    return engine, inst, actors


def run_clients(clients: int, n: int, op: Callable[[random.Random, int], None]) -> float:
    """Run ``n`` operations split over ``clients`` threads; return operations per second."""
    per = n // clients
    errors: list[BaseException] = []

    def work(k: int) -> None:
        rng = random.Random(k)
        try:
            for i in range(per):
                op(rng, k * per + i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return per * clients / dt


def bench(backend: str, url: str, n: int) -> list[tuple[str, int, float, float]]:
    engine, inst, actors = prepare(url)
    factory = make_session_factory(engine)

    def transfer(rng: random.Random, _i: int) -> None:
        src, dst = rng.sample(ORGS, 2)
        with unit_of_work(factory) as s:
            RegistryService(s, SIGNER).transfer(
                actors[src.lower()],
                from_account=f"CN-CQ.{src}",
                to_account=f"CN-CQ.{dst}",
                instrument_id=inst,
                quantity=rng.randint(1, 50),
            )

    def floor(rng: random.Random, i: int) -> None:
        src, dst = rng.sample(ORGS, 2)
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO bench_floor (id, src, dst, amount) VALUES (:i, :s, :d, :a)"),
                {"i": i + 1_000_000 * floor.round, "s": src, "d": dst, "a": rng.randint(1, 50)},
            )  # type: ignore[attr-defined]

    out = []
    for clients in (1, 8):
        run_clients(clients, min(40, n), transfer)  # warm-up
        tps = run_clients(clients, n, transfer)
        floor.round = clients  # type: ignore[attr-defined]
        fps = run_clients(clients, n, floor)
        out.append((backend, clients, tps, fps))
    with unit_of_work(factory) as s:
        problems = verify_ledger(s)
    if problems:
        raise AssertionError(problems[:5])
    engine.dispose()
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench("sqlite", f"sqlite:///{tmp}/bench.sqlite", n)
    pg = Postgres()
    try:
        rows += bench("postgresql", pg.start(), n)
    finally:
        pg.stop()
    print(f"\nregistry transfers, durable commits, N={n} per case")
    head = ("backend", "clients", "transfers/s", "floor inserts/s", "floor/registry")
    print(f"{head[0]:<11} {head[1]:>7} {head[2]:>12} {head[3]:>16} {head[4]:>15}")
    for backend, clients, tps, fps in rows:
        print(f"{backend:<11} {clients:>7} {tps:>12.0f} {fps:>16.0f} {fps / tps:>14.1f}x")


if __name__ == "__main__":
    main()
