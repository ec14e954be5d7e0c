"""Delta-space vols from fitted curves: 25-delta put and call vols per slice and at constant maturity.

The strike of a given delta solves the (undiscounted, forward) Black-76 delta on the fitted smile:
``N(d1(k)) = delta`` for calls and ``N(d1(k)) - 1 = -delta`` for puts, with
``d1(k) = -k / sqrt(w(k)) + sqrt(w(k)) / 2``, ``k = ln(K/F)`` and ``w`` the slice's total variance. ``d1``
falls monotonically in ``k`` on an arbitrage-free smile, so the root is found on a grid of ``z`` (ATM SDs)
by linear interpolation, for all slices at once.

The skew signal is ``(vol(25d put) - vol(25d call)) / atm_vol``, interpolated linearly in tau to a
constant maturity (30 calendar days by default) between the two listed expiries around it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from volmachine_core.curves import curve_vol

__all__ = ["delta_vols", "cm_skew"]

_GOOD = ("ok", "repaired")
_Z_GRID = np.linspace(-6.0, 6.0, 241)


def delta_vols(curve_params: pd.DataFrame, delta: float = 0.25) -> pd.DataFrame:
    """Put and call vols at ``delta`` (forward delta, e.g. 0.25) for each usable fitted slice.

    Parameters
    ----------
    curve_params : DataFrame
        snapshot_id, underlying, expiry, tau (years), atm_vol, params (JSON) and optionally status (only
        'ok' and 'repaired' slices are used when present).
    delta : float
        Absolute forward delta in (0, 0.5).

    Returns
    -------
    DataFrame
        snapshot_id, underlying, expiry, tau, atm_vol, ``put_vol``, ``call_vol``, ``put_k``, ``call_k``
        (log-moneyness of the delta strikes); NaN where the delta lies outside the z grid (+-6 SD).
    """
    if not 0.0 < delta < 0.5:
        raise ValueError(f"delta must be within (0, 0.5), got {delta}")
    cp = curve_params
    keep = np.isfinite(cp["atm_vol"].to_numpy(float)) & (cp["tau"].to_numpy(float) > 0)
    if "status" in cp.columns:
        keep &= cp["status"].isin(_GOOD).to_numpy()
    cp = cp[keep].reset_index(drop=True)
    out = cp[["snapshot_id", "underlying", "expiry", "tau", "atm_vol"]].copy()
    if cp.empty:
        return out.assign(put_vol=[], call_vol=[], put_k=[], call_k=[])
    tau = cp["tau"].to_numpy(float)
    sd = cp["atm_vol"].to_numpy(float) * np.sqrt(tau)
    k = sd[:, None] * _Z_GRID[None, :]
    vol = curve_vol(cp, k)
    sw = vol * np.sqrt(tau)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = -k / sw + sw / 2.0
    for side, target in (("call", norm.ppf(delta)), ("put", norm.ppf(1.0 - delta))):
        kk, vv = _root(d1, k, vol, target)
        out[f"{side}_k"], out[f"{side}_vol"] = kk, vv
    return out[["snapshot_id", "underlying", "expiry", "tau", "atm_vol", "put_vol", "call_vol", "put_k", "call_k"]]


def _root(d1: np.ndarray, k: np.ndarray, vol: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first grid interval where ``d1`` falls through ``target``; linear interpolation in it."""
    below = d1 < target
    i = np.argmax(below, axis=1)
    ok = below.any(axis=1) & (i > 0) & np.isfinite(d1).all(axis=1)
    i = np.clip(i, 1, d1.shape[1] - 1)
    r = np.arange(len(d1))
    d_lo, d_hi = d1[r, i - 1], d1[r, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(ok, (d_lo - target) / (d_lo - d_hi), np.nan)
    kk = k[r, i - 1] + w * (k[r, i] - k[r, i - 1])
    vv = vol[r, i - 1] + w * (vol[r, i] - vol[r, i - 1])
    return np.where(ok, kk, np.nan), np.where(ok, vv, np.nan)


def cm_skew(curve_params: pd.DataFrame, tenor_days: int = 30, delta: float = 0.25) -> pd.DataFrame:
    """Normalised 25-delta skew at a constant maturity per (snapshot, underlying).

    Returns
    -------
    DataFrame
        snapshot_id, trade_date, underlying, ``put_vol``, ``call_vol``, ``atm_vol`` at the tenor (each
        interpolated linearly in tau between the listed expiries around it, the nearest one outside the
        listed range), ``skew = (put_vol - call_vol) / atm_vol`` and ``skew_pts = put_vol - call_vol``.
    """
    cols = ["snapshot_id", "trade_date", "underlying", "put_vol", "call_vol", "atm_vol", "skew", "skew_pts"]
    T = tenor_days / 365.0
    cp = curve_params[curve_params["tau"].to_numpy(float) >= 2.0 / 365.0]
    if "status" in cp.columns:
        cp = cp[cp["status"].isin(_GOOD)]
    cp = cp[np.isfinite(cp["atm_vol"].to_numpy(float))]
    if cp.empty:
        return pd.DataFrame(columns=cols)
    # the last expiry at or before T and the first after it (the nearest one when T is outside the range)
    by = [cp["snapshot_id"], cp["underlying"]]
    tau = cp["tau"].to_numpy(float)
    lo_t = pd.Series(np.where(tau <= T, tau, -np.inf), index=cp.index).groupby(by, sort=False).transform("max")
    hi_t = pd.Series(np.where(tau > T, tau, np.inf), index=cp.index).groupby(by, sort=False).transform("min")
    lo_t = np.where(np.isfinite(lo_t), lo_t, cp["tau"].groupby(by, sort=False).transform("min"))
    hi_t = np.where(np.isfinite(hi_t), hi_t, cp["tau"].groupby(by, sort=False).transform("max"))
    dv = delta_vols(cp[(tau == lo_t) | (tau == hi_t)], delta)
    is_lo = dv["tau"].to_numpy(float) == dv.groupby(["snapshot_id", "underlying"])["tau"].transform("min").to_numpy()
    is_hi = dv["tau"].to_numpy(float) == dv.groupby(["snapshot_id", "underlying"])["tau"].transform("max").to_numpy()
    keys = ["snapshot_id", "underlying"]
    lo = dv[is_lo].drop_duplicates(keys).set_index(keys)
    hi = dv[is_hi].drop_duplicates(keys).set_index(keys)
    hi = hi.reindex(lo.index)
    span = (hi["tau"] - lo["tau"]).to_numpy(float)
    w = np.where(span > 0, np.clip((T - lo["tau"].to_numpy(float)) / np.where(span > 0, span, 1.0), 0.0, 1.0), 0.0)
    res = pd.DataFrame(index=lo.index)
    for c in ("put_vol", "call_vol", "atm_vol"):
        res[c] = (1 - w) * lo[c].to_numpy(float) + w * hi[c].to_numpy(float)
    res = res.reset_index()
    res["skew_pts"] = res["put_vol"] - res["call_vol"]
    res["skew"] = res["skew_pts"] / res["atm_vol"]
    res.insert(1, "trade_date", pd.to_datetime(res["snapshot_id"].astype(str).str.slice(0, 10)))
    return res[cols]
