"""The warehouse: Parquet partitions under ``$VOLMACHINE_HOME/warehouse`` plus a DuckDB catalog of views.

Layout: ``warehouse/<table>/<key>=<value>/.../data.parquet`` (hive-style folders; the partition
columns are also stored inside each file, so readers never depend on folder parsing). Each table
folder also holds ``_schema.parquet`` (zero rows) so its view resolves before the first partition.

Guarantees
----------
* Atomic partition writes: a temporary file in the same folder, fsync, ``os.replace``, fsync of the
  folder. A writer killed mid-write leaves the previous ``data.parquet`` intact (and a ``.tmp``
  file that the next write of the table sweeps away).
* Idempotent: re-writing a partition replaces it.
* No long-held DuckDB write lock: computations read Parquet through in-memory DuckDB connections;
  the catalog file ``volmachine.duckdb`` only holds views (SQL from ``sql/``), refreshed in short
  transactions retried on lock conflicts. Two processes writing different partitions never meet.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from volmachine_pipeline.config import REPO_ROOT

SQL_DIR = REPO_ROOT / "sql"
CATALOG_NAME = "volmachine.duckdb"
_SAFE = re.compile(r"^[A-Za-z0-9_.:\-]+$")
_TABLE = re.compile(r"^[a-z][a-z0-9_]*$")


class WarehouseError(RuntimeError):
    """A warehouse operation failed (bad table or partition name, unreadable file, lock timeout)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, writer) -> None:
    """Write a file atomically: ``writer(tmp_path)`` fills a temp file beside ``path``, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        writer(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


class Warehouse:
    """Parquet warehouse rooted at ``home`` (``$VOLMACHINE_HOME``)."""

    def __init__(self, home: str | Path):
        self.home = Path(home).resolve()
        self.root = self.home / "warehouse"
        self.catalog_path = self.home / CATALOG_NAME

    # ----------------------------------------------------------------- paths
    def table_dir(self, table: str) -> Path:
        if not _TABLE.match(table):
            raise WarehouseError(f"bad table name {table!r}")
        return self.root / table

    def partition_path(self, table: str, partition: Mapping[str, object]) -> Path:
        parts = []
        for k, v in partition.items():
            s = str(v)
            if not _SAFE.match(s) or not _TABLE.match(k):
                raise WarehouseError(f"bad partition {k}={s!r} for table {table}")
            parts.append(f"{k}={s}")
        return self.table_dir(table).joinpath(*parts, "data.parquet")

    # ----------------------------------------------------------------- writes
    def write_partition(self, table: str, partition: Mapping[str, object],
                        df: pd.DataFrame | pa.Table) -> Path:
        """Atomically replace one partition of ``table`` with ``df`` (which may be empty)."""
        path = self.partition_path(table, partition)
        tbl = df if isinstance(df, pa.Table) else _to_arrow(df)
        atomic_write_bytes(path, lambda tmp: pq.write_table(tbl, tmp, compression="zstd"))
        self._ensure_schema(table, tbl.schema)
        return path

    def write_partitions(
        self, table: str, df: pd.DataFrame, by: list[str], all_partitions: Iterable[tuple] | None = None,
        drop_by: bool = False,
    ) -> list[Path]:
        """Split ``df`` by the columns ``by`` and write each group as a partition.

        ``all_partitions`` lists every partition this run owns (tuples in ``by`` order): those with
        no rows get an empty file, so re-materialising a partition that lost all rows replaces it.
        ``drop_by`` keeps the partition values in the folder names only (for raw vendor rows, whose
        own columns may carry the same names). The frame is converted to Arrow once and written as
        zero-copy slices, a few files at a time.
        """
        keys = pd.DataFrame({c: (df[c].dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(df[c])
                                 else df[c].astype(str)) for c in by}, index=df.index)
        order = np.lexsort([keys[c].to_numpy(dtype=str) for c in reversed(by)]) if len(df) else []
        data = df.iloc[order]
        keys = keys.iloc[order].reset_index(drop=True)
        tbl = _to_arrow(data.drop(columns=by) if drop_by else data)
        jobs: dict[tuple, pa.Table] = {}
        if len(keys):
            change = np.ones(len(keys), dtype=bool)
            change[1:] = (keys.iloc[1:].to_numpy() != keys.iloc[:-1].to_numpy()).any(axis=1)
            starts = np.flatnonzero(change)
            ends = np.append(starts[1:], len(keys))
            for a, b in zip(starts, ends, strict=True):
                jobs[tuple(keys.iloc[a])] = tbl.slice(int(a), int(b - a))
        for k in all_partitions or []:
            jobs.setdefault(tuple(str(x) for x in k), tbl.slice(0, 0))
        def write(item: tuple[tuple, pa.Table]) -> Path:
            return self.write_partition(table, dict(zip(by, item[0], strict=True)), item[1])

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(write, jobs.items()))

    def _ensure_schema(self, table: str, schema: pa.Schema) -> None:
        path = self.table_dir(table) / "_schema.parquet"
        if not path.exists():
            empty = schema.empty_table()
            atomic_write_bytes(path, lambda tmp: pq.write_table(empty, tmp))

    def sweep_temp_files(self, table: str, older_than_s: float = 3600.0) -> int:
        """Remove temp files left by killed writers (older than ``older_than_s``)."""
        n = 0
        now = time.time()
        for p in self.table_dir(table).rglob(".*.tmp"):
            if now - p.stat().st_mtime > older_than_s:
                p.unlink(missing_ok=True)
                n += 1
        return n

    # ----------------------------------------------------------------- reads
    def files(self, table: str, partitions: Iterable[Mapping[str, object]] | None = None) -> list[Path]:
        """Existing partition files of ``table`` (all, or the listed partitions)."""
        if partitions is None:
            d = self.table_dir(table)
            return sorted(p for p in d.rglob("data.parquet")) if d.exists() else []
        paths = [self.partition_path(table, p) for p in partitions]
        return [p for p in paths if p.exists()]

    def read(
        self,
        table: str,
        partitions: Iterable[Mapping[str, object]] | None = None,
        where: str | None = None,
        params: list | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Read partitions of ``table`` into a DataFrame through an in-memory DuckDB connection."""
        files = self.files(table, partitions)
        schema_file = self.table_dir(table) / "_schema.parquet"
        if not files:
            if schema_file.exists():
                df = pq.read_table(schema_file).to_pandas()
                return df[columns] if columns else df
            return pd.DataFrame(columns=columns or [])
        if where is None:  # plain read: pyarrow keeps the pandas dtypes the writer stored
            return _read_files(files, columns)
        sel = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = f"SELECT {sel} FROM read_parquet(?, union_by_name = true)"
        if where:
            sql += f" WHERE {where}"
        with duckdb.connect() as con:
            return con.execute(sql, [[str(f) for f in files], *(params or [])]).df()

    def count_rows(self, table: str, partitions: Iterable[Mapping[str, object]] | None = None) -> int:
        """Rows in the listed partitions (from the Parquet footers; no data is read)."""
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self.files(table, partitions))

    def partition_values(self, table: str, key: str) -> list[str]:
        """Distinct values of one partition key present in ``table`` (from the folder names)."""
        prefix = f"{key}="
        return sorted({part[len(prefix):] for f in self.files(table) for part in f.parent.parts
                       if part.startswith(prefix)})

    def read_with_partition(self, table: str, partitions: list[Mapping[str, object]]) -> pd.DataFrame:
        """Read the listed partitions, adding their values as ``_part_<name>`` columns (from the folders)."""
        pairs = [(self.partition_path(table, p), p) for p in partitions]
        pairs = [(f, p) for f, p in pairs if f.exists()]
        if not pairs:
            return self.read(table, [])
        with duckdb.connect() as con:
            df = con.execute("SELECT * FROM read_parquet(?, union_by_name = true, filename = true)",
                             [[str(f) for f, _ in pairs]]).df()
        lookup = pd.DataFrame([{"filename": str(f), **{f"_part_{k}": str(v) for k, v in p.items()}}
                               for f, p in pairs])
        return df.merge(lookup, on="filename", how="left").drop(columns="filename")

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run SQL over the views of ``sql/`` in an in-memory connection (no catalog lock)."""
        with duckdb.connect() as con:
            for name, body in self._views_in_order():
                if self._view_ready(name):
                    con.execute(body)
            return con.execute(sql, params or []).df()

    # ----------------------------------------------------------------- catalog
    def _view_sql(self) -> list[tuple[str, str]]:
        out = []
        for f in sorted(SQL_DIR.glob("*.sql")):
            body = f.read_text().replace("{warehouse}", self.root.as_posix())
            out.append((f.stem, body))
        return out

    def _views_in_order(self) -> list[tuple[str, str]]:
        """Base views (reading their own table) before derived ones that query other views."""
        return sorted(self._view_sql(), key=lambda nb: f"-- requires: {nb[0]}\n" not in nb[1])

    def _view_ready(self, name: str) -> bool:
        f = SQL_DIR / f"{name}.sql"
        m = re.search(r"^-- requires:(.*)$", f.read_text(), re.M) if f.exists() else None
        needs = m.group(1).split() if m else [name]
        return all((self.root / t / "_schema.parquet").exists() for t in needs)

    def refresh_catalog(self, attempts: int = 40, wait_s: float = 0.25, strict: bool = True,
                        only_missing: bool = False) -> list[str]:
        """(Re)create the catalog's views whose tables exist; retried briefly on a lock conflict.

        Returns the names of the views now defined. Views read Parquet globs (bound again at each query,
        ``union_by_name``), so once a view exists new partitions and new columns show without a refresh;
        ``only_missing`` creates just the views not in the catalog yet (what an asset needs after a write:
        recreating every view costs seconds, DuckDB reads each file's footer). With ``strict=False`` a
        catalog that stays locked (a user's read-write duckdb session) is reported by returning ``[]``
        instead of raising.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        # base views (reading their own table) before derived ones that query other views
        ready = [(n, b) for n, b in self._views_in_order() if self._view_ready(n)]
        last: Exception | None = None
        for i in range(attempts):
            try:
                with duckdb.connect(str(self.catalog_path)) as con:
                    todo = ready
                    if only_missing:
                        have = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() "
                                                          "WHERE NOT internal").fetchall()}
                        todo = [(n, b) for n, b in ready if n not in have]
                    con.execute("BEGIN TRANSACTION")
                    for _, body in todo:
                        con.execute(body)
                    con.execute("COMMIT")
                return [n for n, _ in ready]
            except duckdb.IOException as exc:  # lock held by another process (a run or a CLI user)
                last = exc
                time.sleep(wait_s * (1 + i % 4))
        if not strict:
            return []
        raise WarehouseError(f"catalog {self.catalog_path} stayed locked: {last}")


    def ensure_views(self, attempts: int = 20) -> list[str]:
        """After a write: create the catalog views that do not exist yet (never raises on a held lock)."""
        return self.refresh_catalog(attempts=attempts, strict=False, only_missing=True)


def _read_files(files: list[Path], columns: list[str] | None) -> pd.DataFrame:
    """Partition files as one DataFrame: one multi-threaded Arrow scan over the union of their schemas.

    Footers are read first so a column that only newer partitions have is kept (and filled with nulls
    for older ones); an empty partition's null-typed columns take the others' types. If the schemas
    cannot be unified, the files are read one by one and concatenated permissively.
    """
    paths = [str(f) for f in files]
    try:
        schema = pa.unify_schemas([pq.read_schema(p) for p in paths], promote_options="permissive")
        table = pads.dataset(paths, format="parquet", schema=schema).to_table(columns=columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        table = pa.concat_tables([pq.read_table(p, columns=columns) for p in paths], promote_options="permissive")
    return table.to_pandas()
