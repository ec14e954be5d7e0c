"""Per-snapshot truth: listed expiries, tau, rates, dividends, forwards, SSVI slices, planted bumps.

Forward of an expiry: ``F = (S - PV(cash dividends ex in (today, expiry])) * exp((r - q) tau)``,
discount ``D = exp(-r tau)`` with ``r`` the Nelson-Siegel zero rate at ``tau`` (continuous) and
``q`` the continuous yield (SPX only). A dividend's PV discounts from its ex-date open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import poisson

from volmachine_core.conventions import SECONDS_PER_YEAR
from volmachine_core.market.sim import rng
from volmachine_core.market.sim.config import SimConfig, UnderlyingSpec
from volmachine_core.market.sim.listings import SimCalendar, list_expiries
from volmachine_core.market.sim.paths import Paths, ns_rate
from volmachine_core.market.sim.surface import slice_parameters

__all__ = ["SimState", "snapshot_slices", "day_bumps"]

_STREAM_BUMP = rng.name_key("bumps")


@dataclass
class SimState:
    """Everything a snapshot is computed from: config, calendar, daily paths, listing cache."""

    config: SimConfig
    cal: SimCalendar
    paths: Paths
    _listings: dict = field(default_factory=dict)
    _bumps: dict = field(default_factory=dict)

    @property
    def specs(self) -> tuple[UnderlyingSpec, ...]:
        """Underlying specs in universe order."""
        return self.config.underlyings

    def ui(self, symbol: str) -> int:
        """Universe index of ``symbol`` (KeyError naming the known symbols otherwise)."""
        for i, s in enumerate(self.specs):
            if s.symbol == symbol:
                return i
        raise KeyError(f"unknown underlying {symbol!r}; known: {[s.symbol for s in self.specs]}")

    def expiries(self, ui: int, di: int) -> np.ndarray:
        """Listed expiries (datetime64[D]) of underlying ``ui`` on session ``di``."""
        key = (ui, di)
        if key not in self._listings:
            self._listings[key] = list_expiries(self.specs[ui], self.paths.days[di])
        return self._listings[key]


def snapshot_slices(st: SimState, ui: int, di: int, quote_s: int, spot: float) -> dict[str, np.ndarray]:
    """Truth per expiry of one snapshot (arrays over the listed expiries, ascending).

    Parameters
    ----------
    st : SimState
    ui, di : int
        Underlying and session index.
    quote_s : int
        Quote time, UTC epoch seconds.
    spot : float
        Underlying price at the quote time.

    Returns
    -------
    dict of ndarray
        ``expiry`` (datetime64[D]), ``settle_s``, ``tau`` (ACT/365), ``bdays``, ``rate``,
        ``discount``, ``pv_div``, ``forward``, ``event_var``, ``theta``, ``rho``, ``eta``, ``phi``,
        ``atm_vol``, ``repaired``, ``spot`` (scalar array), ``gamma`` (scalar array).
    """
    spec, p, cal = st.specs[ui], st.paths, st.cal
    day = p.days[di]
    exp = st.expiries(ui, di)
    settle = cal.settle_s(exp, spec.settlement)
    tau = (settle - quote_s) / SECONDS_PER_YEAR
    bdays = (cal.pos(exp) - cal.pos(day)).astype(float)
    rate = ns_rate(p.ns[di], tau)
    disc = np.exp(-rate * tau)
    xd = p.div_dates[spec.symbol]
    xd = xd[xd > day]
    if len(xd):
        tau_x = (cal.open_s[cal.pos(xd)] - quote_s) / SECONDS_PER_YEAR
        pv_each = spec.div_cash * np.exp(-ns_rate(p.ns[di], tau_x) * tau_x)
        pv = (pv_each[None, :] * (xd[None, :] <= exp[:, None])).sum(axis=1)
    else:
        pv = np.zeros(len(exp))
    forward = (spot - pv) * np.exp((rate - spec.div_yield) * tau)
    vrp = float(p.vrp[di, ui])
    ed = p.earn_dates[spec.symbol]
    ed = ed[ed > day]
    ev_each = (spec.earnings_move * (1.0 + vrp)) ** 2
    event_var = ev_each * (ed[None, :] <= exp[:, None]).sum(axis=1) if len(ed) else np.zeros(len(exp))
    vrp_mean = spec.vrp if st.config.vol_risk_premium else 0.0
    sl = slice_parameters(
        spec,
        tau,
        bdays,
        float(p.sigma[di, ui]),
        vrp,
        vrp_mean,
        float(p.jump_var[di, ui]),
        float(p.rho_noise[di, ui]),
        float(p.eta_noise[di, ui]),
        event_var,
    )
    sl.update(
        expiry=exp,
        settle_s=settle,
        tau=tau,
        bdays=bdays,
        rate=rate,
        discount=disc,
        pv_div=pv,
        forward=forward,
        event_var=np.asarray(event_var, dtype=float),
        spot=np.asarray(spot),
        gamma=np.asarray(spec.gamma),
    )
    return sl


def day_bumps(st: SimState, di: int) -> list[tuple[int, np.datetime64, float, float]]:
    """Planted vol bumps of session ``di`` across the universe: (ui, expiry, target_sd, vol_shift).

    The count is Poisson(``mispricings_per_day``); underlying, expiry (calendar DTE within
    ``bump_dte_range``), signed target SD and signed size are uniform draws keyed by the date.
    """
    cfg = st.config
    if not cfg.planted_mispricings or cfg.mispricings_per_day <= 0:
        return []
    if di in st._bumps:
        return st._bumps[di]
    day = st.paths.days[di]
    dk = int(rng.date_key(day))
    n = int(poisson.ppf(rng.uniform(cfg.seed, _STREAM_BUMP, dk, -1)[0], cfg.mispricings_per_day))
    u = rng.uniform(cfg.seed, _STREAM_BUMP, dk, np.arange(max(n, 1))[:, None], np.arange(6)[None, :])
    lo, hi = cfg.bump_dte_range
    sds = np.asarray(cfg.bump_target_sds, dtype=float)
    out: list[tuple[int, np.datetime64, float, float]] = []
    seen = set()
    for j in range(n):
        ui = int(u[j, 0] * len(st.specs))
        exp = st.expiries(ui, di)
        dte = (exp - day).astype(np.int64)
        elig = exp[(dte >= lo) & (dte <= hi)]
        if len(elig) == 0:
            continue
        e = elig[int(u[j, 1] * len(elig))]
        sd = float(sds[int(u[j, 2] * len(sds))]) * (1.0 if u[j, 3] < 0.5 else -1.0)
        size = cfg.bump_vol_range[0] + (cfg.bump_vol_range[1] - cfg.bump_vol_range[0]) * u[j, 4]
        shift = float(size if u[j, 5] < 0.5 else -size)
        if (ui, e, sd) in seen:
            continue
        seen.add((ui, e, sd))
        out.append((ui, e, sd, round(shift, 6)))
    st._bumps[di] = out
    return out
