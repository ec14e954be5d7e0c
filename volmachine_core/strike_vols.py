"""Implied vols per quoted option on the fitted forward, with status, moneyness and greeks.

:func:`strike_vols` joins clean quotes to the forwards table (``forwards.fit_forwards``) and inverts
Black-76 on each expiry's forward ``F`` and discount factor ``D`` for the bid, mid and ask; every
option is kept, with ``otm`` marking the out-of-the-money side that curve fits prefer.
:func:`add_z` adds SD moneyness once the curve's ATM vol is known.

Units: vols are decimals per sqrt(year), ``tau`` ACT/365 years from quote time to expiry, prices
per unit of underlying, ``vega`` per 1.00 of vol, ``delta`` the discounted forward delta ``dV/dF``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from volmachine_core.conventions import year_fraction
from volmachine_core.groups import match_rows
from volmachine_core.pricing import IVStatus, black76_vega_delta, implied_vol_with_status

__all__ = ["STRIKE_VOL_COLUMNS", "IV_STATUS_NAMES", "NO_FORWARD", "NO_BID", "strike_vols", "add_z"]

#: Text of each ``IVStatus`` code as stored in ``iv_status`` columns.
IV_STATUS_NAMES: dict[int, str] = {int(s): s.name.lower() for s in IVStatus}
#: ``iv_*status`` of a quote whose expiry has no forward (no pairs, expired, or missing).
NO_FORWARD = "no_forward"
#: ``iv_bid_status`` of a quote with no bid (bid <= 0 or missing).
NO_BID = "no_bid"

_KEYS = ["snapshot_id", "underlying", "expiry_ts"]
_REQUIRED = ("snapshot_id", "quote_ts", "underlying", "root", "expiry", "expiry_ts", "strike", "right", "bid",
             "ask", "multiplier", "underlying_price")
_LINEAGE = ("source_file", "source_row")

#: Columns of the frame :func:`strike_vols` returns, in order (lineage columns follow if present).
STRIKE_VOL_COLUMNS: tuple[str, ...] = (
    "snapshot_id",
    "quote_ts",
    "underlying",
    "root",
    "expiry",
    "expiry_ts",
    "strike",
    "right",
    "bid",
    "ask",
    "mid",
    "multiplier",
    "underlying_price",
    "tau",
    "forward",
    "discount_factor",
    "k",
    "otm",
    "iv_bid",
    "iv_mid",
    "iv_ask",
    "iv_status",
    "iv_bid_status",
    "iv_ask_status",
    "spread_vol",
    "vega",
    "delta",
)


#: Text of every status code used below: ``IVStatus`` names, then ``NO_BID`` and ``NO_FORWARD``.
_STATUS_NAMES: tuple[str, ...] = (*(IV_STATUS_NAMES[i] for i in range(max(IV_STATUS_NAMES) + 1)), NO_BID, NO_FORWARD)
_CODE_NO_BID = len(_STATUS_NAMES) - 2
_CODE_NO_FORWARD = len(_STATUS_NAMES) - 1


def _status_text(codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``string``-dtype array of the ``_STATUS_NAMES`` entries at integer ``codes``.

    Built as an Arrow dictionary array cast to strings (no per-element Python objects).
    """
    names = pa.array(_STATUS_NAMES, type=pa.large_string())
    text = pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)), names).cast(pa.large_string())
    return pd.array(text, dtype="string")


