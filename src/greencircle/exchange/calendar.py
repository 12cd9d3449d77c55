"""Trading calendar per market: trading days, sessions per trading mode, next open.

Data: ``exchange/data/calendar.toml`` (every fact with ``status`` and ``source``). Pure
except for loading that file (cached by :func:`load_calendar`).

Conventions
-----------
* Instants are aware datetimes; answers about instants are given in UTC, and the human
  messages in the market's local time (Asia/Shanghai for every market so far).
* A session ``[start, end)`` is half-open: 09:30:00 local is open, 11:30:00 is closed
  (the morning session is 09:30:00 ≤ t < 11:30:00).
* A trading day is a local calendar day that is neither a Saturday nor a Sunday nor a
  listed holiday. Official weekend make-up workdays (调休上班) are *not* trading days.
* Holidays are listed for the years of the ``calendar_years`` fact only; on other years
  only weekends are closed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from greencircle.errors import Invalid, NotFound

__all__ = [
    "MODES",
    "CalendarLookupError",
    "MarketCalendar",
    "SessionState",
    "TradingCalendar",
    "load_calendar",
]

DATA_FILE = Path(__file__).parent / "data" / "calendar.toml"

#: Trading modes with sessions in the calendar.
MODES = ("continuous", "listed", "block", "auction", "call")

#: Longest run of consecutive closed days searched (a holiday block plus weekends is < 20).
_MAX_CLOSED_RUN = 60


class CalendarLookupError(NotFound, KeyError):
    """An unknown market or trading mode (a :class:`KeyError` and a 404 ``NotFound``).

    ``code`` is ``exchange.unknown_market`` or ``exchange.unknown_mode``.
    """

    code = "exchange.unknown_market"

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class SessionState:
    """Whether a market's mode is open at an instant.

    Attributes
    ----------
    open
        Inside a session.
    code
        ``None`` when open, else ``closed_weekend``, ``closed_holiday`` or
        ``outside_hours`` (a trading day, before, between or after the sessions).
    detail
        English explanation with local times and the zone.
    next_open
        Start of the next session [UTC], ``None`` when open.
    """

    open: bool
    code: str | None
    detail: str
    next_open: datetime | None


@dataclass(frozen=True)
class MarketCalendar:
    """Calendar facts of one market.

    Attributes
    ----------
    market
        Market code (``CN-CQ``).
    tz
        The market's time zone.
    sessions
        ``mode -> ((start, end), ...)`` local times, half-open, in order.
    statuses
        ``fact -> (status, source)``; session facts are named ``sessions.<mode>``.
    """

    market: str
    tz: ZoneInfo
    sessions: Mapping[str, tuple[tuple[time, time], ...]]
    statuses: Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class TradingCalendar:
    """Trading days and sessions of every market (see the module notes).

    Attributes
    ----------
    markets
        ``market code -> MarketCalendar``.
    holidays
        Closed local dates (all markets), within :attr:`years`.
    years
        Years whose holidays are listed.
    statuses
        ``fact -> (status, source)`` of the shared facts (``holidays.<year>``,
        ``calendar_years``, ...).
    """

    markets: Mapping[str, MarketCalendar]
    holidays: frozenset[date]
    years: tuple[int, ...]
    statuses: Mapping[str, tuple[str, str]]

    # -- lookups --------------------------------------------------------------------------
    def market(self, market: str) -> MarketCalendar:
        """The calendar of ``market``; :class:`CalendarLookupError` when unknown."""
        try:
            return self.markets[market]
        except KeyError:
            raise CalendarLookupError(
                f"market {market!r} has no trading calendar (known: {sorted(self.markets)})",
                code="exchange.unknown_market",
            ) from None

    def sessions(self, market: str, mode: str) -> tuple[tuple[time, time], ...]:
        """Local sessions ``((start, end), ...)`` of ``mode`` on ``market``."""
        cal = self.market(market)
        try:
            return cal.sessions[mode]
        except KeyError:
            raise CalendarLookupError(
                f"trading mode {mode!r} has no sessions on {market} "
                f"(known: {sorted(cal.sessions)})",
                code="exchange.unknown_mode",
            ) from None

    # -- days -----------------------------------------------------------------------------
    def closed_reason(self, market: str, day: date) -> str | None:
        """``closed_weekend``, ``closed_holiday`` or ``None`` (a trading day) for ``day``."""
        self.market(market)
        _check_date(day)
        if day.weekday() >= 5:
            return "closed_weekend"
        if day in self.holidays:
            return "closed_holiday"
        return None

    def is_trading_day(self, market: str, day: date) -> bool:
        """Whether ``day`` (a local date) is a trading day of ``market``."""
        return self.closed_reason(market, day) is None

    def next_trading_day(self, market: str, day: date) -> date:
        """The first trading day strictly after ``day`` (local dates)."""
        self.market(market)
        _check_date(day)
        cur = day
        for _ in range(_MAX_CLOSED_RUN):
            cur += timedelta(days=1)
            if self.is_trading_day(market, cur):
                return cur
        raise Invalid(  # only reachable with a corrupt holiday list
            f"no trading day within {_MAX_CLOSED_RUN} days after {day}",
            code="exchange.calendar_gap",
        )

    def trading_day_of(self, market: str, instant_utc: datetime) -> date:
        """Local date of ``instant_utc`` in ``market``'s zone (the trade date)."""
        cal = self.market(market)
        return _aware(instant_utc).astimezone(cal.tz).date()

    # -- sessions -------------------------------------------------------------------------
    def session(self, market: str, mode: str, instant_utc: datetime) -> SessionState:
        """Whether ``mode`` trading is open on ``market`` at ``instant_utc``.

        Parameters
        ----------
        market
            Market code.
        mode
            One of :data:`MODES`.
        instant_utc
            An aware datetime (any zone; naive datetimes are refused).

        Returns
        -------
        SessionState
            Open or the reason it is closed, with the next opening [UTC].
        """
        cal = self.market(market)
        windows = self.sessions(market, mode)
        local = _aware(instant_utc).astimezone(cal.tz)
        day, now = local.date(), local.time().replace(tzinfo=None)
        zone = cal.tz.key
        what = f"{market} {mode} trading"
        reason = self.closed_reason(market, day)
        if reason is None:
            for start, end in windows:
                if start <= now < end:
                    return SessionState(
                        True,
                        None,
                        f"{what} is open until {_hm(end)} ({zone}), "
                        f"session {_hm(start)}–{_hm(end)}",
                        None,
                    )
            later = [start for start, _ in windows if start > now]
            if later:
                nxt = datetime.combine(day, later[0], cal.tz)
            else:
                nxt = datetime.combine(self.next_trading_day(market, day), windows[0][0], cal.tz)
            hours = ", ".join(f"{_hm(s)}–{_hm(e)}" for s, e in windows)
            why = f"{local:%H:%M:%S} on {day} is outside the sessions {hours}"
            return SessionState(False, "outside_hours", _closed(what, why, nxt, zone), _utc(nxt))
        nxt = datetime.combine(self.next_trading_day(market, day), windows[0][0], cal.tz)
        why = (
            f"{day} ({day:%A}) is a weekend day"
            if reason == "closed_weekend"
            else f"{day} is an exchange holiday"
        )
        return SessionState(False, reason, _closed(what, why, nxt, zone), _utc(nxt))


