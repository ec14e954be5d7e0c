"""Constant-maturity ATM vols from fitted curves, by linear interpolation in total variance.

For a tenor ``T`` (calendar days / 365) between two listed expiries ``t1 < T <= t2`` with ATM vols
``s1, s2``: ``w(T) = w1 + (w2 - w1) (T - t1) / (t2 - t1)`` with ``w = s^2 t``, and the constant-maturity
vol is ``sqrt(w(T) / T)``. Linear total variance in time is what a calendar-arbitrage-free surface
allows between two expiries. Outside the listed range the nearest expiry's vol is used (flat vol).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cm_atm_vols"]

_GOOD = ("ok", "repaired")


def cm_atm_vols(curve_params: pd.DataFrame, tenors_days=(30, 90, 180), min_tau_days: float = 2.0) -> pd.DataFrame:
    """ATM vol at fixed tenors per (snapshot, underlying).

    Parameters
    ----------
    curve_params : DataFrame
        snapshot_id, underlying, tau (years), atm_vol (decimal), and optionally status (only 'ok' and
        'repaired' slices are used when present).
    tenors_days : sequence of int
        Calendar-day tenors; the result has a column ``iv_<n>d`` per tenor.
    min_tau_days : float
        Slices closer to expiry are left out (their ATM vol is pin and microstructure).

    Returns
    -------
    DataFrame
        snapshot_id, trade_date, underlying, ``iv_<n>d`` columns and ``n_expiries`` (slices used).
    """
    cp = curve_params
    keep = np.isfinite(cp["atm_vol"].to_numpy(float)) & (cp["atm_vol"].to_numpy(float) > 0)
    keep &= cp["tau"].to_numpy(float) >= min_tau_days / 365.0
    if "status" in cp.columns:
        keep &= cp["status"].isin(_GOOD).to_numpy()
    cp = cp[keep].sort_values(["snapshot_id", "underlying", "tau"], kind="stable")
    cols = [f"iv_{int(n)}d" for n in tenors_days]
    if cp.empty:
        return pd.DataFrame(columns=["snapshot_id", "trade_date", "underlying", *cols, "n_expiries"])
    key = cp["snapshot_id"].astype(str) + "|" + cp["underlying"].astype(str)
    codes, uniq = pd.factorize(key)
    tau = cp["tau"].to_numpy(float)
    w = cp["atm_vol"].to_numpy(float) ** 2 * tau
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    out = {c: np.full(len(uniq), np.nan) for c in cols}
    for g, (a, b) in enumerate(zip(starts, ends, strict=True)):  # one small search per snapshot x underlying
        t, ww = tau[a:b], w[a:b]
        for c, n in zip(cols, tenors_days, strict=True):
            T = n / 365.0
            wt = np.interp(T, t, ww)
            if T < t[0]:
                wt = ww[0] / t[0] * T
            elif T > t[-1]:
                wt = ww[-1] / t[-1] * T
            out[c][g] = np.sqrt(wt / T)
    parts = pd.Series(uniq).str.split("|", n=1, expand=True)
    res = pd.DataFrame({"snapshot_id": parts[0], "underlying": parts[1], **out,
                        "n_expiries": (ends - starts).astype(int)})
    res.insert(1, "trade_date", pd.to_datetime(res["snapshot_id"].str.slice(0, 10)))
    return res
