"""Per-expiry smile curves: raw SVI fits, arbitrage checks and repair, evaluation in SD space.

Entry point: ``fit_curves(strike_vols, previous=None, target_sds=TARGET_SDS) -> CurveFits`` with the
``curve_params`` and ``curve_points`` frames; ``curve_vol(params, k, tau)`` evaluates fitted slices anywhere.
Units: vols decimals, ``tau`` ACT/365 years, ``k = ln(K/F)``, total variance ``w = vol^2 tau``.
See ``volmachine_core.curves.svi`` for why raw SVI per slice.
"""

from volmachine_core.curves.arbitrage import (
    G_TOL,
    W_TOL,
    check_grid,
    min_calendar_gap,
    min_durrleman_g,
)
from volmachine_core.curves.fitter import (
    CURVE_PARAMS_COLUMNS,
    CURVE_POINTS_COLUMNS,
    CurveFits,
    fit_curves,
)
from volmachine_core.curves.sd_space import TARGET_SDS, atm_vol_slope, curve_vol, sd_to_k, total_variance
from volmachine_core.curves.svi import (
    LEE_SLOPE_MAX,
    durrleman_g,
    svi_derivatives,
    svi_durrleman_g,
    svi_from_ssvi,
    svi_min_total_variance,
    svi_total_variance,
)

__all__ = [
    "CURVE_PARAMS_COLUMNS",
    "CURVE_POINTS_COLUMNS",
    "G_TOL",
    "LEE_SLOPE_MAX",
    "TARGET_SDS",
    "W_TOL",
    "CurveFits",
    "atm_vol_slope",
    "check_grid",
    "curve_vol",
    "durrleman_g",
    "fit_curves",
    "min_calendar_gap",
    "min_durrleman_g",
    "sd_to_k",
    "svi_derivatives",
    "svi_durrleman_g",
    "svi_from_ssvi",
    "svi_min_total_variance",
    "svi_total_variance",
    "total_variance",
]
