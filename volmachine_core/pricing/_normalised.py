"""Scalar numba kernels for the normalised Black function (used by the implied-vol solver).

Notation (Jaeckel 2015, "Let's Be Rational", Wilmott): ``x = ln(F/K)``, ``s = sigma sqrt(tau)``,
``h = x / s``, ``t = s / 2``. The normalised out-of-the-money call (``x <= 0``) is

    b(x, s) = e^{x/2} Phi(h + t) - e^{-x/2} Phi(h - t),   0 <= b < b_max = e^{x/2},

i.e. the undiscounted price divided by ``sqrt(F K)``. Every other case maps onto it: a put is
``b(-x, s)`` and an in-the-money option is intrinsic plus the out-of-the-money one.

Two evaluation paths keep relative precision without the ``0 * inf`` or catastrophic-cancellation
traps:

* ``h + t <= 0`` (the wings): with ``Y(z) = Phi(z) / phi(z) = sqrt(pi/2) erfcx(-z / sqrt 2)``,
  ``b = 1/2 exp(-(h^2 + t^2)/2) [erfcx(-(h+t)/sqrt 2) - erfcx((t-h)/sqrt 2)]``; the exponential
  factor is carried separately, so ``ln b`` is exact even where ``b`` underflows.
* ``h + t > 0`` (near the money): ``b = 2 sinh(x/2) Phi(h - t) + e^{x/2}/2 [erf((h+t)/sqrt 2) +
  erf((t-h)/sqrt 2)]``; both ``erf`` terms are non-negative, so there is no cancellation for small
  ``s``.

Derivatives in ``s``: ``b' = exp(-(h^2 + t^2)/2) / sqrt(2 pi)``, ``b''/b' = h^2/s - s/4`` and
``b'''/b' = (b''/b')^2 - 3 h^2 / s^2 - 1/4``.
"""

from __future__ import annotations

import math

from numba import njit

SQRT2 = math.sqrt(2.0)
INV_SQRT2 = 1.0 / SQRT2
SQRT2PI = math.sqrt(2.0 * math.pi)
INV_SQRT2PI = 1.0 / SQRT2PI
INV_SQRTPI = 1.0 / math.sqrt(math.pi)
SQRT3 = math.sqrt(3.0)
# Largest argument for which erfc(y) * exp(y^2) is evaluated directly (erfc stays a normal double).
_ERFCX_DIRECT_MAX = 26.0
# One Halley step takes the 4.5e-4 start to about 1e-10: ample for an initial guess.
_HALLEY_STEPS = 1


@njit(cache=True, nogil=True, error_model="numpy")
def exp_of_square(y: float) -> float:
    """``exp(y*y)`` with ``y*y`` split exactly (Veltkamp), so the result keeps full relative precision."""
    c = 134217729.0 * y
    hi = c - (c - y)
    lo = y - hi
    y2 = y * y
    err = ((hi * hi - y2) + 2.0 * hi * lo) + lo * lo
    return math.exp(y2) * (1.0 + err)


@njit(cache=True, nogil=True, error_model="numpy")
def erfcx(y: float) -> float:
    """Scaled complementary error function ``exp(y^2) erfc(y)``.

    Direct product for ``y < 26`` (``erfc`` from libm keeps relative precision there), the
    asymptotic series ``1/(y sqrt(pi)) sum (-1)^n (2n-1)!! / (2 y^2)^n`` beyond (six terms reach
    double precision for ``y >= 26``).
    """
    if y < _ERFCX_DIRECT_MAX:
        if y < -26.0:
            return math.inf
        return math.erfc(y) * exp_of_square(y)
    w = 1.0 / (2.0 * y * y)
    # (2n-1)!! w^n for n = 1..6, alternating
    series = 1.0 - w * (
        1.0 - 3.0 * w * (1.0 - 5.0 * w * (1.0 - 7.0 * w * (1.0 - 9.0 * w * (1.0 - 11.0 * w))))
    )
    return INV_SQRTPI / y * series


@njit(cache=True, nogil=True, error_model="numpy")
def norm_cdf(z: float) -> float:
    """Standard normal CDF via ``erfc`` (full relative precision in the lower tail)."""
    return 0.5 * math.erfc(-z * INV_SQRT2)


@njit(cache=True, nogil=True, error_model="numpy")
def norm_pdf(z: float) -> float:
    """Standard normal density."""
    return INV_SQRT2PI * math.exp(-0.5 * z * z)


