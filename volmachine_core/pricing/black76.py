"""Black-76 on the forward with a discount factor: prices and greeks.

Argument order everywhere: ``(F, K, tau, sigma, D, is_call)``; vol as a decimal per sqrt(year),
tau in ACT/365 years, ``D`` the discount factor to expiry (``e^{-r tau}``). Prices are discounted
and per unit of underlying. All functions broadcast numpy-style; scalar inputs give floats.

Reference: F. Black, "The pricing of commodity contracts", J. Financial Economics 3 (1976).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr

from volmachine_core.pricing.status import ERR_SIDE

__all__ = ["black76_price", "black76_greeks", "black76_vega_delta", "spot_delta_from_forward", "GREEK_NAMES"]

GREEK_NAMES = ("delta", "gamma", "vega", "theta", "rho", "vanna", "volga")
_INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _side(is_call) -> np.ndarray:
    arr = np.asarray(is_call)
    if arr.dtype.kind not in "biu":
        raise TypeError(ERR_SIDE.format(dtype=arr.dtype))
    return arr.astype(bool)


def _unbox(a: np.ndarray):
    return a[()] if a.ndim == 0 else a


def _d1_d2(F, K, sd):
    """``d1, d2`` (NaN-free where ``sd > 0``); callers silence numpy for the ``sd == 0`` lanes."""
    d1 = np.log(F / K) / sd + 0.5 * sd
    return d1, d1 - sd


def _undiscounted(F, K, d1, d2, call):
    """Undiscounted price: the out-of-the-money option directly, the in-the-money one by parity."""
    omega = np.where(K >= F, 1.0, -1.0)  # +1: the call is the OTM side
    otm = omega * (F * ndtr(omega * d1) - K * ndtr(omega * d2))
    theta = np.where(call, 1.0, -1.0)
    return otm + np.where(theta != omega, theta * (F - K), 0.0)


def black76_price(F, K, tau, sigma, D, is_call):
    """Discounted Black-76 price.

    Parameters
    ----------
    F : array_like
        Forward to expiry, ``> 0``.
    K : array_like
        Strike, ``> 0``.
    tau : array_like
        Time to expiry in years; ``tau <= 0`` prices the intrinsic value.
    sigma : array_like
        Black volatility, decimal per sqrt(year), ``>= 0``; ``sigma == 0`` gives intrinsic.
    D : array_like
        Discount factor to expiry.
    is_call : array_like of bool
        True for a call, False for a put.

    Returns
    -------
    ndarray or float
        ``D (F N(d1) - K N(d2))`` for a call, ``D (K N(-d2) - F N(-d1))`` for a put, per unit of
        underlying, with ``d1,2 = ln(F/K)/(sigma sqrt tau) +- sigma sqrt(tau)/2``. NaN for
        ``F <= 0``, ``K <= 0`` or ``sigma < 0``.

    Notes
    -----
    The out-of-the-money side is computed directly and the in-the-money side by put-call parity
    (``C - P = F - K`` undiscounted), so deep wings keep their relative precision.

    Examples
    --------
    >>> round(black76_price(100.0, 100.0, 1.0, 0.2, 1.0, True), 10)  # 100 (2 N(0.1) - 1)
    7.9655674554
    """
    F, K, tau, sigma, D = (np.asarray(a, dtype=float) for a in (F, K, tau, sigma, D))
    call = _side(is_call)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = sigma * np.sqrt(np.maximum(tau, 0.0))
        d1, d2 = _d1_d2(F, K, sd)
        undiscounted = _undiscounted(F, K, d1, d2, call)
        intrinsic = np.maximum(np.where(call, F - K, K - F), 0.0)
        undiscounted = np.where(sd == 0.0, intrinsic, undiscounted)
        bad = (F <= 0.0) | (K <= 0.0) | (sigma < 0.0)
        out = np.where(bad, np.nan, D * undiscounted)
    return _unbox(out)


def black76_greeks(F, K, tau, sigma, D, is_call) -> Mapping[str, np.ndarray]:
    """Black-76 sensitivities of the discounted price, all per unit of underlying.

    Parameters
    ----------
    F, K, tau, sigma, D, is_call
        As in ``black76_price``.

    Returns
    -------
    dict of str to ndarray (or float for scalar inputs)
        ``delta``
            ``dV/dF`` (forward delta, discounted): ``D N(d1)`` call, ``-D N(-d1)`` put. For the
            spot delta use ``spot_delta_from_forward``.
        ``gamma``
            ``d2V/dF2 = D phi(d1) / (F sigma sqrt tau)``, per unit of ``F`` squared.
        ``vega``
            ``dV/dsigma = D F phi(d1) sqrt(tau)`` per 1.00 of vol (divide by 100 for a vol point).
        ``theta``
            ``-dV/dtau`` per year (divide by 365 for a calendar day), holding ``F`` and the
            continuous rate ``r = -ln(D)/tau`` fixed: ``r V - D F phi(d1) sigma / (2 sqrt tau)``.
        ``rho``
            ``dV/dr = -tau V`` per 1.00 of rate, holding ``F`` fixed (futures-option rho; the
            spot-based rho is ``black_scholes.bs_rho``).
        ``vanna``
            ``d2V/dF dsigma = -D phi(d1) d2 / sigma`` per unit of ``F`` per 1.00 of vol.
        ``volga``
            ``d2V/dsigma2 = vega d1 d2 / sigma`` per 1.00 of vol squared.

    Notes
    -----
    At ``sigma sqrt(tau) == 0`` the limits are used: delta is ``D`` times the in-the-money
    indicator (``D/2`` at the money for a call, ``-D/2`` for a put), theta is ``r V``, rho is
    ``-tau V`` and the rest are 0. Validated against QuantLib's ``BlackCalculator`` and
    finite differences in ``tests/core/test_pricing_black76.py``.
    """
    F, K, tau, sigma, D = (np.asarray(a, dtype=float) for a in (F, K, tau, sigma, D))
    call = _side(is_call)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tau_pos = np.maximum(tau, 0.0)
        sqrt_tau = np.sqrt(tau_pos)
        sd = sigma * sqrt_tau
        d1, d2 = _d1_d2(F, K, sd)
        live = sd > 0.0
        pdf = _INV_SQRT2PI * np.exp(-0.5 * d1 * d1)
        n_call = ndtr(d1)
        n_put = ndtr(-d1)
        delta_live = np.where(call, n_call, -n_put)
        at_money = np.where(call, 0.5, -0.5)
        delta_dead = np.where(F == K, at_money, np.where(call, (F > K) * 1.0, (F < K) * -1.0))
        delta = D * np.where(live, delta_live, delta_dead)

        undiscounted = np.where(
            live, _undiscounted(F, K, d1, d2, call), np.maximum(np.where(call, F - K, K - F), 0.0)
        )
        value = D * undiscounted
        rate = np.where(tau_pos > 0.0, -np.log(D) / tau_pos, 0.0)
        vega = np.where(live, D * F * pdf * sqrt_tau, 0.0)
        gamma = np.where(live, D * pdf / (F * sd), 0.0)
        theta = rate * value - np.where(live, 0.5 * vega * sigma / np.where(live, tau_pos, 1.0), 0.0)
        rho = -tau_pos * value
        vanna = np.where(live, -D * pdf * d2 / sigma, 0.0)
        volga = np.where(live, vega * d1 * d2 / sigma, 0.0)
    bad = (F <= 0.0) | (K <= 0.0) | (sigma < 0.0)
    out = {}
    for name, arr in zip(GREEK_NAMES, (delta, gamma, vega, theta, rho, vanna, volga), strict=True):
        out[name] = _unbox(np.where(bad, np.nan, arr))
    return out


def black76_vega_delta(F, K, tau, sigma, D, is_call) -> tuple[np.ndarray, np.ndarray]:
    """``vega`` (per 1.00 of vol) and discounted forward ``delta`` only, for valid live inputs.

    The two entries of :func:`black76_greeks` a strike-vol table needs, with the same formulas
    (``vega = D F phi(d1) sqrt(tau)``, ``delta = D N(d1)`` call / ``-D N(-d1)`` put) and none of the
    limit handling: inputs must have ``F, K, D > 0`` and ``sigma sqrt(tau) > 0``, as every quote
    with an implied vol does. About three times faster than the full greeks.
    """
    F, K, tau, sigma, D = (np.asarray(a, dtype=float) for a in (F, K, tau, sigma, D))
    sqrt_tau = np.sqrt(tau)
    d1, _ = _d1_d2(F, K, sigma * sqrt_tau)
    vega = D * F * (_INV_SQRT2PI * np.exp(-0.5 * d1 * d1)) * sqrt_tau
    delta = D * np.where(_side(is_call), ndtr(d1), -ndtr(-d1))
    return vega, delta


def spot_delta_from_forward(delta_forward, tau, carry):
    """Spot delta from the forward delta, given the forward's cost of carry.

    Parameters
    ----------
    delta_forward : array_like
        ``dV/dF`` (e.g. ``black76_greeks(...)["delta"]``).
    tau : array_like
        Time to expiry in years.
    carry : array_like
        Continuous cost of carry ``b`` with ``F = S e^{b tau}`` (``b = r - q`` for a stock or index
        paying a continuous yield ``q``; ``b = 0`` for a futures underlying, where spot delta is
        the forward delta).

    Returns
    -------
    ndarray or float
        ``dV/dS = dV/dF * e^{b tau}``.
    """
    out = np.asarray(delta_forward, dtype=float) * np.exp(
        np.asarray(carry, dtype=float) * np.asarray(tau, dtype=float)
    )
    return _unbox(out)
