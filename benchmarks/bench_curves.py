"""Curve-fitting benchmark: ``fit_curves`` on a 24k-quote SSVI snapshot against QuantLib's SVI smile section.

Run: ``.venv/bin/python benchmarks/bench_curves.py [--expiries 40] [--strikes 300] [--repeat 5]``.

The snapshot (``volmachine_core.curves._testing.ssvi_snapshot``) is an arbitrage-free SSVI surface
(theta increasing, rho -0.6, power-law phi) on forwards from a rate curve with a dividend yield, calls and
puts at ``--strikes`` strikes per expiry (2 x strikes quotes a slice), ticked bid/ask around the truth.
Ours: all slice fits + butterfly/calendar checks + SD outputs (the whole ``fit_curves`` call).
QuantLib: ``ql.SviInterpolatedSmileSection`` (all five parameters free, vega weighted, default
Levenberg-Marquardt) calibrated on the same fitted points of every slice (construction + first ``volatility``
call, which triggers the calibration). The table also shows each method's vol RMSE against the truth inside
+-2 SD.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import QuantLib as ql  # noqa: N813 (the conventional alias)
from _timing import best_of

from volmachine_core.curves import curve_vol, fit_curves
from volmachine_core.curves._testing import ssvi_snapshot
from volmachine_core.curves.svi import svi_total_variance


def fitted_points(sv: pd.DataFrame) -> list[tuple]:
    """Per slice: (tau, forward, strikes, vols) of the OTM two-sided ok quotes (what fit_curves fits)."""
    use = sv["otm"] & (sv["iv_status"] == "ok") & sv["iv_mid"].notna() & sv["iv_bid"].notna()
    out = []
    for _, g in sv[use].groupby("expiry_ts", sort=True):
        g = g.sort_values("strike")
        out.append((float(g["tau"].iat[0]), float(g["forward"].iat[0]), g["strike"].to_numpy(float),
                    g["iv_mid"].to_numpy(float)))
    return out


def quantlib_fit(slices: list[tuple]) -> list:
    today = ql.Date(15, 3, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    out = []
    for tau, F, K, vols in slices:
        date = today + int(round(tau * 365))
        atm = float(np.interp(F, K, vols))
        theta = atm * atm * tau
        sec = ql.SviInterpolatedSmileSection(date, F, K.tolist(), False, atm, vols.tolist(), 0.5 * theta,
                                             0.1 * np.sqrt(theta), 0.1 * np.sqrt(theta) + 1e-3, -0.5, 0.0,
                                             False, False, False, False, False, True,
                                             ql.EndCriteria(1000, 100, 1e-8, 1e-8, 1e-8), ql.LevenbergMarquardt(),
                                             dc)
        sec.volatility(F)  # triggers the calibration
        out.append(sec)
    return out


def truth_error(vol_fn, truth: pd.DataFrame) -> tuple[float, float]:
    """Median and max |model - truth| in vol points over +-2 SD (41 points per slice)."""
    errs = []
    for i in range(len(truth)):
        sd = np.sqrt(truth["theta"].iat[i])
        k = np.linspace(-2.0, 2.0, 41) * sd
        tp = truth[["a", "b", "rho", "m", "sigma"]].iloc[i].to_numpy(float)
        tv = np.sqrt(svi_total_variance(k, *tp) / truth["tau"].iat[i])
        errs.append(np.abs(vol_fn(i, k) - tv) * 100.0)
    e = np.concatenate(errs)
    return float(np.median(e)), float(np.max(e))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--expiries", type=int, default=40)
    ap.add_argument("--strikes", type=int, default=300, help="strikes per expiry (quotes = 2 x strikes)")
    ap.add_argument("--spot", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    sv, truth = ssvi_snapshot(n_expiries=args.expiries, n_strikes=args.strikes, spot=args.spot)
    t0 = time.perf_counter()
    res = fit_curves(sv)  # JIT warm-up (numba cache) on the first call
    warm = time.perf_counter() - t0
    ours = best_of(lambda: fit_curves(sv), args.repeat)
    slices = fitted_points(sv)
    ql_t = best_of(lambda: quantlib_fit(slices), max(1, args.repeat // 2))
    secs = quantlib_fit(slices)
    n = len(slices)
    cp = res.curve_params
    ours_err = truth_error(lambda i, k: curve_vol(cp.iloc[i], k), truth)
    ql_err = truth_error(lambda i, k: np.array([secs[i].volatility(float(slices[i][1] * np.exp(x))) for x in k]),
                         truth)
    pts = sum(len(s[2]) for s in slices)
    print(f"snapshot: {len(sv)} quotes, {n} expiries, {pts} fitted points ({pts / n:.0f} a slice)")
    print(f"first call (incl. JIT/cache load): {warm * 1e3:.1f} ms")
    print(f"{'method':<44}{'total ms':>10}{'ms/slice':>10}{'med err vp':>12}{'max err vp':>12}")
    print(f"{'volmachine fit_curves (fit+arb+SD outputs)':<44}{ours * 1e3:>10.1f}{ours * 1e3 / n:>10.3f}"
          f"{ours_err[0]:>12.4f}{ours_err[1]:>12.4f}")
    print(f"{'QuantLib SviInterpolatedSmileSection':<44}{ql_t * 1e3:>10.1f}{ql_t * 1e3 / n:>10.3f}"
          f"{ql_err[0]:>12.4f}{ql_err[1]:>12.4f}")
    ratio = ours / ql_t
    print(f"ratio ours / QuantLib: {ratio:.2f}x (target <= 5x)   statuses: {cp['status'].value_counts().to_dict()}"
          f"   arb_free: {int(cp['arb_free'].sum())}/{len(cp)}")


if __name__ == "__main__":
    main()
