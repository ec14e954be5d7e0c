"""Fitting one expiry slice: weights, quasi-explicit raw SVI with one trim pass, fallbacks.

Weights. Each out-of-the-money mid vol gets the vol-space weight ``1 / max(spread_vol, floor)^2``: the
bid-ask spread in vol is the quote's own uncertainty, and since ``spread_vol = price spread / vega`` this
also carries vega (far wings with tiny vega have wide vol spreads and little weight). The floor
(``max(0.2 vol points, median spread / 4)``) caps the weight ratio. The fit runs in total variance
``w = vol^2 tau``; a vol error ``e`` is a variance error ``2 vol tau e``, so the variance-space weight is
the vol weight divided by ``(2 vol tau)^2`` and the weighted SSE approximates the weighted vol SSE.

Calibration. Zeliade (2009) quasi-explicit method (see ``_kernels``): a coarse ``(m, sigma)`` grid,
then box-projected Nelder-Mead; for each ``(m, sigma)`` the constrained linear least squares in
``(a, b, rho)`` is solved exactly. Bounds: ``b >= 0``, ``|rho| < 1``, ``sigma > 0``, ``a >= 0`` (so
``w >= 0``) and Lee's ``b (1 + |rho|) <= 2``.

Robustness. A pre-screen drops points far from a running median of vol in ``k`` from the first fit;
then one trim pass: vol residuals beyond ``max(2 spread, 4 robust sigma, 0.5 vol points)`` (robust
sigma = 1.4826 MAD) get weight zero and the slice is refitted. A slice with fewer than ``MIN_POINTS``
usable points, a failed optimisation or a weighted vol RMSE above ``MAX_RMSE_VOL`` is not SVI-fitted: it
falls back to the previous snapshot's parameters (scaled to keep vol per ``k``) or a smoothing spline.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import make_interp_spline, make_splrep

from volmachine_core.curves import _kernels
from volmachine_core.curves.svi import LEE_SLOPE_MAX, svi_total_variance

__all__ = ["MIN_POINTS", "MAX_RMSE_VOL", "SliceData", "SviSliceFit", "prepare_slice", "fit_svi_slice",
           "fit_spline_slice", "scale_previous", "penalised_refit"]

#: Fewest usable quotes for an SVI fit (five parameters).
MIN_POINTS = 5
#: A weighted vol RMSE above this (decimal vol) counts as a failed fit.
MAX_RMSE_VOL = 0.05
_SPREAD_FLOOR = 0.002
_MAX_EVALS = 300


@dataclass(frozen=True)
class SliceData:
    """Usable quotes of one slice (sorted by ``k``) with their variance-space weights.

    Attributes
    ----------
    k, vol, bid, ask, spread : ndarray
        Log-moneyness, mid / bid / ask vol and vol spread (decimals; bid/ask NaN where absent).
    W : ndarray
        Market total variance ``vol^2 tau``.
    om : ndarray
        Variance-space weights, summing to one.
    tau : float
        ACT/365 years.
    sk : float
        The slice's ``k`` scale, about ``atm_vol sqrt(tau)``.
    """

    k: np.ndarray
    vol: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    spread: np.ndarray
    W: np.ndarray
    om: np.ndarray
    tau: float
    sk: float

    @property
    def n(self) -> int:
        return int(self.k.size)


@dataclass(frozen=True)
class SviSliceFit:
    """Result of ``fit_svi_slice``: raw SVI ``(a, b, rho, m, sigma)``, a success flag and diagnostics."""

    params: np.ndarray
    ok: bool
    reason: str
    kept: np.ndarray
    wrmse_vol: float
    n_evals: int


def prepare_slice(k, vol, bid, ask, spread, tau: float) -> SliceData:
    """Sort quotes by ``k`` and compute weights; ``spread`` falls back to ``ask - bid``, then 2x the widest."""
    order = np.argsort(k, kind="stable")
    k, vol, bid, ask, spread = (np.asarray(x, dtype=float)[order] for x in (k, vol, bid, ask, spread))
    with np.errstate(invalid="ignore"):
        spread = np.where(np.isfinite(spread) & (spread > 0), spread, ask - bid)
        good = np.isfinite(spread) & (spread > 0)
    fill = 2.0 * float(np.max(spread[good])) if good.any() else 0.05
    spread = np.where(good, spread, fill)
    floor = max(_SPREAD_FLOOR, 0.25 * float(_kernels.median(spread))) if spread.size else _SPREAD_FLOOR
    W = vol * vol * tau
    om = 1.0 / (np.maximum(spread, floor) ** 2 * (2.0 * vol * tau) ** 2)
    om = om / om.sum() if om.size else om
    sk = math.sqrt(float(W[np.argmin(np.abs(k))])) if k.size else 0.1
    return SliceData(k, vol, bid, ask, spread, W, om, float(tau), max(sk, 1e-4))


def _qe(d: SliceData, om: np.ndarray) -> tuple[np.ndarray, int]:
    krange = (d.k[-1] - d.k[0]) / d.sk
    mlo, mhi = d.k[0] / d.sk - 0.5 * krange, d.k[-1] / d.sk + 0.5 * krange
    shi = math.log(max(50.0, 10.0 * krange))
    p, _, nev = _kernels.qe_fit(d.k, d.W, om, LEE_SLOPE_MAX, d.sk, min(mlo, -2.0), max(mhi, 2.0), math.log(0.02),
                                shi, _MAX_EVALS)
    return p, int(nev)


def _model_vol(p: np.ndarray, k: np.ndarray, tau: float) -> np.ndarray:
    w = svi_total_variance(k, *p)
    return np.sqrt(np.maximum(w, 0.0) / tau)


def _prescreen(d: SliceData, window: int = 7) -> np.ndarray:
    """Points within ``max(3 spread, 5 robust sigma, 1 vol point)`` of a running median of vol in ``k``."""
    if d.n < window:
        return np.ones(d.n, dtype=bool)
    if not np.all(np.isfinite(d.vol)):  # NaN-propagating reference path (never hit for usable quotes)
        half = window // 2
        padded = np.concatenate([np.full(half, d.vol[0]), d.vol, np.full(half, d.vol[-1])])
        med = np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
    else:
        med = _kernels.running_median(d.vol, window)
    r = d.vol - med
    mad = 1.4826 * float(_kernels.mad(r))
    return np.abs(r) <= np.maximum(np.maximum(3.0 * d.spread, 5.0 * mad), 0.01)


def fit_svi_slice(d: SliceData) -> SviSliceFit:
    """Quasi-explicit raw SVI fit of one slice with one trim pass (never raises for bad data)."""
    none = np.zeros(d.n, dtype=bool)
    if d.n < MIN_POINTS:
        return SviSliceFit(np.full(5, np.nan), False, f"too_few_points:{d.n}", none, np.nan, 0)
    pre = _prescreen(d)
    om0 = np.where(pre, d.om, 0.0) if pre.sum() >= MIN_POINTS else d.om
    p, nev = _qe(d, om0 / om0.sum())
    resid = _model_vol(p, d.k, d.tau) - d.vol
    mad = 1.4826 * float(_kernels.mad(resid))
    thr = np.maximum(np.maximum(2.0 * d.spread, 4.0 * mad), 0.005)
    kept = np.abs(resid) <= thr
    if not kept.all() and kept.sum() >= MIN_POINTS:
        om = np.where(kept, d.om, 0.0)
        p, nev2 = _qe(d, om / om.sum())
        nev += nev2
    else:
        kept = np.ones(d.n, dtype=bool)
    resid = _model_vol(p, d.k, d.tau) - d.vol
    wv = d.om * (2.0 * d.vol * d.tau) ** 2 * kept
    wrmse = float(np.sqrt(np.sum(wv * resid**2) / np.sum(wv)))
    if not np.all(np.isfinite(p)) or not np.isfinite(wrmse):
        return SviSliceFit(p, False, "fit_failed", kept, wrmse, nev)
    if wrmse > MAX_RMSE_VOL:
        return SviSliceFit(p, False, f"rmse_too_large:{wrmse:.4f}", kept, wrmse, nev)
    return SviSliceFit(p, True, "", kept, wrmse, nev)


def fit_spline_slice(d: SliceData) -> dict | None:
    """Smoothing-spline fallback in total variance (``None`` if the slice has no usable quote).

    Cubic smoothing B-spline of ``w`` on ``k`` (weights ``1 / sd_w``, smoothing ``s = n``) for four or more
    distinct strikes, interpolating polynomial pieces for two or three, a constant for one.
    """
    if d.n == 0:
        return None
    ku, inv = np.unique(d.k, return_inverse=True)
    Wu = np.bincount(inv, weights=d.W) / np.bincount(inv)
    sd_w = np.bincount(inv, weights=2.0 * d.vol * d.tau * np.maximum(0.5 * d.spread, _SPREAD_FLOOR)) / np.bincount(inv)
    n = ku.size
    w_floor = 0.1 * float(Wu.min()) if Wu.min() > 0 else 1e-8
    if n == 1:
        return {"model": "spline", "t": [], "c": [float(Wu[0])], "deg": 0, "k_lo": float(ku[0]),
                "k_hi": float(ku[0]), "w_lo": float(Wu[0]), "w_hi": float(Wu[0]), "s_lo": 0.0, "s_hi": 0.0,
                "w_floor": w_floor}
    deg = min(3, n - 1)
    with warnings.catch_warnings():  # FITPACK warns when s is not met exactly; the approximation is still used
        warnings.simplefilter("ignore", RuntimeWarning)
        spl = make_splrep(ku, Wu, w=1.0 / sd_w, k=deg, s=float(n)) if n > 3 else make_interp_spline(ku, Wu, k=deg)
    lo, hi = float(ku[0]), float(ku[-1])
    slope = spl.derivative(1)
    s_lo = float(np.clip(slope(lo), -LEE_SLOPE_MAX, LEE_SLOPE_MAX))
    s_hi = float(np.clip(slope(hi), -LEE_SLOPE_MAX, LEE_SLOPE_MAX))
    return {"model": "spline", "t": spl.t.tolist(), "c": spl.c.tolist(), "deg": int(deg), "k_lo": lo, "k_hi": hi,
            "w_lo": float(spl(lo)), "w_hi": float(spl(hi)), "s_lo": s_lo, "s_hi": s_hi, "w_floor": w_floor}


def scale_previous(prev: dict, tau_prev: float, tau: float) -> dict | None:
    """Previous-snapshot SVI parameters rescaled so vol at each ``k`` is unchanged (``a, b`` times ``tau/tau_prev``)."""
    if prev.get("model") not in ("svi", "svi_previous") or not (tau_prev > 0 and tau > 0):
        return None
    vals = [float(prev[n]) for n in ("a", "b", "rho", "m", "sigma")]
    if not np.all(np.isfinite(vals)):
        return None
    lam = tau / tau_prev
    return {"model": "svi_previous", "a": vals[0] * lam, "b": vals[1] * lam, "rho": vals[2], "m": vals[3],
            "sigma": vals[4]}


def penalised_refit(d: SliceData, kept: np.ndarray, p: np.ndarray, gk: np.ndarray, wfloor: np.ndarray,
                    ssvi: bool = False) -> np.ndarray:
    """Refit raw SVI with penalties for ``g < 0`` on ``gk`` and for ``w(gk) < wfloor`` (calendar floor).

    ``ssvi=True`` restricts the slice to SSVI form with ``theta phi (1 + |rho|) < 4`` and
    ``theta phi^2 (1 + |rho|) <= 4``, free of butterfly arbitrage by Gatheral and Jacquier (2014),
    Theorem 4.2; it is the last resort when the five-parameter repair fails.
    """
    om = np.where(kept, d.om, 0.0)
    om = om / om.sum()
    wsc = float(np.median(d.W))
    ref = max(float(np.sum(om * (svi_total_variance(d.k, *p) - d.W) ** 2)), 1e-8 * wsc * wsc)
    if ssvi:
        theta = max(float(svi_total_variance(0.0, *p)), 1e-8)
        rho = float(np.clip(p[2], -0.95, 0.95))
        x0 = np.array([math.log(theta / wsc), math.atanh(rho), 0.0])
        kind = 2
    else:
        x0 = np.array([p[0] / wsc, math.log(max(p[1], 1e-10)), math.atanh(float(np.clip(p[2], -0.999, 0.999))),
                       p[3] / d.sk, math.log(p[4] / d.sk)])
        kind = 1
    x, _, _ = _kernels.pen_fit(kind, x0, d.k, d.W, om, LEE_SLOPE_MAX, d.sk, wsc, gk, wfloor, ref, 1e-4, 2000)
    return np.array(_kernels._raw(kind, x, d.sk, wsc, LEE_SLOPE_MAX))
