"""Synthetic ``strike_vols`` snapshots on a known SSVI surface (for tests and benchmarks only).

The truth is SSVI (Gatheral and Jacquier 2014) with ``theta(tau)`` increasing, constant ``rho`` and the
power-law ``phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma))`` with ``eta (1 + |rho|) <= 2``:
free of butterfly and calendar arbitrage (their Remark 4.4 and Theorem 4.1). Forwards come from a rate
curve and a dividend yield; bid/ask prices are the Black-76 truth widened by a random share of a spread
(3% of price, at least one tick) and rounded outward to the tick, so the truth lies inside every quote and
the mid carries small noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.curves.svi import svi_from_ssvi
from volmachine_core.pricing import black76_price, implied_vol

__all__ = ["ssvi_truth", "ssvi_snapshot"]


def ssvi_truth(tau, rho: float = -0.6, eta: float = 1.2, gamma: float = 0.4):
    """Truth per expiry: ``(theta, rho, phi)`` and raw SVI ``(a, b, rho, m, sigma)`` as a DataFrame."""
    tau = np.asarray(tau, dtype=float)
    atm = 0.17 + 0.05 * np.exp(-tau / 0.25)
    theta = atm**2 * tau
    if np.any(np.diff(theta) <= 0):
        raise ValueError("theta must increase with tau")
    phi = eta / (theta**gamma * (1.0 + theta) ** (1.0 - gamma))
    a, b, r, m, s = svi_from_ssvi(theta, np.full_like(theta, rho), phi)
    return pd.DataFrame({"tau": tau, "theta": theta, "phi": phi, "a": a, "b": b, "rho": r, "m": m, "sigma": s})


def ssvi_snapshot(n_expiries: int = 40, n_strikes: int = 300, seed: int = 0, spot: float = 100.0,
                  snapshot_id: str = "2024-03-15T16:00:00", underlying: str = "SYN",
                  z_range: tuple[float, float] = (-4.5, 3.5), tick: float = 0.01):
    """A ``strike_vols``-shaped frame (calls and puts at ``n_strikes`` strikes per expiry) and its truth.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The quotes and ``ssvi_truth`` with ``expiry_ts``, ``forward``, ``discount_factor`` added.
    """
    rng = np.random.default_rng(seed)
    quote_ts = pd.Timestamp(snapshot_id[:10] + " 20:00", tz="UTC")
    days = np.round(np.geomspace(2.0, 760.0, n_expiries)) + np.arange(n_expiries)  # strictly increasing
    tau = days / 365.0
    truth = ssvi_truth(tau)
    r = 0.04 + 0.01 * (1.0 - np.exp(-tau))
    q = 0.015
    F = spot * np.exp((r - q) * tau)
    D = np.exp(-r * tau)
    truth["expiry_ts"] = quote_ts + pd.to_timedelta(days, unit="D")
    truth["forward"], truth["discount_factor"] = F, D
    z = np.linspace(z_range[0], z_range[1], n_strikes)
    ne = tau.size
    sd = np.sqrt(truth["theta"].to_numpy())
    K = np.round(F[:, None] * np.exp(z[None, :] * sd[:, None]), 4)
    E = np.repeat(np.arange(ne), n_strikes * 2)
    Kf = np.repeat(K, 2, axis=1).reshape(-1)
    is_call = np.tile(np.array([True, False]), ne * n_strikes)
    k = np.log(Kf / F[E])
    tv = truth[["a", "b", "rho", "m", "sigma"]].to_numpy()[E]
    w = tv[:, 0] + tv[:, 1] * (tv[:, 2] * (k - tv[:, 3]) + np.sqrt((k - tv[:, 3]) ** 2 + tv[:, 4] ** 2))
    vol = np.sqrt(w / tau[E])
    price = black76_price(F[E], Kf, tau[E], vol, D[E], is_call)
    h = np.maximum(tick, 0.03 * price)
    bid = np.floor(np.maximum(price - h * rng.uniform(0.2, 1.0, price.size), 0.0) / tick) * tick
    ask = np.ceil((price + h * rng.uniform(0.2, 1.0, price.size)) / tick) * tick
    with np.errstate(all="ignore"):
        iv_bid = np.where(bid > 0, implied_vol(bid, F[E], Kf, tau[E], D[E], is_call), np.nan)
        iv_ask = implied_vol(ask, F[E], Kf, tau[E], D[E], is_call)
        iv_mid = implied_vol(0.5 * (bid + ask), F[E], Kf, tau[E], D[E], is_call)
        d1 = (-k + 0.5 * w) / np.sqrt(w)
    vega = D[E] * F[E] * np.exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi) * np.sqrt(tau[E])
    frame = pd.DataFrame({
        "snapshot_id": snapshot_id, "underlying": underlying, "root": underlying,
        "expiry": truth["expiry_ts"].dt.date.to_numpy()[E], "expiry_ts": truth["expiry_ts"].to_numpy()[E],
        "strike": Kf, "right": np.where(is_call, "C", "P"), "tau": tau[E], "forward": F[E],
        "discount_factor": D[E], "k": k, "iv_bid": iv_bid, "iv_mid": iv_mid, "iv_ask": iv_ask,
        "iv_status": np.where(np.isfinite(iv_mid), "ok", "no_vol"), "otm": np.where(is_call, Kf >= F[E], Kf < F[E]),
        "vega": vega, "spread_vol": iv_ask - iv_bid, "true_vol": vol,
    })
    return frame, truth
