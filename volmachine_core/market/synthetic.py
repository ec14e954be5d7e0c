"""A known, arbitrage-free truth snapshot for accuracy tests and benchmarks.

:func:`ssvi_snapshot` builds one SPX-like option snapshot (about 24k quotes over 44 PM-settled
expiries) from a closed-form truth:

* **Surface**: SSVI (Gatheral and Jacquier 2014, "Arbitrage-free SVI volatility surfaces"),
  ``w(k, tau) = theta/2 (1 + rho phi k + sqrt((phi k + rho)^2 + 1 - rho^2))`` with ``k = ln(K/F)``,
  ATM total variance ``theta(tau) = v(tau) tau`` where the average variance
  ``v(tau) = v_inf + (v_0 - v_inf)(1 - e^{-kappa tau})/(kappa tau)`` rises from ``atm_front^2`` to
  ``atm_long^2`` (an upward-sloping ATM term structure), a constant ``rho`` and the power-law
  ``phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma))``. With ``gamma`` in (0, 1/2] and
  ``eta (1 + |rho|) <= 2`` the surface is free of butterfly and calendar arbitrage (their
  Corollary 4.1 / Remark 4.4). Each slice is also given as raw SVI:
  ``a = theta (1 - rho^2)/2, b = theta phi/2, m = -rho/phi, sigma = sqrt(1 - rho^2)/phi``.
* **Rates and dividends**: a smooth continuously-compounded zero curve
  ``r(tau) = r_long + (r_short - r_long)(1 - e^{-tau/T})/(tau/T)`` and a continuous dividend yield
  ``q``, so ``D = e^{-r tau}`` and ``F = S e^{(r - q) tau}``.
* **Quotes**: true prices are Black-76 on ``F`` with ``D``. The half-spread grows with vega, in the
  wings and at the front; the quoted mid is the true price plus uniform noise within +-30% of the
  half-spread, and bid/ask are rounded outward to the tick (0.05 below 3.00, 0.10 from 3.00), so
  ``bid <= true <= ask`` on every row and the bid is 0 where the true price is below a tick.

The quotes follow the clean schema exactly (:data:`~volmachine_core.market.schema.CLEAN_QUOTE_COLUMNS`);
the truth sits beside them in ``forwards``, ``surface`` and the row-aligned ``quote_truth``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from volmachine_core.conventions import (
    EXCHANGE_TZ,
    exchange_holidays,
    expiry_timestamp,
    year_fraction,
)
from volmachine_core.market.schema import CLEAN_QUOTE_COLUMNS, conform, snapshot_id_from_ts
from volmachine_core.market.sim.surface import average_variance, power_law_phi, ssvi_total_variance
from volmachine_core.pricing import black76_greeks, black76_price

__all__ = [
    "SSVITruth",
    "SyntheticSnapshot",
    "ssvi_snapshot",
    "synthetic_expiries",
    "synthetic_strikes",
    "floor_tick",
    "ceil_tick",
    "SOURCE",
    "DEFAULT_QUOTE_TS",
]

#: ``source`` value of synthetic quotes.
SOURCE = "synthetic"
TICK_SMALL = 0.05
TICK_LARGE = 0.10
TICK_BREAK = 3.00
STRIKE_STEP = 5.0
#: Strike increments by distance from the money, as ``(|z| below, increment)``; multiples of STRIKE_STEP.
_INCREMENTS = ((1.0, 5.0), (2.0, 10.0), (3.0, 25.0), (np.inf, 50.0))
_DAY = np.timedelta64(1, "D")
#: Default quote time: Monday 2025-06-02 15:45 New York (19:45 UTC).
DEFAULT_QUOTE_TS = pd.Timestamp("2025-06-02 19:45", tz="UTC")


@dataclass(frozen=True)
class SSVITruth:
    """Parameters of the truth: SSVI surface, zero curve, dividend yield.

    Attributes
    ----------
    atm_front, atm_long : float
        ATM vol (decimal) at ``tau -> 0`` and ``tau -> inf`` (``v_0 = atm_front^2``,
        ``v_inf = atm_long^2``).
    kappa : float
        Speed (per year) at which the average variance moves from ``v_0`` to ``v_inf``.
    rho : float
        SSVI correlation, ``|rho| < 1``.
    eta, gamma : float
        Power-law ``phi``: ``eta > 0``, ``gamma`` in (0, 1/2], ``eta (1 + |rho|) <= 2``.
    r_short, r_long, r_tau : float
        Zero curve: continuous rate at ``tau -> 0``, ``tau -> inf``, and the transition scale (years).
    div_yield : float
        Continuous dividend yield ``q``.
    """

    atm_front: float = 0.14
    atm_long: float = 0.20
    kappa: float = 1.0
    rho: float = -0.7
    eta: float = 1.1
    gamma: float = 0.5
    r_short: float = 0.043
    r_long: float = 0.039
    r_tau: float = 1.5
    div_yield: float = 0.014

    def __post_init__(self) -> None:
        if not (-1.0 < self.rho < 1.0):
            raise ValueError(f"rho must be in (-1, 1), got {self.rho!r}")
        if not (0.0 < self.gamma <= 0.5):
            raise ValueError(f"gamma must be in (0, 1/2], got {self.gamma!r}")
        if not (0.0 < self.eta and self.eta * (1.0 + abs(self.rho)) <= 2.0):
            raise ValueError(
                f"eta must satisfy 0 < eta (1 + |rho|) <= 2 (no butterfly arbitrage), got eta={self.eta!r}"
            )
        if not (self.atm_front > 0 and self.atm_long > 0 and self.kappa > 0 and self.r_tau > 0):
            raise ValueError("atm_front, atm_long, kappa and r_tau must be > 0")

    def theta(self, tau) -> np.ndarray:
        """ATM total variance ``theta(tau) = v(tau) tau`` (years x vol^2), increasing in ``tau``."""
        tau = np.asarray(tau, dtype=float)
        return average_variance(tau, self.atm_front**2, self.atm_long**2, self.kappa) * tau

    def phi(self, theta) -> np.ndarray:
        """Power-law SSVI ``phi(theta)``."""
        return power_law_phi(theta, self.eta, self.gamma)

    def total_variance(self, k, tau) -> np.ndarray:
        """Truth total implied variance at log-moneyness ``k = ln(K/F)`` and ``tau`` years (broadcast)."""
        theta = self.theta(tau)
        return ssvi_total_variance(np.asarray(k, dtype=float), theta, self.rho, self.phi(theta))

    def vol(self, k, tau) -> np.ndarray:
        """Truth implied vol (decimal) at log-moneyness ``k`` and ``tau > 0`` years."""
        tau = np.asarray(tau, dtype=float)
        return np.sqrt(self.total_variance(k, tau) / tau)

    def rate(self, tau) -> np.ndarray:
        """Continuously-compounded zero rate to ``tau`` years."""
        x = np.maximum(np.asarray(tau, dtype=float), 1e-12) / self.r_tau
        return self.r_long + (self.r_short - self.r_long) * (-np.expm1(-x) / x)

    def discount_factor(self, tau) -> np.ndarray:
        """``D = exp(-r(tau) tau)``."""
        tau = np.asarray(tau, dtype=float)
        return np.exp(-self.rate(tau) * tau)

    def forward(self, spot: float, tau) -> np.ndarray:
        """``F = S exp((r(tau) - q) tau)``."""
        tau = np.asarray(tau, dtype=float)
        return spot * np.exp((self.rate(tau) - self.div_yield) * tau)


@dataclass(frozen=True)
class SyntheticSnapshot:
    """One synthetic snapshot: clean quotes plus the truth that generated them.

    Attributes
    ----------
    quotes : pandas.DataFrame
        Exactly the clean quote schema (``CLEAN_QUOTE_COLUMNS``), sorted by expiry, right, strike.
    quote_truth : pandas.DataFrame
        Row-aligned with ``quotes``: ``tau, forward, discount_factor, k, z, vol, price`` (true price per
        unit of underlying), ``vega`` (per 1.00 vol), ``half_spread``.
    forwards : pandas.DataFrame
        One row per expiry: ``expiry, expiry_ts, tau, forward, discount_factor, rate, dividend_yield,
        underlying_price``.
    surface : pandas.DataFrame
        One row per expiry: ``expiry, expiry_ts, tau, forward, underlying_price, theta, rho, phi, eta,
        gamma, atm_vol`` and the equivalent raw SVI ``a, b, m, sigma`` (its ``rho`` is the SSVI ``rho``),
        ready for :meth:`volmachine_core.vol_surface.VolSurface.from_svi`.
    truth : SSVITruth
        The closed-form parameters (``truth.vol(k, tau)`` for any tenor).
    spot : float
        Underlying price.
    quote_ts : pandas.Timestamp
        Quote time (UTC).
    seed : int
        Seed of the quote noise.
    """

    quotes: pd.DataFrame
    quote_truth: pd.DataFrame
    forwards: pd.DataFrame
    surface: pd.DataFrame
    truth: SSVITruth
    spot: float
    quote_ts: pd.Timestamp
    seed: int

    def truth_vol(self, k, tau) -> np.ndarray:
        """Truth implied vol (decimal) at ``k = ln(K/F)`` and ``tau`` years (same as ``truth.vol``)."""
        return self.truth.vol(k, tau)


def floor_tick(x) -> np.ndarray:
    """Round prices down to the listed tick (0.05 below 3.00, 0.10 from 3.00), never below 0."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    small = np.floor(x / TICK_SMALL) * TICK_SMALL
    large = np.floor(x / TICK_LARGE) * TICK_LARGE
    return np.round(np.where(x >= TICK_BREAK, np.maximum(large, TICK_BREAK), small), 2)


