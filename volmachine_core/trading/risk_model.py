"""Factor risk model for sizing: exposures of options to vol buckets, smile slope and spot, and their covariance.

Factors, per underlying ``u`` (in this order): one forward-vol bucket per interval of ``edges_days``
(``(0, e1]``, ``(e1, e2]``, ..., the last running on), the smile slope (vol per SD) and spot (relative move).

Exposures (currency per 1.00 of the factor) of a leg of ``quantity x multiplier`` options:

* vol buckets: the leg's vega split over the forward-vol buckets (``vega.bucket_vegas`` on the day's ATM term
  structure of that underlying);
* slope: ``slega x 100`` (slega is the value change for +0.01 vol per SD);
* spot: dollar delta ``delta x S`` (options and any underlying hedge).

Factor moves: daily changes of the constant-maturity ATM vols ``iv_30d, iv_90d, iv_180d`` (bucket ``j`` takes the
tenor nearest its midpoint), of the 30-day smile slope ``-skew_pts / (2 x 0.6745)`` (25-delta put minus call vol
over the SD distance between them) and of ``ln(close)``. Their correlation over all underlyings is the sample
correlation shrunk toward a structured target (vol buckets ``rho^|ln(Ta/Tb)|`` within an underlying, identity
elsewhere) with weight ``shrink``; with fewer than ``min_obs`` days of history the target alone is used and
missing SDs fall back to ``default_sd``. The covariance over a horizon of ``h`` sessions is ``h`` times the daily
one (changes taken as independent from day to day).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from volmachine_core.trading.vega import bucket_vegas, forward_vols

__all__ = ["RiskModelSpec", "RiskModel", "bucket_forward_vols", "factor_names", "factor_history", "risk_model",
           "exposures"]

#: SD moneyness of a 25-delta option, about N^-1(0.75): the distance the 25-delta skew spans is 2 x this.
Z25 = 0.6745
_TENORS = (30, 90, 180)


@dataclass(frozen=True)
class RiskModelSpec:
    """Bucket edges (calendar days), history use and fallbacks (daily SDs in the factor's units)."""

    edges_days: tuple[int, ...] = (30, 90)
    shrink: float = 0.3
    rho: float = 0.8
    min_obs: int = 10
    default_vol_sd: float = 0.01
    default_slope_sd: float = 0.003
    default_spot_sd: float = 0.012

    def __post_init__(self) -> None:
        if not self.edges_days or list(self.edges_days) != sorted(set(self.edges_days)) or self.edges_days[0] <= 0:
            raise ValueError("edges_days must be ascending positive days")
        if not 0.0 <= self.shrink <= 1.0 or not 0.0 < self.rho < 1.0 or self.min_obs < 3:
            raise ValueError("shrink in [0, 1], rho in (0, 1) and min_obs >= 3")

    @property
    def n_buckets(self) -> int:
        return len(self.edges_days) + 1

    def edges_years(self) -> np.ndarray:
        """Bucket ends in years for ``vega.bucket_vegas``, whose last bucket runs on: the last closes at two
        years (or twice the last edge)."""
        e = np.asarray(self.edges_days, float)
        return np.r_[e, max(730.0, 2.0 * e[-1])] / 365.0

    def bucket_tenor(self) -> np.ndarray:
        """Calendar days of the CM vol whose changes stand for each bucket's (the tenor nearest its middle)."""
        e = np.r_[0.0, np.asarray(self.edges_days, float)]
        mids = np.r_[(e[:-1] + e[1:]) / 2.0, 2.0 * e[-1]]
        t = np.asarray(_TENORS, float)
        return t[np.argmin(np.abs(np.log(mids[:, None] / t[None, :])), axis=1)]


def factor_names(underlyings, spec: RiskModelSpec = RiskModelSpec()) -> list[tuple[str, str]]:
    """(underlying, factor) in model order: vol_b0.., slope, spot per underlying."""
    per = [f"vol_b{j}" for j in range(spec.n_buckets)] + ["slope", "spot"]
    return [(u, f) for u in underlyings for f in per]


@dataclass(frozen=True)
class RiskModel:
    """Factors, their daily SDs and correlation; ``cov(h)`` is the covariance over ``h`` sessions."""

    factors: list[tuple[str, str]]
    sd: np.ndarray
    corr: np.ndarray
    n_obs: int

    def cov(self, horizon_sessions: float) -> np.ndarray:
        return horizon_sessions * self.corr * np.outer(self.sd, self.sd)

    def index(self) -> dict[tuple[str, str], int]:
        return {f: i for i, f in enumerate(self.factors)}


def factor_history(vol_signals: pd.DataFrame, bars: pd.DataFrame, spec: RiskModelSpec = RiskModelSpec()
                   ) -> pd.DataFrame:
    """Daily factor changes, one row per trade_date, columns ``(underlying, factor)``.

    ``vol_signals``: trade_date, underlying, iv_30d, iv_90d, iv_180d, skew_pts; ``bars``: trade_date,
    underlying, close.
    """
    vs = vol_signals.assign(trade_date=pd.to_datetime(vol_signals["trade_date"]))
    lv = vs.pivot_table(index="trade_date", columns="underlying",
                        values=[f"iv_{t}d" for t in _TENORS] + ["skew_pts"], aggfunc="last").sort_index()
    b = bars.assign(trade_date=pd.to_datetime(bars["trade_date"]))
    px = b.pivot_table(index="trade_date", columns="underlying", values="close", aggfunc="last").sort_index()
    cols = {}
    unds = sorted(set(vs["underlying"]) | set(b["underlying"]))
    for u in unds:
        for j, t in enumerate(spec.bucket_tenor()):
            key = (f"iv_{int(t)}d", u)
            cols[(u, f"vol_b{j}")] = lv[key].diff() if key in lv.columns else pd.Series(dtype=float)
        cols[(u, "slope")] = (-lv[("skew_pts", u)] / (2 * Z25)).diff() if ("skew_pts", u) in lv.columns \
            else pd.Series(dtype=float)
        cols[(u, "spot")] = np.log(px[u]).diff() if u in px.columns else pd.Series(dtype=float)
    return pd.DataFrame(cols).iloc[1:]


def _nearest_correlation(m: np.ndarray) -> np.ndarray:
    """A pairwise-complete sample mixed with the target need not be positive semi-definite: clip negative
    eigenvalues and rescale to a unit diagonal."""
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    if w.min() >= 0:
        return m
    c = (v * np.maximum(w, 1e-10)) @ v.T
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def risk_model(history: pd.DataFrame, underlyings, spec: RiskModelSpec = RiskModelSpec()) -> RiskModel:
    """SDs and shrunk correlation of the factors of ``underlyings`` from :func:`factor_history` rows."""
    factors = factor_names(underlyings, spec)
    nb = spec.n_buckets
    t = spec.bucket_tenor()
    block = np.eye(nb + 2)
    block[:nb, :nb] = spec.rho ** np.abs(np.log(t[:, None] / t[None, :]))
    target = np.kron(np.eye(len(list(underlyings))), block)
    h = history.reindex(columns=pd.MultiIndex.from_tuples(factors)) if len(history) else pd.DataFrame()
    defaults = np.array([spec.default_vol_sd] * nb + [spec.default_slope_sd, spec.default_spot_sd])
    sd = np.tile(defaults, len(list(underlyings)))
    corr = target
    n = int(h.dropna(how="all").shape[0]) if len(h) else 0
    if n >= spec.min_obs:
        obs = h.count().to_numpy()
        s = h.std().to_numpy(float)
        ok = (obs >= spec.min_obs) & np.isfinite(s) & (s > 0)
        sd = np.where(ok, s, sd)
        sample = h.corr(min_periods=spec.min_obs).to_numpy(float)
        good = np.isfinite(sample) & ok[:, None] & ok[None, :]
        sample = np.where(good, sample, target)
        np.fill_diagonal(sample, 1.0)
        corr = _nearest_correlation(spec.shrink * target + (1.0 - spec.shrink) * sample)
    return RiskModel(factors=factors, sd=sd, corr=corr, n_obs=n)


def bucket_forward_vols(tau: np.ndarray, vol: np.ndarray, edges: np.ndarray, n: int) -> np.ndarray:
    """Forward vols of the buckets; a term structure with calendar arbitrage (total variance falling) is read
    with its total variance made non-decreasing, and no usable term gives a flat 20%."""
    ok = np.isfinite(tau) & np.isfinite(vol) & (tau > 0) & (vol > 0)
    tau, vol = tau[ok], vol[ok]
    if not tau.size:
        return np.full(n, 0.2)
    order = np.argsort(tau)
    tau, w = tau[order], np.maximum.accumulate(vol[order] ** 2 * tau[order])
    return forward_vols(tau, np.sqrt(w / tau), edges)


def exposures(legs: pd.DataFrame, term: pd.DataFrame, model: RiskModel, spec: RiskModelSpec = RiskModelSpec(),
              group: str = "candidate_id") -> tuple[list, np.ndarray]:
    """Exposure vectors (currency per 1.00 of each factor) of groups of legs.

    Parameters
    ----------
    legs : DataFrame
        ``group``, underlying, tau, vega, slega, delta (per option, per unit of underlying), quantity
        (signed options), multiplier, spot (underlying price); optional ``hedge_shares`` (units of underlying
        per group row: added to the spot exposure once per group, so give it on one leg only).
    term : DataFrame
        The day's ATM term structure: underlying, tau, atm_vol (for the forward-vol buckets).

    Returns
    -------
    (group keys, array of shape (n_groups, n_factors))
    """
    idx = model.index()
    keys = pd.unique(legs[group]) if len(legs) else np.array([])
    out = np.zeros((len(keys), len(model.factors)))
    if not len(legs):
        return list(keys), out
    pos = pd.Index(keys).get_indexer(legs[group])
    size = legs["quantity"].to_numpy(float) * legs["multiplier"].to_numpy(float)
    vega, tau = legs["vega"].to_numpy(float) * size, legs["tau"].to_numpy(float)
    slope = 100.0 * legs["slega"].to_numpy(float) * size
    spot = legs["spot"].to_numpy(float)
    dollar = legs["delta"].to_numpy(float) * size * spot
    if "hedge_shares" in legs.columns:
        dollar = dollar + legs["hedge_shares"].to_numpy(float) * legs["multiplier"].to_numpy(float) * spot
    edges = spec.edges_years()
    t_und, t_tau, t_vol = (term[c].to_numpy() for c in ("underlying", "tau", "atm_vol"))
    for und, rows in legs.groupby("underlying", sort=False).indices.items():  # a few underlyings
        if (und, "spot") not in idx:
            raise ValueError(f"underlying {und!r} is not in the risk model")
        fv = bucket_forward_vols(t_tau[t_und == und].astype(float), t_vol[t_und == und].astype(float), edges,
                          spec.n_buckets)
        bv = bucket_vegas(vega[rows], tau[rows], edges, fv)
        cols = np.asarray([idx[(und, f"vol_b{j}")] for j in range(spec.n_buckets)])
        np.add.at(out, (pos[rows][:, None], cols[None, :]), bv)
        np.add.at(out[:, idx[(und, "slope")]], pos[rows], slope[rows])
        np.add.at(out[:, idx[(und, "spot")]], pos[rows], dollar[rows])
    return list(keys), out