def _closed(what: str, why: str, nxt: datetime, zone: str) -> str:
    return f"{what} is closed: {why} ({zone}); it opens {nxt:%Y-%m-%d %H:%M} ({zone})"


def _hm(t: time) -> str:
    return t.strftime("%H:%M")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _aware(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise Invalid(f"expected a datetime, got {value!r}", code="exchange.invalid_instant")
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(
            f"{value.isoformat()} has no time zone: give an aware (UTC) datetime",
            code="exchange.invalid_instant",
        )
    return value


def _check_date(value: object) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise Invalid(f"expected a date, got {value!r}", code="exchange.invalid_date")


# ==========================================================================================
# loading
# ==========================================================================================
def _fact(raw: Mapping[str, Any], defaults: Mapping[str, Any], name: str) -> dict[str, Any]:
    fact = raw.get(name, defaults[name])
    if not {"value", "status", "source"} <= set(fact):
        raise ValueError(f"calendar fact {name!r} needs value, status and source")
    return dict(fact)


def _parse_time(text: str) -> time:
    return time.fromisoformat(text)


def _windows(value: list[list[str]], where: str) -> tuple[tuple[time, time], ...]:
    out = tuple((_parse_time(a), _parse_time(b)) for a, b in value)
    for i, (start, end) in enumerate(out):
        if not start < end:
            raise ValueError(f"{where}: session {start}–{end} is empty")
        if i and not out[i - 1][1] <= start:
            raise ValueError(f"{where}: sessions overlap or are out of order")
    if not out:
        raise ValueError(f"{where}: no session")
    return out


@cache
def load_calendar(path: Path = DATA_FILE) -> TradingCalendar:
    """The trading calendar of every market from the TOML file (cached).

    Raises ``ValueError`` on an inconsistent file (overlapping sessions, a holiday outside
    its year, a fact without ``status`` or ``source``).
    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults = data["defaults"]
    markets: dict[str, MarketCalendar] = {}
    for code, raw in data.get("markets", {}).items():
        statuses: dict[str, tuple[str, str]] = {}
        tz_fact = _fact(raw, defaults, "timezone")
        statuses["timezone"] = (tz_fact["status"], tz_fact["source"])
        sessions: dict[str, tuple[tuple[time, time], ...]] = {}
        own = raw.get("sessions", {})
        for mode in MODES:
            fact = _fact(own, defaults["sessions"], mode)
            sessions[mode] = _windows(fact["value"], f"{code}.sessions.{mode}")
            statuses[f"sessions.{mode}"] = (fact["status"], fact["source"])
        markets[code] = MarketCalendar(code, ZoneInfo(tz_fact["value"]), sessions, statuses)
    shared: dict[str, tuple[str, str]] = {}
    for name in ("calendar_years", "weekends_closed"):
        shared[name] = (defaults[name]["status"], defaults[name]["source"])
    years = tuple(int(y) for y in defaults["calendar_years"]["value"])
    holidays: set[date] = set()
    for year_text, block in data.get("holidays", {}).items():
        year = int(year_text)
        if year not in years:
            raise ValueError(f"holidays of {year} listed but {year} is not in calendar_years")
        fact = block["dates"]
        shared[f"holidays.{year}"] = (fact["status"], fact["source"])
        for text in fact["value"]:
            day = date.fromisoformat(text)
            if day.year != year:
                raise ValueError(f"holiday {text} is not in {year}")
            holidays.add(day)
    return TradingCalendar(markets, frozenset(holidays), years, shared)
