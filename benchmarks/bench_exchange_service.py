"""Durable exchange service throughput vs the in-memory engine, and HTTP order entry.

1. Service layer, SQLite and PostgreSQL (and on SQLite once more with every buyer
   funding in KZT: each fill then also carries the payment-versus-payment FX leg): a
   deterministic stream of limit orders from two funded traders (prices 49.80-50.20 CNY,
   1-20 t, about half of them trade) through
   :meth:`ExchangeService.place`, one committed transaction per order (journal row, order
   row, registry hold, DvP settlement and fee postings per fill, transparency-log leaves).
   Baseline: the same stream through the bare :class:`FastBook` (no I/O). The ratio
   engine / service is the price of durability, risk and settlement per order.
2. HTTP: ``greencircle serve`` on SQLite in a subprocess, ``CLIENTS`` threads with
   ``httpx`` keep-alive clients posting orders for ``SECONDS`` seconds over loopback;
   orders/s and latency percentiles of acknowledged (2xx) orders.

Databases: the server's own settings (SQLite WAL, ``synchronous=NORMAL``: a committed order
survives a process kill; PostgreSQL with ``fsync=on``, ``synchronous_commit=on``).

Run: ``.venv/bin/python benchmarks/bench_exchange_service.py [N]`` (N orders per service
case, default 600; about a minute).
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from greencircle.audit.keys import LogSigner, signer_from
from greencircle.auth.models import Organisation, User, UserRole
from greencircle.auth.service import actor_for_user
from greencircle.config import Settings
from greencircle.demo.scenario import load_demo
from greencircle.exchange import FastBook, Kind, Side, STPMode, TimeInForce
from greencircle.exchange.fx import FxService
from greencircle.exchange.models import ExTrade
from greencircle.exchange.service import BookRegistry, ExchangeService
from greencircle.kit.timeutil import utcnow
from greencircle.registry.service import AllocationInput, RegistryService
from greencircle.storage import migrate
from greencircle.storage.engine import make_engine, make_session_factory, unit_of_work

sys.path.insert(0, str(Path(__file__).parent))
from bench_registry import Postgres

TRADERS = {"cq-cem-01": "CQ-CEM-01", "cq-ste-01": "CQ-STE-01"}
SECRET = "bench-secret-key-that-is-long-enough-for-hs256-0123456789"
CLIENTS = 4
SECONDS = 6.0


def _actor(s: Any, username: str) -> Any:
    user = s.scalar(select(User).where(User.username == username))
    return actor_for_user(user, auth_method="bench", token_id="")


def _org(s: Any, code: str) -> str:
    return str(s.scalar(select(Organisation.id).where(Organisation.code == code)))


def prepare(url: str, signer: LogSigner) -> None:
    """Migrate, load the demo and fund both traders with allowances and cash."""
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as s:
            load_demo(s)
        with unit_of_work(factory) as s:
            s.add(
                User(
                    username="cq-eeb-2",
                    display_name="cq-eeb-2",
                    password_hash="x",
                    organisation_id=_org(s, "CQ-EEB"),
                    role_rows=[UserRole(role="regulator")],
                )
            )
        with unit_of_work(factory) as s:
            plan = RegistryService(s, signer).create_allocation_plan(
                _actor(s, "cq-eeb"),
                market_code="CN-CQ",
                year=2025,
                product="CQEA",
                lines=[
                    AllocationInput(_org(s, code), "grandfathering", Decimal(10_000_000))
                    for code in TRADERS.values()
                ],
            )
        with unit_of_work(factory) as s:
            RegistryService(s, signer).approve_allocation_plan(_actor(s, "cq-eeb-2"), plan.plan_id)
        with unit_of_work(factory) as s:
            RegistryService(s, signer).issue_allocation(_actor(s, "cq-eeb"), plan.plan_id)
        with unit_of_work(factory) as s:
            svc = RegistryService(s, signer)
            for code in TRADERS.values():
                svc.deposit(
                    _actor(s, "settle-01"),
                    org_id=_org(s, code),
                    currency="CNY",
                    amount_minor=10**13,
                    reference="bench",
                )
    finally:
        engine.dispose()


def stream(n: int, seed: int = 1) -> list[tuple[str, str, int, int]]:
    """``(username, side, price_ticks, quantity)`` limit orders."""
    rng = random.Random(seed)
    users = list(TRADERS)
    return [
        (users[i % 2], rng.choice(["buy", "sell"]), 5000 + rng.randint(-20, 20), rng.randint(1, 20))
        for i in range(n)
    ]


def bench_engine(orders: list[tuple[str, str, int, int]]) -> tuple[float, int]:
    book = FastBook(STPMode.CANCEL_NEWEST)
    trades = 0
    t0 = time.perf_counter()
    for i, (user, side, px, q) in enumerate(orders):
        res = book.place(str(i), user, Side(side), q, px, Kind.LIMIT, TimeInForce.GTC)
        trades += len(res.fills)
    return len(orders) / (time.perf_counter() - t0), trades


def fund_fx(url: str, signer: LogSigner) -> None:
    """KZT for both traders, CNY liquidity for the FX provider, a KZT/CNY snapshot."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            svc = RegistryService(s, signer)
            bank = _actor(s, "settle-01")
            for code in TRADERS.values():
                svc.deposit(
                    bank, org_id=_org(s, code), currency="KZT", amount_minor=10**15, reference="fx"
                )
            svc.deposit(
                bank,
                org_id=_org(s, "SETTLE-01"),
                currency="CNY",
                amount_minor=10**13,
                reference="fx liquidity",
            )
            now = utcnow()
            FxService(s, signer).record_rate(
                bank,
                base="KZT",
                quote="CNY",
                rate="0.0139",
                source="benchmark",
                valid_from=now - timedelta(hours=1),
                valid_until=now + timedelta(days=1),
            )
    finally:
        engine.dispose()


