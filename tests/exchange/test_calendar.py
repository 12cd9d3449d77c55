"""Trading calendar (Asia/Shanghai): trading days, sessions per mode, next open.

Expected values are written by hand from the calendar: 2026-03-02 is a Monday; the 2026
National Day holiday is 1–7 October with Saturday 10 October a make-up workday (closed on
the exchange); the Spring Festival holiday is 15–23 February with Saturday 14 February a
make-up workday. Shanghai is UTC+8 all year (no daylight saving).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from greencircle.errors import Invalid
from greencircle.exchange.calendar import MODES, CalendarLookupError, load_calendar

CAL = load_calendar()
M = "CN-CQ"


def z(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def test_weekdays_weekends_holidays_and_makeup_days() -> None:
    assert CAL.is_trading_day(M, date(2026, 3, 2))  # Monday
    assert not CAL.is_trading_day(M, date(2026, 3, 7))  # Saturday
    assert not CAL.is_trading_day(M, date(2026, 3, 8))  # Sunday
    assert not CAL.is_trading_day(M, date(2026, 10, 1))  # National Day
    assert not CAL.is_trading_day(M, date(2026, 10, 7))
    assert CAL.is_trading_day(M, date(2026, 10, 8))
    assert not CAL.is_trading_day(M, date(2026, 10, 10))  # make-up Saturday: still closed
    assert not CAL.is_trading_day(M, date(2026, 2, 14))  # make-up Saturday
    assert not CAL.is_trading_day(M, date(2026, 1, 1))
    assert not CAL.is_trading_day(M, date(2026, 6, 19))  # Dragon Boat (Friday)
    assert not CAL.is_trading_day(M, date(2025, 10, 8))  # 2025 National Day + Mid-Autumn
    assert CAL.is_trading_day(M, date(2025, 10, 9))
    # outside the listed years only weekends close: 2027-10-01 is a Friday
    assert CAL.years == (2025, 2026)
    assert CAL.is_trading_day(M, date(2027, 10, 1))
    assert CAL.closed_reason(M, date(2026, 10, 3)) == "closed_weekend"  # weekend wins
    assert CAL.closed_reason(M, date(2026, 10, 5)) == "closed_holiday"


def test_next_trading_day_is_strictly_after() -> None:
    assert CAL.next_trading_day(M, date(2026, 3, 2)) == date(2026, 3, 3)
    assert CAL.next_trading_day(M, date(2026, 3, 6)) == date(2026, 3, 9)  # Fri -> Mon
    assert CAL.next_trading_day(M, date(2026, 9, 30)) == date(2026, 10, 8)  # National Day
    assert CAL.next_trading_day(M, date(2026, 10, 9)) == date(2026, 10, 12)  # skips 10 Oct
    assert CAL.next_trading_day(M, date(2026, 2, 13)) == date(2026, 2, 24)  # Spring Festival
    assert CAL.next_trading_day(M, date(2026, 12, 31)) == date(2027, 1, 1)  # unlisted year


def test_utc_and_shanghai_dates() -> None:
    assert CAL.trading_day_of(M, z(2026, 3, 1, 16, 30)) == date(2026, 3, 2)  # 00:30 local
    assert CAL.trading_day_of(M, z(2026, 3, 1, 15, 59, 59)) == date(2026, 3, 1)
    tokyo = datetime(2026, 3, 2, 1, 0, tzinfo=timezone(timedelta(hours=9)))  # = 00:00 Shanghai
    assert CAL.trading_day_of(M, tokyo) == date(2026, 3, 2)


def test_half_open_sessions_and_boundaries() -> None:
    cases = [
        # (UTC instant, open, code, next_open UTC)
        (z(2026, 3, 2, 1, 29, 59), False, "outside_hours", z(2026, 3, 2, 1, 30)),
        (z(2026, 3, 2, 1, 30), True, None, None),  # 09:30:00 local: open
        (z(2026, 3, 2, 3, 29, 59), True, None, None),
        (z(2026, 3, 2, 3, 30), False, "outside_hours", z(2026, 3, 2, 5, 0)),  # 11:30: closed
        (z(2026, 3, 2, 4, 0), False, "outside_hours", z(2026, 3, 2, 5, 0)),  # lunch
        (z(2026, 3, 2, 5, 0), True, None, None),  # 13:00
        (z(2026, 3, 2, 6, 59, 59), True, None, None),
        (z(2026, 3, 2, 7, 0), False, "outside_hours", z(2026, 3, 3, 1, 30)),  # 15:00
        (z(2026, 3, 1, 23, 0), False, "outside_hours", z(2026, 3, 2, 1, 30)),  # 07:00 local
    ]
    for instant, is_open, code, nxt in cases:
        st = CAL.session(M, "continuous", instant)
        assert (st.open, st.code, st.next_open) == (is_open, code, nxt), instant
        assert st.detail


def test_next_open_across_a_weekend_and_a_holiday_block() -> None:
    fri = CAL.session(M, "continuous", z(2026, 3, 6, 7, 0))  # Friday 15:00 local
    assert (fri.code, fri.next_open) == ("outside_hours", z(2026, 3, 9, 1, 30))
    sat = CAL.session(M, "continuous", z(2026, 3, 7, 2, 0))
    assert (sat.open, sat.code, sat.next_open) == (False, "closed_weekend", z(2026, 3, 9, 1, 30))
    assert "2026-03-07" in sat.detail and "2026-03-09 09:30" in sat.detail
    hol = CAL.session(M, "continuous", z(2026, 10, 1, 2, 0))
    assert (hol.code, hol.next_open) == ("closed_holiday", z(2026, 10, 8, 1, 30))
    assert "holiday" in hol.detail and "Asia/Shanghai" in hol.detail
    eve = CAL.session(M, "listed", z(2026, 9, 30, 8, 0))  # 16:00 local before the holiday
    assert eve.next_open == z(2026, 10, 8, 1, 30)
    makeup = CAL.session(M, "continuous", z(2026, 10, 10, 2, 0))
    assert (makeup.code, makeup.next_open) == ("closed_weekend", z(2026, 10, 12, 1, 30))


def test_block_trading_only_in_the_afternoon() -> None:
    morning = CAL.session(M, "block", z(2026, 3, 2, 2, 0))  # 10:00 local
    assert (morning.open, morning.code, morning.next_open) == (
        False,
        "outside_hours",
        z(2026, 3, 2, 5, 0),
    )
    assert "13:00" in morning.detail
    assert CAL.session(M, "continuous", z(2026, 3, 2, 2, 0)).open
    assert CAL.session(M, "block", z(2026, 3, 2, 5, 0)).open
    after = CAL.session(M, "block", z(2026, 3, 2, 7, 0))
    assert after.next_open == z(2026, 3, 3, 5, 0)  # next day's 13:00
    # auctions run through the lunch break (09:30-15:00, an estimate)
    assert CAL.session(M, "auction", z(2026, 3, 2, 4, 0)).open
    assert CAL.session(M, "call", z(2026, 3, 2, 1, 30)).open


def test_every_market_has_every_mode_with_status_and_source() -> None:
    assert set(CAL.markets) == {"CN-CQ", "CN-SC", "CN-NATIONAL", "SCO"}
    for code, cal in CAL.markets.items():
        assert set(cal.sessions) == set(MODES), code
        assert cal.tz.key == "Asia/Shanghai"
        for fact, (status, source) in cal.statuses.items():
            assert status in {"confirmed", "recall", "estimate"}, (code, fact)
            assert source, (code, fact)
    assert CAL.markets["CN-NATIONAL"].statuses["sessions.continuous"][0] == "confirmed"
    assert CAL.markets["CN-CQ"].statuses["sessions.continuous"][0] == "estimate"
    assert CAL.markets["CN-NATIONAL"].statuses["sessions.auction"][0] == "estimate"
    status, source = CAL.statuses["holidays.2026"]
    assert status == "recall"
    assert "State Council General Office" in source and "2026" in source


def test_invalid_inputs_are_clear_errors() -> None:
    with pytest.raises(Invalid) as naive:
        CAL.session(M, "continuous", datetime(2026, 3, 2, 9, 30))
    assert naive.value.code == "exchange.invalid_instant"
    with pytest.raises(KeyError) as market:
        CAL.session("XX", "continuous", z(2026, 3, 2, 2))
    assert isinstance(market.value, CalendarLookupError)
    assert market.value.code == "exchange.unknown_market"
    assert "XX" in str(market.value)
    with pytest.raises(KeyError) as mode:
        CAL.session(M, "dark_pool", z(2026, 3, 2, 2))
    assert mode.value.code == "exchange.unknown_mode"  # type: ignore[attr-defined]
    with pytest.raises(KeyError):
        CAL.is_trading_day("XX", date(2026, 3, 2))
    with pytest.raises(Invalid):
        CAL.is_trading_day(M, datetime(2026, 3, 2, 1, tzinfo=UTC))  # type: ignore[arg-type]
