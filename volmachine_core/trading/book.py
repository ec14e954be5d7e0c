"""The book through time: positions open on each day, their daily greeks and marks, PnL and open risk.

A position is open on trading date ``d`` when ``open_date <= d <= expiry``. Each day's greeks and mark come from
that day's fitted curves (``greeks.position_greeks``); the daily PnL of a position is its mark change since the
previous session it was held (on its first day: mark minus ``entry_price x quantity x multiplier``). The book's
open risk is the max loss, per underlying, of all its open legs as one structure at their entry prices
(``payoff.structure_risk``; unbounded loss is ``inf``), in currency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.trading.greeks import position_greeks
from volmachine_core.trading.payoff import structure_risk

__all__ = ["open_on", "book_history", "daily_pnl", "open_risk"]


def open_on(positions: pd.DataFrame, days) -> pd.DataFrame:
    """Positions open on each of ``days`` (one row per day x position, column ``trade_date``)."""
    d = pd.DataFrame({"trade_date": pd.to_datetime(pd.Index(days))})
    if positions.empty:
        return positions.assign(trade_date=pd.Series(dtype="datetime64[ns]"))
    x = d.merge(positions, how="cross")
    keep = (pd.to_datetime(x["open_date"]) <= x["trade_date"]) & (x["trade_date"] <= pd.to_datetime(x["expiry"]))
    return x[keep].reset_index(drop=True)


def book_history(positions: pd.DataFrame, curve_params: pd.DataFrame, forwards: pd.DataFrame,
                 spot: pd.DataFrame, days, t_ref: float = 90 / 365) -> pd.DataFrame:
    """Greeks and marks of every open position on each day (``greeks.position_greeks`` columns + trade_date).

    ``curve_params`` and ``forwards`` carry ``trade_date`` (one snapshot per day and underlying); ``spot``:
    trade_date, underlying, close.
    """
    held = open_on(positions, days)
    if held.empty:
        return pd.DataFrame(columns=["trade_date", "position_id", "underlying", "expiry", "strike", "right",
                                     "quantity", "multiplier", "forward", "discount_factor", "spot", "tau", "vol",
                                     "price", "mark", "delta", "gamma", "vega", "theta", "slega", "modified_vega",
                                     "status"])
    out = []
    cp = curve_params.assign(trade_date=pd.to_datetime(curve_params["trade_date"]))
    fw = forwards.assign(trade_date=pd.to_datetime(forwards["trade_date"]))
    sp = spot.assign(trade_date=pd.to_datetime(spot["trade_date"]))
    for day, pos in held.groupby("trade_date", sort=True):  # one set of curves per day
        s = sp[sp["trade_date"] == day].set_index("underlying")["close"]
        g = position_greeks(pos, cp[cp["trade_date"] == day], fw[fw["trade_date"] == day], s, t_ref)
        out.append(g.assign(trade_date=day))
    return pd.concat(out, ignore_index=True)


def daily_pnl(history: pd.DataFrame, positions: pd.DataFrame, previous: pd.DataFrame | None = None) -> pd.Series:
    """PnL per position-day (currency) aligned with ``history``'s index.

    The mark change since the position's previous row (in ``history`` or in ``previous``, the stored rows of
    earlier days); on the position's first row ever, mark minus its entry cost ``entry_price x quantity x
    multiplier``. A day whose mark is missing (no curve) has NaN PnL and the next priced day takes the change
    since the last priced mark, so nothing is counted twice.
    """
    if history.empty:
        return pd.Series(dtype=float, index=history.index)
    cols = ["trade_date", "position_id", "mark"]
    cur = history[cols].assign(_row=np.arange(len(history)))
    prev = previous[cols].assign(_row=-1) if previous is not None and len(previous) else cur.iloc[:0]
    h = pd.concat([prev, cur], ignore_index=True).sort_values(["position_id", "trade_date"], kind="stable")
    last = h.groupby("position_id")["mark"].transform(lambda m: m.ffill().shift(1))
    first = h.groupby("position_id").cumcount() == 0
    entry = positions.drop_duplicates("position_id").set_index("position_id")
    cost = h["position_id"].map(entry["entry_price"] * entry["quantity"] * entry["multiplier"])
    pnl = (h["mark"] - np.where(first, cost, last)).to_numpy(float)
    out = np.full(len(history), np.nan)
    keep = h["_row"].to_numpy() >= 0
    out[h["_row"].to_numpy()[keep]] = pnl[keep]
    return pd.Series(out, index=history.index)


def open_risk(held: pd.DataFrame) -> pd.DataFrame:
    """Max loss (currency) of each (trade_date, underlying)'s open legs at their entry prices."""
    rows = []
    if held.empty:
        return pd.DataFrame(columns=["trade_date", "underlying", "open_risk"])
    for (day, und), g in held.groupby(["trade_date", "underlying"], sort=True):  # a few per day
        legs = g.assign(quantity=g["quantity"].astype(float) * g["multiplier"].astype(float),
                        price=g["entry_price"].astype(float))
        rows.append({"trade_date": day, "underlying": und,
                     "open_risk": float(structure_risk(legs).max_loss) if len(legs) else 0.0})
    out = pd.DataFrame(rows)
    out["open_risk"] = np.where(np.isfinite(out["open_risk"]), out["open_risk"], np.inf)
    return out
