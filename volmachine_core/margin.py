"""Initial margin for option positions (CBOE-style strategy-based rules), vectorised.

Units: every amount is in price units per unit of underlying (an index point, a share) times
``multiplier`` (e.g. 100 for a US equity or SPX option), for one contract held; scale by the
number of contracts outside. ``premium`` is the option's current market value per unit of
underlying (the proceeds for a short, the cost for a long). ``S`` is the underlying's current
value. Percentages are decimals (0.20 is 20%).

Rules (CBOE Margin Manual, customer margin for listed options):

* Long option: pay the premium in full.
* Naked short: premium + ``underlying_pct`` x underlying value - out-of-the-money amount, but at
  least premium + ``minimum_pct`` x (underlying value for a call, exercise price for a put).
  Broad-based index options use 15% / 10%, equity and narrow index options 20% / 10%.
* Defined-risk spread (long legs cover the short ones): the maximum loss at expiry, i.e. the
  net debit paid plus the worst payoff, never less than 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MarginRates",
    "EQUITY_RATES",
    "BROAD_INDEX_RATES",
    "out_of_the_money_amount",
    "alternative_minimum",
    "naked_short_margin",
    "long_option_margin",
    "vertical_spread_margin",
    "defined_risk_margin",
]

ERR_SIDE = "is_call must be boolean (True for a call, False for a put); got dtype {dtype}"
ERR_RATES = "margin rates must satisfy 0 <= minimum_pct <= underlying_pct <= 1, got {rates!r}"
ERR_LEGS = "strikes, quantities, is_call and premiums must broadcast to one shape (..., n_legs); {detail}"


@dataclass(frozen=True)
class MarginRates:
    """Percentages of the naked-short rule.

    Attributes
    ----------
    underlying_pct : float
        Share of the underlying value charged before the out-of-the-money credit (0.20 equity,
        0.15 broad-based index).
    minimum_pct : float
        Alternative minimum: share of the underlying value (calls) or exercise price (puts)
        (0.10 for both).
    """

    underlying_pct: float
    minimum_pct: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.minimum_pct <= self.underlying_pct <= 1.0):
            raise ValueError(ERR_RATES.format(rates=self))


EQUITY_RATES = MarginRates(underlying_pct=0.20, minimum_pct=0.10)
BROAD_INDEX_RATES = MarginRates(underlying_pct=0.15, minimum_pct=0.10)


def _side(is_call) -> np.ndarray:
    arr = np.asarray(is_call)
    if arr.dtype.kind not in "biu":
        raise TypeError(ERR_SIDE.format(dtype=arr.dtype))
    return arr.astype(bool)


def _unbox(a: np.ndarray):
    return a[()] if a.ndim == 0 else a


def out_of_the_money_amount(S, K, is_call):
    """Out-of-the-money amount ``max(K - S, 0)`` for a call, ``max(S - K, 0)`` for a put.

    Parameters
    ----------
    S : array_like
        Underlying value (price units).
    K : array_like
        Strike (price units).
    is_call : array_like of bool
        Option side.

    Returns
    -------
    ndarray or float
        In price units per unit of underlying; 0 for in- and at-the-money options.
    """
    S, K = np.asarray(S, dtype=float), np.asarray(K, dtype=float)
    call = _side(is_call)
    return _unbox(np.maximum(np.where(call, K - S, S - K), 0.0))


def alternative_minimum(premium, S, K, is_call, rates: MarginRates = EQUITY_RATES, multiplier: float = 1.0):
    """Floor of the naked-short requirement: premium + ``minimum_pct`` x (S for calls, K for puts).

    Returns
    -------
    ndarray or float
        Currency per contract (``multiplier`` units of underlying).
    """
    premium, S, K = (np.asarray(a, dtype=float) for a in (premium, S, K))
    call = _side(is_call)
    return _unbox(multiplier * (premium + rates.minimum_pct * np.where(call, S, K)))


def naked_short_margin(premium, S, K, is_call, rates: MarginRates = EQUITY_RATES, multiplier: float = 1.0):
    """Initial margin of one uncovered short option.

    Parameters
    ----------
    premium : array_like
        Current option value per unit of underlying (the proceeds, included in the requirement).
    S : array_like
        Underlying value.
    K : array_like
        Strike.
    is_call : array_like of bool
        Option side.
    rates : MarginRates
        ``EQUITY_RATES`` (20% / 10%, default) or ``BROAD_INDEX_RATES`` (15% / 10%), or custom.
    multiplier : float
        Units of underlying per contract.

    Returns
    -------
    ndarray or float
        ``multiplier * max(premium + underlying_pct S - OTM, premium + minimum_pct (S | K))``
        in currency per contract.

    Examples
    --------
    >>> float(naked_short_margin(2.0, 100.0, 90.0, False, multiplier=100.0))  # 2 + 20 - 10 = 12
    1200.0
    """
    premium, S, K = (np.asarray(a, dtype=float) for a in (premium, S, K))
    base = premium + rates.underlying_pct * S - out_of_the_money_amount(S, K, is_call)
    floor = alternative_minimum(premium, S, K, is_call, rates, 1.0)
    return _unbox(multiplier * np.maximum(base, floor))


def long_option_margin(premium, multiplier: float = 1.0):
    """Requirement of a long option: the premium paid in full (currency per contract)."""
    return _unbox(multiplier * np.asarray(premium, dtype=float))


def vertical_spread_margin(K_long, K_short, premium_long, premium_short, is_call, multiplier: float = 1.0):
    """Requirement of a vertical spread (one long, one short, same side and expiry): its max loss.

    Parameters
    ----------
    K_long, K_short : array_like
        Strikes of the long and the short leg.
    premium_long, premium_short : array_like
        Current values per unit of underlying (cost of the long, proceeds of the short).
    is_call : array_like of bool
        Side of both legs.
    multiplier : float
        Units of underlying per contract.

    Returns
    -------
    ndarray or float
        ``multiplier * max(net debit + max(0, K_long - K_short), 0)`` for calls and
        ``... max(0, K_short - K_long)`` for puts, i.e. the debit for a debit spread and the
        strike width minus the credit for a credit spread; currency per spread.
    """
    K_long, K_short, p_long, p_short = (
        np.asarray(a, dtype=float) for a in (K_long, K_short, premium_long, premium_short)
    )
    call = _side(is_call)
    width_at_risk = np.maximum(np.where(call, K_long - K_short, K_short - K_long), 0.0)
    return _unbox(multiplier * np.maximum(p_long - p_short + width_at_risk, 0.0))


def defined_risk_margin(strikes, quantities, is_call, premiums, multiplier: float = 1.0):
    """Max-loss requirement of a multi-leg structure (butterfly, condor, ...); ``inf`` if unbounded.

    Parameters
    ----------
    strikes : array_like, shape (..., n_legs)
        Leg strikes (same expiry).
    quantities : array_like, shape (..., n_legs)
        Signed units per leg (+ long, - short).
    is_call : array_like of bool, shape (..., n_legs)
        Leg sides.
    premiums : array_like, shape (..., n_legs)
        Current leg values per unit of underlying.
    multiplier : float
        Units of underlying per contract.

    Returns
    -------
    ndarray or float, shape (...)
        ``multiplier * max(0, net premium paid - min payoff at expiry)`` in currency per
        structure; the payoff is piecewise linear, so its minimum over ``S_T >= 0`` is at 0, at a
        strike, or (if the net call quantity is negative) unbounded, giving ``inf``.
    """
    call = _side(is_call)
    try:
        K, q, p, call = np.broadcast_arrays(
            np.asarray(strikes, dtype=float),
            np.asarray(quantities, dtype=float),
            np.asarray(premiums, dtype=float),
            call,
        )
    except ValueError as exc:
        raise ValueError(ERR_LEGS.format(detail=exc)) from None
    if K.ndim == 0:
        raise ValueError(ERR_LEGS.format(detail="got scalars"))
    nodes = np.concatenate([np.zeros(K.shape[:-1] + (1,)), K], axis=-1)  # (..., n_legs + 1)
    omega = np.where(call, 1.0, -1.0)[..., None, :]
    payoff = (q[..., None, :] * np.maximum(omega * (nodes[..., :, None] - K[..., None, :]), 0.0)).sum(axis=-1)
    worst = payoff.min(axis=-1)
    net_debit = (q * p).sum(axis=-1)
    loss = np.maximum(net_debit - worst, 0.0)
    slope_at_infinity = np.where(call, q, 0.0).sum(axis=-1)
    loss = np.where(slope_at_infinity < 0.0, np.inf, loss)
    return _unbox(multiplier * loss)
