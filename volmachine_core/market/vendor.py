"""Vendor quote formats: detection from the header, typed normalisation to the clean quote schema.

Pure: takes a table that was already read as text (see ``volmachine_pipeline.ingest_io``) and returns
clean quotes (exactly :data:`~volmachine_core.market.schema.CLEAN_QUOTE_COLUMNS`) and quarantined rows
(exactly :data:`~volmachine_core.market.schema.QUARANTINE_COLUMNS`). Every raw row ends up in exactly
one of the two. No file I/O, no Dagster.

Header matching is case-insensitive and tolerant of surrounding whitespace and a UTF-8 byte-order
mark. Values are trimmed; an empty (or whitespace-only) value is missing. Numbers are plain decimals
(``12``, ``-0.5``, ``1e3``); anything else (``1,234``, ``nan``, ``inf``, text) is *unparseable*.
Dates are ``YYYY-MM-DD`` or ``MM/DD/YYYY``. Option types ``C``/``P``/``call``/``put`` (any case).
Underlying and root symbols are upper-cased and a leading ``^`` (Cboe's ``^SPX``) is dropped.

Formats (:data:`FORMATS`; detected by :func:`detect_format`)
--------------------------------------------------------------
``cboe_eod_summary``
    Cboe DataShop "Option EOD Summary": ``underlying_symbol, quote_date, root, expiration, strike,
    option_type, ..., bid_size_1545, bid_1545, ask_size_1545, ask_1545, underlying_bid_1545,
    underlying_ask_1545, [implied_underlying_price_1545, active_underlying_price_1545, greeks],
    ..., trade_volume, open_interest, ...``. The 15:45 fields are the quote: ``quote_ts`` is
    ``quote_date`` 15:45 New York. With or without the calculated columns, and the cut-down export
    without ``underlying_symbol``/``root`` (then the caller must pass ``underlying`` and ``root``:
    CLI ``--underlying/--root``). Underlying price: mid of ``underlying_bid_1545/underlying_ask_1545``,
    else ``active_underlying_price_1545``.
``cboe_option_quotes``
    Cboe DataShop "Option Quotes" (intervals): ``underlying_symbol, quote_datetime, root,
    expiration, strike, option_type, open, high, low, close, trade_volume, bid_size, bid, ask_size,
    ask, underlying_bid, underlying_ask, [open_interest], [calc columns]``. ``quote_datetime`` is
    New York time. The embedded simulator writes this layout (the pipeline passes ``source='sim'``).
    Underlying price: mid of ``underlying_bid/underlying_ask``, else ``active_underlying_price``.
``cboe_delayed_chain``
    Long-format Cboe delayed chain: ``quote_datetime`` (New York), ``underlying, underlying_price,
    root, [cboe_symbol], option_type, strike, [expiry_symbol_date], settlement_date, [settlement],
    bid, ask, [last, net_change], volume, open_interest``. The expiry is ``settlement_date`` (the
    real settlement day); the ``settlement`` column (AM/PM) overrides the root-based style.
``daily_quote_bars``
    Daily bid/ask bars (AlgoSeek/QuantConnect style, the GOOG sample): ``quote_date, underlying,
    underlying_open..underlying_close, underlying_volume, expiration, option_type, strike, [style],
    bid_open..bid_close, bid_size, ask_open..ask_close, ask_size, trade_*, volume, open_interest``.
    The quote is the close of the bars: ``quote_ts`` is the XNYS session close of ``quote_date``
    (13:00 New York on half days), bid/ask are ``bid_close/ask_close``, underlying price is
    ``underlying_close``. An empty bid means no bid and reads as 0. Root = underlying.
``generic``
    The documented generic schema (CSV or Parquet), one row per option quote:

    ================  ========  ==============================================================
    column            required  meaning
    ================  ========  ==============================================================
    underlying        yes       underlying symbol (``SPX``)
    quote_ts          yes       quote time, ISO 8601 (``2019-06-26 15:45:00``,
                                ``2019-06-26T19:45:00Z``, ``...-04:00``); without a zone it is
                                New York time. A time of day is required.
    expiry            yes       expiration date (``YYYY-MM-DD`` or ``MM/DD/YYYY``)
    strike            yes       strike, price units of the underlying
    right             yes       ``C``/``P`` (or ``call``/``put``)
    bid, ask          yes       best bid and offer, per unit of underlying (bid 0 = no bid)
    root              no        option root (default: the underlying); sets the settlement
                                style (SPX, NDX, RUT... AM; everything else PM)
    settlement        no        ``AM``/``PM``, overrides the root (empty: from the root)
    bid_size          no        contracts at the bid
    ask_size          no        contracts at the offer
    volume            no        contracts traded
    open_interest     no        open interest, contracts
    underlying_price  no        underlying price at quote time (rows without one are
                                quarantined as ``bad_underlying_price``)
    multiplier        no        units of underlying per contract (default 100)
    ================  ========  ==============================================================

Normalisation
-------------
``expiry_ts`` = :func:`volmachine_core.conventions.expiry_timestamp` of the expiry with the
settlement style from the root (SPX AM, SPXW PM...) unless the file has a settlement column.
``trade_date`` = New York date of ``quote_ts``; ``snapshot_id`` from
:func:`~volmachine_core.market.schema.snapshot_id_from_ts`; ``multiplier`` = the ``multiplier``
argument, else the file's column, else 100; ``source`` = the ``source`` argument, else the format
name. A caller-supplied ``underlying``/``root`` overrides the file's column.

Quarantine
----------
Row problems found while parsing (``missing_field``, ``unparseable``, ``bad_right``) and the value
checks of :mod:`volmachine_core.market.quality` are combined; the row's reason is the first by
:data:`~volmachine_core.market.quality.ROW_CHECK_PRIORITY` and ``detail`` lists them all, e.g.
``"unparseable: bid_1545='1.2.3'; crossed: ..."``. Rows that pass are then checked for duplicate
contracts within the file (:func:`~volmachine_core.market.quality.flag_duplicates`, first by
``source_row`` kept). Cross-snapshot checks (stale quotes) are the pipeline's, with
:func:`~volmachine_core.market.quality.flag_stale` and
:func:`~volmachine_core.market.quality.split_quarantine`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from volmachine_core import conventions
from volmachine_core.market import quality
from volmachine_core.market.schema import (
    CLEAN_QUOTE_COLUMNS,
    QUARANTINE_COLUMNS,
    ReasonCode,
    conform,
    empty_frame,
    snapshot_id_from_ts,
)

__all__ = [
    "DEFAULT_MULTIPLIER",
    "FORMATS",
    "MESSAGES",
    "META_COLUMNS",
    "NormalisedQuotes",
    "VendorFormat",
    "VendorFormatError",
    "detect_format",
    "normalise",
    "normalise_header",
    "vendor_error",
]

DEFAULT_MULTIPLIER = 100.0

#: Columns the pipeline adds to a raw table; never vendor columns, ignored by detection.
META_COLUMNS = frozenset({"source_row", "source_file", "ingested_at", "file_hash", "snapshot_key"})

# --------------------------------------------------------------------------------------------
# Errors (every file-level message lives here, so tests and the CLI can match them)
# --------------------------------------------------------------------------------------------

#: File-level error texts, ``str.format`` templates; ``{file}`` is always the file's name.
MESSAGES: dict[str, str] = {
    "empty_file": "{file}: empty file (no header line)",
    "binary": "{file}: not a text CSV file ({why})",
    "unreadable": "{file}: cannot be read as CSV: {why}",
    "unsupported_kind": "{file}: unsupported file type {kind!r} (expected .csv, .csv.gz, .zip or .parquet)",
    "zip_members": "{file}: a .zip must hold exactly one CSV file, found {members}",
    "wrong_delimiter": "{file}: header is one column containing {delim!r} - wrong delimiter? quote files "
                       "must be comma-separated (header: {header!r})",
    "empty_header_name": "{file}: header column {position} has no name",
    "duplicate_header": "{file}: ambiguous header: column {column!r} appears {count} times",
    "parquet_column": "{file}: column {column!r} of type {type} cannot be read as text",
    "unknown_header": "{file}: unrecognised quote file header (columns: {columns}); expected one of the "
                      "formats {formats} (see volmachine_core.market.vendor)",
    "missing_columns": "{file}: {format} file is missing required column(s) {columns}",
    "needs_caller": "{file}: {format} file has no {column!r} column and none was given: pass "
                    "--underlying/--root (e.g. --underlying SPX --root SPXW)",
    "no_source_row": "{file}: raw table has no 'source_row' column (read files with "
                     "volmachine_pipeline.ingest_io.read_raw_file)",
    "bad_multiplier": "{file}: multiplier must be a positive number, got {value!r}",
}


class VendorFormatError(ValueError):
    """A quote file that cannot be ingested at all. The message is one line naming the file and column(s)."""


def vendor_error(key: str, file: str, **kw: object) -> VendorFormatError:
    """Build the :class:`VendorFormatError` for message ``key`` of :data:`MESSAGES` (one line)."""
    text = MESSAGES[key].format(file=file, **kw)
    return VendorFormatError(text.replace("\r", " ").replace("\n", " "))


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------

#: Canonical fields and how each is typed.
_TEXT_FIELDS = ("underlying", "root", "settlement", "right")
_NUM_FIELDS = ("strike", "bid", "ask", "bid_size", "ask_size", "volume", "open_interest",
               "underlying_bid", "underlying_ask", "underlying_last", "multiplier")
_DATE_FIELDS = ("quote_date", "expiry")
_TS_FIELDS = ("quote_ts",)


@dataclass(frozen=True)
class VendorFormat:
    """A vendor layout: which columns hold which canonical field, and how the quote time is formed.

    Attributes
    ----------
    name : str
        Format name (also the default ``source`` of its clean rows).
    fields : Mapping[str, tuple[str, ...]]
        Canonical field -> accepted vendor column names (lower case, first present wins).
    required : tuple[str, ...]
        Fields whose column must be in the header.
    caller_fields : tuple[str, ...]
        Fields (``underlying``, ``root``) whose column may be absent if the caller supplies the value.
    row_required : tuple[str, ...]
        Fields whose empty value quarantines the row as ``missing_field``.
    markers : frozenset[str]
        Vendor columns typical of the format (used to pick among candidates).
    quote_time : str
        ``'local_1545'`` (quote_date at 15:45 New York), ``'session_close'`` (XNYS close of
        quote_date) or ``'timestamp'`` (quote_ts: ISO, New York unless zoned).
    empty_bid_is_zero : bool
        An empty bid means "no bid" (0) rather than a missing value.
    root_default_underlying : bool
        Without a root column (or with an empty root), root = underlying.
    column_map : Mapping[str, str]
        After detection: canonical field -> the column name as it appears in the raw table.
    """

    name: str
    fields: Mapping[str, tuple[str, ...]] = field(hash=False)
    required: tuple[str, ...]
    caller_fields: tuple[str, ...]
    row_required: tuple[str, ...]
    markers: frozenset[str]
    quote_time: str
    empty_bid_is_zero: bool = False
    root_default_underlying: bool = False
    column_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def column(self, fld: str) -> str:
        """The vendor column holding ``fld``: the mapped raw name, else the format's primary name."""
        return self.column_map.get(fld) or self.fields[fld][0]


