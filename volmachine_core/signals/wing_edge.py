"""The ``wing`` edge: the strongest wing-model residuals beyond the bid/ask spread, per underlying and expiry.

From ``wing_theos`` rows of end-of-day snapshots (status ``ok``, expiry inside the configured DTE range,
out-of-the-money options only, ``|z| >= min_abs_z``): per (trade_date, underlying, expiry) the option
with the largest ``|residual_beyond_spread|``; per (trade_date, underlying) one edge row that fires when
the best of those is at least ``min_beyond_spread`` (vol, decimal) beyond the half spread. Its metrics
list the top expiries with strike, SD, market and model vol, residual and PnL theo per contract; the
rationale names the strongest. ``direction`` is ``sell_vol`` when the market vol is above the model
(the option is rich) and ``buy_vol`` below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.signals.edges import EDGE_STRUCTURES, strength_from

__all__ = ["wing_candidates", "wing_edges"]

_NEED = ("snapshot_id", "trade_date", "underlying", "expiry", "strike", "right", "z", "market_vol", "model_vol",
         "residual", "half_spread_vol", "residual_beyond_spread", "pnl_theo", "vega", "atm_hedge_ratio",
         "in_dte_range", "status")


def wing_candidates(theos: pd.DataFrame, min_abs_z: float = 0.75) -> pd.DataFrame:
    """The option with the largest residual beyond spread per (trade_date, underlying, expiry).

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
    keep &= (np.abs(z) >= min_abs_z) & np.isfinite(t["residual_beyond_spread"].to_numpy(float))
    t = t[keep].assign(abs_beyond=lambda d: d["residual_beyond_spread"].abs(),
                       trade_date=lambda d: pd.to_datetime(d["trade_date"]))
    t = t.sort_values(["trade_date", "underlying", "expiry", "abs_beyond"], ascending=[True, True, True, False],
                      kind="stable")
    return t.drop_duplicates(["trade_date", "underlying", "expiry"]).reset_index(drop=True)


def wing_edges(theos: pd.DataFrame, min_beyond_spread: float = 0.005, top: int = 5,
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
    best = best.sort_values(["trade_date", "underlying", "abs_beyond"], ascending=[True, True, False], kind="stable")
    rows = []
    for (d, u), g in best.groupby(["trade_date", "underlying"], sort=True):  # one row per day x underlying
        s = g.iloc[0]
        fired = bool(s["abs_beyond"] >= min_beyond_spread)
        side = "sell_vol" if s["residual"] > 0 else "buy_vol"
        exp = pd.Timestamp(s["expiry"])
        text = (f"{exp:%Y-%m-%d} {s['z']:+.1f} SD {s['right']} {s['strike']:g}: market {100 * s['market_vol']:.1f}% vs "
                f"model {100 * s['model_vol']:.1f}% ({100 * s['residual']:+.1f} pts, "
                f"{100 * s['abs_beyond']:.1f} beyond half-spread); "
                f"{'sell' if side == 'sell_vol' else 'buy'} it, theo {abs(s['pnl_theo']):,.0f} per contract, "
                f"vega-hedged with {s['atm_hedge_ratio']:.2f} ATM")
        listed = [{"expiry": pd.Timestamp(r.expiry), "strike": r.strike, "right": r.right, "z": r.z,
                   "market_vol": r.market_vol, "model_vol": r.model_vol, "residual": r.residual,
                   "beyond_spread": r.residual_beyond_spread, "pnl_theo_buyer": r.pnl_theo,
                   "atm_hedge_ratio": r.atm_hedge_ratio} for r in g.head(top).itertuples(index=False)]
        rows.append({"trade_date": d, "underlying": u, "edge": "wing", "fired": fired,
                     "strength": float(strength_from(s["abs_beyond"] - min_beyond_spread, 0.01)) if fired else 0.0,
                     "direction": side if fired else "none",
                     "rationale": text if fired else "no wing residual beyond spread; strongest " + text,
                     "structure": EDGE_STRUCTURES["wing"],
                     "metrics": {"top": listed, "min_beyond_spread": min_beyond_spread,
                                 "expiries_checked": len(g), "snapshot_id": s["snapshot_id"]}})
    return pd.DataFrame(rows)
