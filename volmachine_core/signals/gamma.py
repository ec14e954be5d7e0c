"""Dealer gamma exposure (GEX) by strike, the gamma flip, pin strikes and the ``gamma`` edge.

GEX of an option, currency per 1% move of the underlying: ``sign * OI * Gamma_S * S^2 * 0.01 * multiplier``,
the change in dealers' currency delta for a 1% move. Positive: dealers are long gamma and hedge against moves
(dampening); negative: they hedge with them (amplifying). ``Gamma_S = Gamma_F (F/S)^2`` (Black-76, ``F``
proportional to ``S``), so ``S^2 Gamma_S = F^2 Gamma_F = D phi(d1) F / (sigma sqrt tau)``. Who holds which
option is not in the data: ``sign`` comes from a stated dealer-positioning assumption (:data:`ASSUMPTIONS`),
every result is given under each, the headline is ``calls_long_puts_short`` unless configured. One-signed
assumptions (``short_all``, ``short_puts_only``) never have a flip.

Flip: the spot where net GEX, recomputed at spots ``S0 x`` (grid 0.85..1.15) with ``F`` scaled, each strike's
vol held (sticky strike) and tau fixed, changes sign; the crossing nearest spot, linear between grid points.
Pin: a front-expiry strike near spot holding a large share of that expiry's open interest. No I/O; Python
loops run over (snapshot, underlying) groups and edge rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from volmachine_core.conventions import business_days
from volmachine_core.curves import curve_vol
from volmachine_core.groups import match_rows
from volmachine_core.pricing import black76_greeks

__all__ = ["ASSUMPTIONS", "CHAIN_COLUMNS", "CHAIN_REASONS", "HEADLINE", "GammaSpec", "gamma_chain",
           "gamma_flip", "gamma_profile", "gex_by_strike", "option_gex", "pin_strikes"]

#: Dealer-positioning assumptions: name -> the assumption in words.
ASSUMPTIONS: dict[str, str] = {
    "calls_long_puts_short": "customers overwrite calls and buy puts (SqueezeMetrics' convention): dealers are "
                             "long every call and short every put",
    "short_all": "customers are net long every option: dealers are short every call and put (short gamma at "
                 "every strike)",
    "short_puts_only": "customers buy puts, and their call buying and call overwriting net out: dealers are "
                       "short every put and flat calls",
    "otm_split": "customers overwrite out-of-the-money calls and buy out-of-the-money puts (collars); "
                 "in-the-money open interest is old positions taken as flat: dealers long calls with K >= F, "
                 "short puts with K <= F",
}
#: Dealer sign per assumption for (call OTM, call ITM, put OTM, put ITM), moneyness against the forward.
_SIGNS = {"calls_long_puts_short": (1.0, 1.0, -1.0, -1.0), "short_all": (-1.0, -1.0, -1.0, -1.0),
          "short_puts_only": (0.0, 0.0, -1.0, -1.0), "otm_split": (1.0, 0.0, -1.0, 0.0)}
HEADLINE = "calls_long_puts_short"
CHAIN_COLUMNS = ("snapshot_id", "trade_date", "underlying", "expiry", "strike", "right", "open_interest",
                 "multiplier", "underlying_price", "tau", "forward", "discount_factor", "vol")
#: ``reason`` codes of :func:`gamma_chain`: 'ok' rows are used, every other row is left out and counted.
CHAIN_REASONS = ("ok", "no_curve", "curve_not_usable", "no_discount_factor", "bad_input", "no_vol")
_GOOD_CURVES = ("ok", "repaired")
_KEYS = ["snapshot_id", "trade_date", "underlying"]
_SESSIONS_PER_YEAR = 252.0


def _check(names: Sequence[str]) -> list[str]:
    bad = [a for a in names if a not in ASSUMPTIONS]
    if bad:
        raise ValueError(f"assumption: unknown {bad}; expected some of {tuple(ASSUMPTIONS)}")
    return list(names)


@dataclass(frozen=True)
class GammaSpec:
    """Settings of the gamma profile and edge; defaults in brackets.

    Attributes
    ----------
    assumptions : tuple of str
        Dealer-positioning assumptions evaluated [all of :data:`ASSUMPTIONS`].
    headline : str
        Assumption of the headline GEX and flip [``calls_long_puts_short``].
    flip_range, flip_step : float
        Flip grid: spot times ``1 - flip_range .. 1 + flip_range`` in steps of ``flip_step`` [0.15, 0.0025].
    pin_max_sessions : int
        Expiries at most this many sessions ahead (0 = expiring today) are pin candidates [2].
    pin_window_sd : float
        Pin strikes lie within this many daily SDs (``atm_vol / sqrt(252)``, log distance) of spot [1.0].
    pin_min_share, pin_share_scale : float
        A pin strike holds at least ``pin_min_share`` of its expiry's OI (calls + puts); share above it
        worth strength 0.63 [0.10, 0.05].
    pin_needs_long_gamma : bool
        Fire a pin only when headline GEX at spot is >= 0: pinning comes from long-gamma hedging (selling
        rallies into the strike, buying dips); short-gamma hedging pushes price away from it [True].
    short_min_ratio, short_ratio_scale : float
        ``short_gamma`` fires when headline GEX / gross GEX (in [-1, 1]) is at most ``-short_min_ratio``;
        ratio beyond it worth strength 0.63 [0.10, 0.15].
    """

    assumptions: tuple[str, ...] = tuple(ASSUMPTIONS)
    headline: str = HEADLINE
    flip_range: float = 0.15
    flip_step: float = 0.0025
    pin_max_sessions: int = 2
    pin_window_sd: float = 1.0
    pin_min_share: float = 0.10
    pin_share_scale: float = 0.05
    pin_needs_long_gamma: bool = True
    short_min_ratio: float = 0.10
    short_ratio_scale: float = 0.15

    def __post_init__(self):
        _check((*self.assumptions, self.headline))
        if self.headline not in self.assumptions:
            raise ValueError(f"GammaSpec.headline: {self.headline!r} is not among assumptions")
        if not 0 < self.flip_step < self.flip_range < 1:
            raise ValueError("GammaSpec.flip_range/flip_step: need 0 < flip_step < flip_range < 1")

    @property
    def grid(self) -> np.ndarray:
        """Relative spot levels ``S / S0`` of the flip search, ascending, 1.0 included."""
        n = int(round(self.flip_range / self.flip_step))
        return 1.0 + self.flip_step * np.arange(-n, n + 1)


def _usable(chain: pd.DataFrame) -> np.ndarray:
    """Rows whose ``reason`` (when present) is 'ok' with finite, positive inputs and OI >= 0."""
    ok = chain["reason"].isin(("ok",)).to_numpy() if "reason" in chain.columns else np.ones(len(chain), bool)
    for c in ("strike", "multiplier", "underlying_price", "tau", "forward", "discount_factor", "vol"):
        v = chain[c].to_numpy(float)
        ok = ok & np.isfinite(v) & (v > 0)
    oi = chain["open_interest"].to_numpy(float)
    return ok & np.isfinite(oi) & (oi >= 0) & chain["right"].isin(("C", "P")).to_numpy()


def _category(chain: pd.DataFrame) -> np.ndarray:
    """0 call OTM (``K >= F``), 1 call ITM, 2 put OTM (``K <= F``), 3 put ITM: the columns of ``_SIGNS``."""
    call = chain["right"].isin(("C",)).to_numpy()
    K, F = chain["strike"].to_numpy(float), chain["forward"].to_numpy(float)
    return np.where(call, np.where(K >= F, 0, 1), np.where(K <= F, 2, 3))


def _signs(chain: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Dealer sign of each row under each assumption, shape ``(len(names), len(chain))``."""
    return np.array([_SIGNS[a] for a in names]).reshape(len(names), 4)[:, _category(chain)]


