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

__all__ = ["LEG_COLUMNS", "StructureRisk", "risk_from_arrays", "structure_pnl", "structure_risk"]

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


def _legs(legs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated legs as arrays: (is_call, strike, quantity, price, expiry as datetime64[ns])."""
    missing = [c for c in LEG_COLUMNS if c not in legs.columns]
    if missing:
        raise ValueError(f"legs lack column(s) {missing}")
    if legs.empty:
        raise ValueError("a structure needs at least one leg")
    right = np.char.upper(legs["right"].to_numpy(dtype=str))
    bad = ~np.isin(right, ("C", "P"))
    if bad.any():
        raise ValueError(f"legs: right must be 'C' or 'P', got {right[bad][0]!r}")
    num = []
    for c in ("strike", "quantity", "price"):
        v = pd.to_numeric(legs[c], errors="coerce").to_numpy(float)
        if not np.isfinite(v).all():
            raise ValueError(f"legs: column {c!r} has a missing or non-numeric value")
        num.append(v)
    K, q, price = num
    if (K <= 0).any() or (price < 0).any() or (q == 0).any():
        raise ValueError("legs: strikes must be > 0, prices >= 0 and quantities non-zero")
    return right == "C", K, q, price, pd.to_datetime(legs["expiry"]).to_numpy("datetime64[ns]")


def _pnl(call: np.ndarray, K: np.ndarray, q: np.ndarray, price: np.ndarray, S) -> np.ndarray:
    S = np.asarray(S, dtype=float)
    intrinsic = np.where(call, np.maximum(S[..., None] - K, 0.0), np.maximum(K - S[..., None], 0.0))
    return (intrinsic - price) @ q


def structure_pnl(legs: pd.DataFrame, spot) -> np.ndarray:
    """PnL per unit of underlying at the first expiry for underlying prices ``spot`` (later legs at intrinsic).

    For a single-expiry structure this is the exact PnL at expiry.
    """
    call, K, q, price, _ = _legs(legs)
    return _pnl(call, K, q, price, spot)


def _covered(call: np.ndarray, q: np.ndarray, expiry: np.ndarray) -> bool:
    """Every sold option has bought options of the same right, in at least its quantity, expiring no earlier."""
    for side in (call, ~call):
        # Hall's condition: for each short expiry e, shorts expiring at or after e <= longs expiring at or after e
        for exp in np.unique(expiry[side & (q < 0)]):
            later = side & (expiry >= exp)
            if q[later & (q > 0)].sum() < -q[later & (q < 0)].sum():
                return False
    return True


def structure_risk(legs: pd.DataFrame) -> StructureRisk:
    """Max loss, max profit, breakevens and the defined-risk verdict of one structure (module docstring).

    Raises
    ------
    ValueError
        A column is missing, a right is not C/P, or a strike, price or quantity is invalid.
    """
    return risk_from_arrays(*_legs(legs))


def risk_from_arrays(call: np.ndarray, K: np.ndarray, q: np.ndarray, price: np.ndarray,
                     expiry: np.ndarray) -> StructureRisk:
    """:func:`structure_risk` on validated arrays (is_call, strike, quantity, price, expiry as datetime64)."""
    multi = np.unique(expiry).size > 1
    pts = np.r_[0.0, np.unique(K)]
    pnl = _pnl(call, K, q, price, pts)
    slope_inf = float(q[call].sum())
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
    covered = _covered(call, q, expiry)
    reason = "ok" if bounded and covered else ("unbounded_loss" if not bounded else "naked_short")
    return StructureRisk(max_loss=float(max_loss), max_profit=float(max_profit),
                         breakevens=() if multi else tuple(sorted({round(x, 10) for x in be})),
                         net_premium=float(q @ price), bounded=bounded, covered=covered,
                         defined_risk=bounded and covered, reason=reason)
