"""Theo curves: the wing model's smile per expiry as a curve, stored like the market curves.

A theo curve passes exactly through the model vols at the target SDs: ``vol(k) = atm_vol *
exp(yhat(z))`` with ``z = k / (atm_vol sqrt(tau))`` and ``yhat`` the monotone PCHIP of the predicted
ln-ratios (continued outward as in :func:`volmachine_core.wing.theos.model_ratio`). Its parameters are
JSON ``{"model": "theo", "atm_vol", "tau", "z": [...], "y": [...]}``, evaluated anywhere by
:func:`theo_total_variance` (also through ``curves.total_variance`` and ``curve_vol``), so the theo
curve gives an exit price for any strike. Butterfly arbitrage is checked with Durrleman's ``g`` on a
dense grid (``arb_free``); calendar arbitrage is not claimed for theo curves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from volmachine_core.curves.svi import durrleman_g
from volmachine_core.wing.theos import model_ratio, slice_index, slice_predictions

__all__ = ["THEO_CURVE_COLUMNS", "theo_curves", "theo_total_variance"]

THEO_CURVE_COLUMNS: tuple[str, ...] = (
    "snapshot_id", "underlying", "expiry", "tau", "bdays", "forward", "atm_vol", "atm_slope", "rmse_vol",
    "n_points", "arb_free", "butterfly_ok", "min_g", "model", "status", "fit_date", "model_id", "params",
)
#: Grid of the butterfly check, in SDs.
CHECK_SDS = np.linspace(-5.0, 5.0, 201)
G_TOL = -1e-9


def _derivatives(sds: np.ndarray, y: np.ndarray, atm: np.ndarray, tau: np.ndarray, rows: np.ndarray,
                 k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``w, dw/dk, d2w/dk2`` of theo slices ``rows`` at log-moneyness ``k`` (chain rule through ``z``)."""
    c = 1.0 / (atm[rows] * np.sqrt(tau[rows]))
    z = k * c
    r0, r1, r2 = (model_ratio(sds, y, rows, z, nu=n) for n in (0, 1, 2))
    w = tau[rows] * atm[rows] ** 2 * np.exp(2.0 * r0)
    return w, w * 2.0 * r1 * c, w * (4.0 * r1**2 + 2.0 * r2) * c * c


def theo_total_variance(params, k, nu: int = 0) -> np.ndarray:
    """Total variance ``w(k)`` of one theo curve (``nu``-th derivative in ``k``, ``nu`` in 0, 1, 2).

    ``params`` is the JSON string or mapping stored in ``theo_curves.params``; ``k = ln(K/F)``.
    """
    p = json.loads(params) if isinstance(params, str) else dict(params) if isinstance(params, Mapping) else None
    if p is None or p.get("model") != "theo":
        raise ValueError("params: not a theo curve (model 'theo')")
    k = np.asarray(k, dtype=float)
    flat = k.reshape(-1)
    out = _derivatives(np.asarray(p["z"], float), np.asarray([p["y"]], float), np.array([p["atm_vol"]], float),
                       np.array([p["tau"]], float), np.zeros(len(flat), np.int64), flat)[nu]
    return out.reshape(k.shape)


def theo_curves(strike_vols: pd.DataFrame, curve_params: pd.DataFrame, models: pd.DataFrame, *,
                target_sds) -> pd.DataFrame:
    """One theo curve per (snapshot, underlying, expiry) of ``curve_params`` that has a model.

    Parameters
    ----------
    strike_vols : DataFrame
        The snapshots' ``strike_vols`` (with ``z``): ``rmse_vol`` compares the theo curve with the
        two-sided out-of-the-money mid vols, i.e. how far the market is from the model.
    curve_params, models, target_sds
        As for :func:`volmachine_core.wing.theos.wing_theos`.

    Returns
    -------
    DataFrame
        ``THEO_CURVE_COLUMNS`` (``model = 'theo'``; ``atm_slope`` is the theo curve's ``d vol / d z``
        at 0; ``status`` 'ok' or 'arbitrage').
    """
    sds = np.asarray(sorted(float(s) for s in target_sds))
    sl, yhat = slice_predictions(curve_params, models, sds)
    has = np.isfinite(yhat).all(axis=1) & (sl["atm_vol"].to_numpy(float) > 0) & (sl["tau"].to_numpy(float) > 0)
    sl, yhat = sl[has].reset_index(drop=True), yhat[has]
    if sl.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in THEO_CURVE_COLUMNS})
    atm, tau = sl["atm_vol"].to_numpy(float), sl["tau"].to_numpy(float)
    n, m = len(sl), len(CHECK_SDS)
    rows = np.repeat(np.arange(n), m)
    k = np.tile(CHECK_SDS, n) * atm[rows] * np.sqrt(tau[rows])
    g = durrleman_g(k, *_derivatives(sds, yhat, atm, tau, rows, k)).reshape(n, m)
    min_g = g.min(axis=1)
    slope = atm * model_ratio(sds, yhat, np.arange(n), np.zeros(n), nu=1)
    out = sl.assign(atm_slope=slope, min_g=min_g, butterfly_ok=min_g >= G_TOL, model="theo")
    out["arb_free"] = out["butterfly_ok"]
    out["status"] = np.where(out["arb_free"], "ok", "arbitrage")
    out["params"] = [json.dumps({"model": "theo", "atm_vol": float(a), "tau": float(t), "z": sds.tolist(),
                                 "y": [round(float(v), 12) for v in row]})
                     for a, t, row in zip(atm, tau, yhat, strict=True)]
    rmse, npts = _distance_to_market(strike_vols, out, sds, yhat)
    out["rmse_vol"], out["n_points"] = rmse, npts
    return out[list(THEO_CURVE_COLUMNS)]


def _distance_to_market(strike_vols: pd.DataFrame, curves: pd.DataFrame, sds: np.ndarray,
                        yhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RMS of (market mid vol - theo vol) over two-sided OTM options per curve, and their count."""
    finite = np.isfinite(strike_vols[["iv_bid", "iv_mid", "z"]].to_numpy(float)).all(axis=1)
    sv = strike_vols[strike_vols["otm"].astype(bool).to_numpy() & finite]
    expiry = pd.to_datetime(sv["expiry"]).dt.normalize().to_numpy("datetime64[ns]")
    pos = slice_index(curves, sv["snapshot_id"], sv["underlying"], expiry)
    found = pos >= 0
    pos, sv = pos[found], sv[found]
    theo = curves["atm_vol"].to_numpy(float)[pos] * np.exp(model_ratio(sds, yhat, pos, sv["z"].to_numpy(float)))
    err2 = (sv["iv_mid"].to_numpy(float) - theo) ** 2
    n = np.bincount(pos, minlength=len(curves))
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt(np.bincount(pos, weights=err2, minlength=len(curves)) / n)
    return np.where(n > 0, rmse, np.nan), n
