"""Forwards and discount factors per expiry from put-call parity.

For every (snapshot, underlying, expiry) the call and put quoted at the same strike satisfy
(European exercise, Black 1976)::

    C - P = D * (F - K)

so a regression of ``C_mid - P_mid`` on ``K`` across strikes near the money has slope ``-D`` and
intercept ``D * F``. :func:`fit_forwards` does that regression for every expiry of every snapshot at
once (grouped weighted sums, closed-form weighted least squares, iteratively reweighted for
robustness), fits a smooth zero-rate curve across each underlying's expiries, and takes the discount
factor from that curve wherever an expiry's own fit is too thin or unstable.

Units: prices and strikes per unit of underlying in the option's currency, ``tau`` in ACT/365 years
from quote time to the expiry's settlement moment (``conventions.year_fraction``), rates and carry
continuously compounded per year, discount factors ``D = exp(-rate * tau)``.

References
----------
F. Black, "The pricing of commodity contracts", J. Financial Economics 3 (1976).
C. R. Nelson and A. F. Siegel, "Parsimonious modeling of yield curves", J. Business 60 (1987).
P. J. Huber, "Robust estimation of a location parameter", Ann. Math. Statist. 35 (1964); Tukey's
biweight as in Beaton and Tukey, Technometrics 16 (1974).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum

import numpy as np
import pandas as pd

from volmachine_core.conventions import year_fraction
from volmachine_core.groups import group_first_rows, group_ids, group_median, group_rank_first, group_sum

__all__ = [
    "FORWARD_COLUMNS",
    "ForwardFitOptions",
    "ForwardStatus",
    "fit_forwards",
    "nelson_siegel_basis",
]

#: Grain of the ``forwards`` table.
FORWARD_KEYS: tuple[str, ...] = ("snapshot_id", "underlying", "expiry_ts")

#: Columns of the frame :func:`fit_forwards` returns, in order (a vendor cross-check column is
#: appended when the input carries one).
FORWARD_COLUMNS: tuple[str, ...] = (
    "snapshot_id",
    "underlying",
    "expiry",
    "expiry_ts",
    "root",
    "quote_ts",
    "tau",
    "forward",
    "discount_factor",
    "rate",
    "carry",
    "underlying_price",
    "n_pairs",
    "n_outliers",
    "fit_rmse",
    "rate_se",
    "curve_rate",
    "status",
)

_REQUIRED = ("snapshot_id", "quote_ts", "underlying", "root", "expiry", "expiry_ts", "strike", "right", "bid",
             "ask", "underlying_price")
_VENDOR_IMPLIED = "implied_underlying_price"
_HEAD_COLUMNS = ("snapshot_id", "underlying", "expiry", "expiry_ts", "root", "quote_ts")
_MAD_TO_SD = 1.4826
_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


class ForwardStatus(StrEnum):
    """How an expiry's forward and discount factor were obtained (the ``status`` column).

    Attributes
    ----------
    OK : 'ok'
        Both from the expiry's own parity regression.
    RATE_FROM_CURVE : 'rate_from_curve'
        Too few pairs, or an unstable own fit (discount factor out of bounds, rate standard error too
        large, or rate far from the underlying's rate curve): ``D`` from the curve, ``F`` the robust
        weighted mean of ``K + (C - P) / D`` over the pairs.
    RATE_DEFAULT : 'rate_default'
        As ``RATE_FROM_CURVE``, but no expiry of the snapshot and underlying gave a usable rate, so
        ``D`` comes from ``ForwardFitOptions.fallback_rate``.
    NO_PAIRS : 'no_pairs'
        No strike with a two-sided call and put: no forward (NaN); ``D`` from the curve.
    EXPIRED : 'expired'
        ``tau <= 0`` at quote time (settled or settling): no forward, no discount factor.
    """

    OK = "ok"
    RATE_FROM_CURVE = "rate_from_curve"
    RATE_DEFAULT = "rate_default"
    NO_PAIRS = "no_pairs"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ForwardFitOptions:
    """Settings of :func:`fit_forwards` (all keyword options; defaults suit index and equity chains).

    Attributes
    ----------
    min_pairs : int
        Fewest call/put pairs for an expiry's own regression (``>= 2``); below it ``D`` comes from
        the rate curve. Default 3.
    n_sd : float
        Near-the-money window: pairs with ``|ln(K / F0)| <= n_sd * sigma0 * sqrt(tau)``, ``F0`` a
        rough forward and ``sigma0`` a rough ATM vol from the straddles nearest the money. Default 3
        (European parity: wider windows pin ``D`` better; narrow it, e.g. 1.5, for American options).
    n_nearest : int
        The ``n_nearest`` strikes nearest ``F0`` are always in the window (short expiries). Default 6.
    min_spread : float
        Floor on a quote's bid/ask spread in price units for the weights (locked markets); the
        floor used is ``max(min_spread, 0.25 * median spread of the expiry)``. Default 0.01.
    huber_iter, tukey_iter : int
        IRLS iterations with Huber weights (from the plain weighted fit), then Tukey's biweight.
    huber_c, tukey_c : float
        Tuning constants of the Huber and biweight functions (95% efficiency: 1.345, 4.685).
    min_scale : float
        Floor on the robust residual scale, in units of the pair's combined spread
        ``sqrt(spread_C^2 + spread_P^2)`` (mids sit anywhere inside their quotes). Default 0.2.
    d_bounds : tuple of float
        Open interval an own-fit discount factor must fall in. Default (0.5, 1.1).
    max_rate_se : float
        Largest standard error of an own-fit rate (continuous, decimal) to keep it. Default 0.02.
    rate_tol : float
        Largest distance of an own-fit rate from the rate curve at its ``tau`` (decimal). Default 0.01.
    curve_decay : float
        Nelson-Siegel decay (years) of the zero-rate curve. Default 1.5.
    curve_ridge : float
        Ridge penalty on the curve's slope and hump loadings relative to the total weight (keeps a
        curve through one or two expiries flat). Default 1e-3.
    curve_rate_floor : float
        Added in quadrature to each expiry's rate standard error when weighting the curve fit, so one
        very precise expiry cannot pin the whole curve. Default 5e-4.
    fallback_rate : float
        Continuous rate used when no expiry of a snapshot and underlying gives a usable rate. Default 0.
    """

    min_pairs: int = 3
    n_sd: float = 3.0
    n_nearest: int = 6
    min_spread: float = 0.01
    huber_iter: int = 3
    tukey_iter: int = 8
    huber_c: float = 1.345
    tukey_c: float = 4.685
    min_scale: float = 0.2
    d_bounds: tuple[float, float] = (0.5, 1.1)
    max_rate_se: float = 0.02
    rate_tol: float = 0.01
    curve_decay: float = 1.5
    curve_ridge: float = 1e-3
    curve_rate_floor: float = 5e-4
    fallback_rate: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "min_pairs": self.min_pairs >= 2,
            "n_sd": self.n_sd > 0,
            "n_nearest": self.n_nearest >= 1,
            "min_spread": self.min_spread > 0,
            "huber_iter": self.huber_iter >= 0,
            "tukey_iter": self.tukey_iter >= 0,
            "huber_c": self.huber_c > 0,
            "tukey_c": self.tukey_c > 0,
            "min_scale": self.min_scale > 0,
            "d_bounds": len(self.d_bounds) == 2 and 0 < self.d_bounds[0] < 1 < self.d_bounds[1],
            "max_rate_se": self.max_rate_se > 0,
            "rate_tol": self.rate_tol > 0,
            "curve_decay": self.curve_decay > 0,
            "curve_ridge": self.curve_ridge >= 0,
            "curve_rate_floor": self.curve_rate_floor > 0,
            "fallback_rate": bool(np.isfinite(self.fallback_rate)),
        }
        for name, good in checks.items():
            if not good:
                raise ValueError(f"forward fit option {name}={getattr(self, name)!r} is out of range")

    @classmethod
    def from_mapping(cls, options: Mapping[str, object]) -> ForwardFitOptions:
        """Options from a mapping (e.g. a config section); unknown keys raise naming the key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown forward fit option(s) {unknown}; known: {sorted(known)}")
        return cls(**options)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """The options as a plain dict (for asset metadata)."""
        return asdict(self)


