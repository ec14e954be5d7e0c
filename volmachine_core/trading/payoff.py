"""Payoff and risk of an option structure: max loss, max profit, breakevens, defined-risk check.

A structure is a set of legs ``(right, strike, expiry, quantity, price)``: ``quantity`` in signed contracts
(+ bought, - sold) per unit of the structure, ``price`` the premium per unit of underlying paid (bought) or
received (sold), always >= 0. Money is per unit of underlying for one unit of the structure (multiply by
the contract multiplier for dollars); ``net_premium = sum(q_i price_i)`` is the debit (> 0) or credit (< 0).

Single expiry: the PnL at expiry ``sum q_i (payoff_i(S) - price_i)`` is piecewise linear in ``S`` with kinks
at the strikes, so its minimum and maximum over ``[0, inf)`` lie at ``S = 0``, at a strike, or at infinity
(where the slope is ``sum of call quantities``): evaluating those points is exact, and a negative slope at
infinity means unbounded loss. Several expiries (calendars, diagonals): at the first expiry every later leg
is worth at least its intrinsic value, so the PnL with later legs at intrinsic is a lower bound and its
minimum a conservative max loss (for a long calendar at one strike: the debit). Max profit then depends on
the vol at the first expiry and is left NaN.

A structure is **defined-risk** when its loss is bounded and every sold option is covered by a bought one
of the same right, in at least the same quantity, expiring no earlier: a naked short put has a bounded
loss (the strike) but is not defined-risk, and is never proposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["LEG_COLUMNS", "StructureRisk", "structure_pnl", "structure_risk"]

LEG_COLUMNS = ("right", "strike", "expiry", "quantity", "price")


@dataclass(frozen=True)
class StructureRisk:
    """Risk of one structure unit (per unit of underlying; NaN max_profit when it depends on vol).

    ``max_loss`` >= 0 (``inf`` when unbounded), ``max_profit`` (``inf`` when unbounded), ``breakevens``
    (sorted prices at expiry; empty for several expiries, where they depend on vol), ``net_premium``
    (debit > 0, credit < 0), ``bounded``, ``covered``, ``defined_risk`` and ``reason`` ('ok',
    'unbounded_loss', 'naked_short').
    """

    max_loss: float
    max_profit: float
    breakevens: tuple[float, ...]
    net_premium: float
    bounded: bool
    covered: bool
    defined_risk: bool
    reason: str


def _legs(legs: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in LEG_COLUMNS if c not in legs.columns]
    if missing:
        raise ValueError(f"legs lack column(s) {missing}")
    if legs.empty:
        raise ValueError("a structure needs at least one leg")
    lg = legs[list(LEG_COLUMNS)].copy()
    lg["right"] = lg["right"].astype(str).str.upper()
    bad = ~lg["right"].isin(("C", "P"))
    if bad.any():
        raise ValueError(f"legs: right must be 'C' or 'P', got {lg.loc[bad, 'right'].iloc[0]!r}")
    for c in ("strike", "quantity", "price"):
        v = pd.to_numeric(lg[c], errors="coerce").to_numpy(float)
        if not np.isfinite(v).all():
            raise ValueError(f"legs: column {c!r} has a missing or non-numeric value")
        lg[c] = v
    if (lg["strike"] <= 0).any() or (lg["price"] < 0).any() or (lg["quantity"] == 0).any():
        raise ValueError("legs: strikes must be > 0, prices >= 0 and quantities non-zero")
    lg["expiry"] = pd.to_datetime(lg["expiry"])
    return lg.reset_index(drop=True)


def structure_pnl(legs: pd.DataFrame, spot) -> np.ndarray:
    """PnL per unit of underlying at the first expiry for underlying prices ``spot`` (later legs at intrinsic).

    For a single-expiry structure this is the exact PnL at expiry.
    """
    lg = _legs(legs)
    S = np.asarray(spot, dtype=float)
    K = lg["strike"].to_numpy()
    call = (lg["right"] == "C").to_numpy()
    intrinsic = np.where(call, np.maximum(S[..., None] - K, 0.0), np.maximum(K - S[..., None], 0.0))
    return (intrinsic - lg["price"].to_numpy()) @ lg["quantity"].to_numpy()


def _covered(lg: pd.DataFrame) -> bool:
    """Every sold option has bought options of the same right, in at least its quantity, expiring no earlier."""
    for right in ("C", "P"):
        side = lg[lg["right"] == right]
        # Hall's condition: for each short expiry e, shorts expiring at or after e <= longs expiring at or after e
        for exp in side.loc[side["quantity"] < 0, "expiry"].unique():
            later = side["expiry"] >= exp
            short = -side.loc[later & (side["quantity"] < 0), "quantity"].sum()
            long_ = side.loc[later & (side["quantity"] > 0), "quantity"].sum()
            if long_ < short:
                return False
    return True


def structure_risk(legs: pd.DataFrame) -> StructureRisk:
    """Max loss, max profit, breakevens and the defined-risk verdict of one structure (module docstring).

    Raises
    ------
    ValueError
        A column is missing, a right is not C/P, or a strike, price or quantity is invalid.
    """
    lg = _legs(legs)
    multi = lg["expiry"].nunique() > 1
    K = np.unique(lg["strike"].to_numpy())
    pts = np.r_[0.0, K]
    pnl = structure_pnl(lg, pts)
    slope_inf = float(lg.loc[lg["right"] == "C", "quantity"].sum())
    low = float(pnl.min())
    max_loss = np.inf if slope_inf < 0 else max(-low, 0.0)
    max_profit = np.nan if multi else (np.inf if slope_inf > 0 else float(max(pnl.max(), 0.0)))
    # breakevens: zeros of the piecewise-linear PnL on [0, K_max] and beyond the last strike
    be = []
    for a, b, pa, pb in zip(pts[:-1], pts[1:], pnl[:-1], pnl[1:], strict=True):  # a few strikes per structure
        if pa == 0.0:
            be.append(float(a))
        elif pa * pb < 0:
            be.append(float(a + (b - a) * pa / (pa - pb)))
    if pnl[-1] == 0.0:
        be.append(float(pts[-1]))
    elif slope_inf != 0 and pnl[-1] * slope_inf < 0:
        be.append(float(pts[-1] - pnl[-1] / slope_inf))
    bounded = bool(np.isfinite(max_loss))
    covered = _covered(lg)
    reason = "ok" if bounded and covered else ("unbounded_loss" if not bounded else "naked_short")
    return StructureRisk(max_loss=float(max_loss), max_profit=float(max_profit),
                         breakevens=() if multi else tuple(sorted({round(x, 10) for x in be})),
                         net_premium=float((lg["quantity"] * lg["price"]).sum()), bounded=bounded, covered=covered,
                         defined_risk=bounded and covered, reason=reason)