def ceil_tick(x) -> np.ndarray:
    """Round prices up to the listed tick (0.05 below 3.00, 0.10 from 3.00), at least one tick."""
    x = np.asarray(x, dtype=float)
    small = np.ceil(x / TICK_SMALL) * TICK_SMALL
    large = np.ceil(x / TICK_LARGE) * TICK_LARGE
    return np.round(np.maximum(np.where(small > TICK_BREAK, large, small), TICK_SMALL), 2)


def synthetic_expiries(trade_date, n_expiries: int) -> np.ndarray:
    """SPXW-style PM-settled expiry dates after ``trade_date`` (datetime64[D], ascending, unique).

    The nearer half are the first listed dates among weekly Fridays and month-end sessions; the rest
    are spread evenly (by listing index) over Fridays up to two years and month ends up to five years.
    Dates on exchange holidays roll back to the previous session.
    """
    if n_expiries < 2:
        raise ValueError(f"n_expiries must be >= 2, got {n_expiries!r}")
    d = np.datetime64(pd.Timestamp(trade_date).date(), "D")
    hol = exchange_holidays()
    fridays = np.busday_offset(d + _DAY, 0, roll="forward", weekmask="Fri") + 7 * np.arange(104) * _DAY
    months = d.astype("datetime64[M]") + np.arange(1, 62)
    month_ends = months.astype("datetime64[D]") - _DAY
    cands = np.busday_offset(np.concatenate([fridays, month_ends]), 0, roll="backward", holidays=hol)
    cands = np.unique(cands[cands > d])
    n_front = n_expiries // 2
    front, back = cands[:n_front], cands[n_front:]
    if back.size < n_expiries - n_front:
        raise ValueError(f"n_expiries={n_expiries} exceeds the {cands.size} listable dates")
    pick = np.unique(np.round(np.linspace(0, back.size - 1, n_expiries - n_front)).astype(int))
    return np.concatenate([front, back[pick]])


