"""Warehouse guarantees: atomic, idempotent partition writes; concurrent writers; views in the catalog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from volmachine_pipeline.warehouse import Warehouse, WarehouseError, atomic_write_bytes


def _frame(n: int, value: float) -> pd.DataFrame:
    return pd.DataFrame({"trade_date": ["2025-01-02"] * n, "underlying": ["SPX"] * n,
                         "snapshot_id": ["2025-01-02T1545"] * n, "strike": np.arange(n, dtype=float),
                         "bid": np.full(n, value)})


def test_write_read_replace_is_idempotent(tmp_path):
    wh = Warehouse(tmp_path)
    part = {"trade_date": "2025-01-02", "underlying": "SPX"}
    wh.write_partition("option_quotes", part, _frame(10, 1.0))
    wh.write_partition("option_quotes", part, _frame(7, 2.0))   # re-materialise: replaces
    df = wh.read("option_quotes")
    assert len(df) == 7 and (df["bid"] == 2.0).all()
    p = wh.partition_path("option_quotes", part)
    assert p.parent.name == "underlying=SPX" and p.parent.parent.name == "trade_date=2025-01-02"
    assert not list(p.parent.glob(".*.tmp"))


def test_write_partitions_empties_owned_partitions(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write_partitions("t", _frame(5, 1.0), ["trade_date", "underlying"], [("2025-01-02", "SPX")])
    wh.write_partitions("t", _frame(0, 1.0), ["trade_date", "underlying"], [("2025-01-02", "SPX")])
    assert len(wh.read("t")) == 0 and len(wh.files("t")) == 1


@pytest.mark.parametrize("bad", ["../x", "a b", "x/y", ""])
def test_bad_partition_values_are_refused(tmp_path, bad):
    with pytest.raises(WarehouseError, match="bad partition"):
        Warehouse(tmp_path).partition_path("t", {"underlying": bad})


def test_catalog_views_answer_in_a_fresh_duckdb_session(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write_partition("underlying_bars", {"trade_date": "2025-01-02", "underlying": "SPX"},
                       pd.DataFrame({"trade_date": [pd.Timestamp("2025-01-02")], "underlying": ["SPX"],
                                     "open": [1.0], "high": [2.0], "low": [0.5], "close": [1.5],
                                     "volume": [10.0]}))
    views = wh.refresh_catalog()
    assert "underlying_bars" in views and "option_quotes" not in views
    with duckdb.connect(str(wh.catalog_path), read_only=True) as con:
        assert con.execute("select count(*) from underlying_bars").fetchone()[0] == 1
        tables = con.execute("select count(*) from duckdb_tables()").fetchone()[0]
    assert tables == 0  # the catalog holds views only


def test_refresh_retries_then_reports_a_locked_catalog(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write_partition("t", {"underlying": "SPX"}, _frame(1, 1.0))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time, sys
        con = duckdb.connect({str(wh.catalog_path)!r})
        print("locked", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert wh.refresh_catalog(attempts=2, wait_s=0.05, strict=False) == []
        with pytest.raises(WarehouseError, match="stayed locked"):
            wh.refresh_catalog(attempts=2, wait_s=0.05)
    finally:
        holder.kill()
        holder.wait()
    assert wh.refresh_catalog(attempts=40) == []  # lock released: works again (no sql view named t)


def test_killed_writer_leaves_previous_partition_intact(tmp_path):
    """A writer SIGKILLed in the middle of writing its temp file never damages the live partition."""
    wh = Warehouse(tmp_path)
    part = {"trade_date": "2025-01-02", "underlying": "SPX"}
    wh.write_partition("option_quotes", part, _frame(1000, 1.0))
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        import time, pathlib
        import pandas as pd, numpy as np, pyarrow as pa, pyarrow.parquet as pq
        from volmachine_pipeline.warehouse import Warehouse, atomic_write_bytes
        wh = Warehouse({str(tmp_path)!r})
        path = wh.partition_path("option_quotes", {part!r})
        tbl = pa.table({{"bid": np.full(2_000_000, 9.0)}})
        def slow_writer(tmp):
            with pq.ParquetWriter(tmp, tbl.schema) as w:
                w.write_table(tbl.slice(0, 1_000_000))
                pathlib.Path({str(ready)!r}).touch()
                time.sleep(60)
                w.write_table(tbl.slice(1_000_000))
        atomic_write_bytes(path, slow_writer)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 60
        while not ready.exists():
            assert proc.poll() is None, "writer died early"
            assert time.time() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    df = wh.read("option_quotes")
    assert len(df) == 1000 and (df["bid"] == 1.0).all()
    leftovers = list(wh.partition_path("option_quotes", part).parent.glob(".*.tmp"))
    assert leftovers, "the killed writer's temp file should be there to sweep"
    assert wh.sweep_temp_files("option_quotes", older_than_s=0) == len(leftovers)


def test_atomic_write_cleans_up_on_writer_error(tmp_path):
    target = tmp_path / "x" / "data.parquet"

    def boom(tmp):
        Path(tmp).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write_bytes(target, boom)
    assert not target.exists() and not list(target.parent.iterdir())


_WRITER = textwrap.dedent("""
    import sys, pandas as pd, numpy as np
    from volmachine_pipeline.warehouse import Warehouse
    home, und, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wh = Warehouse(home)
    for i in range(n):
        d = f"2025-01-{i + 1:02d}"
        df = pd.DataFrame({"trade_date": [d] * 200, "underlying": [und] * 200, "x": np.arange(200.0)})
        wh.write_partition("option_quotes", {"trade_date": d, "underlying": und}, df)
        wh.refresh_catalog(attempts=200, wait_s=0.02)
    print("done")
