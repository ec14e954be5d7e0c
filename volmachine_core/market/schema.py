"""The clean option-quote schema, the quarantine schema and the quarantine reason codes.

One clean row per (snapshot_id, underlying, expiry, strike, right) — the ``option_quotes`` view of
the warehouse contract. Units: prices per unit of underlying in the option's currency, strikes in
the same unit, ``multiplier`` units of underlying per contract, timestamps tz-aware UTC, ``right``
is 'C' or 'P'.

``snapshot_id`` names one quote snapshot: ``YYYY-MM-DDTHHMM`` in New York wall-clock time of the
quote (e.g. ``2019-06-26T1545``). End-of-day and intraday snapshots follow the same rule.
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd


class ReasonCode(StrEnum):
    """Why a raw row was quarantined instead of becoming a clean quote."""

    MISSING_FIELD = "missing_field"          # a required value is empty / null
    UNPARSEABLE = "unparseable"              # a value cannot be read as its type (number, date)
    BAD_RIGHT = "bad_right"                  # option type is not call/put
    NONPOSITIVE_STRIKE = "nonpositive_strike"
    NEGATIVE_PRICE = "negative_price"        # negative bid or ask
    ZERO_ASK = "zero_ask"                    # ask <= 0: no offer, no usable market
    CROSSED = "crossed"                      # bid > ask
    BELOW_INTRINSIC = "below_intrinsic"      # ask below the undiscounted-spot intrinsic value bound
    EXPIRED = "expired"                      # expiry before the quote date
    STALE = "stale"                          # quote unchanged while the underlying moved
    DUPLICATE = "duplicate"                  # same contract twice in one snapshot (later rows kept out)
    BAD_UNDERLYING_PRICE = "bad_underlying_price"


#: Columns of ``option_quotes`` (clean quotes) in order, with pandas dtypes.
CLEAN_QUOTE_COLUMNS: dict[str, str] = {
    "snapshot_id": "string",
    "quote_ts": "datetime64[us, UTC]",
    "trade_date": "datetime64[us]",  # naive date (midnight) of the quote's New York session
    "underlying": "string",
    "root": "string",
    "expiry": "datetime64[us]",      # naive expiration date
    "expiry_ts": "datetime64[us, UTC]",
    "settlement": "string",          # 'AM' or 'PM'
    "strike": "float64",
    "right": "string",               # 'C' or 'P'
    "bid": "float64",
    "ask": "float64",
    "bid_size": "float64",
    "ask_size": "float64",
    "volume": "float64",
    "open_interest": "float64",
    "underlying_price": "float64",   # mid of the underlying quote at quote time (or last if only that)
    "multiplier": "float64",
    "source": "string",              # 'sim' for the embedded market, else the vendor format name
    "source_file": "string",
    "source_row": "int64",           # 1-based data row number in the source file (header excluded)
}

#: Columns of ``quote_quarantine``.
QUARANTINE_COLUMNS: dict[str, str] = {
    "source_file": "string",
    "source_row": "int64",
    "snapshot_id": "string",         # null when the row's timestamp itself is unreadable
    "underlying": "string",
    "reason": "string",              # a ReasonCode value
    "detail": "string",              # human-readable: which column, which value
}

#: Columns of ``underlying_bars`` (one row per underlying x trading date).
UNDERLYING_BAR_COLUMNS: dict[str, str] = {
    "trade_date": "datetime64[us]",
    "underlying": "string",
    "open": "float64",
    "high": "float64",
    "low": "float64",
    "close": "float64",
    "volume": "float64",
    "source": "string",
}


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty DataFrame with the given columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def conform(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Select and cast ``df`` to exactly ``columns`` (order and dtypes); missing columns raise KeyError."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"missing columns {missing}")
    return df[list(columns)].astype(columns)


def snapshot_id_from_ts(quote_ts: pd.Series) -> pd.Series:
    """``YYYY-MM-DDTHHMM`` in New York wall-clock time for UTC quote timestamps."""
    ts = pd.to_datetime(quote_ts, utc=True).dt.tz_convert("America/New_York")
    return ts.dt.strftime("%Y-%m-%dT%H%M").astype("string")
