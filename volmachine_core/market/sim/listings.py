"""Exchange calendar of the simulation, option listings and event schedules.

Listings follow the real ones:

* dailies (SPXW style): the next two sessions (same-day 0DTE expiries are not listed: the 15:45
  snapshot would be 15 minutes from settlement);
* weeklies: the next ``n_weeklies`` Fridays;
* monthlies: the third Friday of the next ``n_monthlies`` months;
* quarterlies: the last session of Mar/Jun/Sep/Dec ('eoq', SPX style) or the third Fridays of the
  Mar/Jun/Sep/Dec cycle up to one year ('cycle');
* LEAPS: January third Fridays up to ``leaps_years`` ahead.

An expiry that falls on an exchange holiday moves to the previous session (Good Friday -> Thursday).
Business days and holidays come from :mod:`volmachine_core.conventions` (XNYS).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.conventions import exchange_holidays, expiry_timestamp, local_time_utc, trading_sessions
from volmachine_core.market.sim.config import UnderlyingSpec

__all__ = ["SimCalendar", "third_friday", "roll_back", "roll_forward", "list_expiries", "event_dates"]

_DAY = np.timedelta64(1, "D")


def roll_back(dates) -> np.ndarray:
    """Dates moved back to the previous XNYS session when they are not sessions (datetime64[D])."""
    d = np.asarray(dates, dtype="datetime64[D]")
    return np.busday_offset(d, 0, roll="backward", holidays=exchange_holidays())


def roll_forward(dates) -> np.ndarray:
    """Dates moved forward to the next XNYS session when they are not sessions (datetime64[D])."""
    d = np.asarray(dates, dtype="datetime64[D]")
    return np.busday_offset(d, 0, roll="forward", holidays=exchange_holidays())


def _month_start(year, month) -> np.ndarray:
    y = np.asarray(year, dtype=np.int64)
    m = np.asarray(month, dtype=np.int64)
    months = (y - 1970) * 12 + (m - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]")


def third_friday(year, month) -> np.ndarray:
    """Third Friday of (year, month), vectorised, not rolled for holidays (datetime64[D])."""
    first = _month_start(year, month)
    return np.busday_offset(first, 2, roll="forward", weekmask="Fri")


def _months_ahead(date: np.datetime64, n: int) -> tuple[np.ndarray, np.ndarray]:
    m0 = date.astype("datetime64[M]").astype(np.int64)
    months = m0 + np.arange(n + 1)
    return 1970 + months // 12, months % 12 + 1


def list_expiries(spec: UnderlyingSpec, date) -> np.ndarray:
    """Listed expiry dates (datetime64[D], sorted, unique, all after ``date``) for one session.

    Parameters
    ----------
    spec : UnderlyingSpec
        Listing rules (``dailies``, ``n_weeklies``, ``n_monthlies``, ``quarterlies``,
        ``n_quarterlies``, ``leaps_years``).
    date : date-like
        The trade date (a session).
    """
    d = np.datetime64(pd.Timestamp(date).date(), "D")
    parts: list[np.ndarray] = []
    if spec.dailies:
        parts.append(np.busday_offset(d, [1, 2], roll="forward", holidays=exchange_holidays()))
    fri0 = np.busday_offset(d + _DAY, 0, roll="forward", weekmask="Fri")
    parts.append(roll_back(fri0 + 7 * np.arange(spec.n_weeklies) * _DAY))
    years, months = _months_ahead(d, spec.n_monthlies + 1)
    monthly = roll_back(third_friday(years, months))
    parts.append(monthly[monthly > d][: spec.n_monthlies])
    years, months = _months_ahead(d, 28)
    q = np.isin(months, (3, 6, 9, 12))
    if spec.quarterlies == "eoq":
        next_month = _month_start(years[q], months[q]).astype("datetime64[M]") + 1
        eoq = roll_back(next_month.astype("datetime64[D]") - _DAY)
        parts.append(eoq[eoq > d][: spec.n_quarterlies])
    elif spec.quarterlies == "cycle":
        cyc = roll_back(third_friday(years[q], months[q]))
        parts.append(cyc[(cyc > d) & (cyc <= d + 370 * _DAY)])
    jan_years = np.arange(d.astype("datetime64[Y]").astype(np.int64) + 1971, 1971 + 2100 - 1970)[:4]
    leaps = roll_back(third_friday(jan_years, np.ones_like(jan_years)))
    horizon = d + int(round(spec.leaps_years * 365.25)) * _DAY
    parts.append(leaps[(leaps > d) & (leaps <= horizon)])
    out = np.unique(np.concatenate(parts).astype("datetime64[D]"))
    return out[out > d]


def event_dates(months: tuple[int, ...], rule: str | int, start, end) -> np.ndarray:
    """Scheduled event sessions in [start, end] for months of each year (datetime64[D]).

    ``rule`` 'third_friday' rolls the third Friday back to a session; an int day of month rolls
    forward to the next session.
    """
    if not months:
        return np.array([], dtype="datetime64[D]")
    y0, y1 = pd.Timestamp(start).year, pd.Timestamp(end).year
    years = np.repeat(np.arange(y0, y1 + 1), len(months))
    mons = np.tile(np.asarray(months), y1 - y0 + 1)
    if rule == "third_friday":
        dates = roll_back(third_friday(years, mons))
    else:
        dates = roll_forward(_month_start(years, mons) + (int(rule) - 1) * _DAY)
    lo, hi = np.datetime64(pd.Timestamp(start).date(), "D"), np.datetime64(pd.Timestamp(end).date(), "D")
    return np.sort(dates[(dates >= lo) & (dates <= hi)])


class SimCalendar:
    """Sessions and settlement times from ``origin`` to well past ``end`` (covers 2.5y LEAPS).

    Attributes
    ----------
    sessions : pd.DatetimeIndex
        Simulated sessions ``origin..end`` (naive dates).
    all_days : np.ndarray
        datetime64[D] sessions from ``origin`` to ``end`` + ~2.6 years (expiry lookups).
    close_s, open_s : np.ndarray
        UTC epoch seconds of each ``all_days`` session's close (PM settlement) and open (AM).
    """

    def __init__(self, origin, end) -> None:
        origin, end = pd.Timestamp(origin).normalize(), pd.Timestamp(end).normalize()
        if end < origin:
            raise ValueError(f"end {end.date()} is before origin {origin.date()}")
        self.sessions = trading_sessions(origin, end)
        if len(self.sessions) == 0:
            raise ValueError(f"no XNYS session between {origin.date()} and {end.date()}")
        horizon = trading_sessions(origin, end + pd.Timedelta(days=950))
        self.all_days = horizon.values.astype("datetime64[D]")
        self.days = self.sessions.values.astype("datetime64[D]")
        self.close_s = _epoch_seconds(expiry_timestamp(self.all_days, "PM"))
        self.open_s = _epoch_seconds(expiry_timestamp(self.all_days, "AM"))
        self.n_minutes = np.rint((self.close_s - self.open_s) / 60.0).astype(np.int64)

    def pos(self, dates) -> np.ndarray:
        """Index of session dates in ``all_days`` (dates must be sessions)."""
        d = np.asarray(dates, dtype="datetime64[D]")
        i = np.searchsorted(self.all_days, d)
        if np.any(i >= len(self.all_days)) or np.any(
            self.all_days[np.minimum(i, len(self.all_days) - 1)] != d
        ):
            raise ValueError(f"not simulated sessions: {d}")
        return i

    def settle_s(self, expiries, settlement: str) -> np.ndarray:
        """UTC epoch seconds of the settlement of session expiries ('PM' close, 'AM' open)."""
        i = self.pos(expiries)
        return (self.open_s if settlement == "AM" else self.close_s)[i]

    def local_s(self, date, hour: int, minute: int) -> int:
        """UTC epoch seconds of a New York wall-clock time on ``date``."""
        return int(_epoch_seconds(local_time_utc([date], hour, minute))[0])


def _epoch_seconds(ts) -> np.ndarray:
    idx = pd.DatetimeIndex(pd.to_datetime(ts, utc=True))
    return (idx.as_unit("s").asi8).astype(np.int64)
