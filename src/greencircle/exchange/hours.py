"""Whether trading hours are enforced, and the session status shown on every order form.

Trading hours (``data/calendar.toml``) are enforced by default. ``make demo`` is for
trying the platform on any day, so the demo loader marks its database ``trading_hours =
relaxed`` (:func:`relax_for_demo`); a server on that database then accepts orders at any
time and every order form says "hours relaxed (demo)". An explicit setting always wins:
``GREENCIRCLE_EXCHANGE_ENFORCE_HOURS=true`` enforces the hours on the demo database too,
``false`` relaxes them anywhere (tests, replays of old days).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from greencircle.config import Settings
from greencircle.exchange.calendar import load_calendar
from greencircle.exchange.models import ExSetting
from greencircle.kit.timeutil import utcnow
from greencircle.web.i18n import translate

__all__ = ["HOURS_KEY", "HoursMode", "hours_enforced", "hours_mode", "relax_for_demo", "status"]

HOURS_KEY = "trading_hours"
HoursMode = Literal["enforced", "relaxed_demo", "relaxed"]


def hours_mode(settings: Settings, session: Session) -> HoursMode:
    """``enforced``; ``relaxed`` (the setting says so); ``relaxed_demo`` (demo database,
    no explicit setting)."""
    if "exchange_enforce_hours" in settings.model_fields_set:
        return "enforced" if settings.exchange_enforce_hours else "relaxed"
    row = session.get(ExSetting, HOURS_KEY)
    return "relaxed_demo" if row is not None and row.value == "relaxed" else "enforced"


def hours_enforced(settings: Settings, session: Session) -> bool:
    """Whether exchange commands outside the sessions are refused (``market_closed``)."""
    return hours_mode(settings, session) == "enforced"


def relax_for_demo(session: Session) -> None:
    """Mark this database as the demo's: trading hours relaxed unless a setting enforces
    them. Idempotent; the caller commits."""
    row = session.get(ExSetting, HOURS_KEY)
    if row is None:
        session.add(ExSetting(key=HOURS_KEY, value="relaxed", set_by="demo", updated_at=utcnow()))
        session.flush()


def status(
    market: str, mode: str, lang: str, hours: HoursMode, now: datetime | None = None
) -> dict[str, Any]:
    """The session status of ``market``'s ``mode`` for an order form.

    Returns
    -------
    dict
        ``open`` (in session now), ``hours`` (the :data:`HoursMode`), ``text`` (translated:
        open until / closed, next session at, in China time) and ``relaxed`` (the
        translated note when hours are not enforced, else ``""``). Times are in the
        market's zone (Asia/Shanghai for every market today, shown as UTC+8).
    """
    cal = load_calendar()
    at = now or utcnow()
    st = cal.session(market, mode, at)
    tz = cal.market(market).tz
    if st.open:
        local = at.astimezone(tz).time().replace(tzinfo=None)
        end = next(e for s, e in cal.sessions(market, mode) if s <= local < e)
        text = translate(lang, "exchange.hours.open", until=end.strftime("%H:%M"))
    else:
        nxt = st.next_open.astimezone(tz).strftime("%Y-%m-%d %H:%M") if st.next_open else "–"
        text = translate(lang, f"exchange.hours.{st.code}", next=nxt)
    relaxed = "" if hours == "enforced" else translate(lang, f"exchange.hours.{hours}")
    return {"open": st.open, "hours": hours, "text": text, "relaxed": relaxed}