def _unsigned(chain: pd.DataFrame) -> np.ndarray:
    """``OI Gamma_S S^2 0.01 mult`` per row at the current spot via ``black76_greeks`` (currency per 1%)."""
    F = chain["forward"].to_numpy(float)
    g = black76_greeks(F, chain["strike"].to_numpy(float), chain["tau"].to_numpy(float), chain["vol"].to_numpy(float),
                       chain["discount_factor"].to_numpy(float), chain["right"].isin(("C",)).to_numpy())["gamma"]
    return 0.01 * chain["open_interest"].to_numpy(float) * chain["multiplier"].to_numpy(float) * g * F * F


def _unsigned_grid(chain: pd.DataFrame, x: np.ndarray) -> np.ndarray:
    """``_unsigned`` at spots ``S0 x`` (forward ``F x``, sticky strike, tau fixed), shape ``(n, len(x))``.

    ``black76_greeks``' gamma times ``F^2`` in closed form, ``D phi(d1) F / (sigma sqrt tau)``, with
    ``ln(F x / K) = ln(F/K) + ln x``: one exponential per point (tests check ``x = 1`` against it).
    """
    F, K = chain["forward"].to_numpy(float), chain["strike"].to_numpy(float)
    sd = chain["vol"].to_numpy(float) * np.sqrt(chain["tau"].to_numpy(float))
    d1 = (np.log(F / K)[:, None] + np.log(x)[None, :]) / sd[:, None] + 0.5 * sd[:, None]
    scale = (0.01 / np.sqrt(2.0 * np.pi)) * chain["open_interest"].to_numpy(float) \
        * chain["multiplier"].to_numpy(float) * chain["discount_factor"].to_numpy(float) * F / sd
    h = 0.5 * d1 * d1  # phi below 1e-304 set to 0: subnormal floats slow the arithmetic 100-fold
    return scale[:, None] * x[None, :] * np.where(h < 700.0, np.exp(-np.minimum(h, 700.0)), 0.0)


