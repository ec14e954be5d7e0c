"""Event vol: the implied move of a known event from the ATM term structure against past realised moves.

An expiry settling on or after an event's session carries the event's variance: the earnings move lands
in the event session's close-to-close return (the overnight gap), and an expiry on the event date settles
after it. Per (snapshot, underlying) the ATM total variances ``w_i = atm_vol_i^2 tau_i`` (tau ACT/365
years) of the expiries up to a horizon are fitted by weighted least squares to

``w_i = a tau_i + b tau_i^2 + sum_e E_e 1[expiry_i >= event_e]``,

a smooth diffusive total variance (forward variance linear in tau, zero at tau = 0) plus one step per
upcoming event. ``E_e`` is the event's total variance, ``sqrt(E_e)`` its implied move (a standard
deviation of the log move). Weights assume a constant error ``atm_vol_error`` of a fitted ATM vol, so
``sd(w_i) = 2 atm_vol_i tau_i atm_vol_error``: the short expiries, where the step is large against the
diffusive variance, carry the estimate. An event with no expiry before it is identified by the fit's
intercept (``d(0) = 0``), which needs at least four expiries after it.

The detector compares the implied move with the RMS of the underlying's past realised event moves
(standard deviation against root mean square, both about zero): ``premium = sqrt(E) / RMS - 1``. A move
read from bars is a whole session's return, so one ordinary session's variance is taken off its square
(the implied ``E`` excludes the diffusive variance of that day too). With ~10 past moves the RMS itself
has a relative standard error of about ``1 / sqrt(2 n)`` (~22%): comparable to the 20% threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from volmachine_core.conventions import business_days
from volmachine_core.signals.edges import EDGE_STRUCTURES, edge_frame, strength_from

__all__ = [
    "EVENT_COLUMNS",
    "IMPLIED_EVENT_COLUMNS",
    "REALISED_MOVE_COLUMNS",
    "event_vol_edges",
    "events_from_config",
    "implied_event_variance",
    "realised_event_moves",
]

EVENT_COLUMNS = ("underlying", "event_date", "kind", "move")
IMPLIED_EVENT_COLUMNS = (
    "snapshot_id", "trade_date", "underlying", "event_date", "kind", "event_var", "event_var_se", "implied_move",
    "implied_move_se", "diffusive_vol", "n_before", "n_after", "n_expiries", "n_events", "expiry_before",
    "expiry_after", "status", "reason",
)
REALISED_MOVE_COLUMNS = ("underlying", "event_date", "kind", "move", "diffusive_var", "event_var", "source")
_GOOD = ("ok", "repaired")
_KINDS = ("earnings",)


def events_from_config(records: Iterable[Mapping] | None) -> pd.DataFrame:
    """Events from configuration records (``config/events.yaml``: ``events: [...]``).

    Parameters
    ----------
    records : iterable of mapping, or None
        Each with ``underlying`` (str), ``date`` (YYYY-MM-DD: the session whose close-to-close return
        carries the event, i.e. the first session after an after-close report), optional ``kind``
        (default 'earnings') and optional ``move`` (realised log move, decimal; omit until known).

    Returns
    -------
    DataFrame
        ``EVENT_COLUMNS``: underlying, event_date (datetime64), kind, move (NaN when not realised),
        sorted by event_date and underlying.

    Raises
    ------
    ValueError
        Naming the entry (``events[i]``) and key of a missing or bad field, an unknown key, or a repeat.
    """
    allowed = {"underlying", "date", "kind", "move"}
    rows = []
    for i, rec in enumerate(records or []):
        where = f"events[{i}]"
        if not isinstance(rec, Mapping):
            raise ValueError(f"{where}: expected a mapping with underlying and date, got {rec!r}")
        unknown = sorted(set(rec) - allowed)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed {sorted(allowed)}")
        und = rec.get("underlying")
        if not isinstance(und, str) or not und.strip():
            raise ValueError(f"{where}.underlying: a non-empty symbol is required, got {und!r}")
        if "date" not in rec:
            raise ValueError(f"{where}.date: required (YYYY-MM-DD)")
        try:
            date = pd.Timestamp(rec["date"])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}.date: not a date: {rec['date']!r}") from exc
        if date != date.normalize():
            raise ValueError(f"{where}.date: a date without time is expected, got {rec['date']!r}")
        kind = rec.get("kind", "earnings")
        if kind not in _KINDS:
            raise ValueError(f"{where}.kind: must be one of {_KINDS}, got {kind!r}")
        move = rec.get("move")
        if move is not None and (isinstance(move, bool) or not isinstance(move, int | float)
                                 or not np.isfinite(move) or abs(move) > 1.0):
            raise ValueError(f"{where}.move: a log move as a decimal (|move| <= 1) is expected, got {move!r}")
        rows.append((und.strip(), date, kind, np.nan if move is None else float(move)))
    df = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    df["event_date"] = pd.to_datetime(df["event_date"]).astype("datetime64[us]")
    dup = df.duplicated(["underlying", "event_date", "kind"])
    if dup.any():
        r = df[dup].iloc[0]
        raise ValueError(f"events[{int(np.flatnonzero(dup)[0])}]: repeats {r['underlying']} {r['kind']} "
                         f"on {r['event_date']:%Y-%m-%d}")
    return df.astype({"move": float}).sort_values(["event_date", "underlying"], ignore_index=True)


def _events(events: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("underlying", "event_date") if c not in events.columns]
    if missing:
        raise ValueError(f"events lacks column(s) {missing}")
    ev = events.copy()
    if "kind" not in ev.columns:
        ev["kind"] = "earnings"
    ev = ev[ev["kind"].isin(_KINDS)]
    ev["event_date"] = pd.to_datetime(ev["event_date"]).dt.normalize().astype("datetime64[us]")
    return ev.drop_duplicates(["underlying", "event_date", "kind"]).sort_values("event_date", ignore_index=True)


def _solve(tau, w, sd_w, steps, events):
    """Weighted least squares of ``w`` on ``[tau, tau^2, steps]``, dropping the last event until identified.

    Returns ``(coef, se, n_rows, kept_events, dropped_reason)``; coef/se cover ``[a, b, E_kept...]``.
    """
    n_ev = steps.shape[1]
    while n_ev > 0:
        rows = ~steps[:, n_ev:].any(axis=1)  # expiries after a dropped event carry its variance
        X = np.column_stack([tau, tau**2, steps[:, :n_ev]])[rows]
        p, n = X.shape[1], int(rows.sum())
        sw = 1.0 / sd_w[rows]
        Xw, yw = X * sw[:, None], w[rows] * sw
        if n > p and np.linalg.matrix_rank(Xw) == p:
            coef, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
            chi2 = float(np.sum((yw - Xw @ coef) ** 2)) / (n - p)
            cov = np.linalg.inv(Xw.T @ Xw) * max(chi2, 1.0)
            return coef, np.sqrt(np.diag(cov)), n, n_ev, ""
        n_ev -= 1
    return None, None, 0, 0, f"{len(tau)} expiries cannot separate {events} event(s) from a 2-parameter diffusive curve"


def implied_event_variance(curve_params: pd.DataFrame, events: pd.DataFrame, horizon_years: float = 0.5,
                           min_tau_days: float = 0.5, atm_vol_error: float = 0.002,
                           min_t_stat: float = 2.0) -> pd.DataFrame:
    """Implied total variance of each upcoming event, per (snapshot, underlying), from the ATM term structure.

    Parameters
    ----------
    curve_params : DataFrame
        snapshot_id, underlying, expiry (date), tau (ACT/365 years), atm_vol (decimal); optional trade_date
        (else the snapshot_id's first 10 characters) and status (only 'ok' and 'repaired' slices are used).
    events : DataFrame
        underlying, event_date, optional kind ('earnings'; other kinds are ignored). An event is upcoming for
        trade date ``t`` when ``event_date > t`` (an event on ``t`` is already in ``t``'s prices).
    horizon_years : float
        Expiries with ``tau <= horizon_years`` enter the fit; events within ``horizon_years * 365`` calendar
        days of the trade date are reported.
    min_tau_days : float
        Expiries closer than this (calendar days) are left out (same-day settlement).
    atm_vol_error : float
        Assumed standard error of a fitted ATM vol (decimal); sets the weights and the standard errors,
        scaled up by the fit's reduced chi-square when that exceeds 1.
    min_t_stat : float
        An estimate below ``min_t_stat`` standard errors is 'not_significant': the quotes price no event
        variance distinguishable from zero (most often a wrong event date).

    Returns
    -------
    DataFrame
        ``IMPLIED_EVENT_COLUMNS``, one row per (snapshot, underlying, upcoming event within the horizon):
        ``event_var`` (E, total variance, log-move units squared) and ``event_var_se``; ``implied_move`` =
        sqrt(E) (a log-move standard deviation, NaN unless status 'ok') and its delta-method se;
        ``diffusive_vol`` = sqrt(a), the fitted short-end diffusive vol; ``n_before`` / ``n_after`` expiries used
        before / on-or-after the event, ``n_expiries`` / ``n_events`` in the fit, ``expiry_before`` (last used
        expiry before) and ``expiry_after`` (first used on or after); ``status`` 'ok', 'not_identified'
        (too few expiries around it), 'nonpositive' (E <= 0) or 'not_significant', with a ``reason`` text.

    Raises
    ------
    ValueError
        A required column is missing or a parameter is out of range.
    """
    need = ["snapshot_id", "underlying", "expiry", "tau", "atm_vol"]
    missing = [c for c in need if c not in curve_params.columns]
    if missing:
        raise ValueError(f"curve_params lacks column(s) {missing}")
    if not (horizon_years > 0 and min_tau_days >= 0 and atm_vol_error > 0):
        raise ValueError("horizon_years and atm_vol_error must be positive and min_tau_days >= 0")
    ev = _events(events)
    td = (curve_params["trade_date"] if "trade_date" in curve_params.columns
          else curve_params["snapshot_id"].astype(str).str.slice(0, 10))
    cp = curve_params.assign(trade_date=pd.to_datetime(td).dt.normalize(),
                             expiry=pd.to_datetime(curve_params["expiry"]).dt.normalize())
    tau_all, vol_all = cp["tau"].to_numpy(float), cp["atm_vol"].to_numpy(float)
    keep = np.isfinite(vol_all) & (vol_all > 0) & (tau_all >= min_tau_days / 365.0) & (tau_all <= horizon_years)
    if "status" in cp.columns:
        keep &= cp["status"].isin(_GOOD).to_numpy()
    cp = cp[keep & cp["underlying"].isin(ev["underlying"]).to_numpy()]
    cp = cp.sort_values(["snapshot_id", "underlying", "tau"], kind="stable", ignore_index=True)
    rows: list[tuple] = []
    horizon = pd.Timedelta(days=365.0 * horizon_years)
    by_und = {u: g for u, g in ev.groupby("underlying", sort=False)}
    for (sid, und), g in cp.groupby(["snapshot_id", "underlying"], sort=False):  # one small solve per group
        t = g["trade_date"].iloc[0]
        e = by_und[und]
        e = e[(e["event_date"] > t) & (e["event_date"] <= t + horizon)]
        if e.empty:
            continue
        tau, vol = g["tau"].to_numpy(float), g["atm_vol"].to_numpy(float)
        exp = g["expiry"].to_numpy("datetime64[D]")
        edates = e["event_date"].to_numpy("datetime64[D]")
        steps = exp[:, None] >= edates[None, :]
        fit_ev = int(steps.any(axis=0).sum())  # events with an expiry after them (a prefix: dates ascend)
        coef, se, n_fit, n_kept, why = _solve(tau, vol**2 * tau, 2.0 * vol * tau * atm_vol_error,
                                              steps[:, :fit_ev].astype(float), fit_ev)
        used = np.ones(len(tau), bool) if n_kept == 0 else ~steps[:, n_kept:].any(axis=1)
        dvol = float(np.sqrt(coef[0])) if coef is not None and coef[0] > 0 else np.nan
        for j, (ed, kind) in enumerate(zip(e["event_date"], e["kind"], strict=True)):
            before, after = used & ~steps[:, j], used & steps[:, j]
            E, s, status, reason = np.nan, np.nan, "not_identified", why
            if j < n_kept:
                E, s = float(coef[2 + j]), float(se[2 + j])
                status, reason = "ok", ""
                if E <= 0:
                    status, reason = "nonpositive", f"fitted event variance {E:.2e} <= 0"
                elif E < min_t_stat * s:
                    status, reason = "not_significant", (f"fitted event variance {E:.2e} is below {min_t_stat:g} "
                                                         f"standard errors ({s:.2e}): check the event date")
            elif j >= fit_ev:
                reason = f"no expiry on or after {ed:%Y-%m-%d} within {horizon_years:g} y"
            elif coef is not None:
                reason = "too few expiries after it to separate it from the diffusive curve"
            mv = np.sqrt(E) if status == "ok" else np.nan
            rows.append((sid, t, und, ed, kind, E, s, mv, s / (2.0 * mv), dvol, int(before.sum()),
                         int(after.sum()), n_fit, n_kept, exp[before].max() if before.any() else None,
                         exp[after].min() if after.any() else None, status, reason))
    out = pd.DataFrame(rows, columns=list(IMPLIED_EVENT_COLUMNS))
    for c in ("trade_date", "event_date", "expiry_before", "expiry_after"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[us]")
    num = ["event_var", "event_var_se", "implied_move", "implied_move_se", "diffusive_vol"]
    return out.astype({**dict.fromkeys(num, float), **dict.fromkeys(["n_before", "n_after", "n_expiries",
                                                                      "n_events"], int)})


def realised_event_moves(events: pd.DataFrame, bars: pd.DataFrame | None = None,
                         diffusive_window: int = 20) -> pd.DataFrame:
    """Realised log moves of past events, from the event table or else from daily bars.

    Parameters
    ----------
    events : DataFrame
        underlying, event_date, optional kind and move. A finite ``move`` is taken as the event's own log
        move (the simulator's truth gives the earnings jump alone) and used as is.
    bars : DataFrame, optional
        trade_date, underlying, close. An event without a move gets ``ln(C_event / C_prev)``, the event
        session's close-to-close log return, less one ordinary session's variance: the mean squared log
        return of the ``diffusive_window`` sessions before the event session.
    diffusive_window : int
        Sessions of the ordinary-day variance estimate (>= 2).

    Returns
    -------
    DataFrame
        ``REALISED_MOVE_COLUMNS``: move (log), diffusive_var (per session, 0 for table moves),
        ``event_var = move^2 - diffusive_var`` (the event's own variance; may be negative for a small move),
        source ('table' or 'bars'). Events with no realised move are left out.

    Notes
    -----
    Point in time is the caller's: :func:`event_vol_edges` uses, for trade date ``t``, only rows with
    ``event_date < t``.
    """
    if diffusive_window < 2:
        raise ValueError(f"diffusive_window must be >= 2, got {diffusive_window}")
    ev = _events(events)
    move = ev["move"].to_numpy(float) if "move" in ev.columns else np.full(len(ev), np.nan)
    out = ev[["underlying", "event_date", "kind"]].assign(move=move, diffusive_var=0.0, source="table")
    if bars is not None and (~np.isfinite(move)).any():
        missing = [c for c in ("trade_date", "underlying", "close") if c not in bars.columns]
        if missing:
            raise ValueError(f"bars lacks column(s) {missing}")
        b = bars[["trade_date", "underlying", "close"]].copy()
        b["trade_date"] = pd.to_datetime(b["trade_date"]).dt.normalize().astype("datetime64[us]")
        b = b.sort_values(["underlying", "trade_date"], ignore_index=True)
        b["ret"] = np.log(b["close"] / b.groupby("underlying")["close"].shift(1))
        sq = b["ret"] ** 2
        b["dvar"] = (sq.groupby(b["underlying"]).shift(1)
                     .groupby(b["underlying"]).rolling(diffusive_window, min_periods=diffusive_window).mean()
                     .reset_index(level=0, drop=True))
        m = out.merge(b[["underlying", "trade_date", "ret", "dvar"]], how="left",
                      left_on=["underlying", "event_date"], right_on=["underlying", "trade_date"])
        fill = ~np.isfinite(move) & np.isfinite(m["ret"].to_numpy(float))
        out.loc[fill, "move"] = m.loc[fill, "ret"].to_numpy(float)
        out.loc[fill, "diffusive_var"] = np.nan_to_num(m.loc[fill, "dvar"].to_numpy(float))
        out.loc[fill, "source"] = "bars"
    out = out[np.isfinite(out["move"].to_numpy(float))]
    out["event_var"] = out["move"] ** 2 - out["diffusive_var"]
    return out[list(REALISED_MOVE_COLUMNS)].reset_index(drop=True)


def _day(v) -> str | None:
    return None if pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d}"


def _int(v) -> int | None:
    return None if pd.isna(v) else int(v)


def _history(past: pd.DataFrame, keys: pd.DataFrame, max_history: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Count and mean event variance of past events (event_date < trade_date) per row of ``keys``."""
    n_out, mean_out = np.zeros(len(keys), int), np.full(len(keys), np.nan)
    for (und, kind), h in past.groupby(["underlying", "kind"], sort=False):
        sel = np.flatnonzero((keys["underlying"] == und).to_numpy() & (keys["kind"] == kind).to_numpy())
        if not len(sel):
            continue
        h = h.sort_values("event_date")
        csum = np.r_[0.0, np.cumsum(h["event_var"].to_numpy(float))]
        hi = np.searchsorted(h["event_date"].to_numpy("datetime64[D]"),
                             keys["trade_date"].to_numpy("datetime64[D]")[sel], side="left")
        lo = np.maximum(hi - max_history, 0) if max_history else np.zeros_like(hi)
        n_out[sel] = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_out[sel] = np.where(hi > lo, (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1), np.nan)
    return n_out, mean_out


def event_vol_edges(implied: pd.DataFrame, past_moves: pd.DataFrame, events: pd.DataFrame,
                    trade_dates: pd.DataFrame | None = None, threshold: float = 0.20, lookahead_sessions: int = 10,
                    min_history: int = 4, max_history: int | None = 12, strength_scale: float = 0.25
                    ) -> pd.DataFrame:
    """The ``event_vol`` edge: implied event move against the RMS of past realised moves.

    Parameters
    ----------
    implied : DataFrame
        :func:`implied_event_variance` output (the last snapshot of each trade date is used).
    past_moves : DataFrame
        :func:`realised_event_moves` output; for trade date ``t`` only events with ``event_date < t`` count.
    events : DataFrame
        The event schedule (underlying, event_date, kind): what is upcoming, known ahead.
    trade_dates : DataFrame, optional
        (trade_date, underlying) pairs to evaluate; default those in ``implied``.
    threshold : float
        Relative premium that fires (0.20 = implied move 20% above the realised RMS).
    lookahead_sessions : int
        An event counts when it is 1..lookahead_sessions XNYS sessions after the trade date.
    min_history : int
        Past events needed for the realised RMS.
    max_history : int or None
        Only the most recent past events count (None: all).
    strength_scale : float
        Premium beyond the threshold worth a strength of about 0.63.

    Returns
    -------
    DataFrame
        ``EDGE_COLUMNS`` rows, one per (trade_date, underlying) with edge 'event_vol': the nearest event in
        the lookahead, ``premium = implied_move / realised_rms - 1`` with ``realised_rms = sqrt(mean(event_var))``
        over the past moves. Fires 'sell_vol' when premium > threshold, 'buy_vol' when premium < -threshold;
        quiet rows say why in ``metrics['reason']``.
    """
    if trade_dates is None:
        trade_dates = implied[["trade_date", "underlying"]]
    keys = trade_dates[["trade_date", "underlying"]].assign(
        trade_date=lambda d: pd.to_datetime(d["trade_date"]).dt.normalize().astype("datetime64[us]"))
    keys = keys.drop_duplicates().sort_values(["trade_date", "underlying"], ignore_index=True)
    ev = _events(events)[["underlying", "event_date", "kind"]]
    nxt = keys.merge(ev, on="underlying", how="left")
    nxt = nxt[nxt["event_date"] > nxt["trade_date"]]
    nxt = nxt.assign(sessions=business_days(nxt["trade_date"], nxt["event_date"]))
    nxt = nxt[nxt["sessions"] <= lookahead_sessions].sort_values("event_date").drop_duplicates(
        ["trade_date", "underlying"])
    k = keys.merge(nxt, on=["trade_date", "underlying"], how="left")
    imp = implied.sort_values("snapshot_id").drop_duplicates(["trade_date", "underlying", "event_date"], keep="last")
    imp = imp.assign(trade_date=pd.to_datetime(imp["trade_date"]).astype("datetime64[us]"),
                     event_date=pd.to_datetime(imp["event_date"]).astype("datetime64[us]"))
    k = k.merge(imp.drop(columns=["kind"]), on=["trade_date", "underlying", "event_date"], how="left")
    n_past, mean_var = _history(past_moves, k, max_history)
    rms = np.sqrt(np.where(mean_var > 0, mean_var, np.nan))
    premium = k["implied_move"].to_numpy(float) / rms - 1.0
    has_event, enough = k["event_date"].notna().to_numpy(), n_past >= min_history
    ok = has_event & enough & np.isfinite(premium)
    sell, buy = ok & (premium > threshold), ok & (premium < -threshold)
    strength = np.where(sell | buy, strength_from(np.abs(premium) - threshold, strength_scale), 0.0)
    rows = []
    for i, r in enumerate(k.itertuples(index=False)):
        m = {"threshold": threshold, "lookahead_sessions": lookahead_sessions, "n_past": int(n_past[i])}
        if not has_event[i]:
            m["reason"] = f"no event within {lookahead_sessions} sessions"
            text = m["reason"]
        else:
            sess = int(r.sessions)
            m.update(event_date=r.event_date, kind=r.kind, sessions_to_event=sess, snapshot_id=r.snapshot_id,
                     event_var=r.event_var, event_var_se=r.event_var_se, implied_move=r.implied_move,
                     implied_move_se=r.implied_move_se, diffusive_vol=r.diffusive_vol,
                     realised_rms=rms[i], premium=premium[i], n_before=_int(r.n_before), n_after=_int(r.n_after),
                     expiry_before=_day(r.expiry_before), expiry_after=_day(r.expiry_after),
                     implied_status=r.status)
            head = f"{r.underlying} {r.kind} {r.event_date:%Y-%m-%d} in {sess} session{'s' * (sess != 1)}"
            if not isinstance(r.status, str):
                m["reason"] = "no implied estimate (no usable curves for this snapshot)"
            elif r.status != "ok":
                m["reason"] = f"implied event variance {r.status}: {r.reason}"
            elif not enough[i]:
                m["reason"] = f"{n_past[i]} past moves < min_history {min_history}"
            elif not np.isfinite(premium[i]):
                m["reason"] = "past moves no larger than ordinary sessions: no realised event variance"
            elif not (sell[i] or buy[i]):
                m["reason"] = f"premium within +-{threshold:.0%}"
            text = head + (f": implied move {r.implied_move:.1%} vs {rms[i]:.1%} RMS of {n_past[i]} past moves"
                           f" = {premium[i]:+.0%} premium" if np.isfinite(premium[i]) else f": {m['reason']}")
            if np.isfinite(premium[i]) and not ok[i]:
                text += f" (not fired: {m['reason']})"
        rows.append({"trade_date": r.trade_date, "underlying": r.underlying, "edge": "event_vol",
                     "fired": bool(sell[i] or buy[i]), "strength": float(strength[i]),
                     "direction": "sell_vol" if sell[i] else "buy_vol" if buy[i] else "none",
                     "rationale": text, "structure": EDGE_STRUCTURES["event_vol"], "metrics": m})
    return edge_frame(rows)