def synthetic_strikes(forward, sd, n_strikes: int, z_max: float = 4.0) -> np.ndarray:
    """Listed strikes per expiry, ``(n_exp, n_strikes)``, strictly increasing along each row.

    Targets are dense near the money (``z = z_max sinh(c u)/sinh(c)`` for ``u`` even in [-1, 1]) at
    ``K = F exp(z sd)``, rounded to an increment growing away from the money (5 within 1 SD, then 10,
    25, 50). Where rounding would repeat a strike (short expiries), strikes are pushed outward from
    the money by 5 points, so short expiries list a little beyond ``z_max``.

    Parameters
    ----------
    forward, sd : array_like, shape (n_exp,)
        Forward and ATM standard deviation ``atm_vol sqrt(tau)`` (log units) of each expiry.
    n_strikes : int
        Strikes per expiry (>= 4).
    z_max : float
        Target outermost strike in SDs.
    """
    F = np.asarray(forward, dtype=float)[:, None]
    sd = np.asarray(sd, dtype=float)[:, None]
    c = 2.0
    u = np.linspace(-1.0, 1.0, n_strikes)[None, :]
    z = z_max * np.sinh(c * u) / np.sinh(c)
    target = F * np.exp(z * sd)
    inc = np.select([np.abs(z) < lim for lim, _ in _INCREMENTS], [v for _, v in _INCREMENTS])
    units = (np.round(target / inc) * inc / STRIKE_STEP).astype(np.int64)
    units = np.broadcast_to(units, target.shape).copy()
    atm = int(np.argmin(np.abs(u)))
    j = np.arange(n_strikes)[None, :]
    up = np.maximum.accumulate(units[:, atm:] - j[:, atm:], axis=1) + j[:, atm:]
    down_rev = units[:, : atm + 1][:, ::-1]
    jd = np.arange(atm + 1)[None, :]
    down = (np.minimum.accumulate(down_rev + jd, axis=1) - jd)[:, ::-1]
    units = np.concatenate([down[:, :-1], up], axis=1)
    if np.any(units <= 0):
        raise ValueError("strike grid reaches zero: fewer strikes or a smaller z_max")
    return units.astype(float) * STRIKE_STEP


