"""Evaluating fitted smiles: total variance, vol, ATM vol and slope, curve points in SD space.

A fitted slice is described by a parameter mapping (stored as JSON in ``curve_params.params``):

* ``{"model": "svi" | "svi_previous", "a", "b", "rho", "m", "sigma"}``: raw SVI total variance
  (``volmachine_core.curves.svi``);
* ``{"model": "spline", "t", "c", "deg", "k_lo", "k_hi", "w_lo", "w_hi", "s_lo", "s_hi", "w_floor"}``: a
  smoothing B-spline of total variance on ``[k_lo, k_hi]``, continued linearly outside with end slopes
  clipped to Lee's bound, floored at ``w_floor > 0``;
* ``{"model": "theo", "atm_vol", "tau", "z", "y"}``: the wing model's curve (``theo_curves``), see
  ``volmachine_core.wing.theo_curves``.

SD moneyness is ``z = k / (atm_vol sqrt(tau))`` with ``k = ln(K/F)``; ``atm_vol`` is the curve vol at
``k = 0`` and ``atm_slope = d vol / d z`` at ``z = 0`` ``= w'(0) / (2 sqrt(tau))`` (vol per SD).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.interpolate import BSpline

from volmachine_core.curves.svi import svi_derivatives, svi_total_variance

__all__ = [
    "SVI_MODELS",
    "TARGET_SDS",
    "parse_params",
    "total_variance",
    "curve_vol",
    "atm_vol_slope",
    "sd_to_k",
]

#: Model codes whose parameters are raw SVI.
SVI_MODELS = ("svi", "svi_previous")
#: Default target SDs: -3 to +3 in 0.5 steps.
TARGET_SDS = tuple(np.round(np.arange(-3.0, 3.0001, 0.5), 10).tolist())
_SVI_KEYS = ("a", "b", "rho", "m", "sigma")


def parse_params(params) -> dict:
    """A parameter mapping from a JSON string, a dict or a ``curve_params`` row (Series)."""
    if isinstance(params, str):
        return json.loads(params)
    if isinstance(params, pd.Series) and "params" in params.index and isinstance(params["params"], str):
        return json.loads(params["params"])
    if isinstance(params, Mapping) or isinstance(params, pd.Series):
        return dict(params)
    raise TypeError(f"params: expected a JSON string, mapping or curve_params row, got {type(params).__name__}")


def _spline_total_variance(p: Mapping, k: np.ndarray, nu: int) -> np.ndarray:
    """Spline model ``w`` (``nu = 0``) or its ``nu``-th derivative in ``k``, linear beyond the data."""
    lo, hi = float(p["k_lo"]), float(p["k_hi"])
    deg = int(p["deg"])
    left, right = k < lo, k > hi
    inside = ~(left | right)
    out = np.empty(k.shape)
    if deg == 0:
        out[inside] = p["c"][0] if nu == 0 else 0.0
    else:
        spl = BSpline(np.asarray(p["t"], float), np.asarray(p["c"], float), deg, extrapolate=True)
        out[inside] = spl(k[inside], nu=nu)
    if nu == 0:
        out[left] = p["w_lo"] + p["s_lo"] * (k[left] - lo)
        out[right] = p["w_hi"] + p["s_hi"] * (k[right] - hi)
        return np.maximum(out, p["w_floor"])
    if nu == 1:
        out[left], out[right] = p["s_lo"], p["s_hi"]
        return out
    out[left | right] = 0.0
    return out


def total_variance(params, k, nu: int = 0) -> np.ndarray:
    """Total implied variance ``w(k)`` of one fitted slice, or its ``nu``-th derivative (``nu`` in 0, 1, 2).

    Parameters
    ----------
    params : str, mapping or pandas.Series
        Slice parameters (see the module docstring) or a ``curve_params`` row.
    k : array_like
        Log-moneyness ``ln(K/F)``.
    nu : int
        Derivative order in ``k``.

    Returns
    -------
    ndarray
        ``w`` (decimal vol squared times years) or its derivative, shaped like ``k``; NaN for an unknown model.
    """
    p = parse_params(params)
    k = np.asarray(k, dtype=float)
    model = p.get("model")
    if model in SVI_MODELS:
        vals = svi_derivatives(k, *(float(p[n]) for n in _SVI_KEYS))
        return np.asarray(vals[nu], dtype=float)
    if model == "spline":
        return _spline_total_variance(p, k, nu)
    if model == "theo":  # the wing model's curve (volmachine_core.wing.theo_curves)
        from volmachine_core.wing.theo_curves import theo_total_variance

        return theo_total_variance(p, k, nu)
    return np.full(k.shape, np.nan)


def _frame_svi_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[dict | None]]:
    """SVI parameter matrix (N, 5), an SVI mask and the parsed non-SVI parameter dicts."""
    n = len(frame)
    if "params" in frame.columns:
        raw = frame["params"].astype(object).to_numpy()
        uniq, inv = np.unique(raw.astype(str), return_inverse=True)
        parsed = [json.loads(u) if u.startswith("{") else {} for u in uniq]
        dicts = [parsed[i] for i in inv]
    else:
        dicts = [dict(zip(_SVI_KEYS, r, strict=True)) | {"model": "svi"} for r in frame[list(_SVI_KEYS)].to_numpy()]
    mat = np.full((n, 5), np.nan)
    is_svi = np.array([d.get("model") in SVI_MODELS for d in dicts], dtype=bool)
    if is_svi.any():
        mat[is_svi] = np.array([[d[k_] for k_ in _SVI_KEYS] for d, s in zip(dicts, is_svi, strict=True) if s])
    others = [None if s else d for d, s in zip(dicts, is_svi, strict=True)]
    return mat, is_svi, others


def curve_vol(params, k, tau=None) -> np.ndarray:
    """Model implied vol ``sqrt(w(k) / tau)`` of fitted slices, vectorised.

    Parameters
    ----------
    params : pandas.DataFrame, pandas.Series, mapping or str
        A ``curve_params`` frame (N rows; uses its ``params`` JSON, or columns ``a, b, rho, m, sigma``),
        or one row / parameter mapping / JSON string.
    k : array_like
        Log-moneyness ``ln(K/F)``. For one slice any shape. For a frame, shape ``(N,)`` (one ``k`` per row,
        e.g. after merging params onto strikes), ``(N, n)`` (a grid per row) or a scalar.
    tau : array_like, optional
        ACT/365 years; defaults to the ``tau`` column / field. Broadcast like ``k``.

    Returns
    -------
    ndarray
        Vol as a decimal; NaN where ``w <= 0``, ``tau <= 0`` or the slice has no model.

    Examples
    --------
    >>> p = {"model": "svi", "a": 0.01, "b": 0.1, "rho": -0.5, "m": 0.0, "sigma": 0.1}
    >>> round(float(curve_vol(p, 0.0, tau=0.5)), 6)  # sqrt((a + b sigma) / tau)
    0.2
    """
    k = np.asarray(k, dtype=float)
    if isinstance(params, pd.DataFrame):
        n = len(params)
        if k.ndim == 0:
            k = np.full(n, float(k))
        if k.shape[0] != n:
            raise ValueError(f"k: first dimension {k.shape[0]} does not match {n} params rows")
        if tau is None:
            tau = params["tau"].to_numpy(dtype=float)
        tau = np.asarray(tau, dtype=float)
        if tau.ndim == 1 and k.ndim == 2:
            tau = tau[:, None]
        mat, is_svi, others = _frame_svi_arrays(params)
        col = (slice(None),) + (None,) * (k.ndim - 1)
        w = svi_total_variance(k, *(mat[:, j][col] for j in range(5)))
        for i in np.flatnonzero(~is_svi):
            w[i] = total_variance(others[i], k[i]) if others[i] else np.nan
    else:
        p = parse_params(params)
        if tau is None:
            tau = p["tau"] if "tau" in p else params["tau"]
        w = total_variance(p, k)
    tau = np.asarray(tau, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (w > 0.0) & (tau > 0.0)
        return np.where(ok, np.sqrt(np.where(ok, w, 1.0) / np.where(tau > 0.0, tau, 1.0)), np.nan)


def atm_vol_slope(params, tau: float) -> tuple[float, float]:
    """``(atm_vol, atm_slope)`` of one slice: vol at ``k = 0`` and ``d vol/d z`` at ``z = 0`` (vol per SD).

    ``atm_slope = w'(0) / (2 sqrt(tau))`` since ``vol = sqrt(w/tau)`` and ``z = k / (atm_vol sqrt(tau))``.
    """
    w0 = float(total_variance(params, 0.0))
    w1 = float(total_variance(params, 0.0, nu=1))
    if not (w0 > 0.0 and tau > 0.0):
        return float("nan"), float("nan")
    return float(np.sqrt(w0 / tau)), w1 / (2.0 * np.sqrt(tau))


def sd_to_k(target_sd, atm_vol, tau):
    """Log-moneyness of SD moneyness ``z``: ``k = z atm_vol sqrt(tau)`` (broadcasting)."""
    return np.asarray(target_sd, float) * np.asarray(atm_vol, float) * np.sqrt(np.asarray(tau, float))
