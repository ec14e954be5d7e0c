"""Row-level and cross-snapshot quality checks for option quotes (pure, vectorised).

Every check returns flags; nothing is dropped here. The normaliser
(:func:`volmachine_core.market.vendor.normalise`) and the pipeline move flagged rows to the
quarantine table with the first reason by :data:`ROW_CHECK_PRIORITY` and a detail that lists every
problem of the row (``"<reason>: <what>; <reason>: <what>"``).

Row checks, in priority order (the first that applies is the row's reason)
--------------------------------------------------------------------------
1. ``missing_field``: a required value is empty (quote time, underlying, expiry, strike, right,
   bid, ask). Formats where an empty bid means "no bid" (daily quote bars) read it as 0 first.
2. ``unparseable``: a value cannot be read as its type. Only the vendor parser can tell (a typed
   frame holds NaN either way), so :func:`row_flags` reports it as all False.
3. ``bad_right``: option type is not call/put.
4. ``nonpositive_strike``: strike <= 0.
5. ``expired``: expiry date before the trade date, or the settlement moment ``expiry_ts`` strictly
   before ``quote_ts`` (an AM-settled option quoted after the open of its settlement day, a PM
   option quoted after an early close). ``tau == 0`` (quoted at the settlement moment, e.g. the
   session-close bar of an expiring option) is *not* expired.
6. ``negative_price``: bid < 0 or ask < 0.
7. ``zero_ask``: ask <= 0: no offer, no usable market. A no-market row with bid = ask = 0 is
   quarantined as ``zero_ask``; a zero *bid* with a positive ask is a normal far-OTM quote and kept.
8. ``crossed``: bid > ask. A locked market (bid == ask) is kept.
9. ``below_intrinsic``: the ask is below a generous no-arbitrage lower bound, see
   :func:`intrinsic_lower_bound`. Needs a usable underlying price.
10. ``bad_underlying_price``: underlying price missing, not finite or <= 0.

Cross-row checks (applied after the row checks, on rows that passed them)
-------------------------------------------------------------------------
* ``duplicate``: same (snapshot_id, underlying, expiry, strike, right) more than once: the row with
  the lowest ``source_row`` is kept, the others are quarantined (:func:`flag_duplicates`).
* ``stale``: bid and ask identical to the previous snapshot's while the underlying moved by at
  least ``min_underlying_move`` (:func:`flag_stale`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from volmachine_core.conventions import SECONDS_PER_YEAR
from volmachine_core.market.schema import QUARANTINE_COLUMNS, ReasonCode, conform

__all__ = [
    "BOUND_TOLERANCE_ABS",
    "BOUND_TOLERANCE_REL",
    "CONTRACT_KEY",
    "Q_MAX",
    "REQUIRED_TYPED_COLUMNS",
    "ROW_CHECK_PRIORITY",
    "R_MAX",
    "R_MIN",
    "VALUE_CHECKS",
    "duplicate_of",
    "first_reason",
    "flag_duplicates",
    "flag_stale",
    "price_strike_slope",
    "intrinsic_lower_bound",
    "join_details",
    "row_checks",
    "row_details",
    "row_flags",
    "split_quarantine",
]

#: Row checks in priority order: a row with several problems gets the first as its reason.
ROW_CHECK_PRIORITY: tuple[ReasonCode, ...] = (
    ReasonCode.MISSING_FIELD,
    ReasonCode.UNPARSEABLE,
    ReasonCode.BAD_RIGHT,
    ReasonCode.NONPOSITIVE_STRIKE,
    ReasonCode.EXPIRED,
    ReasonCode.NEGATIVE_PRICE,
    ReasonCode.ZERO_ASK,
    ReasonCode.CROSSED,
    ReasonCode.BELOW_INTRINSIC,
    ReasonCode.BAD_UNDERLYING_PRICE,
)

#: The checks on parsed values (everything after the parse-level missing/unparseable/bad_right).
VALUE_CHECKS: tuple[ReasonCode, ...] = ROW_CHECK_PRIORITY[3:]

#: Typed columns that must be non-null for a row to be usable (else ``missing_field``).
REQUIRED_TYPED_COLUMNS: tuple[str, ...] = (
    "quote_ts", "underlying", "expiry", "strike", "right", "bid", "ask")

#: One contract within a snapshot (the grain of ``option_quotes``).
CONTRACT_KEY: tuple[str, ...] = ("snapshot_id", "underlying", "root", "expiry", "strike", "right")

#: Bounds of the no-arbitrage lower-bound check: largest dividend yield, largest and smallest rate
#: (continuous, per year) the bound allows. Generous on purpose: a real quote is never flagged for a
#: carry assumption, only for an ask that no plausible carry can explain.
Q_MAX = 0.10
R_MAX = 0.10
R_MIN = -0.02
#: Tolerance below the bound before a quote is flagged: one tick plus 0.1% of the underlying price
#: (covers an underlying price a few seconds out of sync with the option quote).
BOUND_TOLERANCE_ABS = 0.01
BOUND_TOLERANCE_REL = 0.001

_BOOL = "bool"


def intrinsic_lower_bound(S, K, tau, is_call) -> np.ndarray:
    """Generous no-arbitrage lower bound of an option's value (vectorised).

    Parameters
    ----------
    S : array-like of float
        Underlying price (> 0).
    K : array-like of float
        Strike (> 0), same unit as ``S``.
    tau : array-like of float
        Years to expiry (ACT/365); negative values are treated as 0.
    is_call : array-like of bool
        True for calls, False for puts.

    Returns
    -------
    numpy.ndarray
        ``S exp(-Q_MAX tau) - K exp(-R_MIN tau)`` for calls and ``K exp(-R_MAX tau) - S`` for puts
        (may be negative: then nothing can be below it).

    Notes
    -----
    A European call is worth at least ``S e^{-q tau} - K e^{-r tau}`` and a put at least
    ``K e^{-r tau} - S e^{-q tau}`` (Hull, *Options, Futures and Other Derivatives*, ch. 11). Taking the
    extreme carry ``q <= Q_MAX``, ``R_MIN <= r <= R_MAX`` (and ``q >= 0`` for the put) makes the
    bound hold for any plausible rates and dividends, so European puts legitimately below their
    undiscounted intrinsic value are not flagged.
    """
    S = np.asarray(S, dtype=float)
    K = np.asarray(K, dtype=float)
    t = np.maximum(np.asarray(tau, dtype=float), 0.0)
    call = S * np.exp(-Q_MAX * t) - K * np.exp(-R_MIN * t)
    put = K * np.exp(-R_MAX * t) - S
    return np.where(np.asarray(is_call, dtype=bool), call, put)


def _col(typed: pd.DataFrame, name: str, n: int) -> pd.Series:
    if name in typed.columns:
        return typed[name]
    return pd.Series(pd.NA, index=typed.index, dtype="object") if n else pd.Series(dtype="object")


def _num(typed: pd.DataFrame, name: str) -> np.ndarray:
    if name not in typed.columns:
        return np.full(len(typed), np.nan)
    return pd.to_numeric(typed[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _tau(typed: pd.DataFrame) -> np.ndarray:
    q = pd.to_datetime(_col(typed, "quote_ts", len(typed)), utc=True)
    e = pd.to_datetime(_col(typed, "expiry_ts", len(typed)), utc=True)
    return np.asarray((e - q).dt.total_seconds(), dtype=float) / SECONDS_PER_YEAR


def _dates(typed: pd.DataFrame, name: str) -> np.ndarray:
    d = pd.to_datetime(_col(typed, name, len(typed)))
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert("America/New_York").dt.tz_localize(None)
    return d.dt.normalize().to_numpy(dtype="datetime64[us]")


def row_flags(typed: pd.DataFrame, checks: Sequence[ReasonCode] = ROW_CHECK_PRIORITY) -> pd.DataFrame:
    """Which row checks each row fails (vectorised).

    Parameters
    ----------
    typed : pandas.DataFrame
        Typed quotes with (a subset of) the clean columns: ``quote_ts`` and ``expiry_ts`` (UTC),
        ``trade_date`` and ``expiry`` (dates), ``underlying``, ``strike``, ``right`` ('C'/'P'),
        ``bid``, ``ask``, ``underlying_price``. Missing values are NaN / NA.
    checks : sequence of ReasonCode
        Which checks to run (default all row checks, in priority order).

    Returns
    -------
    pandas.DataFrame
        One bool column per check (named by its ReasonCode value, in priority order), same index
        as ``typed``. ``unparseable`` is always False here: a typed frame cannot tell an empty
        value from an unreadable one; the vendor parser supplies that flag.
    """
    n = len(typed)
    wanted = set(checks)
    K = _num(typed, "strike")
    bid = _num(typed, "bid")
    ask = _num(typed, "ask")
    S = _num(typed, "underlying_price")
    right = _col(typed, "right", n).astype("string")
    out: dict[str, np.ndarray] = {}
    for reason in ROW_CHECK_PRIORITY:
        if reason not in wanted:
            continue
        if reason is ReasonCode.MISSING_FIELD:
            f = np.zeros(n, dtype=bool)
            for c in REQUIRED_TYPED_COLUMNS:
                f |= _col(typed, c, n).isna().to_numpy(dtype=bool)
        elif reason is ReasonCode.UNPARSEABLE:
            f = np.zeros(n, dtype=bool)
        elif reason is ReasonCode.BAD_RIGHT:
            f = (right.notna() & ~right.isin(["C", "P"])).to_numpy(dtype=bool, na_value=False)
        elif reason is ReasonCode.NONPOSITIVE_STRIKE:
            f = K <= 0
        elif reason is ReasonCode.EXPIRED:
            exp_d, trade_d = _dates(typed, "expiry"), _dates(typed, "trade_date")
            with np.errstate(invalid="ignore"):
                f = (exp_d < trade_d) | (_tau(typed) < 0)
        elif reason is ReasonCode.NEGATIVE_PRICE:
            f = (bid < 0) | (ask < 0)
        elif reason is ReasonCode.ZERO_ASK:
            f = ask <= 0
        elif reason is ReasonCode.CROSSED:
            f = bid > ask
        elif reason is ReasonCode.BELOW_INTRINSIC:
            is_call = (right == "C").to_numpy(dtype=bool, na_value=False)
            usable = (right.isin(["C", "P"]).to_numpy(dtype=bool, na_value=False)
                      & np.isfinite(S) & (S > 0) & (K > 0) & np.isfinite(ask))
            with np.errstate(invalid="ignore", over="ignore"):
                bound = intrinsic_lower_bound(S, K, np.nan_to_num(_tau(typed), nan=0.0), is_call)
                tol = BOUND_TOLERANCE_ABS + BOUND_TOLERANCE_REL * S
                f = usable & (ask < bound - tol)
        elif reason is ReasonCode.BAD_UNDERLYING_PRICE:
            f = ~(np.isfinite(S) & (S > 0))
        else:  # pragma: no cover - every row check is handled above
            raise ValueError(f"not a row check: {reason}")
        out[reason.value] = np.asarray(f, dtype=bool)
    return pd.DataFrame(out, index=typed.index, dtype=_BOOL)


def _fmt(x: np.ndarray) -> np.ndarray:
    """Numbers as short text (``%.10g``), object array."""
    return np.char.mod("%.10g", np.asarray(x, dtype=float)).astype(object)


def _dstr(x: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(x, dtype="datetime64[D]"), unit="D").astype(object)


def row_details(typed: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Human-readable text for each flagged check (vectorised over the flagged rows only).

    Parameters
    ----------
    typed : pandas.DataFrame
        The frame the flags were computed on (same index).
    flags : pandas.DataFrame
        Output of :func:`row_flags`.

    Returns
    -------
    pandas.DataFrame
        Same shape as ``flags``, object dtype: ``"<reason>: <what>"`` where flagged, else None.
    """
    n = len(typed)
    out = pd.DataFrame(index=typed.index)
    for name in flags.columns:
        m = flags[name].to_numpy(dtype=bool)
        col = np.full(n, None, dtype=object)
        if m.any():
            sub = typed.loc[m]
            col[m] = name + ": " + _describe(ReasonCode(name), sub)
        out[name] = col
    return out


