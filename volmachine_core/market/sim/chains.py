"""Option chains of one snapshot: strike grids, model prices, ticked quotes, sizes, volume, OI.

* Strikes: each expiry spans ``-sd_range[0]..+sd_range[1]`` SDs (``spot * atm_vol * sqrt(tau)``)
  around spot; the increment is the largest of ``spec.strike_steps`` giving at least ~20 strikes
  per SD within 1 SD, ~7 between 1 and 2.5 SD and ~2.5 beyond (so grids widen away from the money
  and round strikes are always on the grid).
* True mid = model price (Black-76 on the truth forward, SSVI vol + planted bumps). The quoted
  mid is the model price plus noise inside the spread; bid/ask are floored/ceiled to the tick
  (``tick_small`` below ``tick_break``, ``tick_large`` above), so ``bid <= model <= ask`` always and
  the bid is 0 when the model price is below about a tick. Half-spread ``= vega * spread_vol *
  (1 + 0.25|z|) * (1 + 1.5/sqrt(dte)) / 2 + 0.4% of price``: wider in the wings and the front.
* Open interest (the dealer-positioning pattern the gamma edge can use): concentrated near the
  money (Gaussian in z, sd 1.5) and at round strikes (x3 on ``round_strike`` multiples, x1.8 on
  half-multiples), heavier on OTM puts below spot for index/ETF (customers buy put protection,
  dealers are short those puts: short gamma below spot) and on OTM calls above spot for single
  stocks (customers overwrite calls, dealers are long those calls: long gamma above spot).
  Contract-keyed noise keeps OI stable from day to day.
* Volume: exponential draws around 8% of OI, boosted in the front; trade OHLC/VWAP inside the
  spread when volume > 0, else 0 (vendor convention).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from volmachine_core.conventions import SECONDS_PER_YEAR
from volmachine_core.market.sim import rng
from volmachine_core.market.sim.config import UnderlyingSpec
from volmachine_core.market.sim.surface import bump_vol, ssvi_total_variance
from volmachine_core.pricing import black76_price

__all__ = ["strike_grid", "build_chain", "floor_tick", "ceil_tick", "tick_of"]

_STREAM_Q = rng.name_key("quotes")
_STREAM_OI = rng.name_key("open_interest")
_DENSITY = ((1.0, 20.0), (2.5, 7.0), (np.inf, 2.5))


def strike_grid(spec: UnderlyingSpec, spot: float, sd_pts: float) -> np.ndarray:
    """Listed strikes of one expiry (ascending, > 0), given one SD in price units ``sd_pts``."""
    steps = np.asarray(spec.strike_steps, dtype=float)
    lo_sd, hi_sd = spec.sd_range
    sd_rel = sd_pts / spot
    bounds = [-lo_sd, -2.5, -1.0, 1.0, 2.5, hi_sd]
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b <= a:
            continue
        dist = min(abs(a), abs(b))
        density = next(d for lim, d in _DENSITY if dist < lim)
        ok = steps[steps <= sd_pts / density]
        step = ok[-1] if len(ok) else steps[0]
        k_lo, k_hi = spot * np.exp(a * sd_rel), spot * np.exp(b * sd_rel)
        parts.append(np.arange(np.ceil(k_lo / step), np.floor(k_hi / step) + 1) * step)
    k = np.unique(np.round(np.concatenate(parts), 6))
    return k[k > 0]


def tick_of(x, spec: UnderlyingSpec) -> np.ndarray:
    """Tick size applying at price level ``x``."""
    return np.where(np.asarray(x) < spec.tick_break, spec.tick_small, spec.tick_large)


def floor_tick(x, spec: UnderlyingSpec) -> np.ndarray:
    """Round prices down to the tick grid (rounded to cents), never below 0."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    small = np.floor(x / spec.tick_small + 1e-9) * spec.tick_small
    large = np.floor(x / spec.tick_large + 1e-9) * spec.tick_large
    return np.round(np.where(small >= spec.tick_break, np.maximum(large, spec.tick_break), small), 2)


def ceil_tick(x, spec: UnderlyingSpec) -> np.ndarray:
    """Round prices up to the tick grid (rounded to cents), at least one tick."""
    x = np.asarray(x, dtype=float)
    small = np.ceil(x / spec.tick_small - 1e-9) * spec.tick_small
    large = np.ceil(x / spec.tick_large - 1e-9) * spec.tick_large
    return np.round(np.maximum(np.where(small >= spec.tick_break, large, small), spec.tick_small), 2)


