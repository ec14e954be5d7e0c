"""From clean option quotes to forwards, strike vols and fitted curves: the seed's vol curve server.

``build_surface(quotes)`` is the one call the assets make. It takes ``option_quotes`` rows (one or
more snapshots and underlyings) and returns a :class:`SurfaceBuild` whose DataFrames carry the
warehouse-contract columns of ``forwards``, ``strike_vols``, ``curve_params`` and ``curve_points``.

Stages (each its own module):

1. `forwards.fit_forwards`: discount factor and forward per (snapshot, underlying, expiry) from a
   robust, spread-weighted put-call-parity regression, discount factors smoothed across expiries.
2. `strike_vols.strike_vols`: bid/mid/ask Black-76 implied vols on the fitted F and D, status
   codes, the out-of-the-money flag, vega and delta.
3. `curves.fit_curves`: a raw-SVI fit per expiry with butterfly and calendar arbitrage checks and
   repair, fallbacks, ATM vol and slope, and the curve at target SDs.
4. `strike_vols.add_z`: SD moneyness ``z = ln(K/F) / (atm_vol sqrt(tau))`` once ATM vols are known.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from volmachine_core.curves import fit_curves
from volmachine_core.forwards import fit_forwards
from volmachine_core.strike_vols import add_z, strike_vols

DEFAULT_TARGET_SDS: tuple[float, ...] = tuple(x / 2 for x in range(-6, 7))


@dataclass(frozen=True)
class SurfaceBuild:
    """Result of :func:`build_surface` (read-only frames plus per-stage timings in seconds)."""

    forwards: pd.DataFrame
    strike_vols: pd.DataFrame
    curve_params: pd.DataFrame
    curve_points: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, float | int]:
        """Headline statistics for metadata and logs."""
        cp = self.curve_params
        ok = self.strike_vols["iv_status"].eq("ok") if len(self.strike_vols) else pd.Series(dtype=bool)
        return {
            "snapshots": int(cp["snapshot_id"].nunique()) if len(cp) else 0,
            "expiries": len(self.forwards),
            "quotes": len(self.strike_vols),
            "iv_ok_share": float(ok.mean()) if len(ok) else 0.0,
            "slices_fitted": len(cp),
            "arb_free_share": float(cp["arb_free"].mean()) if len(cp) else 0.0,
            "median_rmse_vol": float(cp["rmse_vol"].median()) if len(cp) else float("nan"),
            "median_inside_share": float(cp["inside_share"].median()) if len(cp) else float("nan"),
            **{f"seconds_{k}": round(v, 4) for k, v in self.timings.items()},
        }


def build_surface(quotes: pd.DataFrame, previous_curves: pd.DataFrame | None = None,
                  target_sds: Sequence[float] = DEFAULT_TARGET_SDS) -> SurfaceBuild:
    """Forwards, strike vols, curve parameters and curve points for clean quotes.

    Parameters
    ----------
    quotes : DataFrame
        ``option_quotes`` rows (the clean quote schema), any number of snapshots and underlyings.
    previous_curves : DataFrame, optional
        ``curve_params`` of earlier snapshots: the fallback for a slice that will not fit.
    target_sds : sequence of float
        SD moneyness points of ``curve_points`` (default -3 to +3 in 0.5 steps).
    """
    t = {}
    t0 = time.perf_counter()
    fwd = fit_forwards(quotes)
    t["forwards"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sv = strike_vols(quotes, fwd)
    t["strike_vols"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fits = fit_curves(sv, previous=previous_curves, target_sds=target_sds)
    t["curves"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sv = add_z(sv, fits.curve_params[["snapshot_id", "underlying", "expiry_ts", "atm_vol"]])
    t["z"] = time.perf_counter() - t0
    return SurfaceBuild(forwards=fwd, strike_vols=sv, curve_params=fits.curve_params,
                        curve_points=fits.curve_points, timings=t)
