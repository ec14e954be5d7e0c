"""A signal against its own history: trailing percentile rank and z-score per underlying, point-in-time.

Both use only the row's own session and earlier ones of the same underlying, so a value on day t never
sees day t+1. The percentile includes the day itself (``1.0`` = the highest value of the window); the
z-score compares the day with the window *before* it, so an outlier does not dilute its own baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["trailing_moments", "trailing_percentile", "trailing_zscore"]


def _check(frame: pd.DataFrame, column: str, window: int, min_obs: int) -> None:
    for c in ("underlying", "trade_date", column):
        if c not in frame.columns:
            raise ValueError(f"history: frame lacks column {c!r}")
    if not 2 <= min_obs <= window:
        raise ValueError(f"history: need 2 <= min_obs ({min_obs}) <= window ({window})")
    if frame.duplicated(["underlying", "trade_date"]).any():
        raise ValueError("history: more than one row per (underlying, trade_date)")


def _ordered(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, np.ndarray]:
    order = np.lexsort((pd.to_datetime(frame["trade_date"]).to_numpy(), frame["underlying"].astype(str).to_numpy()))
    return frame.iloc[order][["underlying", column]].reset_index(drop=True), order


def trailing_percentile(frame: pd.DataFrame, column: str, window: int = 252, min_obs: int = 20) -> pd.Series:
    """Percentile rank (0-1) of each row's ``column`` among the last ``window`` sessions of its underlying.

    Parameters
    ----------
    frame : DataFrame
        ``underlying``, ``trade_date`` and ``column``, one row per (underlying, trade_date), any order.
    window : int
        Sessions in the window, the row's own included.
    min_obs : int
        Fewest non-missing values needed; fewer gives NaN.

    Returns
    -------
    Series aligned with ``frame``'s index; ties take their average rank.
    """
    _check(frame, column, window, min_obs)
    f, order = _ordered(frame, column)
    pct = f.groupby("underlying", sort=False)[column].rolling(window, min_periods=min_obs).rank(pct=True)
    out = np.empty(len(f))
    out[order] = pct.to_numpy()
    return pd.Series(out, index=frame.index, name=f"{column}_pct")


def trailing_moments(frame: pd.DataFrame, column: str, window: int = 120, min_obs: int = 20) -> pd.DataFrame:
    """Mean and SD of ``column`` over the ``window`` sessions *before* each row (same underlying).

    Returns a frame aligned with ``frame``'s index with columns ``mean`` and ``sd`` (NaN with fewer than
    ``min_obs`` earlier values). Same input rules as :func:`trailing_percentile`.
    """
    _check(frame, column, window, min_obs)
    f, order = _ordered(frame, column)
    prior = f.groupby("underlying", sort=False)[column].shift(1)
    roll = prior.groupby(f["underlying"], sort=False).rolling(window, min_periods=min_obs)
    mean, sd = np.empty(len(f)), np.empty(len(f))
    mean[order], sd[order] = roll.mean().to_numpy(), roll.std().to_numpy()
    return pd.DataFrame({"mean": mean, "sd": sd}, index=frame.index)


def trailing_zscore(frame: pd.DataFrame, column: str, window: int = 120, min_obs: int = 20) -> pd.Series:
    """``(x_t - mean) / sd`` with mean and sd over the ``window`` sessions before t (same underlying).

    Returns NaN with fewer than ``min_obs`` earlier values or a zero spread. Same input rules as
    :func:`trailing_percentile`.
    """
    m = trailing_moments(frame, column, window, min_obs)
    sd = m["sd"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (frame[column].to_numpy(float) - m["mean"].to_numpy()) / sd, np.nan)
    return pd.Series(z, index=frame.index, name=f"{column}_z")