def nelson_siegel_basis(tau, decay: float) -> np.ndarray:
    """Nelson-Siegel loadings ``[1, f1, f2]`` of a zero rate at ``tau`` years.

    Parameters
    ----------
    tau : array_like
        Years to maturity, ``> 0`` (values are floored at 1e-8).
    decay : float
        Decay time ``lambda`` in years.

    Returns
    -------
    ndarray, shape ``tau.shape + (3,)``
        ``f1 = (1 - e^{-x}) / x``, ``f2 = f1 - e^{-x}`` with ``x = tau / decay``; the zero rate is
        ``b0 + b1 f1 + b2 f2`` (Nelson and Siegel 1987).
    """
    x = np.maximum(np.asarray(tau, dtype=float), 1e-8) / decay
    f1 = -np.expm1(-x) / x
    return np.stack([np.ones_like(x), f1, f1 - np.exp(-x)], axis=-1)


def _robust_weights(r: np.ndarray, g: np.ndarray, n: int, c: float, min_scale: float, kind: str) -> np.ndarray:
    """Huber or biweight weights of standardised residuals ``r`` with a per-group MAD scale."""
    scale = np.maximum(_MAD_TO_SD * group_median(g, np.abs(r), n), min_scale)
    u = np.abs(r) / (c * scale[g])
    if kind == "huber":
        return np.minimum(1.0, 1.0 / np.maximum(u, 1e-300))
    return np.where(u < 1.0, (1.0 - u * u) ** 2, 0.0)