def _describe(reason: ReasonCode, sub: pd.DataFrame) -> np.ndarray:
    """Detail text (without the reason prefix) for rows ``sub`` that fail ``reason``."""
    k = len(sub)
    if reason is ReasonCode.MISSING_FIELD:
        txt = np.full(k, "", dtype=object)
        for c in REQUIRED_TYPED_COLUMNS:
            m = _col(sub, c, k).isna().to_numpy(dtype=bool)
            txt[m] = txt[m] + np.where(txt[m] == "", "", ", ").astype(object) + c
        return txt + " empty"
    if reason is ReasonCode.UNPARSEABLE:
        return np.full(k, "unreadable value", dtype=object)
    if reason is ReasonCode.BAD_RIGHT:
        right = sub["right"].astype("string").str.slice(0, 40).to_numpy(dtype=object)
        return "right '" + right + "' is not C/P"
    K, bid, ask, S = (_num(sub, c) for c in ("strike", "bid", "ask", "underlying_price"))
    if reason is ReasonCode.NONPOSITIVE_STRIKE:
        return "strike " + _fmt(K) + " <= 0"
    if reason is ReasonCode.EXPIRED:
        ets = sub["expiry_ts"].astype(str).to_numpy(dtype=object)
        qts = sub["quote_ts"].astype(str).to_numpy(dtype=object)
        return "expiry " + _dstr(_dates(sub, "expiry")) + " (" + ets + ") before quote " + qts
    if reason is ReasonCode.NEGATIVE_PRICE:
        return "bid " + _fmt(bid) + ", ask " + _fmt(ask) + " (negative)"
    if reason is ReasonCode.ZERO_ASK:
        return "ask " + _fmt(ask) + " <= 0 (no offer; bid " + _fmt(bid) + ")"
    if reason is ReasonCode.CROSSED:
        return "bid " + _fmt(bid) + " > ask " + _fmt(ask)
    if reason is ReasonCode.BELOW_INTRINSIC:
        is_call = (sub["right"].astype("string") == "C").to_numpy(dtype=bool, na_value=False)
        tau = _tau(sub)
        bound = intrinsic_lower_bound(S, K, tau, is_call)
        return ("ask " + _fmt(ask) + " < lower bound " + _fmt(np.round(bound, 4)) + " (S " + _fmt(S) + ", K "
                + _fmt(K) + ", tau " + _fmt(np.round(tau, 6)) + ")")
    if reason is ReasonCode.BAD_UNDERLYING_PRICE:
        return "underlying price " + np.where(np.isnan(S), "missing", _fmt(S)).astype(object) + " (need > 0)"
    return np.full(k, reason.value, dtype=object)  # pragma: no cover


