"""Black-76 implied volatility: a "Let's Be Rational"-class solver compiled with numba.

Method (after P. Jaeckel, "Let's Be Rational", Wilmott 2015; own implementation):

1. Reduce every quote to a normalised out-of-the-money call: ``beta = time value / sqrt(F K)``
   on ``x = -|ln(F/K)| <= 0``; the attainable range is ``0 < beta < b_max = e^{x/2}``.
2. Split the range at three points of the curve ``s -> b(x, s)`` (``s = sigma sqrt(tau)``):
   the inflexion ``s_c = sqrt(2|x|)`` and the two points ``s_l``, ``s_u`` where the tangent at
   ``s_c`` meets 0 and ``b_max``. Four branches get a rational-cubic (Delbourgo-Gregory)
   initial guess that matches value, slope and curvature at the branch ends:
   the lower branch interpolates ``f = 2 pi |x| / (3 sqrt 3) Phi(x / (sqrt 3 s))^3`` (the
   small-``s`` asymptote of ``b``), the upper one ``f = Phi(-s/2)`` (the large-``s`` asymptote
   of ``(b_max - b)/2``), the two middle ones ``s`` itself.
3. Polish with at most three Householder(3) steps (fourth-order convergence; two suffice to
   machine precision almost everywhere) on an objective per branch that is close to linear
   there: ``1/ln b - 1/ln beta`` (lower), ``b - beta`` (middle), ``ln((b_max - beta)/(b_max - b))``
   (upper).

The kernel runs with ``prange`` over the flattened array; the thread count is
``num_threads`` if given, else the environment variable ``VOLMACHINE_NUMBA_THREADS``, else
numba's default (all cores). Give each Dagster worker process ``VOLMACHINE_NUMBA_THREADS=1`` so
the multiprocess executor does not oversubscribe the cores.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from numba import njit, prange

from volmachine_core.pricing._normalised import (
    INV_SQRT2PI,
    SQRT3,
    curvature_ratios,
    inv_norm_cdf,
    log_otm_call_and_log_derivative,
    norm_cdf,
    norm_pdf,
    normalised_gap,
    normalised_otm_call,
    normalised_vega,
    otm_call_and_vega,
)
from volmachine_core.pricing.status import ERR_NUM_THREADS, ERR_SIDE, IVStatus

__all__ = ["implied_vol", "implied_vol_with_status", "resolve_num_threads", "THREADS_ENV_VAR"]

THREADS_ENV_VAR = "VOLMACHINE_NUMBA_THREADS"
MAX_HOUSEHOLDER_STEPS = 2
_EPS = np.finfo(float).eps
# A time value within this many ulps of max(F, K) counts as no time value.
_NO_TIME_VALUE_ULPS = 4.0

_ST_OK = int(IVStatus.OK)
_ST_BELOW = int(IVStatus.BELOW_INTRINSIC)
_ST_ABOVE = int(IVStatus.ABOVE_UPPER_BOUND)
_ST_NOTV = int(IVStatus.NO_TIME_VALUE)
_ST_INVALID = int(IVStatus.INVALID_INPUT)

_LOWER, _MIDDLE, _UPPER = 0, 1, 2


@njit(cache=True, nogil=True, error_model="numpy")
def _rational_cubic(
    u: float, one_minus_u: float, width: float, y_l: float, y_r: float, d_l: float, d_r: float, r: float
) -> float:
    """Delbourgo-Gregory rational cubic at relative position ``u`` of an interval of ``width``."""
    v = one_minus_u
    num = (
        y_r * u * u * u
        + (r * y_r - width * d_r) * u * u * v
        + (r * y_l + width * d_l) * u * v * v
        + y_l * v * v * v
    )
    return num / (1.0 + (r - 3.0) * u * v)


@njit(cache=True, nogil=True, error_model="numpy")
def _clamp_r(r: float, width: float, y_l: float, y_r: float, d_l: float, d_r: float) -> float:
    """Keep the control parameter in the monotonicity-preserving range ``r >= (d_l + d_r)/Delta``."""
    delta = (y_r - y_l) / width
    r_min = (d_l + d_r) / delta if delta != 0.0 else 0.0
    if not (r_min >= 0.0):
        r_min = 0.0
    if not (r >= r_min):
        r = r_min
    return min(r, 1e12)


@njit(cache=True, nogil=True, error_model="numpy")
def _r_fit_left(width: float, y_l: float, y_r: float, d_l: float, d_r: float, y2_l: float) -> float:
    """Control parameter that reproduces the second derivative ``y2_l`` at the left end."""
    delta = (y_r - y_l) / width
    return _clamp_r((0.5 * width * y2_l + (d_r - d_l)) / (delta - d_l), width, y_l, y_r, d_l, d_r)


@njit(cache=True, nogil=True, error_model="numpy")
def _r_fit_right(width: float, y_l: float, y_r: float, d_l: float, d_r: float, y2_r: float) -> float:
    """Control parameter that reproduces the second derivative ``y2_r`` at the right end."""
    delta = (y_r - y_l) / width
    return _clamp_r((0.5 * width * y2_r + (d_r - d_l)) / (d_r - delta), width, y_l, y_r, d_l, d_r)


@njit(cache=True, nogil=True, error_model="numpy")
def _initial_guess(beta: float, gap: float, x: float) -> tuple[float, int]:
    """Rational-cubic initial guess for ``s`` and the branch (lower / middle / upper)."""
    b_max = math.exp(0.5 * x)
    s_c = math.sqrt(-2.0 * x)
    b_c = normalised_otm_call(x, s_c)
    v_c = INV_SQRT2PI * b_max  # b'(s_c) = e^{x/2} / sqrt(2 pi)
    if beta < b_c:
        s_l = s_c - b_c / v_c
        b_l, v_l = otm_call_and_vega(x, s_l)
        c2_l, _ = curvature_ratios(x, s_l)
        if beta < b_l:
            # lower branch: interpolate f(beta) on [0, b_l], f = k Phi(z)^3, z = x / (sqrt3 s)
            k = 2.0 * math.pi * (-x) / (3.0 * SQRT3)
            z = x / (SQRT3 * s_l)
            cdf = norm_cdf(z)
            pdf = norm_pdf(z)
            f_l = k * cdf * cdf * cdf
            fs = 3.0 * k * cdf * cdf * pdf * (-z / s_l)
            fss = 3.0 * k * cdf * pdf / (s_l * s_l) * ((2.0 * pdf - z * cdf) * z * z + 2.0 * z * cdf)
            d_r = fs / v_l
            f2_r = (fss - fs * c2_l) / (v_l * v_l)
            r = _r_fit_right(b_l, 0.0, f_l, 1.0, d_r, f2_r)
            u = beta / b_l
            f = _rational_cubic(u, 1.0 - u, b_l, 0.0, f_l, 1.0, d_r, r)
            if not (f > 0.0):
                f = beta
            p = (f / k) ** (1.0 / 3.0)
            if p >= 0.5:
                p = 0.5 * (1.0 - 1e-12)
            z = inv_norm_cdf(p)
            return x / (SQRT3 * z), _LOWER
        # lower middle: s(beta) on [b_l, b_c], zero curvature at the inflexion b_c
        w = b_c - b_l
        r = _r_fit_right(w, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0)
        u = (beta - b_l) / w
        return _rational_cubic(u, (b_c - beta) / w, w, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r), _MIDDLE
    s_u = s_c + (b_max - b_c) / v_c
    b_u, v_u = otm_call_and_vega(x, s_u)
    if beta <= b_u:
        # upper middle: s(beta) on [b_c, b_u], zero curvature at b_c
        w = b_u - b_c
        r = _r_fit_left(w, s_c, s_u, 1.0 / v_c, 1.0 / v_u, 0.0)
        u = (beta - b_c) / w
        return _rational_cubic(u, (b_u - beta) / w, w, s_c, s_u, 1.0 / v_c, 1.0 / v_u, r), _MIDDLE
    # upper branch: f = Phi(-s/2) on [b_u, b_max], f(b_max) = 0 with slope -1/2
    c2_u, _ = curvature_ratios(x, s_u)
    f_u = norm_cdf(-0.5 * s_u)
    pdf = norm_pdf(0.5 * s_u)
    fs = -0.5 * pdf
    fss = 0.125 * s_u * pdf
    d_l = fs / v_u
    f2_l = (fss - fs * c2_u) / (v_u * v_u)
    w = b_max - b_u
    r = _r_fit_left(w, f_u, 0.0, d_l, -0.5, f2_l)
    f = _rational_cubic((beta - b_u) / w, gap / w, w, f_u, 0.0, d_l, -0.5, r)
    if not (f > 0.0):
        f = 0.5 * gap
    if f >= 0.5:
        f = 0.5 * (1.0 - 1e-12)
    return -2.0 * inv_norm_cdf(f), _UPPER


@njit(cache=True, nogil=True, error_model="numpy")
def _householder_step(
    s: float, beta: float, log_beta: float, gap: float, log_gap: float, x: float, branch: int
) -> float:
    """One Householder(3) step on the branch objective; returns the increment in ``s``."""
    c2, c3 = curvature_ratios(x, s)
    if branch == _LOWER:
        L, lam = log_otm_call_and_log_derivative(x, s)
        L1 = lam
        L2 = lam * (c2 - lam)
        L3 = lam * c3 - 3.0 * lam * lam * c2 + 2.0 * lam * lam * lam
        nu = L * (log_beta - L) / (log_beta * L1)
        h2 = L2 / L1 - 2.0 * L1 / L
        h3 = L3 / L1 - 6.0 * L2 / L + 6.0 * L1 * L1 / (L * L)
    elif branch == _MIDDLE:
        b, vega = otm_call_and_vega(x, s)
        nu = (beta - b) / vega
        h2 = c2
        h3 = c3
    else:
        u = normalised_gap(x, s)
        mu = normalised_vega(x, s) / u
        nu = (math.log(u) - log_gap) / mu
        h2 = c2 + mu
        h3 = c3 + 3.0 * mu * c2 + 2.0 * mu * mu
    return nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0))


@njit(cache=True, nogil=True, error_model="numpy")
def _solve_normalised(beta: float, gap: float, x: float) -> float:
    """Total volatility ``s`` with ``b(x, s) = beta`` for ``x <= 0`` and ``0 < beta < e^{x/2}``."""
    s, branch = _initial_guess(beta, gap, x)
    log_beta = math.log(beta) if branch == _LOWER else 0.0
    log_gap = math.log(gap) if branch == _UPPER else 0.0
    for _ in range(MAX_HOUSEHOLDER_STEPS):
        if not (s > 0.0 and s < math.inf):
            break
        ds = _householder_step(s, beta, log_beta, gap, log_gap, x, branch)
        s_new = s + ds
        if not (s_new > 0.0):
            s_new = 0.5 * s
        converged = abs(s_new - s) <= 4.0 * _EPS * s_new
        s = s_new
        if converged:
            break
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _implied_vol_one(
    price: float, F: float, K: float, tau: float, D: float, is_call: bool
) -> tuple[float, int]:
    """Implied vol and status for one quote (see ``implied_vol_with_status``)."""
    if not (
        math.isfinite(price)
        and math.isfinite(F)
        and math.isfinite(K)
        and math.isfinite(tau)
        and math.isfinite(D)
    ):
        return math.nan, _ST_INVALID
    if F <= 0.0 or K <= 0.0 or tau <= 0.0 or D <= 0.0:
        return math.nan, _ST_INVALID
    p = price / D
    if is_call:
        intrinsic = max(F - K, 0.0)
        cap = F
    else:
        intrinsic = max(K - F, 0.0)
        cap = K
    scale = max(F, K)
    tv = p - intrinsic
    tol = _NO_TIME_VALUE_ULPS * _EPS * scale
    if tv < -tol:
        return math.nan, _ST_BELOW
    if tv <= tol:
        return math.nan, _ST_NOTV
    gap_price = cap - p
    if gap_price <= 0.0:
        return math.nan, _ST_ABOVE
    sqrt_fk = math.sqrt(F) * math.sqrt(K)
    beta = tv / sqrt_fk
    gap = gap_price / sqrt_fk
    x = -abs(math.log(F / K))
    if beta >= math.exp(0.5 * x):
        return math.nan, _ST_ABOVE
    s = _solve_normalised(beta, gap, x)
    return s / math.sqrt(tau), _ST_OK


@njit(cache=True, parallel=True, error_model="numpy")
def _implied_vol_kernel(price, F, K, tau, D, is_call, out, status):  # pragma: no cover - compiled
    for i in prange(price.shape[0]):
        v, st = _implied_vol_one(price[i], F[i], K[i], tau[i], D[i], is_call[i])
        out[i] = v
        status[i] = st


def resolve_num_threads(num_threads: int | None = None) -> int:
    """Thread count for the numba kernels.

    Parameters
    ----------
    num_threads : int, optional
        Explicit count. Default: the environment variable ``VOLMACHINE_NUMBA_THREADS``, else
        numba's launch-time maximum (all cores). Clipped to ``[1, numba.config.NUMBA_NUM_THREADS]``.

    Returns
    -------
    int
        The count that will be passed to ``numba.set_num_threads``.

    Raises
    ------
    ValueError
        If ``num_threads`` (or the environment variable) is not a positive integer.
    """
    value: object = num_threads
    if value is None:
        value = os.environ.get(THREADS_ENV_VAR) or numba.config.NUMBA_NUM_THREADS
    try:
        n = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(ERR_NUM_THREADS.format(value=value)) from None
    if n < 1:
        raise ValueError(ERR_NUM_THREADS.format(value=value))
    return min(n, numba.config.NUMBA_NUM_THREADS)


def _side_array(is_call) -> np.ndarray:
    arr = np.asarray(is_call)
    if arr.dtype.kind not in "biu":
        raise TypeError(ERR_SIDE.format(dtype=arr.dtype))
    return arr.astype(bool)


def implied_vol_with_status(price, F, K, tau, D, is_call, *, num_threads: int | None = None):
    """Black-76 implied volatility with a status code per element.

    Parameters
    ----------
    price : array_like
        Discounted option price per unit of underlying (same units as ``F`` and ``K``).
    F : array_like
        Forward price to expiry, ``> 0``.
    K : array_like
        Strike, ``> 0``.
    tau : array_like
        Time to expiry in years (ACT/365), ``> 0``.
    D : array_like
        Discount factor to expiry, ``> 0`` (``e^{-r tau}``).
    is_call : array_like of bool
        True for calls, False for puts.
    num_threads : int, optional
        numba threads for this call (see ``resolve_num_threads``).

    Returns
    -------
    vol : ndarray or float
        Implied volatility as a decimal per sqrt(year); NaN wherever ``status != IVStatus.OK``.
    status : ndarray of int8 or IVStatus
        ``IVStatus`` code per element. Scalar inputs give a float and an ``IVStatus``.

    Notes
    -----
    Inputs broadcast against each other. The price is reduced to a normalised out-of-the-money
    time value, so in-the-money quotes lose only the precision already lost in their price.
    A time value within 4 ulps of ``max(F, K)`` is ``NO_TIME_VALUE``. Accuracy: the repriced
    value matches the input to about 1e-15 of ``max(F, K) * D``.
    """
    side = _side_array(is_call)
    arrays = np.broadcast_arrays(
        np.asarray(price, dtype=float),
        np.asarray(F, dtype=float),
        np.asarray(K, dtype=float),
        np.asarray(tau, dtype=float),
        np.asarray(D, dtype=float),
        side,
    )
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    n = flat[0].shape[0]
    out = np.empty(n, dtype=float)
    status = np.empty(n, dtype=np.int8)
    if n:
        numba.set_num_threads(resolve_num_threads(num_threads))
        _implied_vol_kernel(*flat, out, status)
    if len(shape) == 0:
        return float(out[0]), IVStatus(int(status[0]))
    return out.reshape(shape), status.reshape(shape)


def implied_vol(price, F, K, tau, D, is_call, *, num_threads: int | None = None):
    """Black-76 implied volatility; NaN where no vol exists.

    Same parameters as ``implied_vol_with_status``; use that function to learn why an element is
    NaN (``IVStatus``).

    Returns
    -------
    ndarray or float
        Implied volatility as a decimal per sqrt(year).

    Examples
    --------
    >>> from volmachine_core.pricing import black76_price, implied_vol
    >>> p = black76_price(100.0, 110.0, 0.5, 0.25, 0.98, True)
    >>> round(implied_vol(p, 100.0, 110.0, 0.5, 0.98, True), 12)
    0.25
    """
    return implied_vol_with_status(price, F, K, tau, D, is_call, num_threads=num_threads)[0]