def option_gex(chain: pd.DataFrame, assumption: str = HEADLINE) -> np.ndarray:
    """Dealer GEX of each option, currency per 1% move of the underlying; NaN for rows not usable.

    Parameters
    ----------
    chain : DataFrame
        :data:`CHAIN_COLUMNS`: strike, underlying_price and forward in price units, tau in ACT/365 years,
        vol decimal, discount_factor to expiry, right 'C'/'P'; rows with a ``reason`` other than 'ok'
        (see :func:`gamma_chain`) or non-finite inputs are not usable.
    assumption : str
        A key of :data:`ASSUMPTIONS`.
    """
    _check([assumption])
    ok = _usable(chain)
    out = np.full(len(chain), np.nan)
    out[ok] = _signs(chain[ok], [assumption])[0] * _unsigned(chain[ok])
    return out


def gex_by_strike(chain: pd.DataFrame, assumption: str = HEADLINE) -> pd.DataFrame:
    """Dealer GEX and open interest per (snapshot_id, trade_date, underlying, strike), expiries summed.

    Returns
    -------
    DataFrame
        snapshot_id, trade_date, underlying, strike, spot, call_gex, put_gex, net_gex (currency per 1%
        move), call_oi, put_oi (contracts); usable rows only, sorted by key and strike.
    """
    g = option_gex(chain, assumption)
    ok, call = np.isfinite(g), chain["right"].isin(("C",)).to_numpy()
    oi = chain["open_interest"].to_numpy(float)
    df = chain.loc[ok, [*_KEYS, "strike"]].assign(
        spot=chain["underlying_price"].to_numpy(float)[ok], call_gex=np.where(call, g, 0.0)[ok],
        put_gex=np.where(call, 0.0, g)[ok], call_oi=np.where(call, oi, 0.0)[ok], put_oi=np.where(call, 0.0, oi)[ok])
    out = df.groupby([*_KEYS, "strike"], sort=True, observed=True).agg(
        spot=("spot", "first"), call_gex=("call_gex", "sum"), put_gex=("put_gex", "sum"),
        call_oi=("call_oi", "sum"), put_oi=("put_oi", "sum")).reset_index()
    out.insert(7, "net_gex", out["call_gex"] + out["put_gex"])
    return out


@njit(cache=True, nogil=True)
def _grid_sums(lnfk, sd, scale, key, x, out):  # pragma: no cover - compiled
    """``out[key[i], j] += scale_i x_j phi(d1_ij)`` with ``d1_ij = (ln(F_i/K_i) + ln x_j) / sd_i + sd_i / 2``:
    ``_unsigned_grid`` summed per key without the (rows x grid) temporaries."""
    lnx = np.log(x)
    for i in range(lnfk.shape[0]):
        for j in range(x.shape[0]):
            d1 = (lnfk[i] + lnx[j]) / sd[i] + 0.5 * sd[i]
            h = 0.5 * d1 * d1
            if h < 700.0:
                out[key[i], j] += scale[i] * x[j] * np.exp(-h)