def first_reason(flags: pd.DataFrame) -> pd.Series:
    """The first failed check of each row by :data:`ROW_CHECK_PRIORITY` (then cross-row codes).

    Parameters
    ----------
    flags : pandas.DataFrame
        Bool columns named by ReasonCode values (any order).

    Returns
    -------
    pandas.Series
        ``string`` dtype: the ReasonCode value, or <NA> for rows that pass every check.
    """
    order = [r.value for r in (*ROW_CHECK_PRIORITY, *ReasonCode) if r.value in flags.columns]
    order = list(dict.fromkeys(order))
    if not order or not len(flags):
        return pd.Series(pd.NA, index=flags.index, dtype="string")
    M = flags[order].to_numpy(dtype=bool)
    first = np.asarray(order, dtype=object)[M.argmax(axis=1)]
    first[~M.any(axis=1)] = None
    return pd.Series(first, index=flags.index, dtype="string")


def join_details(details: pd.DataFrame) -> pd.Series:
    """Join per-check detail texts (None where not flagged) into one ``"; "``-separated string.

    Columns are joined in :data:`ROW_CHECK_PRIORITY` order; rows with no detail get "".
    """
    order = [r.value for r in (*ROW_CHECK_PRIORITY, *ReasonCode) if r.value in details.columns]
    order = list(dict.fromkeys(order)) + [c for c in details.columns if c not in order]
    acc = np.full(len(details), "", dtype=object)
    for c in order:
        part = details[c].to_numpy(dtype=object)
        has = pd.notna(part)
        if has.any():
            sep = np.where(acc[has] == "", "", "; ").astype(object)
            acc[has] = acc[has] + sep + part[has]
    return pd.Series(acc, index=details.index, dtype="string")