def _fmt(name: str, fields: dict[str, str | tuple[str, ...]], **kw) -> VendorFormat:
    fx = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in fields.items()}
    return VendorFormat(name=name, fields=MappingProxyType(fx), **kw)


_ROW_REQ_TS = ("quote_ts", "underlying", "root", "expiry", "strike", "right", "bid", "ask")
_ROW_REQ_DATE = ("quote_date", "underlying", "root", "expiry", "strike", "right", "bid", "ask")

#: All known formats, in detection preference order.
FORMATS: tuple[VendorFormat, ...] = (
    _fmt("cboe_eod_summary", {
        "underlying": "underlying_symbol", "root": "root", "quote_date": "quote_date", "expiry": "expiration",
        "strike": "strike", "right": "option_type", "bid": "bid_1545", "ask": "ask_1545",
        "bid_size": "bid_size_1545", "ask_size": "ask_size_1545", "volume": "trade_volume",
        "open_interest": "open_interest", "underlying_bid": "underlying_bid_1545",
        "underlying_ask": "underlying_ask_1545", "underlying_last": "active_underlying_price_1545"},
        required=("quote_date", "expiry", "strike", "right", "bid", "ask",
                  "underlying_bid", "underlying_ask"),
        caller_fields=("underlying", "root"), row_required=_ROW_REQ_DATE,
        markers=frozenset({"bid_1545", "ask_1545", "underlying_bid_1545", "underlying_ask_1545",
                           "bid_eod", "ask_eod", "bid_size_1545", "ask_size_1545"}),
        quote_time="local_1545"),
    _fmt("cboe_option_quotes", {
        "underlying": "underlying_symbol", "root": "root", "quote_ts": "quote_datetime",
        "expiry": "expiration",
        "strike": "strike", "right": "option_type", "bid": "bid", "ask": "ask", "bid_size": "bid_size",
        "ask_size": "ask_size", "volume": "trade_volume", "open_interest": "open_interest",
        "underlying_bid": "underlying_bid", "underlying_ask": "underlying_ask",
        "underlying_last": "active_underlying_price"},
        required=("quote_ts", "expiry", "strike", "right", "bid", "ask", "underlying_bid", "underlying_ask"),
        caller_fields=("underlying", "root"), row_required=_ROW_REQ_TS,
        markers=frozenset({"quote_datetime", "underlying_bid", "underlying_ask", "underlying_symbol"}),
        quote_time="timestamp"),
    _fmt("cboe_delayed_chain", {
        "underlying": "underlying", "root": "root", "quote_ts": "quote_datetime", "expiry": "settlement_date",
        "strike": "strike", "right": "option_type", "bid": "bid", "ask": "ask", "volume": "volume",
        "open_interest": "open_interest", "underlying_last": "underlying_price", "settlement": "settlement"},
        required=("quote_ts", "expiry", "strike", "right", "bid", "ask", "underlying_last"),
        caller_fields=("underlying", "root"), row_required=_ROW_REQ_TS,
        markers=frozenset({"settlement_date", "expiry_symbol_date", "cboe_symbol", "net_change"}),
        quote_time="timestamp"),
    _fmt("daily_quote_bars", {
        "underlying": "underlying", "quote_date": "quote_date", "expiry": "expiration", "strike": "strike",
        "right": "option_type", "bid": "bid_close", "ask": "ask_close", "bid_size": "bid_size",
        "ask_size": "ask_size", "volume": "volume", "open_interest": "open_interest",
        "underlying_last": "underlying_close", "root": "root"},
        required=("quote_date", "underlying", "expiry", "strike", "right", "bid", "ask", "underlying_last"),
        caller_fields=(), row_required=("quote_date", "underlying", "expiry", "strike", "right", "ask"),
        markers=frozenset({"bid_close", "ask_close", "underlying_close", "bid_open", "ask_open"}),
        quote_time="session_close", empty_bid_is_zero=True, root_default_underlying=True),
    _fmt("generic", {
        "underlying": "underlying", "quote_ts": "quote_ts", "expiry": "expiry", "strike": "strike",
        "right": "right", "bid": "bid", "ask": "ask", "root": "root", "settlement": "settlement",
        "bid_size": "bid_size", "ask_size": "ask_size", "volume": "volume", "open_interest": "open_interest",
        "underlying_last": "underlying_price", "multiplier": "multiplier"},
        required=("underlying", "quote_ts", "expiry", "strike", "right", "bid", "ask"),
        caller_fields=(), row_required=("quote_ts", "underlying", "expiry", "strike", "right", "bid", "ask"),
        markers=frozenset({"quote_ts", "expiry", "right"}),
        quote_time="timestamp", root_default_underlying=True),
)

