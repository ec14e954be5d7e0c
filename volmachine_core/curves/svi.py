"""Raw SVI smile formulas: total variance, its k-derivatives, Durrleman's density function.

Why raw SVI per expiry slice
----------------------------
Each expiry is fitted with Gatheral's raw SVI parametrisation of total implied variance

``w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))``,   ``k = ln(K/F)``,   ``w = vol^2 tau``.

* An SSVI slice *is* a raw-SVI slice (Gatheral and Jacquier 2014, Lemma 3.3:
  ``a = theta (1 - rho^2)/2``, ``b = theta phi/2``, ``m = -rho/phi``, ``sigma = sqrt(1 - rho^2)/phi``),
  so markets that look like SSVI (index-like skews) are represented exactly, with no model error.
* Single stocks carry earnings and other events whose slices do not follow a common surface shape;
  five free parameters per slice give each expiry its own level, skew, curvature, minimum location
  and ATM smoothness, without a surface-wide constraint that would bias event slices.
* The wings are asymptotically linear in ``k`` with slopes ``b (1 +- rho)``, consistent with Roger
  Lee's moment formula (slope <= 2), so extrapolation to +-3 SD and beyond stays sane.
* It admits a fast, robust calibration (the Zeliade 2009 quasi-explicit method: linear least squares
  in ``(a, b, rho)`` for fixed ``(m, sigma)``) and closed-form derivatives, so Durrleman's butterfly
  condition is checked analytically.

Units: ``k`` is log-moneyness ``ln(K/F)``, ``w`` total variance (decimal vol squared times years),
``tau`` ACT/365 years, vols decimals.

References
----------
J. Gatheral and A. Jacquier (2014), "Arbitrage-free SVI volatility surfaces", Quantitative Finance 14(1).
Zeliade Systems (2009), "Quasi-explicit calibration of Gatheral's SVI model", white paper ZWP-0005.
V. Durrleman (2010), "From implied to spot volatilities", Finance and Stochastics 14(2) (the function ``g``).
R. Lee (2004), "The moment formula for implied volatility at extreme strikes", Math. Finance 14(3).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LEE_SLOPE_MAX",
    "svi_total_variance",
    "svi_derivatives",
    "svi_durrleman_g",
    "durrleman_g",
    "svi_min_total_variance",
    "svi_from_ssvi",
]

#: Roger Lee's bound on the asymptotic slope of ``w(k)``: ``b (1 + |rho|) <= 2``.
LEE_SLOPE_MAX = 2.0


def svi_total_variance(k, a, b, rho, m, sigma):
    """Raw SVI total implied variance ``w(k)`` (broadcasting).

    Parameters
    ----------
    k : array_like
        Log-moneyness ``ln(K/F)``.
    a : array_like
        Level (total variance units).
    b : array_like
        Wing slope scale, ``>= 0``.
    rho : array_like
        Skew, ``|rho| < 1``.
    m : array_like
        Horizontal shift (log-moneyness).
    sigma : array_like
        ATM smoothness, ``> 0`` (log-moneyness).

    Returns
    -------
    ndarray
        Total variance ``vol^2 tau`` (decimal vol squared times ACT/365 years).

    Examples
    --------
    >>> float(svi_total_variance(0.0, 0.01, 0.1, -0.5, 0.0, 0.1))  # a + b sigma
    0.02
    """
    x = np.asarray(k, dtype=float) - m
    return a + b * (rho * x + np.sqrt(x * x + sigma * sigma))


def svi_derivatives(k, a, b, rho, m, sigma):
    """``w``, ``dw/dk`` and ``d2w/dk2`` of raw SVI (analytic, broadcasting).

    Returns
    -------
    tuple of ndarray
        ``(w, w1, w2)`` in total-variance units per unit ``k`` (and per ``k^2``).
    """
    x = np.asarray(k, dtype=float) - m
    r = np.sqrt(x * x + sigma * sigma)
    w = a + b * (rho * x + r)
    w1 = b * (rho + x / r)
    w2 = b * sigma * sigma / (r * r * r)
    return w, w1, w2


def durrleman_g(k, w, w1, w2):
    """Durrleman's density function ``g(k)`` from total variance and its derivatives.

    ``g(k) = (1 - k w'/(2 w))^2 - (w'^2/4) (1/w + 1/4) + w''/2``.

    The risk-neutral density is ``p(k) = g(k) / sqrt(2 pi w) exp(-d_-^2/2)``, so a slice is free
    of butterfly arbitrage iff ``g >= 0`` everywhere (Gatheral and Jacquier 2014, Lemma 2.2).
    Where ``w <= 0`` the result is ``-inf`` (no valid smile).
    """
    k, w, w1, w2 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k, w, w1, w2)))
    out = np.full(k.shape, -np.inf)
    ok = w > 0.0
    ws = np.where(ok, w, 1.0)
    g = (1.0 - k * w1 / (2.0 * ws)) ** 2 - 0.25 * w1 * w1 * (1.0 / ws + 0.25) + 0.5 * w2
    out[ok] = g[ok]
    return out


def svi_durrleman_g(k, a, b, rho, m, sigma):
    """Durrleman's ``g(k)`` for raw SVI parameters (analytic derivatives); ``>= 0`` means no butterfly arbitrage."""
    w, w1, w2 = svi_derivatives(k, a, b, rho, m, sigma)
    return durrleman_g(np.asarray(k, dtype=float), w, w1, w2)


def svi_min_total_variance(a, b, rho, sigma):
    """Minimum over ``k`` of raw SVI total variance: ``a + b sigma sqrt(1 - rho^2)``."""
    return a + b * sigma * np.sqrt(1.0 - np.asarray(rho, dtype=float) ** 2)


def svi_from_ssvi(theta, rho, phi):
    """Raw SVI parameters of an SSVI slice (Gatheral and Jacquier 2014, Lemma 3.3).

    Parameters
    ----------
    theta : array_like
        ATM total variance, ``> 0``.
    rho : array_like
        SSVI correlation, ``|rho| < 1``.
    phi : array_like
        SSVI curvature ``phi(theta) > 0``.

    Returns
    -------
    tuple of ndarray
        ``(a, b, rho, m, sigma)``.
    """
    theta, rho, phi = (np.asarray(v, dtype=float) for v in (theta, rho, phi))
    a = 0.5 * theta * (1.0 - rho * rho)
    b = 0.5 * theta * phi
    m = -rho / phi
    sigma = np.sqrt(1.0 - rho * rho) / phi
    return a, b, rho, m, sigma