def row_checks(typed: pd.DataFrame) -> pd.Series:
    """Per-row quarantine reason of a typed quote frame (vectorised).

    Parameters
    ----------
    typed : pandas.DataFrame
        See :func:`row_flags`.

    Returns
    -------
    pandas.Series
        ``string`` dtype: a ReasonCode value (the first failed check by :data:`ROW_CHECK_PRIORITY`)
        or <NA> where the row passes.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"quote_ts": pd.to_datetime(["2019-06-26 19:45"], utc=True),
    ...                   "expiry_ts": pd.to_datetime(["2019-06-28 20:00"], utc=True),
    ...                   "trade_date": pd.to_datetime(["2019-06-26"]),
    ...                   "expiry": pd.to_datetime(["2019-06-28"]),
    ...                   "underlying": ["SPX"], "strike": [2900.0], "right": ["C"], "bid": [30.0],
    ...                   "ask": [29.0], "underlying_price": [2918.1]})
    >>> row_checks(t).tolist()
    ['crossed']
    """
    return first_reason(row_flags(typed))


def duplicate_of(clean: pd.DataFrame) -> pd.Series:
    """For each row, the ``source_row`` of the first row with the same contract key, else <NA>.

    The key is :data:`CONTRACT_KEY` = (snapshot_id, underlying, root, expiry, strike, right); "first" is
    the lowest ``source_row`` (ties: first in frame order).

    Returns
    -------
    pandas.Series
        ``Int64``, aligned with ``clean``; <NA> for rows that are kept.
    """
    if not len(clean):
        return pd.Series(pd.array([], dtype="Int64"), index=clean.index)
    key = [c for c in CONTRACT_KEY if c in clean.columns]
    order = np.argsort(clean["source_row"].to_numpy(), kind="stable")
    srt = clean.iloc[order]
    dup = srt.duplicated(key, keep="first").to_numpy()
    first_row = srt.groupby(key, dropna=False, sort=False)["source_row"].transform("first").to_numpy()
    res = pd.array(np.where(dup, first_row, 0), dtype="Int64")
    res[~dup] = pd.NA
    out = pd.Series(pd.array(np.empty(len(clean), dtype=np.int64), dtype="Int64"), index=clean.index)
    out.iloc[order] = res
    return out