def _wls_line(g, x, y, w, n):
    """Per-group weighted least squares ``y = a + b x``: (a, b, S0, det); NaN where singular."""
    S0, S1, Sy = group_sum(g, w, n), group_sum(g, w * x, n), group_sum(g, w * y, n)
    S11, S1y = group_sum(g, w * x * x, n), group_sum(g, w * x * y, n)
    det = S0 * S11 - S1 * S1
    ok = (S0 > 0) & (det > 1e-12 * np.maximum(S0 * S11, 1e-300))
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(ok, (S0 * S1y - S1 * Sy) / det, np.nan)
        a = np.where(ok, (Sy - b * S1) / S0, np.nan)
    return a, b, S0, det


def _with_fallback(w_new: np.ndarray, w_old: np.ndarray, g: np.ndarray, n: int, min_pts: int) -> np.ndarray:
    """New robust weights, except in groups where fewer than ``min_pts`` points keep weight."""
    alive = group_sum(g, (w_new > 0).astype(float), n)
    return np.where(alive[g] >= min_pts, w_new, w_old)


# --------------------------------------------------------------------------- pairs
def _pairs(q: pd.DataFrame, gid: np.ndarray, opts: ForwardFitOptions) -> dict[str, np.ndarray]:
    """Two-sided call/put pairs at the same (expiry group, root, strike) with mids and spreads.

    Returns arrays ``g`` (expiry group), ``strike``, ``mid_c``, ``spread_c``, ``mid_p``, ``spread_p``
    (price units), one entry per pair, sorted by (group, root, strike). Where a leg is quoted more
    than once at a key, its first row is used. Done as one stable lexsort of the legs by (group,
    root code, strike, side): after dropping repeated keys, a call directly followed by a put with the
    same (group, root, strike) is a pair.
    """
    bid = q["bid"].to_numpy(dtype=float)
    ask = q["ask"].to_numpy(dtype=float)
    strike = q["strike"].to_numpy(dtype=float)
    ok = np.isfinite(bid) & np.isfinite(ask) & np.isfinite(strike) & (bid > 0) & (ask >= bid) & (strike > 0)
    right = q["right"].astype("string")
    is_call = (right == "C").fillna(False).to_numpy(dtype=bool)
    is_put = (right == "P").fillna(False).to_numpy(dtype=bool)
    root, _ = pd.factorize(q["root"].astype("string").fillna(""), sort=True)
    legs = np.flatnonzero(ok & (is_call | is_put))
    side = is_put[legs].astype(np.int8)
    keys = (gid[legs], root[legs], strike[legs], side)
    order = np.lexsort(keys[::-1])
    legs = legs[order]
    G, R, Kx, S = (k[order] for k in keys)
    new = np.ones(legs.size, dtype=bool)
    new[1:] = (G[1:] != G[:-1]) | (R[1:] != R[:-1]) | (Kx[1:] != Kx[:-1]) | (S[1:] != S[:-1])
    legs, G, R, Kx, S = legs[new], G[new], R[new], Kx[new], S[new]
    i = np.flatnonzero((S[:-1] == 0) & (S[1:] == 1) & (G[:-1] == G[1:]) & (R[:-1] == R[1:]) & (Kx[:-1] == Kx[1:]))
    c, p = legs[i], legs[i + 1]
    return {"g": gid[c], "strike": strike[c], "mid_c": 0.5 * (bid[c] + ask[c]), "spread_c": ask[c] - bid[c],
            "mid_p": 0.5 * (bid[p] + ask[p]), "spread_p": ask[p] - bid[p]}