_FORMAT_BY_NAME = {f.name: f for f in FORMATS}


def normalise_header(name: object) -> str:
    """A header name as matched: BOM and surrounding whitespace removed, lower case."""
    return str(name).replace("\ufeff", "").strip().lower()


def detect_format(columns: Sequence[str], *, source_file: str) -> VendorFormat:
    """Identify the vendor format of a header.

    Parameters
    ----------
    columns : sequence of str
        Header names as read (case, surrounding whitespace and a BOM do not matter). Pipeline
        meta columns (:data:`META_COLUMNS`) are ignored.
    source_file : str
        The file's name, for error messages.

    Returns
    -------
    VendorFormat
        The matching format with ``column_map`` bound to the names in ``columns``.

    Raises
    ------
    VendorFormatError
        Ambiguous header (a name twice), no format recognised, or the best-matching format lacks
        required columns (the message names them). A caller-suppliable column (underlying, root)
        is checked later, by :func:`normalise`.
    """
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for c in columns:
        key = normalise_header(c)
        if key in META_COLUMNS:
            continue
        counts[key] = counts.get(key, 0) + 1
        names.setdefault(key, c)
    dups = [k for k, n in counts.items() if n > 1]
    if dups:
        raise vendor_error("duplicate_header", source_file, column=dups[0], count=counts[dups[0]])
    present = set(names)
    best = None
    for order, fmt in enumerate(FORMATS):
        hits = len(fmt.markers & present)
        if not hits:
            continue
        missing = [fmt.fields[f][0] for f in fmt.required if not any(c in present for c in fmt.fields[f])]
        rank = (len(missing), -hits, order)
        if best is None or rank < best[0]:
            best = (rank, fmt, missing)
    if best is None:
        shown = ", ".join(list(names)[:12]) + (", ..." if len(names) > 12 else "")
        raise vendor_error("unknown_header", source_file, columns=shown or "none",
                           formats=", ".join(f.name for f in FORMATS))
    _, fmt, missing = best
    if missing:
        raise vendor_error("missing_columns", source_file, format=fmt.name, columns=", ".join(missing))
    bound = {}
    for fld, candidates in fmt.fields.items():
        for c in candidates:
            if c in present:
                bound[fld] = names[c]
                break
    return replace(fmt, column_map=MappingProxyType(bound))


