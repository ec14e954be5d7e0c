"""Reading a landed quote file into a text table, exactly as received.

Supported containers: ``.csv`` (any other suffix is read as CSV too), ``.csv.gz`` / ``.gz``,
``.zip`` holding exactly one CSV, and ``.parquet``. Every column is read as text with pyarrow's
CSV reader (no type inference, no null conversion: an empty field stays ``""``), header names
keep their case but lose a UTF-8 byte-order mark and surrounding whitespace. Parquet columns are
cast to text (nulls stay null). A 1-based ``source_row`` (data row, header excluded) is added.

The header is validated against the known vendor formats
(:func:`volmachine_core.market.vendor.detect_format`) before anything else happens, so a file
that cannot be ingested at all fails here with a one-line
:class:`~volmachine_core.market.vendor.VendorFormatError` naming the file and the column.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from volmachine_core.market.vendor import VendorFormatError, detect_format, vendor_error

__all__ = ["RawFile", "VendorFormatError", "read_raw_file", "read_raw_bytes"]

_TEXT = pd.StringDtype("pyarrow")
_SNIFF = 64 * 1024


@dataclass(frozen=True)
class RawFile:
    """One landed file read as text.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every column as text (``string[pyarrow]``) exactly as in the file, header names with BOM and
        surrounding whitespace stripped, plus ``source_row`` (int64, 1-based data row).
    file_hash : str
        sha256 hex digest of the file's bytes (the container as stored, e.g. the .zip).
    n_rows : int
        Number of data rows.
    path : pathlib.Path
        The file read.
    format_name : str
        The vendor format its header matched.
    """

    frame: pd.DataFrame
    file_hash: str
    n_rows: int
    path: Path
    format_name: str


def read_raw_file(path: str | Path) -> RawFile:
    """Read a landed quote file (CSV, .csv.gz, .zip with one CSV, Parquet) as text.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    RawFile

    Raises
    ------
    VendorFormatError
        The file cannot be read at all: empty, binary / not UTF-8 text, a ragged or unterminated
        row, wrong delimiter, a blank or duplicated header name, a header no vendor format
        matches or that lacks a required column. The message is one line naming the file.
    FileNotFoundError
        ``path`` does not exist.
    """
    p = Path(path)
    data = p.read_bytes()
    return read_raw_bytes(data, name=str(p), path=p)


def read_raw_bytes(data: bytes, *, name: str, path: Path | None = None) -> RawFile:
    """:func:`read_raw_file` for bytes already in memory; ``name`` decides the container by its suffix."""
    file_hash = hashlib.sha256(data).hexdigest()
    lower = name.lower()
    if lower.endswith(".parquet") or lower.endswith(".pq"):
        frame = _read_parquet(data, name)
    else:
        if lower.endswith(".zip"):
            data = _unzip(data, name)
        elif lower.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise vendor_error("binary", name, why=f"bad gzip data: {exc}") from None
        frame = _read_csv(data, name)
    fmt = detect_format([c for c in frame.columns if c != "source_row"], source_file=name)
    return RawFile(frame=frame, file_hash=file_hash, n_rows=len(frame), path=Path(path or name),
                   format_name=fmt.name)


def _unzip(data: bytes, name: str) -> bytes:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise vendor_error("binary", name, why=f"bad zip archive: {exc}") from None
    with zf:
        members = [i for i in zf.infolist()
                   if not i.is_dir() and not i.filename.startswith("__MACOSX/")
                   and not i.filename.rsplit("/", 1)[-1].startswith(".")]
        if len(members) != 1 or not members[0].filename.lower().endswith((".csv", ".txt")):
            raise vendor_error("zip_members", name, members=[m.filename for m in members] or "none")
        return zf.read(members[0])


def _clean_names(names: list[str], name: str) -> list[str]:
    out = [str(c).replace("\ufeff", "").strip() for c in names]
    seen: dict[str, int] = {}
    for i, c in enumerate(out):
        if not c:
            raise vendor_error("empty_header_name", name, position=i + 1)
        seen[c.lower()] = seen.get(c.lower(), 0) + 1
    for c, k in seen.items():
        if k > 1:
            raise vendor_error("duplicate_header", name, column=c, count=k)
    if "source_row" in seen:
        raise vendor_error("duplicate_header", name, column="source_row", count=2)
    return out


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body.strip():
        raise vendor_error("empty_file", name)
    head = body[:_SNIFF]
    if b"\x00" in head:
        raise vendor_error("binary", name, why="NUL bytes")
    try:
        first = head.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise vendor_error("binary", name, why="header is not UTF-8 text") from None
    parse = pacsv.ParseOptions(delimiter=",", newlines_in_values=False)
    try:
        # the header line twice: pyarrow takes the first as names and keeps them verbatim
        line = (first + "\n").encode("utf-8")
        raw_names = pacsv.read_csv(io.BytesIO(line + line), parse_options=parse).column_names
    except pa.ArrowInvalid as exc:
        raise vendor_error("unreadable", name, why=_one_line(exc)) from None
    if len(raw_names) == 1:
        for delim in (";", "\t", "|"):
            if delim in raw_names[0]:
                raise vendor_error("wrong_delimiter", name, delim=delim, header=raw_names[0][:80])
    names = _clean_names(raw_names, name)
    gen = [f"c{i}" for i in range(len(names))]
    ragged: list[str] = []

    def on_invalid(row) -> str:  # called by pyarrow for malformed rows only
        line = f"line {row.number}: " if row.number is not None else ""
        ragged.append(f"{line}expected {row.expected_columns} fields, got {row.actual_columns}: "
                      f"{(row.text or '')[:80]!r}")
        return "error"

    parse_rows = pacsv.ParseOptions(delimiter=",", newlines_in_values=False, invalid_row_handler=on_invalid)
    try:
        tbl = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=gen, skip_rows=1, block_size=16 << 20),
            parse_options=parse_rows,
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in gen}, null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        why = ragged[0] if ragged else re.sub(
            r"column #(\d+)", lambda m: f"column {names[int(m.group(1))]!r}" if int(m.group(1)) < len(names)
            else m.group(0), _one_line(exc))
        raise vendor_error("unreadable", name, why=why) from None
    frame = tbl.rename_columns(names).to_pandas(types_mapper={pa.string(): _TEXT}.get)
    frame["source_row"] = pd.RangeIndex(1, len(frame) + 1).to_numpy(dtype="int64")
    return frame


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    try:
        tbl = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise vendor_error("binary", name, why=f"not a readable Parquet file: {_one_line(exc)}") from None
    names = _clean_names(tbl.column_names, name)
    cols = []
    for field, col in zip(tbl.schema, tbl.columns, strict=True):
        try:
            cols.append(col.cast(pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise vendor_error("parquet_column", name, column=field.name, type=str(field.type)) from None
    frame = pa.table(cols, names=names).to_pandas(types_mapper={pa.string(): _TEXT}.get)
    frame["source_row"] = pd.RangeIndex(1, len(frame) + 1).to_numpy(dtype="int64")
    return frame


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