def _greeks(F, K, tau, vol, D, is_call, r, dFdS, carry_q):
    sd = vol * np.sqrt(tau)
    d1 = np.log(F / K) / sd + 0.5 * sd
    d2 = d1 - sd
    n1 = np.exp(-0.5 * d1**2) / np.sqrt(2.0 * np.pi)
    Nd1, Nd2 = ndtr(d1), ndtr(d2)
    delta = np.where(is_call, D * Nd1, D * (Nd1 - 1.0)) * dFdS
    gamma = D * n1 / (F * sd) * dFdS**2
    vega = D * F * n1 * np.sqrt(tau)
    decay = -D * F * n1 * vol / (2.0 * np.sqrt(tau))
    th_call = decay - r * D * K * Nd2 + carry_q * D * F * Nd1
    th_put = decay + r * D * K * (1.0 - Nd2) - carry_q * D * F * (1.0 - Nd1)
    theta = np.where(is_call, th_call, th_put)
    rho = np.where(is_call, K * tau * D * Nd2, -K * tau * D * (1.0 - Nd2))
    return delta, gamma, vega, theta, rho


def build_chain(
    spec: UnderlyingSpec,
    seed: int,
    day: np.datetime64,
    time_key: int,
    quote_s: int,
    sl: dict[str, np.ndarray],
    bumps: list[tuple[np.datetime64, float, float]],
    width_sd: float,
    spot_close: float | None = None,
    close_s: int | None = None,
    volume_frac: float = 1.0,
) -> dict[str, np.ndarray]:
    """The clean chain of one snapshot as arrays (one element per contract, calls and puts).

    Parameters
    ----------
    spec : UnderlyingSpec
    seed : int
    day : datetime64[D]
        Trade date.
    time_key : int
        Snapshot wall-clock time as HHMM (keys the quote noise).
    quote_s : int
        Quote time, UTC epoch seconds.
    sl : dict
        Output of :func:`~volmachine_core.market.sim.snapshot.snapshot_slices`.
    bumps : list of (expiry, target_sd, vol_shift)
        Planted bumps of this underlying and day.
    width_sd : float
        Bump width in SDs.
    spot_close, close_s : float, int, optional
        Close price and time: when given, ``bid_eod``/``ask_eod`` quotes at the close are added.
    volume_frac : float
        Fraction of a day's trading the snapshot's volume covers.

    Returns
    -------
    dict of ndarray
        Contract keys (``expiry``, ``strike``, ``is_call``, ``ckey``), ``tau``, ``forward``,
        ``discount``, ``z``, ``vol`` (quoted model vol), ``vol_base`` (unbumped), ``theo``, greeks
        (per 1.00 vol / rate, theta per year), ``bid``, ``ask``, sizes, ``volume``, ``oi``, trade
        ``open/high/low/close/vwap``, and ``bid_eod``/``ask_eod`` when requested.
    """
    spot = float(sl["spot"])
    n_exp = len(sl["expiry"])
    sd_pts = spot * sl["atm_vol"] * np.sqrt(sl["tau"])
    grids = [strike_grid(spec, spot, float(s)) for s in sd_pts]
    counts = np.array([len(g) for g in grids])
    ei = np.repeat(np.arange(n_exp), counts)
    K = np.concatenate(grids)
    ei = np.concatenate([ei, ei])
    K = np.concatenate([K, K])
    is_call = np.repeat([True, False], len(K) // 2)
    tau, F, D = sl["tau"][ei], sl["forward"][ei], sl["discount"][ei]
    atm, r = sl["atm_vol"][ei], sl["rate"][ei]
    expiry = sl["expiry"][ei]
    k = np.log(K / F)
    w = ssvi_total_variance(k, sl["theta"][ei], sl["rho"][ei], sl["phi"][ei])
    vol_base = np.sqrt(w / tau)
    z = k / (atm * np.sqrt(tau))
    vol = vol_base.copy()
    for b_exp, b_sd, b_shift in bumps:
        m = expiry == b_exp
        vol[m] += bump_vol(z[m], b_sd, b_shift, width_sd)
    vol = np.maximum(vol, 0.01)
    theo = black76_price(F, K, tau, vol, D, is_call)
    dFdS = F / (spot - sl["pv_div"][ei])
    carry_q = r - np.log(dFdS) / tau
    delta, gamma, vega, theta, rho_g = _greeks(F, K, tau, vol, D, is_call, r, dFdS, carry_q)

    ek = rng.date_key(expiry)
    ckey = ek * (1 << 33) + rng.strike_key(K) * 2 + is_call
    hc = rng.hash_keys(rng.name_key(spec.symbol), ek, rng.strike_key(K), is_call).view(np.int64)
    u = rng.uniform(hc[:, None], seed, _STREAM_Q, int(rng.date_key(day)), time_key, np.arange(10)[None, :])
    u_oi = rng.uniform(hc, seed, _STREAM_OI)

    dte = np.maximum((expiry - day).astype(np.int64), 0).astype(float)
    az = np.minimum(np.abs(z), 8.0)
    vs = spec.spread_vol * (1.0 + 0.25 * az) * (1.0 + 1.5 / np.sqrt(np.maximum(dte, 0.5)))
    hs = np.maximum(0.5 * vega * vs + 0.004 * theo, 0.5 * spec.tick_small)
    mid_q = theo + 0.5 * hs * (2.0 * u[:, 0] - 1.0)
    bid = floor_tick(mid_q - hs, spec)
    ask = ceil_tick(mid_q + hs, spec)
    size_shape = spec.size_scale * np.exp(-0.3 * az)
    bid_size = np.where(bid > 0, 1.0 + np.floor(size_shape * (0.2 + 1.6 * u[:, 1])), 0.0)
    ask_size = 1.0 + np.floor(size_shape * (0.2 + 1.6 * u[:, 2]))

    otm_put_below = (~is_call) & (K < spot)
    otm_call_above = is_call & (K > spot)
    side = (
        np.where(otm_put_below, 2.5, 1.0)
        if spec.kind in ("index", "etf")
        else np.where(otm_call_above, 2.0, 1.0)
    )
    roundness = np.where(
        np.isclose(np.mod(K, spec.round_strike), 0.0),
        3.0,
        np.where(np.isclose(np.mod(K, spec.round_strike / 2.0), 0.0), 1.8, 1.0),
    )
    tenor = np.sqrt(np.minimum(dte + 1.0, 60.0) / 60.0) * np.exp(-dte / 900.0)
    shape = np.exp(-0.5 * (z / 1.5) ** 2) + 0.03
    oi = np.floor(
        spec.oi_scale * tenor * shape * side * roundness * np.exp(0.6 * (u_oi - 0.5)) * (0.95 + 0.1 * u[:, 3])
    )
    lam = 0.08 * oi * (1.0 + 3.0 / np.sqrt(dte + 1.0)) * volume_frac
    volume = np.floor(lam * -np.log(u[:, 4]))
    traded = volume > 0
    close = np.clip(floor_tick(theo + 0.8 * hs * (2.0 * u[:, 5] - 1.0), spec), bid, ask)
    open_ = np.clip(floor_tick(theo + 0.8 * hs * (2.0 * u[:, 6] - 1.0), spec), bid, ask)
    high = ceil_tick(np.maximum(open_, close) + 0.5 * hs * u[:, 7], spec)
    low = floor_tick(np.minimum(open_, close) - 0.5 * hs * u[:, 8], spec)
    vwap = np.round((open_ + high + low + close) / 4.0, 4)
    zero = np.zeros_like(theo)
    out = {
        "expiry": expiry,
        "strike": K,
        "is_call": is_call,
        "ckey": ckey,
        "tau": tau,
        "forward": F,
        "discount": D,
        "z": z,
        "vol": vol,
        "vol_base": vol_base,
        "theo": theo,
        "delta": delta,
        "gamma": gamma,
        "vega": vega,
        "theta": theta,
        "rho": rho_g,
        "bid": bid,
        "ask": ask,
        "bid_size": bid_size,
        "ask_size": ask_size,
        "volume": volume,
        "oi": oi,
        "open": np.where(traded, open_, zero),
        "high": np.where(traded, high, zero),
        "low": np.where(traded, low, zero),
        "close": np.where(traded, close, zero),
        "vwap": np.where(traded, vwap, zero),
    }
    if spot_close is not None and close_s is not None:
        F_c = F * (spot_close - sl["pv_div"][ei]) / (spot - sl["pv_div"][ei])
        tau_c = np.maximum(tau - (close_s - quote_s) / SECONDS_PER_YEAR, 1e-6)
        theo_c = black76_price(F_c, K, tau_c, vol, D, is_call)
        mid_c = theo_c + 0.5 * hs * (2.0 * u[:, 9] - 1.0)
        out["bid_eod"] = floor_tick(mid_c - hs, spec)
        out["ask_eod"] = ceil_tick(mid_c + hs, spec)
        out["bid_size_eod"] = np.where(out["bid_eod"] > 0, bid_size, 0.0)
        out["ask_size_eod"] = ask_size
    return out
