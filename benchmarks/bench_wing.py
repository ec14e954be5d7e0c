"""Wing model speed: fitting every model over a demo-sized history, and theos for a 24k-quote snapshot.

Run: .venv/bin/python benchmarks/bench_wing.py
History: 120 sessions x 5 underlyings of the embedded market's truth curves (``wing.oracle.truth_curves``),
12 target SDs, 60-session windows: 7,200 statsmodels regressions. Reference in the same run: the same
regressions solved by bare numpy least squares (no standard errors or R^2), to show what statsmodels costs.
Theos: the 24k-quote SSVI snapshot of ``bench_surface`` through ``build_surface``, then ``wing_theos`` and
``theo_curves``. Reference: three vectorised Black-76 pricings of the same quotes (the least pricing work a
theo price and a two-sided slega bump need). Target: theos well under 0.2 s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import best_of

from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.market.synthetic import ssvi_snapshot
from volmachine_core.pricing import black76_price
from volmachine_core.surface import build_surface
from volmachine_core.wing import WingModelSpec, design_matrix, fit_wing_models, wing_features, wing_theos
from volmachine_core.wing.model import _windows
from volmachine_core.wing.oracle import truth_curves
from volmachine_core.wing.theo_curves import theo_curves

SDS = [s / 2 for s in range(-6, 7)]


def _numpy_reference(features: pd.DataFrame, fit_dates, spec: WingModelSpec) -> int:
    """The same windowed regressions by np.linalg.lstsq (coefficients only)."""
    start, end = _windows(pd.DatetimeIndex(fit_dates), spec.window_days)
    n = 0
    for _, g in features[features["usable"]].groupby(["underlying", "target_sd"]):
        days = g["trade_date"].to_numpy(dtype="datetime64[ns]")
        y, x = g["y"].to_numpy(float), design_matrix(g)
        lo, hi = np.searchsorted(days, start), np.searchsorted(days, end, side="right")
        for a, b in zip(lo, hi, strict=True):
            if b - a >= spec.min_obs:
                np.linalg.lstsq(x[a:b], y[a:b], rcond=None)
                n += 1
    return n


def main() -> None:
    market = SimMarket(SimConfig(seed=7), end="2024-07-31")
    days = list(market.sessions[-120:])
    cp, pts = truth_curves(market.truth_surface(days), SDS)
    feats = wing_features(cp.assign(snapshot_id=cp["snapshot_id"]), pts, dte_min=7, dte_max=180, target_sds=SDS)
    spec = WingModelSpec()
    models = fit_wing_models(feats, days, spec)
    n_fits = int((models["status"] == "ok").sum())
    t_fit = best_of(lambda: fit_wing_models(feats, days, spec), repeat=2)
    t_np = best_of(lambda: _numpy_reference(feats, days, spec), repeat=2)

    snap = ssvi_snapshot(seed=0)
    sb = build_surface(snap.quotes)
    day = pd.Timestamp(snap.quotes["trade_date"].iloc[0])
    spx = models[(models["underlying"] == "SPX") & (models["fit_date"] == models["fit_date"].max())]
    snap_models = spx.assign(fit_date=day)
    sv, cps = sb.strike_vols, sb.curve_params
    wing_theos(sv, cps, snap_models, target_sds=SDS)                  # warm up
    t_theo = best_of(lambda: wing_theos(sv, cps, snap_models, target_sds=SDS, dte_range=(7, 180)), repeat=5)
    t_curve = best_of(lambda: theo_curves(sv, cps, snap_models, target_sds=SDS), repeat=5)
    ok = np.isfinite(sv["iv_mid"].to_numpy(float))
    args = [sv[c].to_numpy(float)[ok] for c in ("forward", "strike", "tau", "iv_mid", "discount_factor")]
    call = sv["right"].to_numpy()[ok] == "C"
    t_ref = best_of(lambda: [black76_price(*args[:3], args[3] * s, args[4], call) for s in (1.0, 1.01, 0.99)],
                    repeat=5)
    n_opt = int(ok.sum())

    print(f"wing benchmark: history {len(days)} sessions x {feats['underlying'].nunique()} underlyings "
          f"({len(feats):,} feature rows); snapshot {n_opt:,} options with a mid vol, {len(cps)} expiries")
    print(f"{'task':52s} {'seconds':>8s} {'rate':>16s} {'x reference':>12s}")
    print(f"{'fit_wing_models, all fit dates (statsmodels OLS)':52s} {t_fit:8.3f} {n_fits / t_fit:12,.0f} fit/s "
          f"{t_fit / t_np:12.2f}")
    print(f"{'  reference: numpy lstsq, same windows':52s} {t_np:8.3f} {n_fits / t_np:12,.0f} fit/s {1.0:12.2f}")
    print(f"{'wing_theos, one 24k-quote snapshot':52s} {t_theo:8.4f} {n_opt / t_theo:12,.0f} opt/s "
          f"{t_theo / t_ref:12.2f}")
    print(f"{'theo_curves, same snapshot':52s} {t_curve:8.4f} {len(cps) / t_curve:10,.0f} curves/s "
          f"{t_curve / t_ref:12.2f}")
    print(f"{'  reference: 3 x black76_price on the same quotes':52s} {t_ref:8.4f} {3 * n_opt / t_ref:12,.0f} px/s "
          f"{1.0:12.2f}")
    print(f"theos within 0.2 s: {'ok' if t_theo < 0.2 else 'MISSED'} ({t_theo * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
