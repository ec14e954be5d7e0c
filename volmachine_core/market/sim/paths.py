"""Daily paths of the simulated market: regimes, stochastic vol with jumps, rates, events.

Model (daily step ``dt = 1/252``), simulated from the fixed origin so a day's state never depends
on the requested range; every shock is keyed by (seed, stream, underlying, date):

* Regime: a Markov chain over :data:`REGIMES` with geometric durations (mean 15-40 days) shared by
  all underlyings (index-driven).
* Market log-vol ``y``: mean-reverting to ``ln vol_mult(regime)`` (half-life ~8 days), shocks
  correlated -0.7 with the market return (leverage), +0.15 on a jump day.
* Underlying ``i``: vol ``sigma_i = base_vol_i * exp(y + x_i)`` with idiosyncratic log-vol AR(1)
  ``x_i``; log return ``(beta_i mu - sigma^2/2) dt + sigma sqrt(dt) (c_i e_m + sqrt(1-c_i^2) e_i)
  + beta_i J + earnings jump``, ``c_i`` the market correlation and ``beta_i = c_i base_i / base_m``.
  Discrete cash dividends are subtracted at the open of the ex-date; SPX carries a continuous
  yield instead (its price index drifts by ``-q``).
* Jumps (market): Poisson with the regime's intensity, normal log sizes; all jumps and earnings
  moves land overnight (in the open gap).
* Vol risk premium ``vrp_i``: mean ``spec.vrp`` (0 when the premium is switched off) plus an AR(1)
  of sd 0.07, so implied exceeds expected realised on average but not always.
* Rates: Nelson-Siegel ``(b0, b1, b2)`` with decay 1.5y, slowly mean-reverting (~4% level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from volmachine_core.market.sim import rng
from volmachine_core.market.sim.config import REGIME_EXIT_PROBS, REGIME_PARAMS, REGIMES, SimConfig
from volmachine_core.market.sim.listings import SimCalendar, event_dates

__all__ = ["Paths", "simulate_paths", "ns_rate", "fine_log_path", "NS_DECAY"]

DT = 1.0 / 252.0
NS_DECAY = 1.5
_STREAM_M = rng.name_key("path_market")
_STREAM_U = rng.name_key("path_underlying")
_STREAM_FINE = rng.name_key("fine_path")
_OVERNIGHT_SHARE = 0.3


@dataclass
class Paths:
    """Daily state arrays, rows = ``days`` (sessions origin..end), columns = underlyings.

    Attributes
    ----------
    days : ndarray of datetime64[D]
    symbols : list of str
    regime : ndarray of int, (n,)
        Codes into :data:`REGIMES`.
    open, close : ndarray, (n, U)
        Session open and close prices.
    sigma_prev, sigma : ndarray, (n, U)
        Annual vol driving the day's return, and the vol state after the close (drives tomorrow;
        the implied surface of day t is built on ``sigma[t]``).
    ret : ndarray, (n, U)
        Close-to-close log return (ex-dividend drop excluded).
    vrp, rho_noise, eta_noise : ndarray, (n, U)
        Day-level surface state (relative vol premium, SSVI rho shift, log eta shift).
    jump_var : ndarray, (n, U)
        Expected annual variance from market jumps in the day's regime, scaled by beta^2.
    ns : ndarray, (n, 3)
        Nelson-Siegel rate parameters (b0, b1, b2).
    earn_move, div_cash : ndarray, (n, U)
        Realised earnings log move on event days (NaN otherwise); cash dividend on ex-dates (0 else).
    earn_dates, div_dates : dict symbol -> datetime64[D] array
        Full schedules (through the LEAPS horizon; future ones are expected, not realised).
    """

    days: np.ndarray
    symbols: list[str]
    regime: np.ndarray
    open: np.ndarray
    close: np.ndarray
    sigma_prev: np.ndarray
    sigma: np.ndarray
    ret: np.ndarray
    vrp: np.ndarray
    rho_noise: np.ndarray
    eta_noise: np.ndarray
    jump_var: np.ndarray
    ns: np.ndarray
    earn_move: np.ndarray
    div_cash: np.ndarray
    earn_dates: dict[str, np.ndarray]
    div_dates: dict[str, np.ndarray]

    def regime_names(self) -> np.ndarray:
        """Regime names per day."""
        return np.asarray(REGIMES, dtype=object)[self.regime]


def ns_rate(params: np.ndarray, tau) -> np.ndarray:
    """Nelson-Siegel zero rate (continuous) for ``params = (b0, b1, b2)`` at ``tau`` years."""
    tau = np.maximum(np.asarray(tau, dtype=float), 1e-8)
    x = tau / NS_DECAY
    f1 = -np.expm1(-x) / x
    f2 = f1 - np.exp(-x)
    b0, b1, b2 = params[..., 0:1], params[..., 1:2], params[..., 2:3]
    if np.ndim(params) == 1:
        b0, b1, b2 = params[0], params[1], params[2]
    return b0 + b1 * f1 + b2 * f2


def simulate_paths(config: SimConfig, cal: SimCalendar) -> Paths:
    """Simulate daily paths for every session of ``cal`` (origin..end) for ``config.underlyings``."""
    specs = config.underlyings
    n, U = len(cal.days), len(specs)
    seed = int(config.seed)
    dk = rng.date_key(cal.days)
    sym = np.array([rng.name_key(s.symbol) for s in specs], dtype=np.int64)
    em = rng.normal(seed, _STREAM_M, dk[:, None], np.arange(8)[None, :])
    um = rng.uniform(seed, _STREAM_M + 1, dk[:, None], np.arange(3)[None, :])
    eu = rng.normal(seed, _STREAM_U, sym[None, :, None], dk[:, None, None], np.arange(7)[None, None, :])

    base = np.array([s.base_vol for s in specs])
    corr = np.array([s.market_corr for s in specs])
    beta = corr * base / config.market_base_vol
    vov = np.array([s.idio_vol_of_vol for s in specs])
    vrp_mean = np.array([s.vrp for s in specs]) if config.vol_risk_premium else np.zeros(U)
    div_yield = np.array([s.div_yield for s in specs])
    exit_cdf = np.cumsum(np.asarray(REGIME_EXIT_PROBS), axis=1)
    rp = [REGIME_PARAMS[r] for r in REGIMES]

    end_sched = cal.all_days[-1]
    earn_dates = {
        s.symbol: (
            event_dates(s.earnings_months, s.earnings_day, cal.days[0], end_sched)
            if s.has_earnings
            else np.array([], dtype="datetime64[D]")
        )
        for s in specs
    }
    div_dates = {
        s.symbol: (
            event_dates(s.div_months, s.div_rule, cal.days[0], end_sched)
            if s.div_cash > 0
            else np.array([], dtype="datetime64[D]")
        )
        for s in specs
    }
    is_earn = np.stack([np.isin(cal.days, earn_dates[s.symbol]) for s in specs], axis=1)
    is_div = np.stack([np.isin(cal.days, div_dates[s.symbol]) for s in specs], axis=1)
    earn_sd = np.array([s.earnings_move for s in specs])
    div_amt = np.array([s.div_cash for s in specs])

    regime = np.empty(n, dtype=np.int64)
    out = {
        k: np.empty((n, U))
        for k in ("open", "close", "sigma_prev", "sigma", "ret", "vrp", "rho", "eta", "jv")
    }
    ns = np.empty((n, 3))
    earn_move = np.full((n, U), np.nan)
    r_cur = REGIMES.index(config.initial_regime)
    y = np.log(rp[r_cur].vol_mult)
    x = np.zeros(U)
    S = np.array([s.spot0 for s in specs], dtype=float)
    vrp_n, rho_n, eta_n = np.zeros(U), np.zeros(U), np.zeros(U)
    b = np.array([config.rate_level, 0.010, -0.005])
    b_mean = b.copy()
    for t in range(n):
        if t > 0 and um[t, 0] < 1.0 / rp[r_cur].mean_duration:
            r_cur = int(np.searchsorted(exit_cdf[r_cur], um[t, 1] * exit_cdf[r_cur, -1], side="right"))
        p = rp[r_cur]
        regime[t] = r_cur
        sig_prev = base * np.exp(y + x)
        jump = 0.0
        if t > 0 and um[t, 2] < p.jump_rate * DT:
            jump = p.jump_mean + p.jump_sd * em[t, 2]
        e_i = corr * em[t, 0] + np.sqrt(np.maximum(1.0 - corr**2, 0.0)) * eu[t, :, 0]
        diff = sig_prev * np.sqrt(DT) * e_i
        earn = np.where(is_earn[t], earn_sd * eu[t, :, 4], 0.0)
        earn_move[t] = np.where(is_earn[t], earn, np.nan)
        r = (beta * p.drift - div_yield - 0.5 * sig_prev**2) * DT + diff + beta * jump + earn
        if t == 0:
            r = np.zeros(U)
            earn_move[t] = np.nan
        on = _OVERNIGHT_SHARE * diff + 0.4 * sig_prev * np.sqrt(DT) * eu[t, :, 5] + beta * jump + earn
        div = np.where(is_div[t], div_amt, 0.0)
        S_prev = S
        S = S_prev * np.exp(r) - div
        out["open"][t] = S_prev * np.exp(on if t > 0 else 0.0) - div
        out["close"][t] = S
        out["ret"][t] = r
        out["sigma_prev"][t] = sig_prev
        y = y + 0.085 * (np.log(p.vol_mult) - y) + 0.07 * (-0.7 * em[t, 0] + 0.714 * em[t, 1])
        y = y + (0.15 if jump != 0.0 else 0.0)
        x = 0.97 * x + vov * eu[t, :, 1]
        out["sigma"][t] = base * np.exp(y + x)
        vrp_n = 0.9 * vrp_n + 0.07 * np.sqrt(1 - 0.81) * eu[t, :, 2]
        rho_n = 0.7 * rho_n + 0.03 * np.sqrt(1 - 0.49) * eu[t, :, 3]
        eta_n = 0.7 * eta_n + 0.05 * np.sqrt(1 - 0.49) * eu[t, :, 6]
        out["vrp"][t] = vrp_mean + vrp_n
        out["rho"][t] = rho_n
        out["eta"][t] = eta_n
        out["jv"][t] = beta**2 * p.jump_rate * (p.jump_mean**2 + p.jump_sd**2)
        b = b + 0.01 * (b_mean - b) + np.array([0.0004, 0.0003, 0.0003]) * em[t, 5:8]
        ns[t] = b
    div_cash = np.where(is_div, div_amt[None, :], 0.0)
    return Paths(
        days=cal.days,
        symbols=[s.symbol for s in specs],
        regime=regime,
        open=out["open"],
        close=out["close"],
        sigma_prev=out["sigma_prev"],
        sigma=out["sigma"],
        ret=out["ret"],
        vrp=out["vrp"],
        rho_noise=out["rho"],
        eta_noise=out["eta"],
        jump_var=out["jv"],
        ns=ns,
        earn_move=earn_move,
        div_cash=div_cash,
        earn_dates=earn_dates,
        div_dates=div_dates,
    )


def fine_log_path(
    seed: int,
    symbol: str,
    days: np.ndarray,
    log_open: np.ndarray,
    log_close: np.ndarray,
    sigma: np.ndarray,
    n_minutes: np.ndarray,
) -> np.ndarray:
    """Minute log-price paths from open to close (Brownian bridge), one row per day.

    Parameters
    ----------
    seed : int
        Master seed.
    symbol : str
        Underlying (keys the shocks together with the date, so a day's path is range-independent).
    days : ndarray of datetime64[D], (m,)
    log_open, log_close : ndarray, (m,)
        Log prices at the open and the close.
    sigma : ndarray, (m,)
        Annual vol of the day; the intraday bridge carries ``(1 - overnight share)`` of the variance.
    n_minutes : ndarray of int, (m,)
        Session length in minutes (390, or 210 on half days).

    Returns
    -------
    ndarray, (m, 391)
        Log price at minute 0..390 after the open; after an early close the path stays at the close.
    """
    m = len(days)
    z = rng.normal(
        int(seed), _STREAM_FINE, rng.name_key(symbol), rng.date_key(days)[:, None], np.arange(390)[None, :]
    )
    T = n_minutes.astype(float)[:, None]
    step = sigma[:, None] * np.sqrt((1.0 - _OVERNIGHT_SHARE) * DT / T)
    minutes = np.arange(391)[None, :]
    live = minutes[:, 1:] <= T
    W = np.concatenate([np.zeros((m, 1)), np.cumsum(np.where(live, z * step, 0.0), axis=1)], axis=1)
    WT = W[np.arange(m), n_minutes]
    frac = np.minimum(minutes / T, 1.0)
    return log_open[:, None] + frac * (log_close - log_open)[:, None] + W - frac * WT[:, None]
