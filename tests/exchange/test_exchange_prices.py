"""Exchange prices as the registry's price source (penalty averages), SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from greencircle.exchange.models import ExTrade
from greencircle.exchange.pricesource import ExchangePrices
from greencircle.storage.engine import make_session_factory, unit_of_work


def trade(seq, code, price, qty, when):
    return ExTrade(
        seq=seq,
        market_code=code.split(":")[0],
        instrument_code=code,
        price_ticks=price,
        quantity=qty,
        notional_minor=price * qty,
        buy_order_id=f"b{seq}",
        sell_order_id=f"s{seq}",
        buyer_org_id="x",
        seller_org_id="y",
        aggressor="buy",
        buyer_fee_minor=0,
        seller_fee_minor=0,
        settlement_tx_id=f"t{seq}",
        trade_date=when.date().isoformat(),
        executed_at=when,
    )


def test_vwap_over_the_window_of_every_vintage_of_the_product(databases, backend, engines):
    factory = make_session_factory(engines(databases.new(backend)))
    t = lambda m, d: datetime(2026, m, d, 3, tzinfo=UTC)  # noqa: E731
    rows = [
        trade(1, "CN-CQ:CQEA:2025", 3800, 2000, t(7, 1)),
        trade(2, "CN-CQ:CQEA:2024", 3900, 1000, t(7, 2)),  # another vintage counts
        trade(3, "CN-CQ:CQEA:2025", 9900, 500, t(8, 1)),  # after the window
        trade(4, "CN-CQ:CCER-X:2025", 100, 10_000, t(7, 1)),  # another product
        trade(5, "CN-SC:CQEA:2025", 100, 10_000, t(7, 1)),  # another market
    ]
    with unit_of_work(factory) as s:
        s.add_all(rows)
    with unit_of_work(factory) as s:
        prices = ExchangePrices(s)
        got = prices.average_price("CN-CQ", "CQEA", t(2, 1), t(8, 1))
        assert got == Decimal(3800 * 2000 + 3900 * 1000) / Decimal(3000)
        assert prices.average_price("CN-CQ", "CQEA", t(1, 1), t(2, 1)) is None


def test_shortfall_fines_use_exchange_prices_in_the_demo(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys

    env = {
        "GREENCIRCLE_DATABASE_URL": f"sqlite:///{tmp_path / 'd.sqlite'}",
        "GREENCIRCLE_VAR_DIR": str(tmp_path),
    }
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "greencircle.cli.main", *a],
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run("demo", "load").returncode == 0
    out = run(
        "registry",
        "compliance",
        "shortfalls",
        "--as",
        "cq-eeb",
        "--market",
        "CN-CQ",
        "--year",
        "2025",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["lines"], "the demo has short enterprises"
    from sqlalchemy import create_engine, text

    engine = create_engine(env["GREENCIRCLE_DATABASE_URL"])
    start, end = report["price_window"]
    with engine.connect() as c:
        notional, volume = c.execute(
            text(
                "SELECT sum(notional_minor), sum(quantity) FROM ex_trades WHERE market_code='CN-CQ'"
                " AND instrument_code LIKE 'CN-CQ:CQEA:%'"  # allowances, not pollutant rights
                " AND executed_at >= :a AND executed_at < :b"
            ),
            {"a": start.replace("T", " ")[:19], "b": end.replace("T", " ")[:19]},
        ).one()
    engine.dispose()
    vwap = Decimal(notional) / Decimal(volume)
    for line in report["lines"]:
        assert abs(Decimal(line["average_price_minor"]) - vwap) < 1
        assert line["fine_min_minor"] == int(
            line["shortfall"] * Decimal(line["average_price_minor"]) * 3
        )  # 3x the average (Chongqing rule data)
