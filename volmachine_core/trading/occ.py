"""OCC (OSI) option symbols for US listed options: parse and format, vectorised.

The OCC Options Symbology Initiative symbol is 21 characters::

    SPXW  261218P05800000
    ^^^^^^                root, left-justified and padded with spaces to 6 characters
          ^^^^^^          expiry date YYMMDD (years 2000-2099)
                ^         right, 'C' (call) or 'P' (put)
                 ^^^^^^^^ strike x 1000 as 8 digits (05800000 = 5800.000)

so ``SPXW  261218P05800000`` is the SPXW (SPX weekly) put expiring 2026-12-18 with strike 5800.0. The
strike is in the option's currency per unit of underlying, in 1/1000ths, so 0.001 <= strike <= 99999.999.

Accepted input (:func:`parse_occ`)
----------------------------------
* the padded 21-character form above;
* the **compact** form without the padding spaces, as many vendors print it (``SPXW261218P05800000``);
  any number of spaces between root and date is accepted;
* leading and trailing whitespace, and lower-case letters (the symbol is stripped and upper-cased first).

After normalisation the last 15 characters are date, right and strike, and what precedes them (spaces
removed at its end) is the root: 1-6 upper-case letters or digits. Vendor prefixes such as ``O:`` or
``.`` are *not* removed: strip them before calling.

Reason codes (:class:`OccReason`), first that applies
-----------------------------------------------------
``ok``, ``missing`` (null or blank), ``bad_length`` (not 16-21 characters after normalisation),
``bad_root`` (not 1-6 letters/digits), ``bad_date`` (not 6 digits or not a calendar date),
``bad_right`` (not C/P), ``bad_strike`` (not 8 digits, or zero).

Formatting (:func:`format_occ`) rejects a strike that is not a whole number of 1/1000ths (within
:data:`STRIKE_TOLERANCE`) or is outside [0.001, 99999.999], an expiry outside 2000-2099, a right that is
not C/P and a root that is not 1-6 letters/digits.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "OCC_COLUMNS",
    "OCC_LENGTH",
    "OCC_REASON_TEXT",
    "OccContract",
    "OccReason",
    "ROOT_WIDTH",
    "STRIKE_MAX",
    "STRIKE_SCALE",
    "STRIKE_TOLERANCE",
    "format_occ",
    "parse_occ",
    "parse_occ_one",
]

#: Length of the padded OCC symbol.
OCC_LENGTH = 21
#: Width of the padded root field.
ROOT_WIDTH = 6
#: Strike units per 1.0 of strike: the symbol holds ``round(strike * STRIKE_SCALE)`` as 8 digits.
STRIKE_SCALE = 1000
#: Largest strike an OCC symbol can hold (99999999 / 1000).
STRIKE_MAX = 99_999.999
#: Largest accepted ``|strike * 1000 - round(strike * 1000)|`` (absorbs float noise like 0.1 + 0.2).
STRIKE_TOLERANCE = 1e-6

_TAIL = 15  # YYMMDD + right + 8 strike digits
_ROOT_RE = r"[A-Z0-9]{1,6}"


class OccReason(StrEnum):
    """Why an OCC symbol could not be parsed (``ok`` when it could)."""

    OK = "ok"
    MISSING = "missing"
    BAD_LENGTH = "bad_length"
    BAD_ROOT = "bad_root"
    BAD_DATE = "bad_date"
    BAD_RIGHT = "bad_right"
    BAD_STRIKE = "bad_strike"


#: Human-readable explanation of each reason code (used in error messages).
OCC_REASON_TEXT: dict[OccReason, str] = {
    OccReason.OK: "valid",
    OccReason.MISSING: "symbol is empty",
    OccReason.BAD_LENGTH: "need 21 characters (root padded to 6) or 16-21 in compact form",
    OccReason.BAD_ROOT: "root must be 1-6 upper-case letters or digits",
    OccReason.BAD_DATE: "expiry YYMMDD is not a calendar date",
    OccReason.BAD_RIGHT: "right must be C or P",
    OccReason.BAD_STRIKE: "strike must be 8 digits (strike x 1000), not all zero",
}

#: Columns of :func:`parse_occ`'s result, with pandas dtypes.
OCC_COLUMNS: dict[str, str] = {
    "symbol": "string",          # normalised padded 21-character symbol, <NA> when invalid
    "root": "string",
    "expiry": "datetime64[us]",  # naive expiration date
    "right": "string",           # 'C' or 'P'
    "strike": "float64",         # per unit of underlying
    "valid": "bool",
    "reason": "string",          # an OccReason value
}


@dataclass(frozen=True, slots=True)
class OccContract:
    """One parsed OCC symbol.

    Attributes
    ----------
    root : str
        Option root (e.g. ``SPXW``), 1-6 letters/digits; not always the underlying's ticker.
    expiry : datetime.date
        Expiration date.
    right : str
        'C' or 'P'.
    strike : float
        Strike per unit of underlying, a multiple of 0.001.
    """

    root: str
    expiry: _dt.date
    right: str
    strike: float

    @property
    def symbol(self) -> str:
        """The padded 21-character OCC symbol."""
        return str(format_occ(self.root, self.expiry, self.right, self.strike))


def _is_scalar(x: Any) -> bool:
    return np.ndim(x) == 0 and not isinstance(x, pd.Series | pd.Index)


def _first_index(*xs: Any) -> pd.Index | None:
    for x in xs:
        if isinstance(x, pd.Series):
            return x.index
    return None


def parse_occ(symbols: Any) -> pd.DataFrame:
    """Parse OCC option symbols (vectorised; never raises on bad symbols).

    Parameters
    ----------
    symbols : str, array-like of str or pandas.Series
        OCC symbols, padded (``SPXW  261218P05800000``) or compact (``SPXW261218P05800000``), with
        optional surrounding whitespace; null entries allowed.

    Returns
    -------
    pandas.DataFrame
        One row per input (the Series' index, else 0..n-1) with :data:`OCC_COLUMNS`: ``symbol`` (the
        normalised padded form), ``root``, ``expiry`` (datetime64 date), ``right`` ('C'/'P'),
        ``strike`` (float, per unit of underlying), ``valid`` and ``reason`` (an :class:`OccReason`
        value). Parsed fields are null where ``valid`` is False.

    Examples
    --------
    >>> parse_occ(["SPXW  261218P05800000"]).loc[0, ["root", "right", "strike"]].tolist()
    ['SPXW', 'P', 5800.0]
    """
    if _is_scalar(symbols):
        symbols = [symbols]
    index = symbols.index if isinstance(symbols, pd.Series) else None
    raw = pd.Series(np.asarray(symbols, dtype=object), dtype=object, index=index)
    text = raw.where(raw.notna(), None).astype("string").str.strip().str.upper()
    n = text.str.len()
    head = text.str.slice(0, -_TAIL).str.rstrip()
    date = text.str.slice(-_TAIL, -9)
    right = text.str.slice(-9, -8)
    strike_txt = text.str.slice(-8)

    missing = (text.isna() | (n == 0)).to_numpy(dtype=bool)
    bad_len = ~((n >= _TAIL + 1) & (n <= OCC_LENGTH)).to_numpy(dtype=bool, na_value=False)
    bad_root = ~head.str.fullmatch(_ROOT_RE).to_numpy(dtype=bool, na_value=False)
    expiry = pd.to_datetime("20" + date, format="%Y%m%d", errors="coerce")
    date_digits = date.str.fullmatch(r"\d{6}").to_numpy(dtype=bool, na_value=False)
    bad_date = ~date_digits | expiry.isna().to_numpy(dtype=bool)
    bad_right = ~right.isin(["C", "P"]).to_numpy(dtype=bool, na_value=False)
    strike_digits = strike_txt.str.fullmatch(r"\d{8}").to_numpy(dtype=bool, na_value=False)
    milli = pd.to_numeric(strike_txt.where(strike_digits), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad_strike = ~strike_digits | ~(milli > 0)

    checks = [(OccReason.MISSING, missing), (OccReason.BAD_LENGTH, bad_len), (OccReason.BAD_ROOT, bad_root),
              (OccReason.BAD_DATE, bad_date), (OccReason.BAD_RIGHT, bad_right), (OccReason.BAD_STRIKE, bad_strike)]
    reason = np.full(len(text), OccReason.OK.value, dtype=object)
    decided = np.zeros(len(text), dtype=bool)
    for code, flag in checks:
        hit = flag & ~decided
        reason[hit] = code.value
        decided |= hit
    valid = ~decided

    out = pd.DataFrame(index=text.index)
    root = head.where(valid)
    out["symbol"] = (root.str.pad(ROOT_WIDTH, side="right") + text.str.slice(-_TAIL)).where(valid)
    out["root"] = root
    out["expiry"] = expiry.where(valid).astype("datetime64[us]").to_numpy()
    out["right"] = right.where(valid)
    out["strike"] = np.where(valid, milli / STRIKE_SCALE, np.nan)
    out["valid"] = valid
    out["reason"] = pd.Series(reason, index=text.index, dtype="string")
    return out.astype(OCC_COLUMNS)


def parse_occ_one(symbol: str) -> OccContract:
    """Parse one OCC symbol, raising on a malformed one.

    Parameters
    ----------
    symbol : str
        Padded or compact OCC symbol (see :func:`parse_occ`).

    Returns
    -------
    OccContract
        Root, expiry date, right and strike (per unit of underlying).

    Raises
    ------
    ValueError
        The symbol is malformed; the message names the symbol, the reason code and what is wrong.
    """
    row = parse_occ([symbol]).iloc[0]
    if not row["valid"]:
        code = OccReason(row["reason"])
        raise ValueError(f"bad OCC option symbol {symbol!r}: {code.value} ({OCC_REASON_TEXT[code]})")
    return OccContract(root=str(row["root"]), expiry=row["expiry"].date(), right=str(row["right"]),
                       strike=float(row["strike"]))


def format_occ(root: Any, expiry: Any, right: Any, strike: Any, *, compact: bool = False,
               errors: Literal["raise", "coerce"] = "raise") -> Any:
    """Build OCC option symbols (vectorised, broadcasting).

    Parameters
    ----------
    root : str or array-like of str
        Option root, 1-6 letters/digits (upper-cased; surrounding whitespace stripped).
    expiry : date-like or array-like
        Expiration date (anything :func:`pandas.to_datetime` reads; a time of day is ignored), 2000-2099.
    right : str, bool or array-like
        'C'/'P' (case-insensitive), or booleans meaning ``is_call``.
    strike : float or array-like of float
        Strike per unit of underlying, in [0.001, 99999.999] and a whole number of 1/1000ths.
    compact : bool, default False
        Omit the root padding (``SPXW261218P05800000``) instead of the 21-character form.
    errors : {'raise', 'coerce'}, default 'raise'
        'raise': raise on any bad element; 'coerce': give a null symbol for it.

    Returns
    -------
    str, numpy.ndarray or pandas.Series
        A ``str`` when every input is a scalar (None if coerced); a ``string`` Series with the index of
        the first Series input when any input is a Series (inputs are aligned by position); else an
        object array.

    Raises
    ------
    ValueError
        With ``errors='raise'``: the inputs do not broadcast, or an element is invalid; the message
        names the argument, the first bad value and how many elements are bad.

    Examples
    --------
    >>> format_occ("SPXW", "2026-12-18", "P", 5800.0)
    'SPXW  261218P05800000'
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', got {errors!r}")
    right_values = right.to_numpy() if isinstance(right, pd.Series | pd.Index) else right
    if np.asarray(right_values).dtype.kind == "b":  # is_call booleans
        right = np.where(np.asarray(right_values), "C", "P")
        if isinstance(right_values, bool | np.bool_):
            right = str(right)
    args = (root, expiry, right, strike)
    scalar = all(_is_scalar(a) for a in args)
    index = _first_index(*args)
    arrays = [np.atleast_1d(np.asarray(a.to_numpy() if isinstance(a, pd.Series | pd.Index) else a, dtype=object))
              for a in args]
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError as exc:
        raise ValueError(f"format_occ: root, expiry, right and strike do not broadcast: {exc}") from None
    shape = arrays[0].shape
    r_root, r_exp, r_right, r_strike = (pd.Series(a.ravel(), dtype=object) for a in arrays)

    root_s = r_root.where(r_root.notna(), None).astype("string").str.strip().str.upper()
    ok_root = root_s.str.fullmatch(_ROOT_RE).to_numpy(dtype=bool, na_value=False)

    exp = pd.to_datetime(r_exp, errors="coerce")
    if isinstance(exp.dtype, pd.DatetimeTZDtype):
        exp = exp.dt.tz_localize(None)
    year = exp.dt.year.to_numpy(dtype=float, na_value=np.nan)
    ok_exp = (year >= 2000) & (year <= 2099)

    right_s = r_right.where(r_right.notna(), None).astype("string").str.strip().str.upper()
    ok_right = right_s.isin(["C", "P"]).to_numpy(dtype=bool, na_value=False)

    k = pd.to_numeric(r_strike, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        scaled = k * STRIKE_SCALE
        milli = np.rint(scaled)
        ok_strike = (np.isfinite(scaled) & (np.abs(scaled - milli) <= STRIKE_TOLERANCE)
                     & (milli >= 1) & (milli <= STRIKE_MAX * STRIKE_SCALE + 0.5))

    if errors == "raise":
        for name, ok, values, need in (
            ("root", ok_root, r_root, "1-6 letters/digits"),
            ("expiry", ok_exp, r_exp, "a date in 2000-2099"),
            ("right", ok_right, r_right, "'C'/'P' or a bool"),
            ("strike", ok_strike, r_strike, "a multiple of 0.001 in [0.001, 99999.999]"),
        ):
            if not ok.all():
                bad = values[~ok]
                raise ValueError(f"format_occ: {name} {bad.iloc[0]!r} is not {need} "
                                 f"({len(bad)} of {len(values)} elements bad)")
    good = ok_root & ok_exp & ok_right & ok_strike
    root_field = root_s if compact else root_s.str.pad(ROOT_WIDTH, side="right")
    strike_field = pd.Series(np.where(good, milli, 0).astype(np.int64)).astype("string").str.zfill(8)
    sym = (root_field + exp.dt.strftime("%y%m%d").astype("string") + right_s + strike_field).where(good)

    if scalar:
        v = sym.iloc[0]
        return None if pd.isna(v) else str(v)
    if index is not None and len(index) == len(sym):
        return pd.Series(sym.to_numpy(), index=index, dtype="string")
    return sym.to_numpy(dtype=object, na_value=None).reshape(shape)