# --------------------------------------------------------------------------------------------
# Parsing helpers (vectorised with pyarrow; dates/timestamps parsed once per distinct value)
# --------------------------------------------------------------------------------------------

_NUM_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_TZ_RE = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_TIME_RE = re.compile(r"\d{1,2}:\d{2}")
#: Dates and times outside [_MIN_DATE, _MAX_DATE) are unparseable (typos such as year 219).
_MIN_DATE = np.datetime64("1970-01-01", "us")
_MAX_DATE = np.datetime64("2100-01-01", "us")


@dataclass
class _Parsed:
    """One parsed field: values, which rows were empty, which were unreadable, and the column."""

    values: np.ndarray
    missing: np.ndarray
    bad: np.ndarray
    column: str
    text: pa.Array | None = None


def _as_text(series: pd.Series) -> pa.Array:
    """Trimmed text as a pyarrow string array; empty strings become null."""
    if isinstance(series.dtype, pd.StringDtype) or isinstance(series.dtype, pd.ArrowDtype):
        arr = pa.array(series.array)
    else:
        arr = pa.array(series.astype("string").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _null_mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)


def _parse_number(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = _null_mask(arr)
    ok = pc.fill_null(pc.match_substring_regex(arr, _NUM_RE), False)
    vals = pc.cast(pc.if_else(ok, arr, pa.scalar(None, arr.type)), pa.float64())
    values = np.asarray(vals.to_numpy(zero_copy_only=False), dtype=float)
    ok_np = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    bad = ~missing & ~(ok_np & np.isfinite(values))
    values = np.where(bad, np.nan, values)
    return values, missing, bad


def _by_unique(arr: pa.Array, parse) -> tuple[np.ndarray, np.ndarray]:
    """Parse each distinct value once; returns (values as datetime64[us] array, parse-failed mask)."""
    enc = pc.dictionary_encode(arr)
    uniques = pd.Series(enc.dictionary.to_pylist(), dtype=object)
    parsed = parse(uniques) if len(uniques) else np.array([], dtype="datetime64[us]")
    parsed = np.array(parsed, dtype="datetime64[us]")  # a writable copy
    parsed[(parsed < _MIN_DATE) | (parsed >= _MAX_DATE)] = np.datetime64("NaT", "us")  # NaT compares False
    idx = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    table = np.append(parsed, np.datetime64("NaT", "us"))
    values = table[idx]  # idx -1 -> NaT (null input)
    missing = idx < 0
    return values, ~missing & np.isnat(values)


def _parse_date_strings(u: pd.Series) -> np.ndarray:
    out = pd.to_datetime(u, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y%m%d"):
        todo = out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(u[todo], format=fmt, errors="coerce")
    return out.dt.normalize().to_numpy(dtype="datetime64[us]")


def _parse_ts_strings(u: pd.Series) -> np.ndarray:
    """Timestamps -> UTC (naive datetime64[us] in UTC). Zoned text is converted; naive is New York."""
    out = np.full(len(u), np.datetime64("NaT", "us"))
    s = u.astype(str)
    has_time = s.map(lambda x: bool(_TIME_RE.search(x))).to_numpy(dtype=bool)
    zoned = s.map(lambda x: bool(_TZ_RE.search(x))).to_numpy(dtype=bool) & has_time
    if zoned.any():
        z = pd.to_datetime(s[zoned], format="ISO8601", errors="coerce", utc=True)
        out[zoned] = z.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    naive = has_time & ~zoned
    if naive.any():
        sn = s[naive]
        t = pd.to_datetime(sn, format="ISO8601", errors="coerce")
        for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M"):
            todo = t.isna()
            if not todo.any():
                break
            t[todo] = pd.to_datetime(sn[todo], format=fmt, errors="coerce")
        local = t.dt.tz_localize(conventions.EXCHANGE_TZ, ambiguous="NaT", nonexistent="NaT")
        out[naive] = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return out


def _quote_ts_from_dates(dates: np.ndarray, kind: str) -> np.ndarray:
    """UTC (naive datetime64[us]) quote times for quote dates, per the format's rule."""
    ok = ~np.isnat(dates)
    out = np.full(len(dates), np.datetime64("NaT", "us"))
    if not ok.any():
        return out
    uniq, inv = np.unique(dates[ok], return_inverse=True)
    if kind == "local_1545":
        ts = conventions.local_time_utc(uniq, 15, 45)
    else:  # session_close: the XNYS close (early close on half days)
        ts = pd.DatetimeIndex(conventions.expiry_timestamp(uniq, "PM"))
    out[ok] = ts.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]")[inv]
    return out


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalisedQuotes:
    """Result of :func:`normalise`.

    Attributes
    ----------
    clean : pandas.DataFrame
        Exactly ``CLEAN_QUOTE_COLUMNS`` (conformed), in ``source_row`` order.
    quarantine : pandas.DataFrame
        Exactly ``QUARANTINE_COLUMNS``, in ``source_row`` order.
    format_name : str
        The detected :class:`VendorFormat` name.
    """

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    format_name: str

    def summary(self) -> dict[str, object]:
        """Row counts and quarantine reasons, for asset metadata."""
        reasons = self.quarantine["reason"].value_counts().to_dict() if len(self.quarantine) else {}
        return {"format": self.format_name, "clean": len(self.clean), "quarantined": len(self.quarantine),
                "reasons": {str(k): int(v) for k, v in reasons.items()}}


def _symbols(arr: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_upper(arr), pattern=r"^\^", replacement="")


def normalise(raw: pd.DataFrame, *, source_file: str, underlying: str | None = None, root: str | None = None,
              multiplier: float | None = None, source: str | None = None) -> NormalisedQuotes:
    """Normalise a vendor table (all columns text) to clean quotes and quarantined rows.

    Parameters
    ----------
    raw : pandas.DataFrame
        Every vendor column as text, as read, plus an integer ``source_row`` (1-based data row).
    source_file : str
        Name of the file the rows came from (copied to ``source_file``; named in errors). When
        ``raw`` has a ``source_file`` column (several files of one layout normalised together),
        that column is used per row and ``source_file`` only names the batch in errors.
    underlying, root : str, optional
        Underlying and option root for every row; required when the file has no such column
        (Cboe exports cut down without ``underlying_symbol``/``root``), else they override it.
    multiplier : float, optional
        Units of underlying per contract (> 0); default the file's ``multiplier`` column, else 100.
    source : str, optional
        Value of the ``source`` column; default the format name (the pipeline passes 'sim' for
        the simulator's files).

    Returns
    -------
    NormalisedQuotes
        ``clean`` (exactly CLEAN_QUOTE_COLUMNS) and ``quarantine`` (exactly QUARANTINE_COLUMNS);
        every raw row is in exactly one of them.

    Raises
    ------
    VendorFormatError
        The table cannot be ingested at all: unrecognised or ambiguous header, a required column
        missing, underlying/root neither in the file nor given, a bad ``multiplier`` argument.
    """
    if "source_row" not in raw.columns:
        raise vendor_error("no_source_row", source_file)
    fmt = detect_format([c for c in raw.columns if c != "source_row"], source_file=source_file)
    given = {"underlying": underlying, "root": root}
    for fld in fmt.caller_fields:
        if fld not in fmt.column_map and given[fld] is None:
            raise vendor_error("needs_caller", source_file, format=fmt.name, column=fmt.fields[fld][0])
    if multiplier is not None:
        try:
            mult_ok = float(multiplier) > 0 and np.isfinite(float(multiplier))
        except (TypeError, ValueError):
            mult_ok = False
        if not mult_ok:
            raise vendor_error("bad_multiplier", source_file, value=multiplier)

    n = len(raw)
    source_rows = pd.to_numeric(raw["source_row"]).to_numpy(dtype=np.int64)
    # one file, or several files of one layout with a per-row ``source_file`` column
    files = (raw["source_file"].astype(str).to_numpy(dtype=object) if "source_file" in raw.columns
             else np.full(n, source_file, dtype=object))
    parsed: dict[str, _Parsed] = {}

    def text_of(fld: str) -> pa.Array | None:
        col = fmt.column_map.get(fld)
        return None if col is None else _as_text(raw[col])

    # numbers
    for fld in _NUM_FIELDS:
        arr = text_of(fld)
        if arr is None:
            continue
        v, miss, bad = _parse_number(arr)
        parsed[fld] = _Parsed(v, miss, bad, fmt.column_map[fld], arr)
    # dates and timestamps
    for fld in (*_DATE_FIELDS, *_TS_FIELDS):
        arr = text_of(fld)
        if arr is None:
            continue
        parse = _parse_date_strings if fld in _DATE_FIELDS else _parse_ts_strings
        v, bad = _by_unique(arr, parse)
        parsed[fld] = _Parsed(v, _null_mask(arr), bad, fmt.column_map[fld], arr)
    # option type
    arr = text_of("right")
    up = pc.utf8_upper(arr)
    is_c = np.asarray(pc.fill_null(pc.is_in(up, value_set=pa.array(["C", "CALL"])), False)
                      .to_numpy(zero_copy_only=False), dtype=bool)
    is_p = np.asarray(pc.fill_null(pc.is_in(up, value_set=pa.array(["P", "PUT"])), False)
                      .to_numpy(zero_copy_only=False), dtype=bool)
    miss = _null_mask(arr)
    right = np.where(is_c, "C", np.where(is_p, "P", None)).astype(object)
    parsed["right"] = _Parsed(right, miss, ~miss & ~is_c & ~is_p, fmt.column_map["right"], arr)
    # symbols
    for fld in ("underlying", "root"):
        if given[fld] is not None:
            sym = str(given[fld]).strip().upper().lstrip("^")
            parsed[fld] = _Parsed(np.full(n, sym, dtype=object), np.zeros(n, bool), np.zeros(n, bool), fld)
        elif fld in fmt.column_map:
            arr = _symbols(text_of(fld))
            vals = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
            parsed[fld] = _Parsed(vals, _null_mask(arr), np.zeros(n, bool), fmt.column_map[fld], arr)
    if fmt.root_default_underlying:
        und = parsed["underlying"].values
        if "root" not in parsed:
            parsed["root"] = _Parsed(und.copy(), np.zeros(n, bool), np.zeros(n, bool), "root")
        else:
            r = parsed["root"]
            fill = r.missing
            r.values = np.where(fill, und, r.values)
            r.missing = np.zeros(n, bool)
    # settlement column (AM/PM), empty -> from root
    root_vals = parsed["root"].values
    style = conventions.settlement_style(pd.Series(root_vals, dtype="string").fillna(""))
    style = np.asarray(style, dtype=object)
    if "settlement" in fmt.column_map:
        arr = pc.utf8_upper(text_of("settlement"))
        vals = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
        miss = _null_mask(arr)
        ok = np.isin(vals, ["AM", "PM"])
        parsed["settlement"] = _Parsed(vals, miss, ~miss & ~ok, fmt.column_map["settlement"], arr)
        style = np.where(ok, vals, style)
    # empty bid = no bid (daily quote bars)
    if fmt.empty_bid_is_zero:
        b = parsed["bid"]
        b.values = np.where(b.missing, 0.0, b.values)
        b.missing = np.zeros(n, bool)

    # quote time, trade date, snapshot id
    if fmt.quote_time == "timestamp":
        qts = parsed["quote_ts"].values
        qkey = "quote_ts"
    else:
        qts = _quote_ts_from_dates(parsed["quote_date"].values, fmt.quote_time)
        qkey = "quote_date"
    quote_ts = pd.DatetimeIndex(qts).tz_localize("UTC")
    codes, uq = pd.factorize(quote_ts)
    if len(uq):
        sid_u = snapshot_id_from_ts(pd.Series(uq)).to_numpy(dtype=object)
        td_u = pd.DatetimeIndex(uq).tz_convert(conventions.EXCHANGE_TZ).tz_localize(None).normalize()
        sid = np.append(sid_u, None)[codes]
        trade_date = np.append(td_u.to_numpy(dtype="datetime64[us]"), np.datetime64("NaT", "us"))[codes]
    else:
        sid = np.full(n, None, dtype=object)
        trade_date = np.full(n, np.datetime64("NaT", "us"))
    # expiry timestamp per distinct (expiry, style)
    expiry = parsed["expiry"].values
    expiry_ts = np.full(n, np.datetime64("NaT", "us"))
    ok = ~np.isnat(expiry)
    if ok.any():
        key = expiry[ok].astype(np.int64) * 2 + (style[ok] == "AM")  # one int per (expiry, style)
        codes_e, uniq_e = pd.factorize(key)
        ets = pd.DatetimeIndex(conventions.expiry_timestamp(
            (uniq_e // 2).astype("datetime64[us]"), np.where(uniq_e % 2 == 1, "AM", "PM").astype(object)))
        expiry_ts[ok] = ets.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]")[codes_e]
    # underlying price: mid of bid/ask when positive, else the last/active price
    S = np.full(n, np.nan)
    if "underlying_bid" in parsed and "underlying_ask" in parsed:
        S = 0.5 * (parsed["underlying_bid"].values + parsed["underlying_ask"].values)
    if "underlying_last" in parsed:
        last = parsed["underlying_last"].values
        with np.errstate(invalid="ignore"):
            S = np.where(S > 0, S, np.where(np.isnan(last), S, last))
    if multiplier is not None:
        mult = np.full(n, float(multiplier))
    elif "multiplier" in parsed:
        p = parsed["multiplier"]
        bad_mult = ~p.missing & ~p.bad & ~(p.values > 0)
        p.bad = p.bad | bad_mult
        mult = np.where(p.missing | p.bad, DEFAULT_MULTIPLIER, p.values)
    else:
        mult = np.full(n, DEFAULT_MULTIPLIER)

    def num(fld: str) -> np.ndarray:
        return parsed[fld].values if fld in parsed else np.full(n, np.nan)

    typed = pd.DataFrame({
        "snapshot_id": pd.array(sid, dtype="string"),
        "quote_ts": quote_ts,
        "trade_date": pd.DatetimeIndex(trade_date),
        "underlying": pd.array(parsed["underlying"].values, dtype="string"),
        "root": pd.array(parsed["root"].values, dtype="string"),
        "expiry": pd.DatetimeIndex(expiry),
        "expiry_ts": pd.DatetimeIndex(expiry_ts).tz_localize("UTC"),
        "settlement": pd.array(style, dtype="string"),
        "strike": num("strike"),
        "right": pd.array(parsed["right"].values, dtype="string"),
        "bid": num("bid"),
        "ask": num("ask"),
        "bid_size": num("bid_size"),
        "ask_size": num("ask_size"),
        "volume": num("volume"),
        "open_interest": num("open_interest"),
        "underlying_price": S,
        "multiplier": mult,
        "source": source if source is not None else fmt.name,
        "source_file": files,
        "source_row": source_rows,
    })

    # ---- flags: parse-level (with vendor column names) + value checks
    req = set(fmt.row_required)
    missing_any = np.zeros(n, bool)
    for f in req:
        if f in parsed:
            missing_any |= parsed[f].missing
    unparse_any = np.zeros(n, bool)
    for f, p in parsed.items():
        if f != "right":
            unparse_any |= p.bad
    flags = quality.row_flags(typed, checks=quality.VALUE_CHECKS)
    flags.insert(0, ReasonCode.BAD_RIGHT.value, parsed["right"].bad)
    flags.insert(0, ReasonCode.UNPARSEABLE.value, unparse_any)
    flags.insert(0, ReasonCode.MISSING_FIELD.value, missing_any)
    reason = quality.first_reason(flags)
    bad_rows = reason.notna().to_numpy(dtype=bool)

    # ---- duplicates among the rows that pass
    good = typed.loc[~bad_rows]
    dup_of = quality.duplicate_of(good)
    dup_mask = dup_of.notna().to_numpy(dtype=bool)

    # ---- quarantine rows
    parts = []
    if bad_rows.any():
        sub_idx = np.flatnonzero(bad_rows)
        det = _parse_details(parsed, req, sub_idx, qkey)
        vflags = flags.iloc[sub_idx][[r.value for r in quality.VALUE_CHECKS]]
        vdet = quality.row_details(typed.iloc[sub_idx], vflags)
        for c in vdet.columns:
            det[c] = vdet[c].to_numpy(dtype=object)
        detail = quality.join_details(det)
        parts.append(pd.DataFrame({
            "source_file": files[sub_idx],
            "source_row": source_rows[sub_idx],
            "snapshot_id": typed["snapshot_id"].to_numpy(dtype=object)[sub_idx],
            "underlying": typed["underlying"].to_numpy(dtype=object)[sub_idx],
            "reason": reason.to_numpy(dtype=object)[sub_idx],
            "detail": detail.to_numpy(dtype=object),
        }))
    clean = good
    if dup_mask.any():
        detail = pd.Series("duplicate: same contract as source_row " + dup_of.astype("string").fillna(""),
                           index=good.index)
        clean, dq = quality.split_quarantine(good, dup_mask, ReasonCode.DUPLICATE, detail)
        parts.append(dq)
    quarantine = (pd.concat(parts, ignore_index=True) if parts else empty_frame(QUARANTINE_COLUMNS))
    quarantine = conform(quarantine, QUARANTINE_COLUMNS).sort_values("source_row", kind="stable")
    clean = conform(clean, CLEAN_QUOTE_COLUMNS).reset_index(drop=True)
    return NormalisedQuotes(clean=clean, quarantine=quarantine.reset_index(drop=True), format_name=fmt.name)


def _quoted(arr: pa.Array | None, idx: np.ndarray) -> np.ndarray:
    """``'value'`` texts (first 40 characters) of rows ``idx``."""
    if arr is None:
        return np.full(len(idx), "''", dtype=object)
    vals = pc.utf8_slice_codeunits(arr.take(pa.array(idx)), 0, 40)
    return ("'" + pd.Series(vals.to_numpy(zero_copy_only=False), dtype=object).fillna("")
            .to_numpy(dtype=object) + "'")


def _parse_details(parsed: dict[str, _Parsed], required: set[str], idx: np.ndarray,
                   qkey: str) -> pd.DataFrame:
    """Detail texts of the parse-level problems for rows ``idx`` (None where none)."""
    k = len(idx)
    missing_txt = np.full(k, "", dtype=object)
    unparse_txt = np.full(k, "", dtype=object)
    first = (qkey, "underlying", "root", "expiry", "strike", "right", "bid", "ask")
    order = [f for f in first if f in parsed]
    order += [f for f in parsed if f not in order]
    for f in order:
        p = parsed[f]
        if f in required:
            m = p.missing[idx]
            if m.any():
                sep = np.where(missing_txt[m] == "", "", ", ").astype(object)
                missing_txt[m] = missing_txt[m] + sep + p.column
        if f == "right":
            continue
        b = p.bad[idx]
        if b.any():
            unparse_txt[b] = (unparse_txt[b] + np.where(unparse_txt[b] == "", "", ", ").astype(object)
                              + p.column + "=" + _quoted(p.text, idx[b]))
    out = pd.DataFrame(index=range(k))
    out[ReasonCode.MISSING_FIELD.value] = np.where(missing_txt == "", None,
                                                   "missing_field: " + missing_txt + " empty")
    out[ReasonCode.UNPARSEABLE.value] = np.where(unparse_txt == "", None, "unparseable: " + unparse_txt)
    r = parsed["right"]
    rb = r.bad[idx]
    rtxt = np.full(k, None, dtype=object)
    if rb.any():
        rtxt[rb] = "bad_right: " + r.column + "=" + _quoted(r.text, idx[rb]) + " is not C/P/call/put"
    out[ReasonCode.BAD_RIGHT.value] = rtxt
    return out