def bench_service(
    url: str,
    signer: LogSigner,
    orders: list[tuple[str, str, int, int]],
    funding: str | None = None,
) -> tuple[float, int]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    books = BookRegistry()
    try:
        with unit_of_work(factory) as s:
            actors = {u: _actor(s, u) for u in TRADERS}
        t0 = time.perf_counter()
        for user, side, px, q in orders:
            session = factory()
            try:
                svc = ExchangeService(session, signer, books, enforce_hours=False)
                price = f"{px // 100}.{px % 100:02d}"
                ack = books.transact(
                    session,
                    lambda svc=svc, user=user, side=side, price=price, q=q: svc.place(
                        actors[user],
                        market="CN-CQ",
                        instrument="CQEA:2025",
                        side=side,
                        price=price,
                        quantity=q,
                        funding_currency=funding if side == "buy" else None,
                    ),
                )
                assert ack.ok, ack
            finally:
                session.close()
        rate = len(orders) / (time.perf_counter() - t0)
        with unit_of_work(factory) as s:
            trades = int(s.scalar(select(func.count()).select_from(ExTrade)) or 0)
        return rate, trades
    finally:
        engine.dispose()


def _load(
    base: str, tokens: dict[str, str], clients: int, seconds: float
) -> tuple[int, float, float, float, int]:
    """``clients`` threads posting orders for ``seconds``: (clients, orders/s, p50, p99, n)."""
    lat: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        rng = random.Random(k)
        user = list(TRADERS)[k % 2]
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=30) as c:
            h = {"Authorization": f"Bearer {tokens[user]}"}
            while time.monotonic() < stop:
                px = 5000 + rng.randint(-20, 20)
                body = {
                    "market": "CN-CQ",
                    "instrument": "CQEA:2025",
                    "side": rng.choice(["buy", "sell"]),
                    "price": f"{px // 100}.{px % 100:02d}",
                    "quantity": rng.randint(1, 20),
                }
                t = time.perf_counter()
                r = c.post("/v1/exchange/orders", json=body, headers=h)
                if r.status_code == 201:
                    mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    return clients, len(lat) / elapsed, p50, p99, len(lat)


def bench_http(url: str, var: Path) -> list[tuple[int, float, float, float, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {
        **os.environ,
        "GREENCIRCLE_DATABASE_URL": url,
        "GREENCIRCLE_SECRET_KEY": SECRET,
        "GREENCIRCLE_VAR_DIR": str(var),
        "GREENCIRCLE_EXCHANGE_ENFORCE_HOURS": "false",  # benchmarks run at any hour
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "greencircle.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/v1/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        with httpx.Client(base_url=base) as c:
            tokens = {
                u: c.post(
                    "/v1/auth/token", data={"username": u, "password": "demo-pass-2026"}
                ).json()["access_token"]
                for u in TRADERS
            }
        return [_load(base, tokens, k, SECONDS) for k in (1, CLIENTS)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    orders = stream(n)
    eng_rate, eng_trades = bench_engine(orders)
    rows: list[tuple[str, str, float, int, float]] = []
    with tempfile.TemporaryDirectory(prefix="gc-bench-ex-") as tmp:
        var = Path(tmp) / "var"
        signer = signer_from(Settings(database_url="sqlite://", var_dir=var, secret_key=SECRET))
        sqlite_url = f"sqlite:///{tmp}/svc.sqlite"
        prepare(sqlite_url, signer)
        rate, trades = bench_service(sqlite_url, signer, orders)
        rows.append(("service (journal+risk+DvP)", "sqlite", rate, trades, eng_rate / rate))
        fx_url = f"sqlite:///{tmp}/fx.sqlite"
        prepare(fx_url, signer)
        fund_fx(fx_url, signer)
        rate, trades = bench_service(fx_url, signer, orders, funding="KZT")
        rows.append(("service, buyers pay KZT (PvP)", "sqlite", rate, trades, eng_rate / rate))
        pg = Postgres()
        try:
            pg_url = pg.start()
            prepare(pg_url, signer)
            rate, trades = bench_service(pg_url, signer, orders)
            rows.append(("service (journal+risk+DvP)", "postgresql", rate, trades, eng_rate / rate))
        finally:
            pg.stop()
        http_url = f"sqlite:///{tmp}/http.sqlite"
        prepare(http_url, signer)
        http_rows = bench_http(http_url, var)
    print(f"orders: {n} limit orders, two traders; engine trades {eng_trades}")
    print(f"{'case':30} {'backend':11} {'orders/s':>10} {'trades':>7} {'engine/service':>15}")
    print(
        f"{'engine (FastBook, in memory)':30} {'-':11} {eng_rate:10.0f} {eng_trades:7d} {'1.0':>15}"
    )
    for case, backend, rate, trades, ratio in rows:
        print(f"{case:30} {backend:11} {rate:10.0f} {trades:7d} {ratio:15.0f}")
    for clients, h_rate, p50, p99, h_n in http_rows:
        print(
            f"HTTP POST /v1/exchange/orders, sqlite, {clients} client(s), {SECONDS:.0f} s: "
            f"{h_rate:.0f} orders/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms ({h_n} acknowledged)"
        )


if __name__ == "__main__":
    main()