def _take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` as floats, NaN where ``rows == -1``."""
    out = np.asarray(values, dtype=float)[np.maximum(rows, 0)] if len(values) else np.zeros(rows.size)
    return np.where(rows >= 0, out, np.nan)


def strike_vols(quotes: pd.DataFrame, forwards: pd.DataFrame) -> pd.DataFrame:
    """Bid, mid and ask implied vols of every quote on its expiry's fitted forward.

    Parameters
    ----------
    quotes : DataFrame
        Clean quotes (``market.schema.CLEAN_QUOTE_COLUMNS``; at least snapshot_id, quote_ts,
        underlying, root, expiry, expiry_ts, strike, right, bid, ask, multiplier, underlying_price).
    forwards : DataFrame
        Output of ``forwards.fit_forwards`` (at least snapshot_id, underlying, expiry_ts, forward,
        discount_factor), one row per (snapshot_id, underlying, expiry_ts).

    Returns
    -------
    DataFrame
        One row per quote, in the input's order (``STRIKE_VOL_COLUMNS``, then source_file and
        source_row when present):

        - quote identity and prices: snapshot_id, quote_ts, underlying, root, expiry, expiry_ts,
          strike, right, bid, ask, ``mid = (bid + ask) / 2``, multiplier, underlying_price
        - ``tau``: ACT/365 years from the quote's timestamp to expiry
        - ``forward``, ``discount_factor``: the expiry's ``F`` and ``D`` (NaN when none)
        - ``k = ln(K / F)``; ``otm``: True for calls with ``K >= F`` and puts with ``K < F``
        - ``iv_bid``, ``iv_mid``, ``iv_ask``: Black-76 vols (decimal) of the discounted prices; NaN
          where the status is not 'ok'
        - ``iv_status`` (of the mid), ``iv_bid_status``, ``iv_ask_status``: 'ok',
          'below_intrinsic', 'above_upper_bound', 'no_time_value', 'invalid_input' (``IVStatus``
          names), 'no_forward' when the expiry has no forward, 'no_bid' for a bid ``<= 0``
        - ``spread_vol = iv_ask - iv_bid``
        - ``vega`` (per 1.00 vol, per unit of underlying) and ``delta`` (discounted forward delta
          ``dV/dF``) from ``black76_greeks`` at ``iv_mid``; NaN where ``iv_mid`` is NaN

    Raises
    ------
    ValueError
        A required column is missing, or ``forwards`` has more than one row per key.

    Notes
    -----
    The out-of-the-money side is preferred for curves (its price is all time value); both sides are
    kept so a caller can compare them. Forwards are joined on (snapshot_id, underlying, expiry_ts),
    so AM- and PM-settled expiries on the same date use their own forwards.
    """
    _check(quotes, _REQUIRED, "quotes")
    _check(forwards, (*_KEYS, "forward", "discount_factor"), "forwards")
    q = quotes.reset_index(drop=True)
    rows, unique = match_rows(q, forwards, _KEYS)
    if not unique:
        raise ValueError("forwards must have one row per (snapshot_id, underlying, expiry_ts)")
    F = _take(forwards["forward"].to_numpy(dtype=float), rows)
    D = _take(forwards["discount_factor"].to_numpy(dtype=float), rows)
    K = q["strike"].to_numpy(dtype=float)
    bid = q["bid"].to_numpy(dtype=float)
    ask = q["ask"].to_numpy(dtype=float)
    mid = 0.5 * (bid + ask)
    tau = year_fraction(q["quote_ts"], q["expiry_ts"])
    is_call = (q["right"].astype("string") == "C").fillna(False).to_numpy(dtype=bool)
    n = len(q)

    have_fwd = np.isfinite(F) & (F > 0) & np.isfinite(D) & (D > 0)
    prices = np.concatenate([bid, mid, ask])
    vols, codes = implied_vol_with_status(prices, np.tile(F, 3), np.tile(K, 3), np.tile(tau, 3), np.tile(D, 3),
                                          np.tile(is_call, 3))
    codes = codes.astype(np.int32).reshape(3, n)
    vols = vols.reshape(3, n)
    no_bid = ~(bid > 0)
    vols[0] = np.where(no_bid, np.nan, vols[0])
    codes[0] = np.where(no_bid, _CODE_NO_BID, codes[0])
    codes[:, ~have_fwd] = _CODE_NO_FORWARD
    vols[:, ~have_fwd] = np.nan

    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.log(K / F)
    otm = have_fwd & np.where(is_call, K >= F, K < F)

    vega = np.full(n, np.nan)
    delta = np.full(n, np.nan)
    good = np.isfinite(vols[1])
    if good.any():
        vega[good], delta[good] = black76_vega_delta(F[good], K[good], tau[good], vols[1][good], D[good], is_call[good])

    out = pd.DataFrame({
        "snapshot_id": q["snapshot_id"],
        "quote_ts": q["quote_ts"],
        "underlying": q["underlying"],
        "root": q["root"],
        "expiry": q["expiry"],
        "expiry_ts": q["expiry_ts"],
        "strike": K,
        "right": q["right"],
        "bid": bid,
        "ask": ask,
        "mid": mid,
        "multiplier": q["multiplier"].to_numpy(dtype=float),
        "underlying_price": q["underlying_price"].to_numpy(dtype=float),
        "tau": tau,
        "forward": F,
        "discount_factor": D,
        "k": k,
        "otm": otm,
        "iv_bid": vols[0],
        "iv_mid": vols[1],
        "iv_ask": vols[2],
        "iv_status": _status_text(codes[1]),
        "iv_bid_status": _status_text(codes[0]),
        "iv_ask_status": _status_text(codes[2]),
        "spread_vol": vols[2] - vols[0],
        "vega": vega,
        "delta": delta,
    })
    for col in _LINEAGE:
        if col in q.columns:
            out[col] = q[col]
    return out


def add_z(strike_vols: pd.DataFrame, atm: pd.DataFrame) -> pd.DataFrame:
    """Add ``atm_vol`` and SD moneyness ``z = ln(K / F) / (atm_vol * sqrt(tau))``.

    Parameters
    ----------
    strike_vols : DataFrame
        Output of :func:`strike_vols` (needs snapshot_id, underlying, expiry_ts, k, tau).
    atm : DataFrame
        One row per (snapshot_id, underlying, expiry_ts) with ``atm_vol`` (decimal, the curve's vol
        at ``z = 0``).

    Returns
    -------
    DataFrame
        A copy of ``strike_vols`` with ``atm_vol`` and ``z`` (SDs); NaN where the expiry has no
        positive ATM vol or ``tau <= 0``.

    Raises
    ------
    ValueError
        A required column is missing, or ``atm`` has more than one row per key.
    """
    _check(strike_vols, (*_KEYS, "k", "tau"), "strike_vols")
    _check(atm, (*_KEYS, "atm_vol"), "atm")
    drop = [c for c in ("atm_vol", "z") if c in strike_vols.columns]
    base = strike_vols.drop(columns=drop) if drop else strike_vols
    rows, unique = match_rows(base, atm, _KEYS)
    if not unique:
        raise ValueError("atm must have one row per (snapshot_id, underlying, expiry_ts)")
    vol = _take(atm["atm_vol"].to_numpy(dtype=float), rows)
    tau = base["tau"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = vol * np.sqrt(np.where(tau > 0, tau, np.nan))
        z = np.where(sd > 0, base["k"].to_numpy(dtype=float) / sd, np.nan)
    return base.reset_index(drop=True).assign(atm_vol=vol, z=z)  # a new frame (copy-on-write)


def _check(frame: pd.DataFrame, required, name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}")