def flag_duplicates(clean: pd.DataFrame) -> pd.Series:
    """Rows repeating a contract already seen in the same snapshot (to be quarantined as ``duplicate``).

    Parameters
    ----------
    clean : pandas.DataFrame
        Clean quotes with ``source_row`` and the :data:`CONTRACT_KEY` columns.

    Returns
    -------
    pandas.Series
        Bool, aligned with ``clean``: True for every row but the first (lowest ``source_row``) of
        each (snapshot_id, underlying, root, expiry, strike, right).

    Notes
    -----
    The key includes ``root``: an AM-settled SPX monthly and a PM-settled SPXW option with the same
    expiry date and strike are different contracts.
    """
    return duplicate_of(clean).notna().astype(bool)


def flag_stale(current: pd.DataFrame, previous: pd.DataFrame | None, *,
               min_underlying_move: float = 0.005) -> pd.Series:
    """Quotes that did not move while the underlying did (to be quarantined as ``stale``).

    Parameters
    ----------
    current : pandas.DataFrame
        Clean quotes of one snapshot (``underlying, expiry, strike, right, bid, ask,
        underlying_price``, and ``quote_ts``).
    previous : pandas.DataFrame or None
        Clean quotes of earlier snapshots of the same underlyings (or None). ``current`` may
        itself hold several snapshots (a multi-day batch): each (underlying, ``quote_ts``) snapshot
        is compared with the latest strictly earlier snapshot of that underlying found in
        ``previous`` and ``current`` together, in one vectorised pass.
    min_underlying_move : float
        Relative underlying move, ``|S / S_prev - 1|``, from which an unchanged quote is stale
        (default 0.005 = 0.5%).

    Returns
    -------
    pandas.Series
        Bool aligned with ``current``. True where the contract has a previous quote, its bid AND
        ask are identical to it, the bid is > 0, the underlying moved by at least
        ``min_underlying_move``, and the quote should have moved by more than its spread
        (``price_strike_slope * |S - S_prev| > ask - bid``).

    Notes
    -----
    Only rows with bid > 0 can be stale, and only where the expected price change exceeds the
    spread: a far out-of-the-money quote of a few ticks legitimately stays put while the underlying
    moves, so it is not a sign of a dead feed.
    """
    out = pd.Series(False, index=current.index, dtype=bool)
    if not len(current):
        return out
    if previous is not None and not len(previous):
        previous = None
    key = [c for c in ("underlying", "root", "expiry", "strike", "right") if c in current.columns
           and (previous is None or c in previous.columns)]
    cols = [*key, "quote_ts", "bid", "ask", "underlying_price"]
    cur = current[cols].reset_index(drop=True)
    cur["quote_ts"] = pd.to_datetime(cur["quote_ts"], utc=True)
    if previous is not None:
        previous = previous[cols].assign(quote_ts=pd.to_datetime(previous["quote_ts"], utc=True))
    hist = cur if previous is None else pd.concat([previous, cur], ignore_index=True)
    # each (underlying, quote time) snapshot is compared with the latest earlier one of that underlying
    snaps = hist[["underlying", "quote_ts"]].drop_duplicates().sort_values(["underlying", "quote_ts"])
    snaps["prev_ts"] = snaps.groupby("underlying", sort=False)["quote_ts"].shift(1)
    c = cur.reset_index(names="_i").merge(snaps, on=["underlying", "quote_ts"], how="left")
    p = hist.drop_duplicates([*key, "quote_ts"], keep="last").rename(columns={
        "quote_ts": "prev_ts", "bid": "bid_prev", "ask": "ask_prev", "underlying_price": "s_prev"})
    m = c.merge(p, on=[*key, "prev_ts"], how="inner")
    bid, ask, S = (m[k].to_numpy(dtype=float, na_value=np.nan) for k in ("bid", "ask", "underlying_price"))
    pbid, pask, pS = (m[k].to_numpy(dtype=float, na_value=np.nan) for k in ("bid_prev", "ask_prev", "s_prev"))
    slope = price_strike_slope(current).to_numpy()[m["_i"].to_numpy()]
    with np.errstate(divide="ignore", invalid="ignore"):
        moved = np.abs(S / pS - 1.0) >= min_underlying_move
        # the price should have moved by more than the quote's own spread: |dP/dK| ~ |delta|
        should_move = slope * np.abs(S - pS) > (ask - bid)
    stale = (bid > 0) & (bid == pbid) & (ask == pask) & moved & should_move
    out.iloc[m["_i"].to_numpy()[stale]] = True
    return out