""")


def test_two_processes_write_different_partitions_concurrently(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), u, "25"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for u in ("SPX", "SPY")]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert out.strip() == "done"
    wh = Warehouse(tmp_path)
    df = wh.read("option_quotes")
    assert df.groupby("underlying").size().to_dict() == {"SPX": 25 * 200, "SPY": 25 * 200}
    with duckdb.connect(str(wh.catalog_path), read_only=True) as con:
        assert con.execute("select count(*) from option_quotes").fetchone()[0] == 2 * 25 * 200
    assert all(pq.read_table(f).num_rows == 200 for f in wh.files("option_quotes"))


def test_row_counts_and_partition_values_come_from_metadata(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write_partition("t", {"trade_date": "2025-01-03", "underlying": "SPX"}, _frame(7, 1.0))
    wh.write_partition("t", {"trade_date": "2025-01-02", "underlying": "SPY"}, _frame(3, 1.0))
    wh.write_partition("t", {"snapshot_key": "landed-abc"}, _frame(2, 1.0))
    assert wh.count_rows("t") == 12
    assert wh.count_rows("t", [{"trade_date": "2025-01-02", "underlying": "SPY"}]) == 3
    assert wh.count_rows("t", [{"trade_date": "2025-01-09", "underlying": "SPY"}]) == 0
    assert wh.partition_values("t", "trade_date") == ["2025-01-02", "2025-01-03"]
    assert wh.partition_values("t", "snapshot_key") == ["landed-abc"]
    assert wh.partition_values("missing", "trade_date") == []


def test_read_unifies_schemas_across_partitions(tmp_path):
    """A column only newer partitions carry is kept (nulls for older ones); an empty partition's
    untyped columns do not downgrade the others."""
    wh = Warehouse(tmp_path)
    wh.write_partition("t", {"d": "2025-01-02"}, pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]}))
    empty = pd.DataFrame({"a": pd.Series(dtype=object), "s": pd.Series(dtype=object)})
    wh.write_partition("t", {"d": "2025-01-03"}, empty)
    wh.write_partition("t", {"d": "2025-01-06"}, pd.DataFrame({"a": [3.0], "s": ["z"], "new": [7]}))
    out = wh.read("t").sort_values("a").reset_index(drop=True)
    assert out["a"].tolist() == [1.0, 2.0, 3.0] and out["s"].tolist() == ["x", "y", "z"]
    assert out["new"].isna().sum() == 2 and out["new"].iloc[2] == 7
    assert wh.read("t", columns=["s"]).shape == (3, 1)
