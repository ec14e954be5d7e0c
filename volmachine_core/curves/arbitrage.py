"""Static-arbitrage checks and repairs for fitted slices.

Butterfly (one slice): the risk-neutral density is non-negative iff Durrleman's
``g(k) = (1 - k w'/(2w))^2 - (w'^2/4)(1/w + 1/4) + w''/2 >= 0`` (Gatheral and Jacquier 2014, Lemma 2.2).
It is checked on a dense grid of ``N_GRID`` points over ``+-max(3 SD, data range)`` with tolerance
``G_TOL``. A violating SVI slice is refitted with a penalty on negative ``g`` (five free parameters); if
that still fails, it is refitted in SSVI form under Gatheral and Jacquier's Theorem 4.2 conditions, which
rule butterfly arbitrage out.

Calendar (consecutive slices of one snapshot and underlying): total variance must not decrease with
expiry at fixed log-moneyness, ``w(k, T2) >= w(k, T1)`` (Gatheral and Jacquier 2014, Lemma 2.1). Checked on a
grid spanning both slices' butterfly grids with tolerance ``W_TOL``; the later slice is refitted with a
penalty pushing ``w_T2 >= w_T1`` (and ``g >= 0``), and if a gap remains it is lifted by the smallest
constant that closes it (for SVI: ``a += gap``).
"""

from __future__ import annotations

import numpy as np

from volmachine_core.curves.fit import SliceData, penalised_refit
from volmachine_core.curves.sd_space import SVI_MODELS, total_variance
from volmachine_core.curves.svi import durrleman_g

__all__ = ["N_GRID", "G_TOL", "W_TOL", "check_grid", "min_durrleman_g", "min_calendar_gap", "lift",
           "repair_butterfly", "repair_calendar"]

#: Points of the dense arbitrage-check grid.
N_GRID = 200
#: Tolerance on Durrleman's g (dimensionless).
G_TOL = 1e-6
#: Tolerance on total variance for the calendar check (decimal vol squared times years).
W_TOL = 1e-6
_SD_SPAN = 3.0


def check_grid(k_data: np.ndarray, sd_k: float, n: int = N_GRID) -> np.ndarray:
    """Log-moneyness grid over ``[min(k_min, -3 sd_k), max(k_max, 3 sd_k)]`` (``sd_k = atm_vol sqrt(tau)``)."""
    lo, hi = -_SD_SPAN * sd_k, _SD_SPAN * sd_k
    if np.size(k_data):
        lo, hi = min(lo, float(np.min(k_data))), max(hi, float(np.max(k_data)))
    return np.linspace(lo, hi, n)


def min_durrleman_g(params, gk: np.ndarray) -> float:
    """Smallest Durrleman ``g`` of a slice on the grid ``gk`` (``-inf`` if ``w <= 0`` somewhere)."""
    w, w1, w2 = (total_variance(params, gk, nu) for nu in (0, 1, 2))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        g = durrleman_g(gk, w, w1, w2)
    g = np.where(np.isnan(g), -np.inf, g)
    return float(np.min(g))


def min_calendar_gap(params_late, params_early, gk: np.ndarray) -> float:
    """``min_k (w_late(k) - w_early(k))`` on ``gk``; negative means calendar arbitrage."""
    return float(np.min(total_variance(params_late, gk) - total_variance(params_early, gk)))


def lift(params: dict, delta: float) -> dict:
    """Parameters of the same slice with total variance raised by the constant ``delta``."""
    p = dict(params)
    if p.get("model") in SVI_MODELS:
        p["a"] = float(p["a"]) + delta
    elif p.get("model") == "spline":
        # B-spline bases sum to one, so adding delta to every coefficient adds delta to w.
        p["c"] = [c + delta for c in p["c"]]
        p["w_lo"], p["w_hi"] = p["w_lo"] + delta, p["w_hi"] + delta
    return p


def _svi(params: np.ndarray, model: str) -> dict:
    return {"model": model, **dict(zip(("a", "b", "rho", "m", "sigma"), map(float, params), strict=True))}


def repair_butterfly(d: SliceData, kept: np.ndarray, params: dict, gk: np.ndarray) -> tuple[dict, str]:
    """Refit a butterfly-violating SVI slice; returns the new parameters and the method used."""
    p0 = np.array([params[n] for n in ("a", "b", "rho", "m", "sigma")], dtype=float)
    floor = np.full(gk.size, -np.inf)
    try:
        p = _svi(penalised_refit(d, kept, p0, gk, floor), params["model"])
        if min_durrleman_g(p, gk) >= -G_TOL:
            return p, "svi_penalty"
        p = _svi(penalised_refit(d, kept, p0, gk, floor, ssvi=True), params["model"])
        if min_durrleman_g(p, gk) >= -G_TOL:
            return p, "ssvi_constrained"
    except (ValueError, ZeroDivisionError, FloatingPointError):
        pass
    return params, "failed"


def repair_calendar(d: SliceData | None, kept: np.ndarray | None, params: dict, early: dict, gk_cal: np.ndarray,
                    gk_bf: np.ndarray) -> tuple[dict, str]:
    """Make ``params`` (the later slice) lie on or above ``early`` on ``gk_cal``; returns parameters and method.

    SVI slices with data are refitted with a calendar-floor penalty (plus the butterfly penalty on
    ``gk_bf``); whatever remains is closed by ``lift``.
    """
    floor_c = total_variance(early, gk_cal) + 0.5 * W_TOL
    method = "lift"
    if d is not None and kept is not None and params.get("model") in SVI_MODELS and d.n >= 5:
        p0 = np.array([params[n] for n in ("a", "b", "rho", "m", "sigma")], dtype=float)
        gk = np.concatenate([gk_bf, gk_cal])
        floor = np.concatenate([np.full(gk_bf.size, -np.inf), floor_c])
        try:
            cand = _svi(penalised_refit(d, kept, p0, gk, floor), params["model"])
            if min_durrleman_g(cand, gk_bf) >= -G_TOL:
                params, method = cand, "svi_penalty"
        except (ValueError, ZeroDivisionError, FloatingPointError):
            pass
    gap = min_calendar_gap(params, early, gk_cal)
    if gap < -W_TOL:
        params = lift(params, -gap + 0.5 * W_TOL)
        method = "lift" if method == "lift" else method + "+lift"
    return params, method
