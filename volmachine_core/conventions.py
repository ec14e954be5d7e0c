"""Calendar and time conventions shared by every layer.

* ``tau``: ACT/365 years between two UTC timestamps (quote time to expiry time).
* ``expiry_ts``: the settlement moment of an expiry date: the session close for PM-settled
  options (16:00 America/New_York, or the early close on half days) and the session open
  (09:30 America/New_York) for AM-settled ones. DST is handled by tz-aware conversion.
* ``bdays``: exchange (XNYS) business days from the quote date (exclusive) to the expiry date
  (inclusive), holidays respected.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

EXCHANGE_TZ = "America/New_York"
SECONDS_PER_YEAR = 365.0 * 86400.0
CALENDAR_START = "1995-01-01"
CALENDAR_END = "2040-12-31"

Settlement = Literal["AM", "PM"]

#: Option roots whose settlement is AM (session open of the expiry day). Everything else is PM.
AM_SETTLED_ROOTS = frozenset({"SPX", "NDX", "RUT", "DJX", "XSP_AM", "VIX", "OEX_AM", "MXEA", "MXEF"})


def settlement_style(root: str | pd.Series) -> str | pd.Series:
    """Settlement style ('AM' or 'PM') from an option root (SPX -> AM, SPXW/SPXPM -> PM)."""
    if isinstance(root, pd.Series):
        r = root.astype("string").str.strip().str.upper()
        return pd.Series(np.where(r.isin(AM_SETTLED_ROOTS), "AM", "PM"), index=root.index)
    return "AM" if str(root).strip().upper() in AM_SETTLED_ROOTS else "PM"


@lru_cache(maxsize=1)
def _xnys():
    import exchange_calendars as xc

    return xc.get_calendar("XNYS", start=CALENDAR_START, end=CALENDAR_END)


@lru_cache(maxsize=1)
def exchange_holidays() -> np.ndarray:
    """Weekday dates (datetime64[D]) on which XNYS is closed, 1995-2040."""
    cal = _xnys()
    weekdays = pd.bdate_range(CALENDAR_START, CALENDAR_END)
    sessions = pd.DatetimeIndex(cal.sessions).tz_localize(None)
    return weekdays.difference(sessions).values.astype("datetime64[D]")


@lru_cache(maxsize=1)
def _session_times() -> pd.DataFrame:
    cal = _xnys()
    sched = cal.schedule[["open", "close"]].copy()
    sched.index = pd.DatetimeIndex(sched.index).tz_localize(None).normalize()
    return sched


def trading_sessions(start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    """XNYS sessions (naive dates) between ``start`` and ``end`` inclusive."""
    sched = _session_times()
    idx = sched.index
    return idx[(idx >= pd.Timestamp(start)) & (idx <= pd.Timestamp(end))]


def previous_session(date: str | pd.Timestamp) -> pd.Timestamp | None:
    """The XNYS session before ``date`` (naive), or None before the calendar's start."""
    idx = _session_times().index
    i = idx.searchsorted(pd.Timestamp(date).normalize()) - 1
    return idx[i] if i >= 0 else None


def is_session(dates: pd.Series | pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Boolean mask: which dates are XNYS sessions."""
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates))).normalize()
    return np.asarray(d.isin(_session_times().index))


def business_days(start_dates, end_dates) -> np.ndarray:
    """XNYS business days in (start, end]: 0 on the expiry day itself, holidays skipped.

    Vectorised over arrays of dates (anything ``pd.to_datetime`` reads).
    """
    s = pd.to_datetime(np.asarray(start_dates)).values.astype("datetime64[D]")
    e = pd.to_datetime(np.asarray(end_dates)).values.astype("datetime64[D]")
    one = np.timedelta64(1, "D")
    return np.busday_count(s + one, e + one, holidays=exchange_holidays()).astype(np.int64)


def expiry_timestamp(expiry_dates, settlement) -> pd.Series:
    """UTC settlement timestamps for expiry dates.

    Parameters
    ----------
    expiry_dates : array-like of dates
        The expiration (settlement) dates.
    settlement : str or array-like of 'AM'/'PM'
        'PM' settles at the session close (16:00 New York, early close on half days),
        'AM' at the session open (09:30 New York). Dates that are not sessions use
        the regular 16:00 / 09:30 times.
    """
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(expiry_dates))).normalize()
    st = np.broadcast_to(np.asarray(settlement, dtype=object), (len(d),))
    sched = _session_times()
    local = d.tz_localize(EXCHANGE_TZ)
    pm = _utc(sched["close"].reindex(d)).fillna(
        pd.Series((local + pd.Timedelta(hours=16)).tz_convert("UTC")))
    am = _utc(sched["open"].reindex(d)).fillna(
        pd.Series((local + pd.Timedelta(hours=9, minutes=30)).tz_convert("UTC")))
    return pd.Series(np.where(st == "AM", am, pm)).astype("datetime64[ns, UTC]")


def _utc(s: pd.Series) -> pd.Series:
    """A session-time column as a UTC Series with a fresh RangeIndex."""
    idx = pd.DatetimeIndex(s.to_numpy())
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return pd.Series(idx)


def year_fraction(start_ts, end_ts) -> np.ndarray:
    """ACT/365 years between UTC timestamps (vectorised); negative if end precedes start."""
    s = pd.DatetimeIndex(pd.to_datetime(_as_1d(start_ts), utc=True))
    e = pd.DatetimeIndex(pd.to_datetime(_as_1d(end_ts), utc=True))
    return np.asarray((e - s).total_seconds(), dtype=float) / SECONDS_PER_YEAR


def _as_1d(x):
    """Keep pandas objects (they carry time zones) and wrap anything else as a 1-d array."""
    return x if isinstance(x, (pd.Series, pd.Index)) else np.atleast_1d(np.asarray(x))


def local_time_utc(dates, hour: int, minute: int = 0) -> pd.DatetimeIndex:
    """UTC timestamps for a New York wall-clock time on given dates (DST-correct)."""
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates))).normalize()
    return (d.tz_localize(EXCHANGE_TZ) + pd.Timedelta(hours=hour, minutes=minute)).tz_convert("UTC")
