"""Spot-based Black-Scholes(-Merton) wrappers: thin conversions to the Black-76 forward form.

``F = S e^{(r - q) tau}`` and ``D = e^{-r tau}``; every number comes from ``black76`` and the
chain rule. Argument order ``(S, K, tau, sigma, r, is_call, q=0.0)``: spot, strike, years,
decimal vol, continuous risk-free rate, side, continuous dividend yield. Prices and greeks are
per unit of underlying; rates and yields are decimals per year.
"""

from __future__ import annotations

import numpy as np

from volmachine_core.pricing.black76 import black76_greeks, black76_price
from volmachine_core.pricing.implied_vol import implied_vol

__all__ = [
    "bs_price",
    "bs_delta",
    "bs_gamma",
    "bs_vega",
    "bs_theta",
    "bs_rho",
    "bs_implied_vol",
    "bs_to_forward",
]


def bs_to_forward(S, tau, r, q=0.0):
    """Forward and discount factor of the spot model.

    Returns
    -------
    F : ndarray
        ``S e^{(r - q) tau}``.
    D : ndarray
        ``e^{-r tau}``.
    """
    S, tau, r, q = (np.asarray(a, dtype=float) for a in (S, tau, r, q))
    return S * np.exp((r - q) * tau), np.exp(-r * tau)


def _unbox(a):
    a = np.asarray(a)
    return a[()] if a.ndim == 0 else a


def _greeks(S, K, tau, sigma, r, is_call, q):
    F, D = bs_to_forward(S, tau, r, q)
    return F, black76_greeks(F, K, tau, sigma, D, is_call)


def bs_price(S, K, tau, sigma, r, is_call, q=0.0):
    """Black-Scholes-Merton price per unit of underlying, via ``black76_price`` on ``F, D``."""
    F, D = bs_to_forward(S, tau, r, q)
    return black76_price(F, K, tau, sigma, D, is_call)


def bs_delta(S, K, tau, sigma, r, is_call, q=0.0):
    """Spot delta ``dV/dS = e^{-q tau} N(d1)`` (call): the forward delta times ``dF/dS = F/S``."""
    F, g = _greeks(S, K, tau, sigma, r, is_call, q)
    return _unbox(g["delta"] * F / np.asarray(S, dtype=float))


def bs_gamma(S, K, tau, sigma, r, is_call, q=0.0):
    """Spot gamma ``d2V/dS2`` per unit of ``S`` squared: forward gamma times ``(F/S)^2``."""
    F, g = _greeks(S, K, tau, sigma, r, is_call, q)
    return _unbox(g["gamma"] * (F / np.asarray(S, dtype=float)) ** 2)


def bs_vega(S, K, tau, sigma, r, is_call, q=0.0):
    """Vega ``dV/dsigma`` per 1.00 of vol (identical in both forms)."""
    return _greeks(S, K, tau, sigma, r, is_call, q)[1]["vega"]


def bs_theta(S, K, tau, sigma, r, is_call, q=0.0):
    """Theta ``-dV/dtau`` per year at fixed ``S``, ``r``, ``q``: forward theta minus ``(r - q) F delta_F``."""
    F, g = _greeks(S, K, tau, sigma, r, is_call, q)
    carry = np.asarray(r, dtype=float) - np.asarray(q, dtype=float)
    return _unbox(g["theta"] - carry * F * g["delta"])


def bs_rho(S, K, tau, sigma, r, is_call, q=0.0):
    """Rho ``dV/dr`` per 1.00 of rate at fixed ``S``, ``q``: forward rho plus ``tau F delta_F``."""
    F, g = _greeks(S, K, tau, sigma, r, is_call, q)
    return _unbox(g["rho"] + np.asarray(tau, dtype=float) * F * g["delta"])


def bs_implied_vol(price, S, K, tau, r, is_call, q=0.0, *, num_threads: int | None = None):
    """Implied vol (decimal) of a spot-model price via ``implied_vol`` on ``F, D``; NaN if none exists."""
    F, D = bs_to_forward(S, tau, r, q)
    return implied_vol(price, F, K, tau, D, is_call, num_threads=num_threads)
