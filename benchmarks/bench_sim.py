"""Simulator speed: a year of end-of-day chains for the default universe, and intraday snapshots.

Run: .venv/bin/python benchmarks/bench_sim.py
Reference in the same run: writing the same rows as CSV with pyarrow (what the pipeline does next).
"""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pyarrow.csv as pacsv

from volmachine_core.market.sim import SimConfig, SimMarket, default_universe


def main() -> None:
    t = time.perf_counter()
    m = SimMarket(SimConfig(seed=7, origin="2024-01-02", underlyings=default_universe()), end="2024-12-31")
    t_init = time.perf_counter() - t
    days = list(m.sessions)
    t = time.perf_counter()
    chains = m.eod_chains(days, m.underlyings)
    t_year = time.perf_counter() - t
    t = time.perf_counter()
    buf = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(chains, preserve_index=False), buf)
    t_csv = time.perf_counter() - t
    d = days[100]
    t = time.perf_counter()
    n_intra = sum(len(m.intraday_chain(d, u, tm)) for u in m.underlyings for tm in m.intraday_times(d))
    t_intra = time.perf_counter() - t
    n = len(chains)
    print(f"simulator benchmark: {len(days)} sessions x {len(m.underlyings)} underlyings")
    print(f"{'stage':40s} {'seconds':>8s} {'rows':>11s} {'rows/s':>11s}")
    print(f"{'paths and calendar (origin..end)':40s} {t_init:8.2f}")
    print(f"{'EOD chains, one year':40s} {t_year:8.2f} {n:11,d} {n / t_year:11,.0f}")
    print(f"{'per session (all underlyings)':40s} {t_year / len(days):8.3f}")
    print(f"{'intraday day (all snapshots, all und.)':40s} {t_intra:8.2f} {n_intra:11,d} {n_intra / t_intra:11,.0f}")
    print(f"{'reference: pyarrow CSV write of a year':40s} {t_csv:8.2f} {n:11,d} {n / t_csv:11,.0f}")
    print(f"ratio simulate / CSV write: {t_year / t_csv:.1f}")


if __name__ == "__main__":
    main()
