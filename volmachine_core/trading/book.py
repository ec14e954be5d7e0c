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
from volmachine_core.trading.risk_model import RiskModelSpec, bucket_forward_vols
from volmachine_core.trading.vega import bucket_vegas, vol_change_correlation, vol_pnl_sd

__all__ = ["open_on", "book_history", "daily_pnl", "open_risk", "book_vol_risk"]


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


def book_vol_risk(greeks: pd.DataFrame, term: pd.DataFrame, vol_history: pd.DataFrame,
                  edges_days=(30, 90), shrink: float = 0.3, rho: float = 0.8,
                  default_sd: float = 0.01) -> pd.DataFrame:
    """Bucketed vega and the one-SD vol-move PnL ``sqrt(E' M E)`` of the book per underlying (one day).

    ``greeks``: the day's ``book_history`` rows (vega in currency per 1.00 vol, tau, status); ``term``:
    underlying, tau, atm_vol of that day (forward-vol buckets ``(0, e1], (e1, e2], ...``); ``vol_history``:
    trade_date, underlying, iv_30d, iv_90d, iv_180d before that day. ``E_j`` is the bucket's vega times the
    daily SD of the constant-maturity ATM vol change standing for it (30, 90, 180 days; ``default_sd`` with
    fewer than 10 changes); ``M`` the correlation of those changes shrunk toward ``rho^|ln(Ta/Tb)|``
    (``vega.vol_change_correlation``).

    Returns
    -------
    DataFrame: underlying, vega, modified_vega, ``vega_b<j>`` per bucket, one_sd_vol_pnl (currency, one day).
    """
    spec = RiskModelSpec(edges_days=tuple(edges_days), shrink=shrink, rho=rho)
    tenors = (30, 90, 180)
    edges, n_b = spec.edges_years(), spec.n_buckets
    pick = [tenors.index(int(t)) for t in spec.bucket_tenor()]
    ok = greeks[greeks["status"] == "ok"] if len(greeks) else greeks
    rows = []
    for und, g in ok.groupby("underlying", sort=True):  # a few underlyings
        t = term[term["underlying"] == und]
        fv = bucket_forward_vols(t["tau"].to_numpy(float), t["atm_vol"].to_numpy(float), edges, n_b)
        bv = bucket_vegas(g["vega"].to_numpy(float), g["tau"].to_numpy(float), edges, fv).sum(axis=0)
        h = vol_history[vol_history["underlying"] == und].sort_values("trade_date")
        cols = [f"iv_{tenors[i]}d" for i in pick]
        d = h[[f"iv_{n}d" for n in tenors]].diff().dropna()
        sd = np.array([d[c].std() if len(d) >= 10 else default_sd for c in cols])
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, default_sd)
        corr = vol_change_correlation(h, tenors, shrink, rho)[np.ix_(pick, pick)]
        rows.append({"underlying": und, "vega": float(g["vega"].sum()),
                     "modified_vega": float(g["modified_vega"].sum()),
                     **{f"vega_b{j}": float(v) for j, v in enumerate(bv)},
                     "one_sd_vol_pnl": vol_pnl_sd(bv * sd, corr)})
    return pd.DataFrame(rows, columns=["underlying", "vega", "modified_vega", *[f"vega_b{j}" for j in range(n_b)],
                                       "one_sd_vol_pnl"])
