"""Spot-based Black-Scholes-Merton wrappers against the textbook closed forms (Hull, ch. 17/19)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from volmachine_core.pricing import (
    bs_delta,
    bs_gamma,
    bs_implied_vol,
    bs_price,
    bs_rho,
    bs_theta,
    bs_vega,
)


def textbook(S, K, tau, sigma, r, is_call, q):
    """Merton (1973) closed forms: price, delta, gamma, vega, theta (per year), rho."""
    d1 = (np.log(S / K) + (r - q + 0.5 * sigma**2) * tau) / (sigma * np.sqrt(tau))
    d2 = d1 - sigma * np.sqrt(tau)
    dq, dr = np.exp(-q * tau), np.exp(-r * tau)
    w = 1.0 if is_call else -1.0
    price = w * (S * dq * norm.cdf(w * d1) - K * dr * norm.cdf(w * d2))
    delta = w * dq * norm.cdf(w * d1)
    gamma = dq * norm.pdf(d1) / (S * sigma * np.sqrt(tau))
    vega = S * dq * norm.pdf(d1) * np.sqrt(tau)
    theta = (
        -S * dq * norm.pdf(d1) * sigma / (2 * np.sqrt(tau))
        - w * r * K * dr * norm.cdf(w * d2)
        + w * q * S * dq * norm.cdf(w * d1)
    )
    rho = w * K * tau * dr * norm.cdf(w * d2)
    return {"price": price, "delta": delta, "gamma": gamma, "vega": vega, "theta": theta, "rho": rho}


CASES = [
    (100.0, 100.0, 1.0, 0.2, 0.05, True, 0.0),
    (100.0, 110.0, 0.5, 0.3, 0.03, False, 0.01),
    (50.0, 40.0, 2.0, 0.45, 0.07, True, 0.03),
    (250.0, 300.0, 0.1, 0.6, -0.01, False, 0.0),
    (4200.0, 3800.0, 0.25, 0.18, 0.045, True, 0.015),
]
FUNCS = {
    "price": bs_price,
    "delta": bs_delta,
    "gamma": bs_gamma,
    "vega": bs_vega,
    "theta": bs_theta,
    "rho": bs_rho,
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", list(FUNCS))
def test_wrappers_match_closed_forms(case, name):
    S, K, tau, sigma, r, is_call, q = case
    ours = FUNCS[name](S, K, tau, sigma, r, is_call, q)
    assert isinstance(ours, float)
    assert ours == pytest.approx(textbook(*case)[name], rel=1e-11, abs=1e-12 * S)


def test_default_dividend_yield_is_zero_and_vectorised():
    S = np.array([90.0, 100.0, 110.0])
    np.testing.assert_allclose(
        bs_price(S, 100.0, 1.0, 0.2, 0.05, True), bs_price(S, 100.0, 1.0, 0.2, 0.05, True, 0.0)
    )
    assert bs_delta(S, 100.0, 1.0, 0.2, 0.05, True).shape == (3,)


@pytest.mark.parametrize("case", CASES)
def test_implied_vol_round_trip(case):
    S, K, tau, sigma, r, is_call, q = case
    p = bs_price(*case)
    assert bs_implied_vol(p, S, K, tau, r, is_call, q) == pytest.approx(sigma, abs=1e-12)