def price_strike_slope(quotes: pd.DataFrame) -> pd.Series:
    """|d mid / d strike| from neighbouring strikes of the same snapshot, expiry and right.

    For European options ``|dC/dK| = D N(d2)`` and ``|dP/dK| = D N(-d2)``, close to the option's
    delta in size, so ``slope * |dS|`` estimates how much a quote should move when the underlying
    moves by ``dS`` — without a vol model. Central difference inside a strike chain, one-sided at
    its ends, NaN for a lone strike. Aligned with ``quotes``.
    """
    grp = [c for c in ("snapshot_id", "underlying", "root", "expiry", "right") if c in quotes.columns]
    q = quotes[[*grp, "strike", "bid", "ask"]].assign(mid=(quotes["bid"] + quotes["ask"]) / 2.0)
    q = q.sort_values([*grp, "strike"], kind="stable")
    g = q.groupby(grp, sort=False, dropna=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        left = (g["mid"].diff() / g["strike"].diff()).abs()
    right = left.groupby([q[c] for c in grp], sort=False, dropna=False).shift(-1)
    slope = left.where(right.isna(), right.where(left.isna(), (left + right) / 2.0))
    return slope.reindex(quotes.index)


def split_quarantine(clean: pd.DataFrame, mask, reason: ReasonCode | str,
                     detail: str | pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move flagged clean rows to quarantine rows.

    Parameters
    ----------
    clean : pandas.DataFrame
        Clean quotes (``source_file, source_row, snapshot_id, underlying`` at least).
    mask : array-like of bool
        Aligned with ``clean``: True for rows to quarantine.
    reason : ReasonCode or str
        The reason code for every moved row.
    detail : str, pandas.Series or None
        One text for all moved rows, or a Series aligned with ``clean`` (only flagged rows are
        read); None gives the reason code itself.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The kept clean rows (same columns and dtypes) and the quarantined rows with exactly
        ``QUARANTINE_COLUMNS``.
    """
    reason = ReasonCode(reason)
    m = np.asarray(mask, dtype=bool)
    if m.shape != (len(clean),):
        raise ValueError(f"split_quarantine: mask has shape {m.shape}, expected ({len(clean)},)")
    moved = clean.loc[m]
    if detail is None:
        det: object = reason.value
    elif isinstance(detail, pd.Series):
        det = detail.loc[moved.index].astype("string").to_numpy(dtype=object)
    else:
        det = str(detail)
    q = pd.DataFrame({
        "source_file": moved["source_file"].to_numpy(dtype=object),
        "source_row": moved["source_row"].to_numpy(dtype=np.int64),
        "snapshot_id": moved["snapshot_id"].to_numpy(dtype=object),
        "underlying": moved["underlying"].to_numpy(dtype=object),
        "reason": reason.value,
        "detail": det,
    })
    return clean.loc[~m], conform(q, QUARANTINE_COLUMNS)
