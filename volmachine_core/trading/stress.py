"""Stress grid: the PnL of a book (plus candidates) under spot and vol shocks, by full repricing.

Every leg is revalued with Black-76 (``pricing.black76_price``) at each grid point, never by greeks: the
forward moves with spot (``F (1 + dS)``), each leg's vol shifts in parallel by ``dV`` (vol points as
decimals, floored at 1e-4), tau and discount factor stay (an instantaneous shock). PnL per point is
``sum quantity * multiplier * (price(shocked) - price(now))`` in currency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.pricing import black76_price

__all__ = ["STRESS_LEG_COLUMNS", "stress_grid", "stress_by_group"]

STRESS_LEG_COLUMNS = ("forward", "strike", "tau", "vol", "discount_factor", "right", "quantity", "multiplier")


def stress_grid(legs: pd.DataFrame, spot_moves=(-0.05, -0.025, 0.0, 0.025, 0.05),
                vol_moves=(-0.05, 0.0, 0.05)) -> pd.DataFrame:
    """PnL (currency) of all legs together for each (spot move, vol move), a vol x spot table.

    Parameters
    ----------
    legs : DataFrame
        ``STRESS_LEG_COLUMNS``: forward, strike (price units), tau (years), vol (decimal), discount_factor,
        right ('C'/'P'), quantity (signed contracts), multiplier.
    spot_moves : sequence of float
        Relative spot shocks (-0.05 = down 5%).
    vol_moves : sequence of float
        Parallel vol shocks in decimals (0.05 = +5 vol points).

    Returns
    -------
    DataFrame indexed by vol move with one column per spot move.
    """
    ds, dv = np.asarray(spot_moves, dtype=float), np.asarray(vol_moves, dtype=float)
    pnl = stress_by_group(legs, np.zeros(len(legs), dtype=int), 1, ds, dv)[0]
    return pd.DataFrame(pnl, index=pd.Index(dv, name="vol_move"), columns=pd.Index(ds, name="spot_move"))


def stress_by_group(legs: pd.DataFrame, groups, n_groups: int, spot_moves=(-0.05, -0.025, 0.0, 0.025, 0.05),
                    vol_moves=(-0.05, 0.0, 0.05)) -> np.ndarray:
    """PnL grids of many structures at once: shape ``(n_groups, n_vol_moves, n_spot_moves)``.

    ``groups`` gives each leg's group number in ``[0, n_groups)``; every leg is repriced once per grid point
    (as :func:`stress_grid`) and the legs' PnLs are summed per group.
    """
    missing = [c for c in STRESS_LEG_COLUMNS if c not in legs.columns]
    if missing:
        raise ValueError(f"legs lack column(s) {missing}")
    ds, dv = np.asarray(spot_moves, dtype=float), np.asarray(vol_moves, dtype=float)
    out = np.zeros((n_groups, dv.size, ds.size))
    if legs.empty:
        return out
    F, K, tau, vol, D = (legs[c].to_numpy(float) for c in ("forward", "strike", "tau", "vol", "discount_factor"))
    call = legs["right"].astype(str).str.upper().eq("C").to_numpy()
    size = legs["quantity"].to_numpy(float) * legs["multiplier"].to_numpy(float)
    now = black76_price(F, K, tau, vol, D, call)
    shape = (dv.size, ds.size, len(legs))
    Fs = np.broadcast_to(F * (1.0 + ds[:, None]), shape)
    vs = np.broadcast_to(np.maximum(vol + dv[:, None, None], 1e-4), shape)
    px = black76_price(Fs, np.broadcast_to(K, shape), np.broadcast_to(tau, shape), vs, np.broadcast_to(D, shape),
                       np.broadcast_to(call, shape))
    leg_pnl = np.moveaxis((px - now) * size, -1, 0)  # (legs, vol, spot)
    np.add.at(out, np.asarray(groups, dtype=int), leg_pnl)
    return out