@njit(cache=True, nogil=True, error_model="numpy")
def inv_norm_cdf(p: float) -> float:
    """Inverse standard normal CDF.

    Starts from the Abramowitz-Stegun 26.2.23 rational approximation (absolute error < 4.5e-4)
    on the smaller tail probability and polishes with Halley steps on ``Phi(z) = q`` (cubic
    convergence); one step (about 1e-10) is plenty for an initial guess. Returns +-inf at 1
    and 0, NaN outside [0, 1].
    """
    if not (p >= 0.0 and p <= 1.0):
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    q = p if p < 0.5 else 1.0 - p
    u = math.sqrt(-2.0 * math.log(q))
    z = -(
        u
        - (2.515517 + u * (0.802853 + u * 0.010328)) / (1.0 + u * (1.432788 + u * (0.189269 + u * 0.001308)))
    )
    for _ in range(_HALLEY_STEPS):
        e = norm_cdf(z) - q
        w = e / norm_pdf(z)
        z = z - w / (1.0 + 0.5 * z * w)
    return z if p < 0.5 else -z


@njit(cache=True, nogil=True, error_model="numpy")
def wing_bracket(h: float, t: float) -> float:
    """``erfcx(-(h+t)/sqrt 2) - erfcx((t-h)/sqrt 2)`` for ``h + t <= 0``.

    ``b = exp(-(h^2+t^2)/2) * bracket / 2``.
    """
    return erfcx(-(h + t) * INV_SQRT2) - erfcx((t - h) * INV_SQRT2)


@njit(cache=True, nogil=True, error_model="numpy")
def normalised_otm_call(x: float, s: float) -> float:
    """Normalised out-of-the-money call ``b(x, s)`` for ``x <= 0``, ``s >= 0`` (see module notes)."""
    if s <= 0.0:
        return 0.0
    h = x / s
    t = 0.5 * s
    if h + t <= 0.0:
        return 0.5 * math.exp(-0.5 * (h * h + t * t)) * wing_bracket(h, t)
    return 2.0 * math.sinh(0.5 * x) * norm_cdf(h - t) + 0.5 * math.exp(0.5 * x) * (
        math.erf((h + t) * INV_SQRT2) + math.erf((t - h) * INV_SQRT2)
    )


@njit(cache=True, nogil=True, error_model="numpy")
def otm_call_and_vega(x: float, s: float) -> tuple[float, float]:
    """``(b(x, s), db/ds)`` sharing one exponential."""
    h = x / s
    t = 0.5 * s
    e = math.exp(-0.5 * (h * h + t * t))
    if h + t <= 0.0:
        b = 0.5 * e * wing_bracket(h, t)
    else:
        b = 2.0 * math.sinh(0.5 * x) * norm_cdf(h - t) + 0.5 * math.exp(0.5 * x) * (
            math.erf((h + t) * INV_SQRT2) + math.erf((t - h) * INV_SQRT2)
        )
    return b, INV_SQRT2PI * e


@njit(cache=True, nogil=True, error_model="numpy")
def log_otm_call_and_log_derivative(x: float, s: float) -> tuple[float, float]:
    """``(ln b, b'/b)``, finite in the wings where ``b`` underflows (one bracket evaluation)."""
    h = x / s
    t = 0.5 * s
    if h + t <= 0.0:
        bracket = wing_bracket(h, t)
        return -0.5 * (h * h + t * t) + math.log(0.5 * bracket), 2.0 * INV_SQRT2PI / bracket
    b, vega = otm_call_and_vega(x, s)
    return math.log(b), vega / b


@njit(cache=True, nogil=True, error_model="numpy")
def log_normalised_otm_call(x: float, s: float) -> float:
    """``ln b(x, s)``, finite even where ``b`` underflows (wings)."""
    h = x / s
    t = 0.5 * s
    if h + t <= 0.0:
        return -0.5 * (h * h + t * t) + math.log(0.5 * wing_bracket(h, t))
    return math.log(normalised_otm_call(x, s))


@njit(cache=True, nogil=True, error_model="numpy")
def normalised_vega(x: float, s: float) -> float:
    """``db/ds = exp(-(h^2 + t^2)/2) / sqrt(2 pi)``."""
    h = x / s
    t = 0.5 * s
    return INV_SQRT2PI * math.exp(-0.5 * (h * h + t * t))


@njit(cache=True, nogil=True, error_model="numpy")
def normalised_gap(x: float, s: float) -> float:
    """``b_max - b(x, s) = e^{x/2} Phi(-h - t) + e^{-x/2} Phi(h - t)`` without cancellation."""
    h = x / s
    t = 0.5 * s
    return math.exp(0.5 * x) * norm_cdf(-h - t) + math.exp(-0.5 * x) * norm_cdf(h - t)


@njit(cache=True, nogil=True, error_model="numpy")
def curvature_ratios(x: float, s: float) -> tuple[float, float]:
    """``(b''/b', b'''/b')`` as functions of ``s``."""
    h = x / s
    h2_over_s = h * h / s if x != 0.0 else 0.0
    r2 = h2_over_s - 0.25 * s
    r3 = r2 * r2 - 3.0 * (h * h) / (s * s) - 0.25 if x != 0.0 else r2 * r2 - 0.25
    return r2, r3