def ssvi_snapshot(
    seed: int = 0,
    n_expiries: int = 44,
    spot: float = 6000.0,
    quote_ts: pd.Timestamp | str = DEFAULT_QUOTE_TS,
    strikes_per_expiry: int = 272,
    underlying: str = "SPX",
    root: str = "SPXW",
    truth: SSVITruth | None = None,
    spread_vol: float = 0.0015,
    z_max: float = 4.0,
) -> SyntheticSnapshot:
    """An SPX-like snapshot of ticked quotes on a known arbitrage-free SSVI surface.

    Parameters
    ----------
    seed : int
        Seed of the quote noise and sizes (the truth is deterministic).
    n_expiries : int
        Number of PM-settled expiries (see :func:`synthetic_expiries`).
    spot : float
        Underlying price.
    quote_ts : Timestamp or str
        Quote time (UTC if naive).
    strikes_per_expiry : int
        Strikes per expiry; calls and puts are both quoted, so the snapshot has
        ``2 n_expiries strikes_per_expiry`` rows (23,936 by default).
    underlying, root : str
        Labels (the root is PM-settled: ``settlement`` is 'PM').
    truth : SSVITruth, optional
        Truth parameters (defaults: ATM vol 0.14 -> 0.20, rho -0.7, eta 1.1, gamma 1/2, rates
        4.3% -> 3.9%, dividend yield 1.4%).
    spread_vol : float
        Base full spread in vol (decimal) near the money of a long-dated option.
    z_max : float
        Outermost strike target in SDs.

    Returns
    -------
    SyntheticSnapshot
    """
    truth = SSVITruth() if truth is None else truth
    qts = pd.Timestamp(quote_ts)
    qts = qts.tz_localize("UTC") if qts.tzinfo is None else qts.tz_convert("UTC")
    trade_date = qts.tz_convert(EXCHANGE_TZ).normalize().tz_localize(None)
    expiry = synthetic_expiries(trade_date, n_expiries)
    expiry_ts = expiry_timestamp(expiry, "PM")
    tau_e = year_fraction(pd.Series([qts] * len(expiry)), expiry_ts)
    if np.any(tau_e <= 0):
        raise ValueError("quote_ts is after the first expiry's settlement")
    rate_e = truth.rate(tau_e)
    D_e = truth.discount_factor(tau_e)
    F_e = truth.forward(spot, tau_e)
    theta_e = truth.theta(tau_e)
    phi_e = truth.phi(theta_e)
    atm_e = np.sqrt(theta_e / tau_e)

    strikes = synthetic_strikes(F_e, atm_e * np.sqrt(tau_e), strikes_per_expiry, z_max)
    n_exp, n_k = strikes.shape
    ei = np.tile(np.repeat(np.arange(n_exp), n_k), 2)
    K = np.tile(strikes.reshape(-1), 2)
    is_call = np.repeat([True, False], n_exp * n_k)
    tau, F, D = tau_e[ei], F_e[ei], D_e[ei]
    k = np.log(K / F)
    vol = np.sqrt(ssvi_total_variance(k, theta_e[ei], truth.rho, phi_e[ei]) / tau)
    z = k / (atm_e[ei] * np.sqrt(tau))
    price = black76_price(F, K, tau, vol, D, is_call)
    vega = black76_greeks(F, K, tau, vol, D, is_call)["vega"]

    rng = np.random.default_rng(seed)
    u = rng.random((K.size, 5))
    dte = tau * 365.0
    az = np.minimum(np.abs(z), 8.0)
    spread_v = spread_vol * (1.0 + 0.3 * az) * (1.0 + 1.5 / np.sqrt(np.maximum(dte, 0.5)))
    half = np.maximum(0.5 * vega * spread_v + 0.003 * price, 0.5 * TICK_SMALL)
    mid_q = price + 0.3 * half * (2.0 * u[:, 0] - 1.0)
    bid = floor_tick(mid_q - half)
    ask = ceil_tick(mid_q + half)
    size_shape = 40.0 * np.exp(-0.35 * az)
    bid_size = np.where(bid > 0, 1.0 + np.floor(size_shape * (0.2 + 1.6 * u[:, 1])), 0.0)
    ask_size = 1.0 + np.floor(size_shape * (0.2 + 1.6 * u[:, 2]))
    otm_put = (~is_call) & (K < spot)
    roundness = np.where(np.mod(K, 100.0) == 0.0, 3.0, np.where(np.mod(K, 25.0) == 0.0, 1.8, 1.0))
    oi = 1.0 + np.floor(
        5000.0 * np.exp(-0.5 * (z / 1.5) ** 2 - dte / 900.0) * np.where(otm_put, 2.5, 1.0) * roundness
        * np.exp(0.6 * (u[:, 3] - 0.5))
    )
    volume = np.floor(0.08 * oi * (1.0 + 3.0 / np.sqrt(dte + 1.0)) * -np.log1p(-u[:, 4] * 0.999))

    n = K.size
    quotes = pd.DataFrame(
        {
            "snapshot_id": snapshot_id_from_ts(pd.Series([qts] * n)),
            "quote_ts": qts,
            "trade_date": trade_date,
            "underlying": underlying,
            "root": root,
            "expiry": pd.DatetimeIndex(expiry[ei]),
            "expiry_ts": expiry_ts.to_numpy()[ei],
            "settlement": "PM",
            "strike": K,
            "right": np.where(is_call, "C", "P"),
            "bid": bid,
            "ask": ask,
            "bid_size": bid_size,
            "ask_size": ask_size,
            "volume": volume,
            "open_interest": oi,
            "underlying_price": float(spot),
            "multiplier": 100.0,
            "source": SOURCE,
            "source_file": f"{SOURCE}:ssvi_seed{seed}",
            "source_row": np.arange(1, n + 1, dtype=np.int64),
        }
    )
    quotes["expiry_ts"] = pd.to_datetime(quotes["expiry_ts"], utc=True)
    quotes = conform(quotes, CLEAN_QUOTE_COLUMNS)
    quote_truth = pd.DataFrame(
        {"tau": tau, "forward": F, "discount_factor": D, "k": k, "z": z, "vol": vol, "price": price,
         "vega": vega, "half_spread": half}
    )

    exp_idx = pd.DatetimeIndex(expiry)
    ets = pd.DatetimeIndex(pd.to_datetime(expiry_ts, utc=True))
    forwards = pd.DataFrame(
        {
            "expiry": exp_idx,
            "expiry_ts": ets,
            "tau": tau_e,
            "forward": F_e,
            "discount_factor": D_e,
            "rate": rate_e,
            "dividend_yield": truth.div_yield,
            "underlying_price": float(spot),
        }
    )
    rho = truth.rho
    surface = pd.DataFrame(
        {
            "expiry": exp_idx,
            "expiry_ts": ets,
            "tau": tau_e,
            "forward": F_e,
            "underlying_price": float(spot),
            "theta": theta_e,
            "rho": rho,
            "phi": phi_e,
            "eta": truth.eta,
            "gamma": truth.gamma,
            "atm_vol": atm_e,
            "a": 0.5 * theta_e * (1.0 - rho**2),
            "b": 0.5 * theta_e * phi_e,
            "m": -rho / phi_e,
            "sigma": np.sqrt(1.0 - rho**2) / phi_e,
        }
    )
    return SyntheticSnapshot(
        quotes=quotes,
        quote_truth=quote_truth,
        forwards=forwards,
        surface=surface,
        truth=truth,
        spot=float(spot),
        quote_ts=qts,
        seed=int(seed),
    )