def _take_pairs(pairs: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """The pairs where ``mask`` is True (same fields)."""
    return {f: v[mask] for f, v in pairs.items()}


def _select_near_money(pairs: dict[str, np.ndarray], tau: np.ndarray, n: int, opts: ForwardFitOptions):
    """Rough forward per group and the near-the-money mask over ``pairs``."""
    g = pairs["g"]
    K = pairs["strike"]
    y = pairs["mid_c"] - pairs["mid_p"]
    rank_y = group_rank_first(g, np.abs(y))
    near = rank_y <= 5
    F0 = group_median(g[near], (K + y)[near], n)  # D ~ 1 error is (C-P)(1/D-1): small where C ~ P
    straddle = group_median(g[near], (pairs["mid_c"] + pairs["mid_p"])[near], n)
    with np.errstate(divide="ignore", invalid="ignore"):
        sqrt_tau = np.sqrt(np.maximum(tau, 0.0))
        sigma0 = np.clip(straddle / (_SQRT_2_OVER_PI * F0 * sqrt_tau), 0.02, 3.0)
        x = np.abs(np.log(K / F0[g]))
    rank_k = group_rank_first(g, np.abs(K - F0[g]))
    sel = (x <= opts.n_sd * sigma0[g] * sqrt_tau[g]) | (rank_k <= opts.n_nearest)
    return F0, sel


# --------------------------------------------------------------------------- regression
def _parity_regression(g, K, y, w, F0, n, opts: ForwardFitOptions):
    """Robust WLS of ``y = C - P`` on ``K`` per group: D, F, se(D), final weights and residuals."""
    Kc = K - F0[g]
    sw = np.sqrt(w)
    wr = np.ones_like(w)
    a, b, S0, det = _wls_line(g, Kc, y, w, n)
    for it in range(opts.huber_iter + opts.tukey_iter):
        with np.errstate(invalid="ignore"):
            r = (y - a[g] - b[g] * Kc) * sw
        r = np.where(np.isfinite(r), r, 0.0)
        if it < opts.huber_iter:
            new = _robust_weights(r, g, n, opts.huber_c, opts.min_scale, "huber")
        else:
            new = _robust_weights(r, g, n, opts.tukey_c, opts.min_scale, "tukey")
        wr = _with_fallback(new, wr, g, n, 3)
        a, b, S0, det = _wls_line(g, Kc, y, w * wr, n)
    W = w * wr
    with np.errstate(invalid="ignore", divide="ignore"):
        e = y - a[g] - b[g] * Kc
        used = group_sum(g, (W > 0).astype(float), n)
        sigma2 = group_sum(g, W * e * e, n) / np.maximum(used - 2.0, 1.0)
        se_b = np.where(used > 2, np.sqrt(sigma2 * S0 / det), np.inf)
        D = -b
        F = F0 + a / D
    return D, F, se_b, wr


def _robust_location(g, x, w, n, opts: ForwardFitOptions):
    """Robust weighted mean of ``x`` per group (biweight IRLS from the median): (mean, weights)."""
    m = group_median(g, x, n)
    sw = np.sqrt(w)
    wr = np.ones_like(w)
    for it in range(opts.huber_iter + opts.tukey_iter):
        r = (x - m[g]) * sw
        r = np.where(np.isfinite(r), r, 0.0)
        kind, c = ("huber", opts.huber_c) if it < opts.huber_iter else ("tukey", opts.tukey_c)
        wr = _with_fallback(_robust_weights(r, g, n, c, opts.min_scale, kind), wr, g, n, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = group_sum(g, w * wr * x, n) / group_sum(g, w * wr, n)
    return m, wr


# --------------------------------------------------------------------------- rate curve
def _rate_curve(cg, tau, rate, rate_se, good, n_curves, opts: ForwardFitOptions):
    """Robust Nelson-Siegel zero-rate curve per curve group; returns the curve rate at every ``tau``.

    Groups without a usable point get NaN. Vectorised over groups: 3x3 normal equations per group
    from grouped sums, solved in one batched call.
    """
    X = nelson_siegel_basis(tau, opts.curve_decay)
    pts = np.flatnonzero(good)
    out = np.full(len(tau), np.nan)
    if not len(pts):
        return out
    gp, Xp, rp = cg[pts], X[pts], rate[pts]
    sd = np.sqrt(rate_se[pts] ** 2 + opts.curve_rate_floor ** 2)
    w = 1.0 / sd ** 2
    wr = np.ones_like(w)
    have = group_sum(gp, np.ones_like(w), n_curves) > 0
    penalty = np.diag([0.0, 1.0, 1.0]) * opts.curve_ridge
    beta = np.zeros((n_curves, 3))
    for it in range(6):
        W = w * wr
        A = np.zeros((n_curves, 3, 3))
        rhs = np.zeros((n_curves, 3))
        for i in range(3):
            rhs[:, i] = group_sum(gp, W * Xp[:, i] * rp, n_curves)
            for j in range(i, 3):
                A[:, i, j] = A[:, j, i] = group_sum(gp, W * Xp[:, i] * Xp[:, j], n_curves)
        total = group_sum(gp, W, n_curves)
        A = A + penalty[None] * np.maximum(total, 1e-300)[:, None, None]
        A[~have] = np.eye(3)
        beta = np.linalg.solve(A, rhs[..., None])[..., 0]
        if it < 5:
            r = (rp - np.einsum("ij,ij->i", Xp, beta[gp])) / sd
            wr = _robust_weights(r, gp, n_curves, opts.huber_c, 1.0, "huber")
    curve = np.einsum("ij,ij->i", X, beta[cg])
    return np.where(have[cg], curve, np.nan)


# --------------------------------------------------------------------------- public
def _check_quotes(quotes: pd.DataFrame) -> None:
    if not isinstance(quotes, pd.DataFrame):
        raise TypeError(f"quotes must be a pandas DataFrame of clean quotes, got {type(quotes).__name__}")
    missing = [c for c in _REQUIRED if c not in quotes.columns]
    if missing:
        raise ValueError(f"quotes lack clean-quote column(s) {missing} (see market.schema.CLEAN_QUOTE_COLUMNS)")


def _empty_result() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FORWARD_COLUMNS})


