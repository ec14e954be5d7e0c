"""Ingest speed: read + normalise a large Cboe EOD CSV (rows/s), against pyarrow's bare CSV read.

Run: .venv/bin/python benchmarks/bench_ingest.py [--copies N]
The file is the recorded SPXW 2019 chain (../shared/data) tiled N times (default 100: ~1M rows), each copy
dated one calendar day earlier so that every copy is its own clean snapshot.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv

from volmachine_core.market.clean import clean_quotes
from volmachine_pipeline.ingest_io import read_raw_file

SRC = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "spxw_2019-06-26_cboe_eod_1545.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=100)
    args = ap.parse_args()
    lines = SRC.read_text(encoding="utf-8-sig").splitlines()
    with tempfile.TemporaryDirectory() as d:
        big = Path(d) / "spxw_big.csv"
        body = "\n".join(lines[1:])
        start = pd.Timestamp("2019-06-26")
        copies = [body.replace("2019-06-26,", f"{(start - pd.Timedelta(days=i)).date()},")
                  for i in range(args.copies)]
        big.write_text("\n".join([lines[0], *copies]) + "\n")
        t = time.perf_counter()
        ref = pacsv.read_csv(big)
        t_ref = time.perf_counter() - t
        t = time.perf_counter()
        rf = read_raw_file(big)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        res = clean_quotes(rf.frame.assign(source_file=big.name), options={"underlying": "SPX", "root": "SPXW"})
        t_norm = time.perf_counter() - t
    n = ref.num_rows
    print(f"ingest benchmark: {n:,} rows ({args.copies} x the SPXW 2019 chain); "
          f"{len(res.clean):,} clean, {len(res.quarantine):,} quarantined")
    print(f"{'stage':34s} {'seconds':>8s} {'rows/s':>12s} {'x pyarrow read':>15s}")
    for name, sec in (("pyarrow.csv.read_csv (reference)", t_ref), ("read_raw_file (text, hash)", t_read),
                      ("clean_quotes (normalise+checks)", t_norm), ("read + clean", t_read + t_norm)):
        print(f"{name:34s} {sec:8.2f} {n / sec:12,.0f} {sec / t_ref:15.1f}")


if __name__ == "__main__":
    main()
