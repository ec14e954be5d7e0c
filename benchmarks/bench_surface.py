"""build_surface speed: a 24k-quote SPX-like snapshot end to end and per stage, against QuantLib's SVI fit.

Run: .venv/bin/python benchmarks/bench_surface.py
The snapshot is `volmachine_core.market.synthetic.ssvi_snapshot` (44 expiries, ~24k quotes, ticked bid/ask).
Reference measured in the same run: QuantLib `SviInterpolatedSmileSection` fitting the same slices (fit only).
Target: the whole snapshot (forwards, three IVs per quote, fits with arbitrage checks, SD outputs) within 5x
QuantLib's fit-only time; 100k quotes (several snapshots) scale linearly.
"""

from __future__ import annotations

import pandas as pd
from _timing import best_of
from bench_curves import fitted_points, quantlib_fit  # the same QuantLib harness

from volmachine_core.market.synthetic import ssvi_snapshot
from volmachine_core.surface import build_surface


def main() -> None:
    snap = ssvi_snapshot(seed=0)
    quotes = snap.quotes
    build_surface(quotes)                                   # warm the numba caches
    sb = build_surface(quotes)
    t_all = best_of(lambda: build_surface(quotes), repeat=3)
    slices = fitted_points(sb.strike_vols)
    t_ql = best_of(lambda: quantlib_fit(slices), repeat=2)
    # ~100k quotes: four snapshots of the same market at other times
    many = pd.concat([quotes.assign(snapshot_id=quotes["snapshot_id"] + f"-{i}",
                                    quote_ts=quotes["quote_ts"] + pd.Timedelta(minutes=30 * i)) for i in range(4)],
                     ignore_index=True)
    t_many = best_of(lambda: build_surface(many), repeat=1)
    n = len(quotes)
    print(f"surface benchmark: {n:,} quotes, {len(sb.curve_params)} expiries "
          f"({len(slices)} slices fitted by QuantLib on the same points)")
    print(f"{'stage':44s} {'seconds':>8s} {'quotes/s':>12s} {'x QuantLib fit':>15s}")
    for stage, sec in sb.timings.items():
        print(f"{'  ' + stage:44s} {sec:8.4f} {n / sec:12,.0f} {sec / t_ql:15.2f}")
    print(f"{'build_surface, whole snapshot':44s} {t_all:8.4f} {n / t_all:12,.0f} {t_all / t_ql:15.2f}")
    print(f"{'QuantLib SviInterpolatedSmileSection (fit only)':44s} {t_ql:8.4f} {'':12s} {1.0:15.2f}")
    print(f"{'build_surface, 4 snapshots (' + format(len(many), ',') + ' quotes)':44s} {t_many:8.4f} "
          f"{len(many) / t_many:12,.0f} {t_many / t_ql:15.2f}")
    print(f"whole snapshot within 5x QuantLib's fit-only time: {'ok' if t_all <= 5 * t_ql else 'MISSED'} "
          f"({t_all / t_ql:.2f}x); scaling 4x quotes costs {t_many / t_all:.2f}x time")


if __name__ == "__main__":
    main()
