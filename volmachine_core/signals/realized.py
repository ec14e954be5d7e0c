"""Realised volatility from daily bars: close-to-close, Parkinson and Yang-Zhang, annualised.

All estimators use a trailing window of ``window`` sessions (default 20) per underlying, ending on and
including the row's session, and annualise with 252 sessions a year. Vols are decimals.

* close-to-close: sample standard deviation of ``ln(C_t / C_{t-1})``;
* Parkinson (1980): ``sqrt(mean(ln(H/L)^2) / (4 ln 2))``, range-based, ignores the overnight gap;
* Yang-Zhang (2000): ``sqrt(s_o^2 + k s_c^2 + (1 - k) s_rs^2)`` with the overnight variance ``s_o^2`` of
  ``ln(O_t / C_{t-1})``, the open-to-close variance ``s_c^2`` of ``ln(C_t / O_t)``, the Rogers-Satchell
  mean ``ln(H/C) ln(H/O) + ln(L/C) ln(L/O)`` and ``k = 0.34 / (1.34 + (n + 1) / (n - 1))``: unbiased
  with drift and opening jumps, the least noisy of the three.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ANNUALISATION", "REALIZED_VOL_COLUMNS", "realized_vol"]

ANNUALISATION = 252.0
REALIZED_VOL_COLUMNS = ("trade_date", "underlying", "close", "ret", "rv_cc", "rv_parkinson", "rv_yz", "n_obs")


def realized_vol(bars: pd.DataFrame, window: int = 20, min_obs: int | None = None) -> pd.DataFrame:
    """Trailing realised vols per (trade_date, underlying).

    Parameters
    ----------
    bars : DataFrame
        trade_date, underlying, open, high, low, close (positive prices), one row per session.
    window : int
        Sessions per estimate (>= 2).
    min_obs : int, optional
        Fewest returns an estimate needs (2 to ``window``; default ``window``): at the start of a history
        the estimate uses the returns there are (``n_obs`` says how many); rows with fewer get NaN.

    Returns
    -------
    DataFrame
        ``REALIZED_VOL_COLUMNS`` sorted by underlying and date: the close, the log return ``ret`` and the
        three annualised vols; ``n_obs`` is the number of returns in the window.

    Raises
    ------
    ValueError
        A column is missing, ``window < 2``, a price is not positive, or a (date, underlying) repeats.
    """
    need = ["trade_date", "underlying", "open", "high", "low", "close"]
    missing = [c for c in need if c not in bars.columns]
    if missing:
        raise ValueError(f"bars lacks column(s) {missing}")
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    min_obs = window if min_obs is None else int(min_obs)
    if not 2 <= min_obs <= window:
        raise ValueError(f"min_obs must be within [2, window={window}], got {min_obs}")
    b = bars[need].copy()
    b["trade_date"] = pd.to_datetime(b["trade_date"])
    if b.duplicated(["trade_date", "underlying"]).any():
        raise ValueError("bars has more than one row per (trade_date, underlying)")
    px = b[["open", "high", "low", "close"]].to_numpy(float)
    if not (px > 0).all():
        bad = b[~(px > 0).all(axis=1)].iloc[0]
        raise ValueError(f"bars: non-positive price for {bad['underlying']} on {bad['trade_date']:%Y-%m-%d}")
    b = b.sort_values(["underlying", "trade_date"], kind="stable").reset_index(drop=True)
    g = b.groupby("underlying", sort=False)
    prev_close = g["close"].shift(1)
    ret = np.log(b["close"] / prev_close)
    overnight = np.log(b["open"] / prev_close)
    intraday = np.log(b["close"] / b["open"])
    hl2 = np.log(b["high"] / b["low"]) ** 2
    rs = (np.log(b["high"] / b["close"]) * np.log(b["high"] / b["open"])
          + np.log(b["low"] / b["close"]) * np.log(b["low"] / b["open"]))
    frame = pd.DataFrame({"u": b["underlying"], "ret": ret, "on": overnight, "oc": intraday, "hl2": hl2, "rs": rs})
    roll = frame.groupby("u", sort=False).rolling(window, min_periods=min_obs)
    var_cc = roll["ret"].var().to_numpy()
    var_o, var_c = roll["on"].var().to_numpy(), roll["oc"].var().to_numpy()
    mean_hl2, mean_rs = roll["hl2"].mean().to_numpy(), roll["rs"].mean().to_numpy()
    n = np.nan_to_num(roll["ret"].count().to_numpy(), nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = 0.34 / (1.34 + (n + 1) / (n - 1))
    out = b[["trade_date", "underlying", "close"]].assign(ret=ret)
    out["rv_cc"] = np.sqrt(var_cc * ANNUALISATION)
    out["rv_parkinson"] = np.sqrt(mean_hl2 / (4.0 * np.log(2.0)) * ANNUALISATION)
    out["rv_yz"] = np.sqrt(np.maximum(var_o + k * var_c + (1 - k) * mean_rs, 0.0) * ANNUALISATION)
    out["n_obs"] = n.astype(int)
    return out[list(REALIZED_VOL_COLUMNS)]
