"""The book: validate positions given as explicit legs or as OCC symbols (pure, vectorised).

The pipeline reads ``config/positions.csv`` or a warehouse table (as text or typed columns) and hands the
frame to :func:`validate_positions`; core does no I/O. An empty or missing book is a normal case: a frame
with no rows (or no columns at all) gives an empty positions frame with the right columns and dtypes.

Units: ``strike`` and ``entry_price`` per unit of underlying in the option's currency (multiply by
``multiplier`` for a contract), ``quantity`` in signed contracts (+ long, - short), dates naive.

Each row gives either the leg fields (``underlying, expiry, strike, right``) or an ``occ_symbol``
(padded or compact, see :mod:`volmachine_core.trading.occ`). With a symbol, expiry, strike and right
come from it (explicit values, when also given, must agree), and the underlying comes from the
``underlying`` column when given, else from the symbol's root through ``root_to_underlying`` (e.g.
``{"SPXW": "SPX"}``; a root not in the mapping is its own underlying).

Rejection reason codes (:class:`PositionReason`), in priority order
-------------------------------------------------------------------
``missing_field``, ``unparseable``, ``bad_occ_symbol``, ``occ_mismatch``, ``bad_right``,
``nonpositive_strike``, ``zero_quantity``, ``non_integer_quantity``, ``negative_price``,
``expiry_before_open``, ``unknown_underlying``, ``unknown_multiplier``, ``duplicate_id``.
A rejected row's ``reason`` is its first code; ``detail`` lists every problem of the row as
``"<code>: <column>=<value> ..."`` joined by ``"; "``. Every row with a repeated ``position_id`` is
rejected (the book is ambiguous; none is preferred).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from volmachine_core.trading.occ import OCC_REASON_TEXT, OccReason, parse_occ

__all__ = [
    "LEG_FIELDS",
    "POSITION_COLUMNS",
    "POSITION_REASON_PRIORITY",
    "REJECTED_POSITION_COLUMNS",
    "REQUIRED_POSITION_COLUMNS",
    "VALIDATED_POSITION_COLUMNS",
    "PositionReason",
    "empty_positions",
    "positions_from_records",
    "validate_positions",
]


#: Columns of a book as given (input), with the dtypes they have after validation.
POSITION_COLUMNS: dict[str, str] = {
    "position_id": "string",
    "underlying": "string",
    "expiry": "datetime64[us]",   # naive expiration date
    "strike": "float64",          # per unit of underlying
    "right": "string",            # 'C' or 'P'
    "quantity": "int64",          # signed contracts: + long, - short, never 0
    "entry_price": "float64",     # per unit of underlying, >= 0
    "open_date": "datetime64[us]",
    "occ_symbol": "string",       # optional in input; output: padded 21-character symbol or <NA>
}

#: Columns every book must have (whatever describes the leg).
REQUIRED_POSITION_COLUMNS: tuple[str, ...] = ("position_id", "quantity", "entry_price", "open_date")

#: The leg fields: all of them, or ``occ_symbol``, must be columns of the book.
LEG_FIELDS: tuple[str, ...] = ("underlying", "expiry", "strike", "right")

#: Columns of the validated positions frame.
VALIDATED_POSITION_COLUMNS: dict[str, str] = {
    **POSITION_COLUMNS,
    "multiplier": "float64",      # units of underlying per contract; NaN when no ``multipliers`` given
    "source": "string",           # where the book came from (file path, table name)
    "source_row": "int64",        # 1-based data row in the source (header excluded)
}

#: Columns of the rejected-rows frame.
REJECTED_POSITION_COLUMNS: dict[str, str] = {
    "source": "string",
    "source_row": "int64",
    "position_id": "string",      # <NA> when the row has none
    "reason": "string",           # a PositionReason value (the row's first problem)
    "detail": "string",           # every problem: column and bad value
}


class PositionReason(StrEnum):
    """Why a row of the book was rejected."""

    MISSING_FIELD = "missing_field"              # a required value is empty
    UNPARSEABLE = "unparseable"                  # a number or date cannot be read (or is not finite)
    BAD_OCC_SYMBOL = "bad_occ_symbol"            # occ_symbol given but malformed
    OCC_MISMATCH = "occ_mismatch"                # an explicit leg field disagrees with occ_symbol
    BAD_RIGHT = "bad_right"                      # right is not C/P
    NONPOSITIVE_STRIKE = "nonpositive_strike"    # strike <= 0
    ZERO_QUANTITY = "zero_quantity"
    NON_INTEGER_QUANTITY = "non_integer_quantity"
    NEGATIVE_PRICE = "negative_price"            # entry_price < 0
    EXPIRY_BEFORE_OPEN = "expiry_before_open"    # expiry < open_date
    UNKNOWN_UNDERLYING = "unknown_underlying"    # not in the universe
    UNKNOWN_MULTIPLIER = "unknown_multiplier"    # multipliers given without this underlying
    DUPLICATE_ID = "duplicate_id"                # position_id on more than one row


#: Order in which a row's problems are reported; the first is its ``reason``.
POSITION_REASON_PRIORITY: tuple[PositionReason, ...] = tuple(PositionReason)


def _empty(columns: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def empty_positions() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The "no book" result: empty positions and rejected frames with the right columns and dtypes."""
    return _empty(VALIDATED_POSITION_COLUMNS), _empty(REJECTED_POSITION_COLUMNS)


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    """Column as stripped ``string`` (positional index), <NA> for null/blank or an absent column."""
    if col not in frame.columns:
        return pd.Series(pd.NA, index=range(len(frame)), dtype="string")
    raw = pd.Series(frame[col].to_numpy(dtype=object), dtype=object)
    s = raw.where(raw.notna(), None).astype("string").str.strip()
    return s.where(s != "")


