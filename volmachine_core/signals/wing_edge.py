"""The ``wing`` edge: the strongest wing-model residuals beyond the bid/ask spread, per underlying and expiry.

From ``wing_theos`` rows of end-of-day snapshots (status ``ok``, expiry inside the configured DTE range,
out-of-the-money options only, ``|z| >= min_abs_z``). A residual shared by every expiry of the day at the
same SD is the model missing a smile-shape move (the regression has no regressor for it), not a
mispriced option, so each residual is first taken relative to the day's level: ``excess = residual -
median(residual of the same underlying, day and SD bucket across expiries)`` (buckets of 0.5 SD; with
fewer than three expiries in a bucket the level is 0), and ``excess_beyond_spread = sign(excess) *
max(|excess| - half_spread_vol, 0)``. Per (trade_date, underlying, expiry) the option with the largest
``|excess_beyond_spread|`` is the candidate; per (trade_date, underlying) one edge row fires when the best
of those is at least ``min_beyond_spread`` (vol, decimal) beyond the half spread. Its metrics
list the top expiries with strike, SD, market and model vol, residual and PnL theo per contract; the
rationale names the strongest. ``direction`` is ``sell_vol`` when the market vol is above the model
(the option is rich) and ``buy_vol`` below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.groups import group_first_rows, group_ids, group_median
from volmachine_core.signals.edges import EDGE_STRUCTURES, strength_from

__all__ = ["wing_candidates", "wing_edges"]

_NEED = ("snapshot_id", "trade_date", "underlying", "expiry", "strike", "right", "z", "market_vol", "model_vol",
         "residual", "half_spread_vol", "residual_beyond_spread", "pnl_theo", "vega", "atm_hedge_ratio",
         "in_dte_range", "status")


def wing_candidates(theos: pd.DataFrame, min_abs_z: float = 0.75) -> pd.DataFrame:
    """The option with the largest excess residual beyond spread per (trade_date, underlying, expiry).

    Only OTM options (calls above the forward, puts below: ``z > 0`` for calls, ``z < 0`` for puts) with
    ``|z| >= min_abs_z`` in the DTE range and with a model (status ok) are considered.
    """
    missing = [c for c in _NEED if c not in theos.columns]
    if missing:
        raise ValueError(f"wing_candidates: theos lack column(s) {missing}")
    t = theos
    z = t["z"].to_numpy(float)
    call = t["right"].astype(str).to_numpy() == "C"
    otm = np.where(call, z > 0, z < 0)
    keep = (t["status"].astype(str).to_numpy() == "ok") & t["in_dte_range"].to_numpy(bool) & otm
    keep &= (np.abs(z) >= min_abs_z) & np.isfinite(t["residual"].to_numpy(float))
    t = t[keep].assign(trade_date=lambda d: pd.to_datetime(d["trade_date"]),
                       sd_bucket=lambda d: np.round(d["z"].to_numpy(float) * 2.0) / 2.0)
    res = t["residual"].to_numpy(float)
    # per (day, underlying, SD bucket): the median over expiries of each expiry's median residual
    cell, n_cell = group_ids(t, ["trade_date", "underlying", "sd_bucket", "expiry"])
    bucket, n_bucket = group_ids(t, ["trade_date", "underlying", "sd_bucket"])
    first = group_first_rows(cell, n_cell)
    cell_bucket = bucket[first]
    level = group_median(cell_bucket, group_median(cell, res, n_cell), n_bucket)
    level = np.where(np.bincount(cell_bucket, minlength=n_bucket) >= 3, level, 0.0)
    t["residual_level"] = level[bucket]
    t["excess"] = res - t["residual_level"].to_numpy()
    half = t["half_spread_vol"].to_numpy(float)
    ex = t["excess"].to_numpy()
    t["excess_beyond_spread"] = np.sign(ex) * np.maximum(np.abs(ex) - half, 0.0)
    t["abs_beyond"] = np.abs(t["excess_beyond_spread"])
    # the strongest option per (day, underlying, expiry)
    slice_id, n_slice = group_ids(t, ["trade_date", "underlying", "expiry"])
    order = np.lexsort((-t["abs_beyond"].to_numpy(), slice_id))
    best = order[group_first_rows(slice_id[order], n_slice)]
    return t.iloc[np.sort(best)].reset_index(drop=True)


def wing_edges(theos: pd.DataFrame, min_beyond_spread: float = 0.01, top: int = 5,
               min_abs_z: float = 0.75) -> pd.DataFrame:
    """One ``wing`` edge row per (trade_date, underlying) with theos (see the module docstring).

    Parameters
    ----------
    theos : DataFrame
        ``wing_theos`` rows (end-of-day snapshots).
    min_beyond_spread : float
        Residual beyond the half spread (vol, decimal) the strongest option needs for the edge to fire.
    top : int
        Expiries listed in the metrics, strongest first.
    """
    best = wing_candidates(theos, min_abs_z)
    if best.empty:
        return pd.DataFrame(columns=["trade_date", "underlying", "edge", "fired", "strength", "direction",
                                     "rationale", "structure", "metrics"])
    best = best.sort_values(["trade_date", "underlying", "abs_beyond"], ascending=[True, True, False],
                            kind="stable").reset_index(drop=True)
    day, _ = group_ids(best, ["trade_date", "underlying"])
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    ends = np.r_[starts[1:], len(best)]
    listed_cols = {"expiry": "expiry", "strike": "strike", "right": "right", "z": "z", "market_vol": "market_vol",
                   "model_vol": "model_vol", "residual": "residual", "residual_level": "residual_level",
                   "excess": "excess", "beyond_spread": "excess_beyond_spread", "pnl_theo_buyer": "pnl_theo",
                   "atm_hedge_ratio": "atm_hedge_ratio"}
    records = best[list(listed_cols.values())].rename(columns={v: k for k, v in listed_cols.items()}).to_dict("records")
    heads = best.iloc[starts].to_dict("records")
    rows = []
    for s, a, b in zip(heads, starts, ends, strict=True):  # one row per day x underlying: its text
        fired = bool(s["abs_beyond"] >= min_beyond_spread)
        side = "sell_vol" if s["excess"] > 0 else "buy_vol"
        text = (f"{pd.Timestamp(s['expiry']):%Y-%m-%d} {s['z']:+.1f} SD {s['right']} {s['strike']:g}: market "
                f"{100 * s['market_vol']:.1f}% vs model {100 * s['model_vol']:.1f}% ({100 * s['residual']:+.1f} pts, "
                f"{100 * s['excess']:+.1f} against the day's level at this SD, {100 * s['abs_beyond']:.1f} beyond "
                f"half-spread); {'sell' if side == 'sell_vol' else 'buy'} it, theo {abs(s['pnl_theo']):,.0f} per "
                f"contract, vega-hedged with {s['atm_hedge_ratio']:.2f} ATM")
        rows.append({"trade_date": s["trade_date"], "underlying": s["underlying"], "edge": "wing", "fired": fired,
                     "strength": float(strength_from(s["abs_beyond"] - min_beyond_spread, 0.01)) if fired else 0.0,
                     "direction": side if fired else "none",
                     "rationale": text if fired else "no wing residual beyond spread; strongest " + text,
                     "structure": EDGE_STRUCTURES["wing"],
                     "metrics": {"top": records[a:min(b, a + top)], "min_beyond_spread": min_beyond_spread,
                                 "expiries_checked": int(b - a), "snapshot_id": s["snapshot_id"]}})
    return pd.DataFrame(rows)