def _gex_curves(chain: pd.DataFrame, names: Sequence[str], grid: np.ndarray,
                codes: np.ndarray | None = None, n_groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Net GEX at spot ``(G, A)`` and on the grid ``(G, A, len(grid))`` per group and assumption, and gross GEX
    ``(G,)``, of usable rows; ``codes`` numbers each row's group (default: one group, and the group axis is
    dropped from the results).

    Rows are summed per (group, sign category) first (a compiled loop, the same numbers as
    ``_unsigned_grid``), so the signs enter as a ``(A, 4) x (4, grid)`` product.
    """
    single = codes is None
    codes = np.zeros(len(chain), dtype=np.int64) if single else np.asarray(codes, dtype=np.int64)
    table = np.array([_SIGNS[a] for a in names]).reshape(len(names), 4)
    key = codes * 4 + _category(chain)
    u0 = _unsigned(chain)
    at_spot = np.bincount(key, weights=u0, minlength=4 * n_groups).reshape(n_groups, 4)
    F, K = chain["forward"].to_numpy(float), chain["strike"].to_numpy(float)
    sd = chain["vol"].to_numpy(float) * np.sqrt(chain["tau"].to_numpy(float))
    scale = (0.01 / np.sqrt(2.0 * np.pi)) * chain["open_interest"].to_numpy(float) \
        * chain["multiplier"].to_numpy(float) * chain["discount_factor"].to_numpy(float) * F / sd
    sums = np.zeros((4 * n_groups, len(grid)))
    _grid_sums(np.log(F / K), sd, scale, key, np.asarray(grid, dtype=float), sums)
    curves = np.einsum("ac,gcn->gan", table, sums.reshape(n_groups, 4, len(grid)))
    gross = np.bincount(codes, weights=u0, minlength=n_groups)
    gex = at_spot @ table.T
    return (gex[0], curves[0], float(gross[0])) if single else (gex, curves, gross)


def _crossing(x: np.ndarray, g: np.ndarray) -> tuple[float, str, int]:
    """Zero of ``g(x)`` nearest ``x = 1`` by linear interpolation: (level, reason, number of crossings)."""
    neg = g <= 0
    idx = np.flatnonzero(neg[:-1] != neg[1:])
    if not idx.size:
        return np.nan, "no_options" if not np.any(g) else "no_crossing_short" if neg[0] else "no_crossing_long", 0
    g0, g1 = g[idx], g[idx + 1]
    lv = x[idx] + (x[idx + 1] - x[idx]) * g0 / (g0 - g1)
    return float(lv[np.argmin(np.abs(lv - 1.0))]), "ok", int(idx.size)


def gamma_flip(chain: pd.DataFrame, assumption: str | Sequence[str] = HEADLINE,
               grid: np.ndarray | None = None) -> pd.DataFrame:
    """Gamma flip level per (snapshot_id, trade_date, underlying) and assumption.

    Parameters
    ----------
    chain : DataFrame
        :data:`CHAIN_COLUMNS` (see :func:`option_gex`).
    assumption : str or sequence of str
        Keys of :data:`ASSUMPTIONS`.
    grid : array_like, optional
        Hypothetical spots relative to the current one, ascending [``GammaSpec().grid``: 0.85 to 1.15 in
        0.25% steps]. Each strike keeps its vol (sticky strike), ``F`` scales with spot, tau is fixed.

    Returns
    -------
    DataFrame
        snapshot_id, trade_date, underlying, spot, assumption, gex (net dealer GEX at spot, currency per 1%),
        gross_gex (sum of ``|GEX|`` over all options), flip (price; NaN unless flip_reason is 'ok'),
        flip_reason ('ok'; 'no_crossing_short' / 'no_crossing_long': one sign across the grid;
        'no_options'), n_crossings, flip_pct (flip / spot - 1). Groups without usable open interest are absent.
    """
    names = _check([assumption] if isinstance(assumption, str) else assumption)
    grid = np.asarray(GammaSpec().grid if grid is None else grid, dtype=float)
    ok = _usable(chain) & (chain["open_interest"].to_numpy(float) > 0)
    sub = chain[ok]
    codes = sub.groupby(_KEYS, sort=True, observed=True).ngroup().to_numpy()
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    gex, curves, gross = _gex_curves(sub, names, grid, codes, n_groups)
    first = sub.iloc[np.unique(codes, return_index=True)[1]]
    spot = first["underlying_price"].to_numpy(float)
    rows = []
    for g, key in enumerate(first[_KEYS].itertuples(index=False, name=None)):  # crossings: a few per group
        for j, a in enumerate(names):
            level, reason, n = _crossing(grid, curves[g, j])
            rows.append((*key, spot[g], a, float(gex[g, j]), float(gross[g]), spot[g] * level, reason, n))
    out = pd.DataFrame(rows, columns=[*_KEYS, "spot", "assumption", "gex", "gross_gex", "flip", "flip_reason",
                                      "n_crossings"])
    return out.assign(flip_pct=out["flip"] / out["spot"] - 1.0)


def pin_strikes(chain: pd.DataFrame, max_sessions: int = 2, window_sd: float = 1.0, top_n: int = 3) -> pd.DataFrame:
    """Strikes of the front expiries holding the most open interest near spot.

    Parameters
    ----------
    chain : DataFrame
        :data:`CHAIN_COLUMNS`.
    max_sessions : int
        Expiries at most this many exchange sessions after the trade date (0 = expiring that day).
    window_sd : float
        Strikes with ``|ln(K/S)|`` within this many daily SDs, ``atm_vol / sqrt(252)`` with ``atm_vol`` the
        vol of the expiry's strike nearest its forward.
    top_n : int
        Strikes kept per expiry, by OI share.

    Returns
    -------
    DataFrame
        snapshot_id, trade_date, underlying, expiry, sessions, strike, spot, oi (calls + puts, contracts),
        expiry_oi, share (oi / expiry_oi), dist_pct (K / S - 1), dist_sd (``ln(K/S)`` in daily SDs) and rank
        (1 = largest share) per expiry, sorted by key, expiry and rank.
    """
    ek = [*_KEYS, "expiry"]
    c = chain.loc[_usable(chain), [*ek, "strike", "open_interest", "underlying_price", "forward", "vol"]]
    c = c.assign(sessions=business_days(c["trade_date"].to_numpy(), c["expiry"].to_numpy()))
    c = c[(c["sessions"] >= 0) & (c["sessions"] <= max_sessions)]
    c = c.assign(absk=np.abs(np.log(c["strike"] / c["forward"])))
    atm = c.loc[c.groupby(ek, observed=True)["absk"].idxmin(), [*ek, "vol"]].rename(columns={"vol": "atm_vol"})
    c = c.merge(atm, on=ek)
    c["expiry_oi"] = c.groupby(ek, observed=True)["open_interest"].transform("sum")
    by = c.groupby([*ek, "strike"], sort=True, observed=True).agg(
        sessions=("sessions", "first"), spot=("underlying_price", "first"), oi=("open_interest", "sum"),
        expiry_oi=("expiry_oi", "first"), atm_vol=("atm_vol", "first")).reset_index()
    by["share"] = by["oi"] / by["expiry_oi"].where(by["expiry_oi"] > 0)
    by["dist_pct"] = by["strike"] / by["spot"] - 1.0
    by["dist_sd"] = np.log(by["strike"] / by["spot"]) / (by["atm_vol"] / np.sqrt(_SESSIONS_PER_YEAR))
    by = by[(by["dist_sd"].abs() <= window_sd) & by["share"].notna()]
    by = by.sort_values([*ek, "share", "strike"], ascending=[True] * 4 + [False, True], kind="stable")
    by["rank"] = by.groupby(ek, observed=True).cumcount() + 1
    cols = [*ek, "sessions", "strike", "spot", "oi", "expiry_oi", "share", "dist_pct", "dist_sd", "rank"]
    return by.loc[by["rank"] <= top_n, cols].reset_index(drop=True)


def gamma_chain(option_quotes: pd.DataFrame, curve_params: pd.DataFrame, forwards: pd.DataFrame) -> pd.DataFrame:
    """The GEX input frame from warehouse tables: every quote, its curve vol, and why a row is left out.

    Parameters
    ----------
    option_quotes : DataFrame
        snapshot_id, trade_date, underlying, expiry, strike, right, open_interest, multiplier,
        underlying_price (``option_quotes`` rows).
    curve_params : DataFrame
        snapshot_id, underlying, expiry, tau (years), forward, status, params (JSON); only slices with status
        'ok' or 'repaired' are used.
    forwards : DataFrame
        snapshot_id, underlying, expiry, discount_factor.

    Returns
    -------
    DataFrame
        :data:`CHAIN_COLUMNS` (tau and forward from the curve slice, vol = ``curve_vol`` at ``k``), ``k =
        ln(K/F)`` and ``reason`` (:data:`CHAIN_REASONS`, first failure in that order): 'ok', 'no_curve' (no
        slice for the expiry), 'curve_not_usable' (slice status not ok/repaired), 'no_discount_factor',
        'bad_input' (quote fields), 'no_vol' (curve vol not finite). Only 'ok' rows are used downstream.

    Raises
    ------
    ValueError
        ``curve_params`` or ``forwards`` hold more than one row per join key.

    Notes
    -----
    Joined on (snapshot_id, underlying, expiry_ts) when all three tables have ``expiry_ts`` (two
    settlements can share a date), else on expiry.
    """
    on = "expiry_ts" if all("expiry_ts" in t.columns for t in (option_quotes, curve_params, forwards)) else "expiry"
    keys = ["snapshot_id", "underlying", on]
    q = option_quotes.reset_index(drop=True)
    (rc, uc), (rf, uf) = match_rows(q, curve_params, keys), match_rows(q, forwards, keys)
    if not (uc and uf):
        raise ValueError(f"{'curve_params' if not uc else 'forwards'}: more than one row per {keys}")
    # row -1 (no match) picks the appended NaN / False
    good = np.append(curve_params["status"].isin(_GOOD_CURVES).to_numpy(), False)[rc]
    tau, F = (np.append(curve_params[c].to_numpy(float), np.nan)[rc] for c in ("tau", "forward"))
    tau, F = np.where(good, tau, np.nan), np.where(good, F, np.nan)
    D = np.append(forwards["discount_factor"].to_numpy(float), np.nan)[rf]
    K, S = q["strike"].to_numpy(float), q["underlying_price"].to_numpy(float)
    oi, mult = q["open_interest"].to_numpy(float), q["multiplier"].to_numpy(float)
    inputs = (np.isfinite(K) & (K > 0) & np.isfinite(S) & (S > 0) & np.isfinite(oi) & (oi >= 0) & np.isfinite(mult)
              & (mult > 0) & q["right"].isin(("C", "P")).to_numpy() & np.isfinite(F) & (F > 0) & np.isfinite(tau)
              & (tau > 0))
    live = good & inputs
    k, vol = np.full(len(q), np.nan), np.full(len(q), np.nan)
    k[live] = np.log(K[live] / F[live])
    if live.any():  # each used slice parsed once: its quotes' k padded into one row of a (slices, m) grid
        used, inv = np.unique(rc[live], return_inverse=True)
        counts = np.bincount(inv)
        pos = np.empty(inv.size, dtype=np.int64)
        pos[np.argsort(inv, kind="stable")] = np.arange(inv.size) - np.repeat(np.cumsum(counts) - counts, counts)
        kmat = np.zeros((used.size, counts.max()))
        kmat[inv, pos] = k[live]
        vol[live] = curve_vol(curve_params.iloc[used].reset_index(drop=True), kmat)[inv, pos]
    reason = np.select([rc < 0, ~good, ~(np.isfinite(D) & (D > 0)), ~inputs, ~(np.isfinite(vol) & (vol > 0))],
                       list(CHAIN_REASONS[1:]), "ok")
    out = q[list(CHAIN_COLUMNS[:9])].assign(tau=tau, forward=F, discount_factor=D, vol=vol, k=k, reason=reason)
    return out.reset_index(drop=True)


def gamma_profile(chain: pd.DataFrame, spec: GammaSpec | None = None) -> pd.DataFrame:
    """One row per (snapshot_id, trade_date, underlying): GEX and flip per assumption, the band, the top pin.

    Parameters
    ----------
    chain : DataFrame
        :data:`CHAIN_COLUMNS` (e.g. :func:`gamma_chain`), any number of snapshots and underlyings.
    spec : GammaSpec, optional
        Assumptions, headline, flip grid and pin window [``GammaSpec()``].

    Returns
    -------
    DataFrame
        snapshot_id, trade_date, underlying, spot, n_options (rows used), n_left_out (rows not usable, e.g.
        no curve; a group with none used still gets a row, GEX 0, flip reasons 'no_options'), gross_gex (sum
        of ``|GEX|``, currency per 1%), ``gex_<a>``, ``flip_<a>``, ``flip_reason_<a>`` per assumption ``a``,
        flip_low / flip_high (band over the assumptions that have a flip, NaN if none), n_flips, headline,
        headline_gex, headline_flip, headline_flip_reason, gex_ratio (headline_gex / gross_gex, in [-1, 1]),
        gex_sign ('long' / 'short' / 'flat'), and the front-expiry strike with the largest share
        (:func:`pin_strikes`): pin_expiry, pin_sessions, pin_strike, pin_oi, pin_share, pin_dist_pct,
        pin_dist_sd (NaN when no expiry is within ``pin_max_sessions``).
    """
    spec = spec or GammaSpec()
    names, h = list(spec.assumptions), spec.headline
    long = gamma_flip(chain, names, spec.grid)
    wide = long.pivot(index=_KEYS, columns="assumption", values=["gex", "flip", "flip_reason"])
    wide.columns = [f"{v}_{a}" for v, a in wide.columns]
    ok = _usable(chain)
    prof = chain[_KEYS].assign(spot=chain["underlying_price"].to_numpy(float), n_options=ok, n_left_out=~ok) \
        .groupby(_KEYS, observed=True).agg(spot=("spot", "first"), n_options=("n_options", "sum"),
                                           n_left_out=("n_left_out", "sum"))
    prof = prof.join(long.drop_duplicates(_KEYS).set_index(_KEYS)[["gross_gex"]]).join(
        wide.reindex(columns=[f"{v}_{a}" for v in ("gex", "flip", "flip_reason") for a in names]))
    prof["gross_gex"] = prof["gross_gex"].astype(float).fillna(0.0)  # no open interest used: no exposure
    for a in names:
        prof[f"gex_{a}"] = prof[f"gex_{a}"].astype(float).fillna(0.0)
        prof[f"flip_{a}"] = prof[f"flip_{a}"].astype(float)
        prof[f"flip_reason_{a}"] = prof[f"flip_reason_{a}"].fillna("no_options")
    flips = prof[[f"flip_{a}" for a in names]]
    prof["flip_low"], prof["flip_high"] = flips.min(axis=1), flips.max(axis=1)
    prof["n_flips"] = flips.notna().sum(axis=1).astype(int)
    prof["headline"] = h
    prof["headline_gex"], prof["headline_flip"] = prof[f"gex_{h}"], prof[f"flip_{h}"]
    prof["headline_flip_reason"] = prof[f"flip_reason_{h}"]
    prof["gex_ratio"] = prof["headline_gex"] / prof["gross_gex"].where(prof["gross_gex"] > 0)
    prof["gex_sign"] = np.select([prof["headline_gex"] > 0, prof["headline_gex"] < 0], ["long", "short"], "flat")
    pins = pin_strikes(chain, spec.pin_max_sessions, spec.pin_window_sd, top_n=1)
    pins = pins.sort_values([*_KEYS, "share", "expiry"], ascending=[True] * 3 + [False, True], kind="stable")
    pins = pins.drop_duplicates(_KEYS).set_index(_KEYS)
    pins = pins[["expiry", "sessions", "strike", "oi", "share", "dist_pct", "dist_sd"]].add_prefix("pin_")
    return prof.join(pins, how="left").reset_index()
