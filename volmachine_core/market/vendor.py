"""Typed normalisation of vendor rows to the clean quote schema, with row-level quarantine.

Pure: takes a table already read as text (see ``volmachine_pipeline.ingest_io``) in one of the
layouts of :mod:`volmachine_core.market.formats` (detected from its header) and returns clean quotes
(exactly :data:`~volmachine_core.market.schema.CLEAN_QUOTE_COLUMNS`) and quarantined rows (exactly
:data:`~volmachine_core.market.schema.QUARANTINE_COLUMNS`); every raw row ends in exactly one of the
two. The format names, error texts and detection are re-exported here for callers that import them
from this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from volmachine_core import conventions
from volmachine_core.market import quality
from volmachine_core.market.formats import (
    DATE_FIELDS,
    DEFAULT_MULTIPLIER,
    FORMATS,
    MESSAGES,
    META_COLUMNS,
    NUM_FIELDS,
    TS_FIELDS,
    VendorFormat,
    VendorFormatError,
    detect_format,
    normalise_header,
    vendor_error,
)
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
    for fld in NUM_FIELDS:
        arr = text_of(fld)
        if arr is None:
            continue
        v, miss, bad = _parse_number(arr)
        parsed[fld] = _Parsed(v, miss, bad, fmt.column_map[fld], arr)
    # dates and timestamps
    for fld in (*DATE_FIELDS, *TS_FIELDS):
        arr = text_of(fld)
        if arr is None:
            continue
        parse = _parse_date_strings if fld in DATE_FIELDS else _parse_ts_strings
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
