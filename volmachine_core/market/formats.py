"""Vendor quote formats: the column layouts volmachine reads, file-level errors, detection from the header.

Normalisation of the rows lives in :mod:`volmachine_core.market.vendor`.

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = [
    "DEFAULT_MULTIPLIER",
    "FORMATS",
    "MESSAGES",
    "META_COLUMNS",
    "VendorFormat",
    "VendorFormatError",
    "detect_format",
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
NUM_FIELDS = ("strike", "bid", "ask", "bid_size", "ask_size", "volume", "open_interest",
              "underlying_bid", "underlying_ask", "underlying_last", "multiplier")
DATE_FIELDS = ("quote_date", "expiry")
TS_FIELDS = ("quote_ts",)


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
