"""Wing-model features: the fitted end-of-day curve at each target SD, as regression inputs.

One row per (trade_date, underlying, expiry, target_sd) with the expiry's calendar DTE inside the
universe's range and ``target_sd != 0`` (the ratio is 1 there by definition):

* ``y = ln(vol(target_sd) / atm_vol)``: the response (vol at the target SD relative to ATM),
* ``sqrt_bdays``: square root of exchange business days to expiry,
* ``ln_atm_vol``: log of the ATM vol (decimal),
* ``atm_slope``: d vol / d z at z = 0 (decimal vol per SD).

``usable`` marks rows the model may learn from: the slice's fit is an SVI fit (status 'ok' or
'repaired', not a fallback), arbitrage-free, with finite positive vols. Other rows stay in the table
with ``reason`` saying why, so nothing disappears silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FEATURE_COLUMNS", "REGRESSORS", "wing_features", "design_matrix"]

#: Regressors of the wing model, in coefficient order after the constant.
REGRESSORS: tuple[str, ...] = ("sqrt_bdays", "ln_atm_vol", "atm_slope")
FEATURE_COLUMNS: tuple[str, ...] = (
    "trade_date", "snapshot_id", "underlying", "expiry", "target_sd", "dte", "bdays", "tau", "atm_vol",
    "atm_slope", "vol", "y", "sqrt_bdays", "ln_atm_vol", "rmse_vol", "usable", "reason",
)
_SLICE = ["snapshot_id", "underlying", "expiry"]
_GOOD_STATUS = ("ok", "repaired")


def _trade_date(snapshot_id: pd.Series) -> pd.Series:
    return pd.to_datetime(snapshot_id.astype(str).str.slice(0, 10))


def design_matrix(frame: pd.DataFrame) -> np.ndarray:
    """``[1, sqrt_bdays, ln_atm_vol, atm_slope]`` per row, shape ``(n, 4)``.

    ``frame`` needs ``bdays``, ``atm_vol`` and ``atm_slope`` (or the derived columns).
    """
    sb = frame["sqrt_bdays"] if "sqrt_bdays" in frame else np.sqrt(frame["bdays"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = frame["ln_atm_vol"] if "ln_atm_vol" in frame else np.log(frame["atm_vol"].to_numpy(dtype=float))
    cols = [np.ones(len(frame)), np.asarray(sb, float), np.asarray(lv, float), frame["atm_slope"].to_numpy(float)]
    return np.column_stack(cols)


def wing_features(curve_params: pd.DataFrame, curve_points: pd.DataFrame, *, dte_min: int, dte_max: int,
                  target_sds=None) -> pd.DataFrame:
    """Regression features of the wing model from end-of-day fitted curves.

    Parameters
    ----------
    curve_params : DataFrame
        ``curve_params`` rows (snapshot_id, underlying, expiry, tau, bdays, atm_vol, atm_slope,
        rmse_vol, arb_free, status). When a trade date has several snapshots of an underlying, the
        latest snapshot is the day's end-of-day curve.
    curve_points : DataFrame
        ``curve_points`` rows (snapshot_id, underlying, expiry, target_sd, vol) of the same snapshots.
    dte_min, dte_max : int
        Calendar days to expiry kept (inclusive), the universe's DTE range.
    target_sds : sequence of float, optional
        Target SDs kept (default: all non-zero target SDs present).

    Returns
    -------
    DataFrame
        ``FEATURE_COLUMNS``, sorted by underlying, target_sd, trade_date, expiry; ``trade_date`` and
        ``expiry`` are datetime64 dates, vols decimals, ``tau`` ACT/365 years.
    """
    need_p = {"snapshot_id", "underlying", "expiry", "tau", "bdays", "atm_vol", "atm_slope", "rmse_vol",
              "arb_free", "status"}
    need_c = {"snapshot_id", "underlying", "expiry", "target_sd", "vol"}
    for name, frame, need in (("curve_params", curve_params, need_p), ("curve_points", curve_points, need_c)):
        missing = sorted(need - set(frame.columns))
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}")
    if curve_params.empty or curve_points.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in FEATURE_COLUMNS})
    cp = curve_params[sorted(need_p)].copy()
    cp["trade_date"] = _trade_date(cp["snapshot_id"])
    cp["expiry"] = pd.to_datetime(cp["expiry"]).dt.normalize()
    latest = cp.groupby(["trade_date", "underlying"])["snapshot_id"].transform("max")
    cp = cp[cp["snapshot_id"] == latest]
    cp["dte"] = (cp["expiry"] - cp["trade_date"]).dt.days
    cp = cp[(cp["dte"] >= dte_min) & (cp["dte"] <= dte_max)]
    pts = curve_points[list(need_c)].copy()
    pts["expiry"] = pd.to_datetime(pts["expiry"]).dt.normalize()
    pts["target_sd"] = pts["target_sd"].astype(float)
    pts = pts[pts["target_sd"] != 0.0]
    if target_sds is not None:
        pts = pts[pts["target_sd"].isin([float(s) for s in target_sds])]
    out = pts.merge(cp, on=_SLICE, how="inner", validate="many_to_one")
    atm, vol = out["atm_vol"].to_numpy(float), out["vol"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["y"] = np.log(vol / atm)
        out["ln_atm_vol"] = np.log(atm)
    out["sqrt_bdays"] = np.sqrt(out["bdays"].to_numpy(float))
    out["reason"] = _reasons(out)
    out["usable"] = out["reason"] == ""
    out = out.sort_values(["underlying", "target_sd", "trade_date", "expiry"], kind="stable")
    return out[list(FEATURE_COLUMNS)].reset_index(drop=True)


def _reasons(f: pd.DataFrame) -> np.ndarray:
    """Why a feature row is not usable ('' when it is), first reason wins."""
    finite = np.isfinite(f[["y", "ln_atm_vol", "atm_slope", "sqrt_bdays"]].to_numpy(float)).all(axis=1)
    checks = [
        (~f["status"].isin(_GOOD_STATUS).to_numpy(), "curve_" + f["status"].astype(str).to_numpy()),
        (~f["arb_free"].fillna(False).astype(bool).to_numpy(), "curve_not_arbitrage_free"),
        (~(finite & (f["vol"].to_numpy(float) > 0) & (f["bdays"].to_numpy(float) > 0)), "non_finite"),
    ]
    reason = np.full(len(f), "", dtype=object)
    for bad, text in reversed(checks):
        reason = np.where(bad, text, reason)
    return reason


def _dtype(col: str) -> str:
    if col in ("trade_date", "expiry"):
        return "datetime64[ns]"
    if col in ("snapshot_id", "underlying", "reason"):
        return "object"
    if col == "usable":
        return "bool"
    if col == "dte":
        return "int64"
    return "float64"