def _quote(s: pd.Series) -> pd.Series:
    """Values for detail texts: ``'text'`` (cut to 40 characters), ``<empty>`` for null."""
    return ("'" + s.astype("string").str.slice(0, 40) + "'").fillna("<empty>")


def _fmt(x: np.ndarray) -> pd.Series:
    return pd.Series(np.char.mod("%.10g", np.asarray(x, dtype=float)), dtype="string")


def _dstr(x: pd.Series) -> pd.Series:
    return x.dt.strftime("%Y-%m-%d").astype("string")


def _number(text: pd.Series) -> np.ndarray:
    """Parsed float (NaN where empty or unreadable)."""
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _date(text: pd.Series) -> pd.Series:
    """Parsed naive date (NaT where empty or unreadable); ISO 8601 text, a time of day is dropped."""
    d = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    return d.dt.tz_localize(None).dt.normalize().astype("datetime64[us]")


def _add(details: dict[PositionReason, pd.Series], code: PositionReason, mask: np.ndarray,
         what: Callable[[], pd.Series]) -> None:
    """Record ``"<code>: <what()>"`` for rows in ``mask`` (several texts per code are joined by ", ").

    ``what`` is only called when a row is flagged (building texts is most of the cost of a clean book).
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    what = what()
    part = (code.value + ": " + what.astype("string")).where(mask)
    prev = details.get(code)
    if prev is None:
        details[code] = part
    else:
        joined = prev + ", " + what.astype("string")
        details[code] = prev.where(~mask, joined.where(prev.notna(), part))


def validate_positions(frame: pd.DataFrame, *, source: str, universe: Sequence[str] | None = None,
                       multipliers: Mapping[str, float] | None = None,
                       root_to_underlying: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate a book of option positions; every bad row is returned with a reason, none dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per position in source order, text or typed columns: ``position_id``, ``quantity``,
        ``entry_price``, ``open_date``, and either all of ``underlying, expiry, strike, right`` or
        ``occ_symbol`` (both allowed, per row either suffices). Other columns are ignored. Dates are
        ISO 8601 (``2026-12-18``) or datetime values; ``right`` is C/P in any case; ``underlying``
        is upper-cased. A frame with no rows (or no columns) is the normal "no book" case.
    source : str
        Name of the book's origin (file path, table), copied to both outputs.
    universe : sequence of str, optional
        Underlyings the engine trades; a position on another is rejected. None: no check.
    multipliers : mapping of str to float, optional
        Units of underlying per contract by underlying (e.g. ``{"SPX": 100.0}``), copied to the
        ``multiplier`` column; a position whose underlying is missing is rejected. None: NaN.
    root_to_underlying : mapping of str to str, optional
        Underlying of an OCC root when the row has no ``underlying`` (e.g. ``{"SPXW": "SPX"}``).

    Returns
    -------
    positions : pandas.DataFrame
        Valid rows with :data:`VALIDATED_POSITION_COLUMNS`, in source order (fresh RangeIndex).
    rejected : pandas.DataFrame
        Rejected rows with :data:`REJECTED_POSITION_COLUMNS`: ``source``, ``source_row`` (1-based data
        row), ``position_id``, ``reason`` (a :class:`PositionReason` value) and ``detail``.

    Raises
    ------
    ValueError
        The frame has columns but lacks a required one (the message names them and ``source``).
    """
    if len(frame.columns) == 0:
        return empty_positions()
    missing_cols = [c for c in REQUIRED_POSITION_COLUMNS if c not in frame.columns]
    if "occ_symbol" not in frame.columns:
        missing_cols += [c for c in LEG_FIELDS if c not in frame.columns]
    if missing_cols:
        raise ValueError(f"positions from {source!r}: missing columns {missing_cols} (need "
                         f"{list(REQUIRED_POSITION_COLUMNS)} and either {list(LEG_FIELDS)} or 'occ_symbol')")
    n = len(frame)
    if n == 0:
        return empty_positions()

    t = {c: _text(frame, c) for c in POSITION_COLUMNS}
    details: dict[PositionReason, pd.Series] = {}
    R = PositionReason

    # --- OCC symbols: parse, then take the leg fields from valid ones
    occ_in = t["occ_symbol"]
    has_occ = occ_in.notna().to_numpy(dtype=bool)
    occ = parse_occ(occ_in).reset_index(drop=True)
    occ_ok = occ["valid"].to_numpy(dtype=bool) & has_occ
    occ_text = {r.value: OCC_REASON_TEXT[r] for r in OccReason}
    _add(details, R.BAD_OCC_SYMBOL, has_occ & ~occ_ok,
         lambda: "occ_symbol=" + _quote(occ_in) + " " + occ["reason"] + " ("
         + occ["reason"].map(occ_text).astype("string") + ")")

    under = t["underlying"].str.upper()
    roots = occ["root"]
    if root_to_underlying:
        roots = roots.map(dict(root_to_underlying)).astype("string").fillna(roots)
    under = under.fillna(roots.where(occ_ok))

    # --- required values present (leg fields only on rows without an OCC symbol)
    required = (*REQUIRED_POSITION_COLUMNS, *LEG_FIELDS)
    empty = np.column_stack([(under if c == "underlying" else t[c]).isna().to_numpy(dtype=bool) for c in required])
    empty[:, len(REQUIRED_POSITION_COLUMNS):] &= ~has_occ[:, None]

    def missing_text() -> pd.Series:
        txt = np.full(n, "", dtype=object)
        for j, col in enumerate(required):
            m = empty[:, j]
            txt[m] = txt[m] + np.where(txt[m] == "", "", ", ").astype(object) + col
        return pd.Series(txt + " empty", dtype="string")

    _add(details, R.MISSING_FIELD, empty.any(axis=1), missing_text)

    # --- numbers and dates
    num = {c: _number(t[c]) for c in ("strike", "quantity", "entry_price")}
    dates = {c: _date(t[c]) for c in ("expiry", "open_date")}
    for c, v in num.items():
        bad = t[c].notna().to_numpy(dtype=bool) & ~np.isfinite(v)
        _add(details, R.UNPARSEABLE, bad, lambda c=c: c + "=" + _quote(t[c]) + " is not a number")
    for c, v in dates.items():
        bad = t[c].notna().to_numpy(dtype=bool) & v.isna().to_numpy(dtype=bool)
        _add(details, R.UNPARSEABLE, bad, lambda c=c: c + "=" + _quote(t[c]) + " is not a date")

    # --- explicit leg fields vs the symbol
    right_in = t["right"].str.upper()
    o_exp, o_strike, o_right = occ["expiry"], occ["strike"].to_numpy(dtype=float), occ["right"]
    in_occ = " in occ_symbol "
    _add(details, R.OCC_MISMATCH,
         occ_ok & (dates["expiry"].notna() & (dates["expiry"] != o_exp)).to_numpy(dtype=bool, na_value=False),
         lambda: "expiry " + _dstr(dates["expiry"]) + " vs " + _dstr(o_exp) + in_occ + _quote(occ_in))
    with np.errstate(invalid="ignore"):
        _add(details, R.OCC_MISMATCH, occ_ok & (np.abs(num["strike"] - o_strike) > 5e-4),
             lambda: "strike " + _fmt(num["strike"]) + " vs " + _fmt(o_strike) + in_occ + _quote(occ_in))
    _add(details, R.OCC_MISMATCH, occ_ok & (right_in != o_right).to_numpy(dtype=bool, na_value=False),
         lambda: "right " + right_in + " vs " + o_right + in_occ + _quote(occ_in))

    expiry = dates["expiry"].where(~occ_ok, o_exp)
    strike = np.where(occ_ok, o_strike, num["strike"])
    right = right_in.where(~occ_ok, o_right)

    # --- values
    bad_right = (right.notna() & ~right.isin(["C", "P"])).to_numpy(dtype=bool, na_value=False)
    _add(details, R.BAD_RIGHT, bad_right, lambda: "right=" + _quote(t["right"]) + " is not C/P")
    q, price = num["quantity"], num["entry_price"]
    with np.errstate(invalid="ignore"):
        _add(details, R.NONPOSITIVE_STRIKE, strike <= 0, lambda: "strike=" + _fmt(strike) + " <= 0")
        _add(details, R.ZERO_QUANTITY, q == 0,
             lambda: pd.Series("quantity=0 (a position needs contracts)", index=range(n), dtype="string"))
        _add(details, R.NON_INTEGER_QUANTITY, np.isfinite(q) & (q != np.round(q)),
             lambda: "quantity=" + _fmt(q) + " is not a whole number of contracts")
        _add(details, R.NEGATIVE_PRICE, price < 0, lambda: "entry_price=" + _fmt(price) + " < 0")
    _add(details, R.EXPIRY_BEFORE_OPEN, (expiry < dates["open_date"]).to_numpy(dtype=bool, na_value=False),
         lambda: "expiry=" + _dstr(expiry) + " before open_date=" + _dstr(dates["open_date"]))

    if universe is not None:
        uni = sorted({str(u).strip().upper() for u in universe})
        _add(details, R.UNKNOWN_UNDERLYING, (under.notna() & ~under.isin(uni)).to_numpy(dtype=bool, na_value=False),
             lambda: "underlying=" + _quote(under) + " is not in the universe " + str(uni))
    multiplier = np.full(n, np.nan)
    if multipliers is not None:
        mult = {str(k).strip().upper(): float(v) for k, v in multipliers.items()}
        multiplier = under.map(mult).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        _add(details, R.UNKNOWN_MULTIPLIER, under.notna().to_numpy(dtype=bool) & np.isnan(multiplier),
             lambda: "underlying=" + _quote(under) + " has no multiplier")

    ids = t["position_id"]
    dup = (ids.notna() & ids.duplicated(keep=False)).to_numpy(dtype=bool)

    def dup_text() -> pd.Series:
        rows = pd.Series(np.arange(1, n + 1), dtype="string").groupby(ids.where(dup)).transform(", ".join)
        return "position_id=" + _quote(ids) + " on rows " + rows.astype("string")

    _add(details, R.DUPLICATE_ID, dup, dup_text)

    # --- first reason and joined detail
    reason = pd.Series(pd.NA, index=range(n), dtype="string")
    detail = pd.Series(pd.NA, index=range(n), dtype="string")
    for code in POSITION_REASON_PRIORITY:
        part = details.get(code)
        if part is None:
            continue
        reason = reason.fillna(pd.Series(np.where(part.notna(), code.value, None), dtype="string"))
        detail = detail.where(part.isna(), (detail + "; " + part).fillna(part))
    bad = reason.notna().to_numpy(dtype=bool)
    source_row = np.arange(1, n + 1, dtype=np.int64)

    occ_symbol = occ["symbol"].where(pd.Series(occ_ok))
    positions = pd.DataFrame({
        "position_id": ids, "underlying": under, "expiry": expiry, "strike": strike, "right": right,
        "quantity": np.where(bad, 0, np.nan_to_num(num["quantity"])).astype(np.int64),
        "entry_price": num["entry_price"], "open_date": dates["open_date"], "occ_symbol": occ_symbol,
        "multiplier": multiplier, "source": source, "source_row": source_row,
    })[~bad].reset_index(drop=True).astype(VALIDATED_POSITION_COLUMNS)
    rejected = pd.DataFrame({
        "source": source, "source_row": source_row, "position_id": ids, "reason": reason, "detail": detail,
    })[bad].reset_index(drop=True).astype(REJECTED_POSITION_COLUMNS)
    return positions, rejected


def positions_from_records(records: Iterable[Mapping[str, Any]], source: str,
                           **kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate a book given as a list of dicts (one per position, keys as in :data:`POSITION_COLUMNS`).

    Parameters
    ----------
    records : iterable of mapping
        Positions in source order; an empty iterable is the "no book" case.
    source : str
        Name of the book's origin.
    **kwargs
        ``universe``, ``multipliers``, ``root_to_underlying`` as in :func:`validate_positions`.

    Returns
    -------
    positions, rejected : pandas.DataFrame
        As :func:`validate_positions`.
    """
    return validate_positions(pd.DataFrame.from_records(list(records)), source=source, **kwargs)