def fit_forwards(quotes: pd.DataFrame, **options: object) -> pd.DataFrame:
    """Forward and discount factor per (snapshot, underlying, expiry) from put-call parity.

    Parameters
    ----------
    quotes : DataFrame
        Clean quotes (``market.schema.CLEAN_QUOTE_COLUMNS``; at least snapshot_id, quote_ts,
        underlying, root, expiry, expiry_ts, strike, right, bid, ask, underlying_price), any number
        of snapshots, underlyings and expiries. An optional ``implied_underlying_price`` column (a
        vendor's implied underlying) is carried through as a per-expiry median for cross-checks.
    **options
        Fields of :class:`ForwardFitOptions` (unknown names raise ``TypeError``).

    Returns
    -------
    DataFrame
        One row per (snapshot_id, underlying, expiry_ts), sorted by them; an AM-settled and a
        PM-settled expiry on the same date are separate rows. Columns (``FORWARD_COLUMNS``):

        - ``snapshot_id``, ``underlying``, ``expiry`` (naive date), ``expiry_ts`` (UTC), ``root``
          (first root seen), ``quote_ts`` (UTC)
        - ``tau``: ACT/365 years from quote time to expiry (median over the expiry's rows)
        - ``forward``: ``F`` per unit of underlying; NaN for 'no_pairs' and 'expired'
        - ``discount_factor``: ``D`` to expiry
        - ``rate``: ``-ln(D) / tau``, continuous, decimal per year
        - ``carry``: implied dividend/borrow yield ``q = rate - ln(F / S) / tau`` (continuous), ``S``
          the recorded underlying price; noisy for very short ``tau`` (spot is often not synchronous)
        - ``underlying_price``: median recorded underlying price of the expiry's rows at fit time
          (re-centre later with ``F_new = F * S_new / S_fit``)
        - ``n_pairs``: call/put pairs in the near-the-money window; ``n_outliers``: of those, pairs
          the robust fit gave zero weight
        - ``fit_rmse``: weighted RMSE of the parity residuals ``(C - P) - D (F - K)``, price units
        - ``rate_se``: standard error of the expiry's own rate (decimal; inf if not estimable)
        - ``curve_rate``: the underlying's fitted zero-rate curve at ``tau`` (decimal)
        - ``status``: a :class:`ForwardStatus` value

    Notes
    -----
    1. Pairs: call and put at the same strike and root, both two-sided (``bid > 0``, ``ask >= bid``;
       locked markets allowed), ``y = C_mid - P_mid``, weight ``1 / (s_C^2 + s_P^2)`` with spreads
       floored (``min_spread``).
    2. Window: rough ``F0`` = median of ``K + y`` over the five pairs with smallest ``|y|``, rough vol
       from the median straddle of those five (``C + P ~ sqrt(2/pi) F sigma sqrt(tau)``); pairs within ``n_sd`` rough
       SDs of ``F0`` plus the ``n_nearest`` strikes nearest it.
    3. Regression ``y = D F - D K`` per expiry by closed-form WLS on grouped sums, IRLS with Huber
       then Tukey biweight weights on residuals standardised by the pair's combined spread (MAD
       scale floored at ``min_scale``) - all expiries at once.
    4. Rate curve per (snapshot, underlying): Nelson-Siegel zero rates fitted (Huber IRLS, ridge on
       the slope/hump loadings) to the own-fit rates weighted by ``1 / (se^2 + floor^2)``.
    5. An expiry with fewer than ``min_pairs`` pairs, ``D`` outside ``d_bounds``, rate s.e. above
       ``max_rate_se`` or rate more than ``rate_tol`` from the curve takes ``D`` from the curve and
       ``F`` as the robust weighted mean of ``K + (C - P) / D`` (status 'rate_from_curve'). Short
       expiries, whose strikes span too little to pin ``D``, usually end here, which is the better
       estimate for them: ``F`` depends on ``D`` only through ``(C - P)(1/D)`` near the money.

    Parity is exact only for European exercise; for American options keep the window near the money
    (the default), where early-exercise premia are smallest.

    Examples
    --------
    >>> fw = fit_forwards(clean_quotes_frame)  # doctest: +SKIP
    >>> fw[["expiry", "forward", "discount_factor", "status"]]  # doctest: +SKIP
    """
    opts = ForwardFitOptions.from_mapping(options)
    _check_quotes(quotes)
    if not len(quotes):
        return _empty_result()
    q = quotes.reset_index(drop=True)
    gid, n = group_ids(q, FORWARD_KEYS)
    first = group_first_rows(gid, n)
    head = {}
    for c in _HEAD_COLUMNS:  # groupby(...).first(): the first non-missing value of each group
        col = q[c]
        na = col.isna().to_numpy()
        rows = group_first_rows(gid, n, ~na) if na.any() else first
        head[c] = col.array.take(rows, allow_fill=True)

    row_tau = year_fraction(q["quote_ts"], q["expiry_ts"])
    tau = group_median(gid, row_tau, n)
    spot = group_median(gid, q["underlying_price"].to_numpy(dtype=float), n)
    live = np.isfinite(tau) & (tau > 0)

    pairs = _pairs(q, gid, opts)
    pairs = _take_pairs(pairs, live[pairs["g"]])
    F0, sel = _select_near_money(pairs, tau, n, opts)
    pairs = _take_pairs(pairs, sel)
    g = pairs["g"]
    K = pairs["strike"]
    y = pairs["mid_c"] - pairs["mid_p"]
    sc, sp = pairs["spread_c"], pairs["spread_p"]
    floor = np.maximum(opts.min_spread, 0.25 * group_median(np.r_[g, g], np.r_[sc, sp], n))
    w = 1.0 / (np.maximum(sc, floor[g]) ** 2 + np.maximum(sp, floor[g]) ** 2)
    n_pairs = group_sum(g, np.ones_like(w), n).astype(np.int64)

    D_own, F_own, se_d, wr = _parity_regression(g, K, y, w, F0, n, opts)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_own = -np.log(D_own) / tau
        rate_se = np.where(np.isfinite(se_d), se_d / (np.abs(D_own) * tau), np.inf)
    lo, hi = opts.d_bounds
    in_bounds = np.isfinite(D_own) & (D_own > lo) & (D_own < hi) & np.isfinite(F_own) & (F_own > 0)
    usable = live & (n_pairs >= opts.min_pairs) & in_bounds & np.isfinite(rate_se) & np.isfinite(rate_own)

    cg, n_curves = group_ids(head, ("snapshot_id", "underlying"))
    curve = _rate_curve(cg, tau, rate_own, rate_se, usable, n_curves, opts)
    with np.errstate(invalid="ignore"):
        own_ok = usable & (rate_se <= opts.max_rate_se) & (np.abs(rate_own - curve) <= opts.rate_tol)

    have_curve = np.isfinite(curve)
    rate_fb = np.where(have_curve, curve, opts.fallback_rate)
    D_fb = np.exp(-rate_fb * np.where(live, tau, 0.0))
    # fallback forwards for every group with pairs (cheap; used where the own fit is not kept)
    with np.errstate(divide="ignore", invalid="ignore"):
        F_fb, wr_fb = _robust_location(g, K + y / D_fb[g], w, n, opts)
    use_own = own_ok[g]
    wr_final = np.where(use_own, wr, wr_fb)
    D = np.where(own_ok, D_own, D_fb)
    F = np.where(own_ok, F_own, F_fb)

    status = np.where(own_ok, ForwardStatus.OK.value,
                      np.where(have_curve, ForwardStatus.RATE_FROM_CURVE.value, ForwardStatus.RATE_DEFAULT.value))
    status = np.where(n_pairs == 0, ForwardStatus.NO_PAIRS.value, status)
    status = np.where(live, status, ForwardStatus.EXPIRED.value).astype(object)
    F = np.where((n_pairs > 0) & live, F, np.nan)
    D = np.where(live, D, np.nan)

    W = w * wr_final
    with np.errstate(divide="ignore", invalid="ignore"):
        e = y - D[g] * (F[g] - K)
        fit_rmse = np.sqrt(group_sum(g, W * e * e, n) / group_sum(g, W, n))
        rate = -np.log(D) / tau
        carry = rate - np.log(F / spot) / tau
    n_out = group_sum(g, (wr_final <= 0).astype(float), n).astype(np.int64)

    out = {**head,
           "tau": tau,
           "forward": F,
           "discount_factor": D,
           "rate": np.where(live, rate, np.nan),
           "carry": np.where(live, carry, np.nan),
           "underlying_price": spot,
           "n_pairs": n_pairs,
           "n_outliers": n_out,
           "fit_rmse": np.where(n_pairs > 0, fit_rmse, np.nan),
           "rate_se": np.where(live, rate_se, np.nan),
           "curve_rate": np.where(live, curve, np.nan),
           "status": pd.array(status, dtype="string")}
    if _VENDOR_IMPLIED in q.columns:
        out["vendor_" + _VENDOR_IMPLIED] = group_median(gid, pd.to_numeric(q[_VENDOR_IMPLIED], errors="coerce")
                                                    .to_numpy(dtype=float), n)
    return pd.DataFrame(out)  # FORWARD_COLUMNS order, then the vendor column
