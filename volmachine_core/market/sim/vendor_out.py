"""Chains in vendor layout: Cboe DataShop "Option EOD Summary" and "Option Quotes" (interval).

Values are typed (floats, ints, 'YYYY-MM-DD' strings); missing fields are NaN/None so a CSV writer
leaves them empty. The calculated EOD columns are the simulator's model values at 15:45:
``implied_volatility_1545`` the quoted model vol (decimal), ``delta_1545`` per unit of spot,
``gamma_1545`` per unit of spot squared, ``vega_1545`` per 1 vol point (0.01), ``theta_1545`` per
calendar day, ``rho_1545`` per 1 rate point (0.01); ``implied_underlying_price_1545`` is the
parity-implied underlying ``D * F + PV(cash dividends)`` (spot for discrete-dividend payers,
``spot * exp(-q tau)`` for SPX's continuous yield, so it varies by expiry there).
``active_underlying_price_1545`` is the underlying mid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["EOD_COLUMNS", "INTRADAY_COLUMNS", "eod_frame", "intraday_frame", "underlying_quote"]

EOD_COLUMNS: tuple[str, ...] = (
    "underlying_symbol",
    "quote_date",
    "root",
    "expiration",
    "strike",
    "option_type",
    "open",
    "high",
    "low",
    "close",
    "trade_volume",
    "bid_size_1545",
    "bid_1545",
    "ask_size_1545",
    "ask_1545",
    "underlying_bid_1545",
    "underlying_ask_1545",
    "implied_underlying_price_1545",
    "active_underlying_price_1545",
    "implied_volatility_1545",
    "delta_1545",
    "gamma_1545",
    "theta_1545",
    "vega_1545",
    "rho_1545",
    "bid_size_eod",
    "bid_eod",
    "ask_size_eod",
    "ask_eod",
    "underlying_bid_eod",
    "underlying_ask_eod",
    "vwap",
    "open_interest",
    "delivery_code",
)

INTRADAY_COLUMNS: tuple[str, ...] = (
    "underlying_symbol",
    "quote_datetime",
    "root",
    "expiration",
    "strike",
    "option_type",
    "open",
    "high",
    "low",
    "close",
    "trade_volume",
    "bid_size",
    "bid",
    "ask_size",
    "ask",
    "underlying_bid",
    "underlying_ask",
    "open_interest",
)


def underlying_quote(spot: float, kind: str) -> tuple[float, float]:
    """Underlying bid/ask: an index prints one value, ETFs/stocks a one-cent market around spot."""
    if kind == "index":
        s = round(float(spot), 2)
        return s, s
    bid = np.floor(float(spot) * 100.0) / 100.0
    return round(bid, 2), round(bid + 0.01, 2)


def _common(ch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    expiration = np.datetime_as_string(ch["expiry"].astype("datetime64[D]"), unit="D").astype(object)
    expiration[ch["missing_expiration"]] = None
    strike = np.where(ch["missing_strike"], np.nan, ch["strike"])
    return {
        "expiration": expiration,
        "strike": strike,
        "option_type": np.where(ch["is_call"], "C", "P").astype(object),
    }


def _contract_and_trades(ch: dict[str, np.ndarray], c: dict[str, np.ndarray], symbol: str, root: str,
                         time_column: str, time_value: str) -> dict[str, np.ndarray]:
    """The columns both Cboe layouts start with: contract identity, quote time and the day's trades."""
    n = len(ch["strike"])
    return {
        "underlying_symbol": np.full(n, symbol, dtype=object),
        time_column: np.full(n, time_value, dtype=object),
        "root": np.full(n, root, dtype=object),
        "expiration": c["expiration"],
        "strike": c["strike"],
        "option_type": c["option_type"],
        "open": ch["open"],
        "high": ch["high"],
        "low": ch["low"],
        "close": ch["close"],
        "trade_volume": ch["volume"].astype(np.int64),
    }


def eod_frame(
    ch: dict[str, np.ndarray],
    symbol: str,
    root: str,
    quote_date: str,
    kind: str,
    spot_1545: float,
    spot_close: float,
    implied_underlying: np.ndarray,
) -> pd.DataFrame:
    """The EOD Summary frame of one (session, underlying) from a (possibly corrupted) chain."""
    n = len(ch["strike"])
    c = _common(ch)
    ub, ua = underlying_quote(spot_1545, kind)
    ube, uae = underlying_quote(spot_close, kind)
    data = {
        **_contract_and_trades(ch, c, symbol, root, "quote_date", quote_date),
        "bid_size_1545": ch["bid_size"].astype(np.int64),
        "bid_1545": ch["bid"],
        "ask_size_1545": ch["ask_size"].astype(np.int64),
        "ask_1545": ch["ask"],
        "underlying_bid_1545": np.full(n, ub),
        "underlying_ask_1545": np.full(n, ua),
        "implied_underlying_price_1545": np.round(implied_underlying, 4),
        "active_underlying_price_1545": np.full(n, round(float(spot_1545), 4)),
        "implied_volatility_1545": np.round(ch["vol"], 6),
        "delta_1545": np.round(ch["delta"], 6),
        "gamma_1545": np.round(ch["gamma"], 8),
        "theta_1545": np.round(ch["theta"] / 365.0, 6),
        "vega_1545": np.round(ch["vega"] / 100.0, 6),
        "rho_1545": np.round(ch["rho"] / 100.0, 6),
        "bid_size_eod": ch["bid_size_eod"].astype(np.int64),
        "bid_eod": ch["bid_eod"],
        "ask_size_eod": ch["ask_size_eod"].astype(np.int64),
        "ask_eod": ch["ask_eod"],
        "underlying_bid_eod": np.full(n, ube),
        "underlying_ask_eod": np.full(n, uae),
        "vwap": ch["vwap"],
        "open_interest": ch["oi"].astype(np.int64),
        "delivery_code": np.full(n, None, dtype=object),
    }
    return pd.DataFrame(data, columns=list(EOD_COLUMNS))


def intraday_frame(
    ch: dict[str, np.ndarray], symbol: str, root: str, quote_datetime: str, kind: str, spot: float
) -> pd.DataFrame:
    """The Option Quotes (interval) frame of one (snapshot, underlying)."""
    n = len(ch["strike"])
    c = _common(ch)
    ub, ua = underlying_quote(spot, kind)
    data = {
        **_contract_and_trades(ch, c, symbol, root, "quote_datetime", quote_datetime),
        "bid_size": ch["bid_size"].astype(np.int64),
        "bid": ch["bid"],
        "ask_size": ch["ask_size"].astype(np.int64),
        "ask": ch["ask"],
        "underlying_bid": np.full(n, ub),
        "underlying_ask": np.full(n, ua),
        "open_interest": ch["oi"].astype(np.int64),
    }
    return pd.DataFrame(data, columns=list(INTRADAY_COLUMNS))
