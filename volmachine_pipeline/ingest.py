"""Ingest plumbing shared by the assets, the landing sensor and the CLI: files in, raw partitions out.

Raw rows are kept exactly as received (every vendor column as text) plus ``source_file`` (path
relative to ``$VOLMACHINE_HOME`` when the file lives there), ``source_row`` (1-based data row),
``ingested_at`` and ``file_hash``. Cleaning is one core call (`volmachine_core.market.clean`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from volmachine_pipeline.ingest_io import read_raw_file
from volmachine_pipeline.warehouse import atomic_write_bytes

RAW_META_COLUMNS = ["source_file", "source_row", "ingested_at", "file_hash"]


def source_name(home: Path, path: Path) -> str:
    """How a file is named in ``source_file``: relative to the home folder when inside it."""
    try:
        return path.resolve().relative_to(home).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def raw_rows(home: Path, path: Path, ingested_at: pd.Timestamp | None = None):
    """Read one vendor file as text; returns (raw DataFrame with meta columns, RawFile)."""
    rf = read_raw_file(path)
    df = rf.frame.copy()
    df["source_file"] = source_name(home, path)
    df["ingested_at"] = ingested_at if ingested_at is not None else pd.Timestamp.now(tz="UTC")
    df["file_hash"] = rf.file_hash
    vendor = [c for c in df.columns if c not in RAW_META_COLUMNS]
    return df[RAW_META_COLUMNS + vendor], rf


def vendor_columns(raw: pd.DataFrame) -> pd.DataFrame:
    """The vendor columns of raw rows plus ``source_row`` and ``source_file`` (what `clean_quotes` takes)."""
    drop = [c for c in ("ingested_at", "file_hash") if c in raw.columns] + [
        c for c in raw.columns if c.startswith("_part_")]
    out = raw.drop(columns=drop)
    # columns a file did not have come back as all-null after union_by_name: drop them
    empty = [c for c in out.columns if c not in ("source_row", "source_file") and out[c].isna().all()]
    return out.drop(columns=empty)


def land_vendor_files(home: Path, rows: pd.DataFrame, group_by: list[str], names: list[str],
                      path_for: Callable[[Path, tuple], Path], threads: int = 2) -> pd.DataFrame:
    """Write each group of vendor-layout ``rows`` as a vendor file and read it back as raw rows.

    This is how a market source "delivers" files: the simulator's frames go through the same bytes
    and the same reader as a vendor's. Groups (e.g. date x underlying) are written and read on a few
    threads (pyarrow releases the GIL). The group's key values are added as columns ``names``.
    """
    now = pd.Timestamp.now(tz="UTC")

    def one(item: tuple[tuple, pd.DataFrame]) -> pd.DataFrame:
        key, chunk = item
        raw, _ = raw_rows(home, write_vendor_csv(chunk, path_for(home, key)), now)
        return raw.assign(**{f"_k{i}": str(v) for i, v in enumerate(key)})

    groups = [((k if isinstance(k, tuple) else (k,)), g) for k, g in rows.groupby(group_by, sort=True)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        frames = list(pool.map(one, groups))
    raw = pd.concat(frames, ignore_index=True)
    return raw.rename(columns={f"_k{i}": n for i, n in enumerate(names)})


def write_vendor_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write a vendor-layout frame as CSV atomically (floats in shortest round-trip form, NaN empty)."""
    tbl = pa.Table.from_pandas(df, preserve_index=False)
    atomic_write_bytes(path, lambda tmp: pacsv.write_csv(
        tbl, tmp, pacsv.WriteOptions(quoting_style="needed")))
    return path
