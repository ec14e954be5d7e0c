"""Forward (implied) vol between two expiries: ``sigma(t1, t2) = sqrt((s2^2 t2 - s1^2 t1) / (t2 - t1))``.

The vol the market implies for the period between two expiries, from their total variances. Negative
forward variance is calendar arbitrage and is reported, not hidden. Units: vols decimals, tau in
ACT/365 years. ``VolSurface.forward_vol`` uses the same helpers on its grid.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["ForwardVolStatus", "forward_vol", "forward_vol_from_w", "forward_vol_with_status"]


class ForwardVolStatus(IntEnum):
    """Per-element outcome of a forward-vol computation (stable integer values).

    Attributes
    ----------
    OK : 0
        Forward variance ``(w2 - w1)/(t2 - t1) >= 0``; the forward vol is its square root.
    NEGATIVE_FORWARD_VARIANCE : 1
        ``w2 < w1``: calendar arbitrage between the tenors, forward vol NaN.
    BAD_TENORS : 2
        ``t2 <= t1`` or ``t1 < 0``.
    INVALID_INPUT : 3
        A non-finite input or a negative vol.
    """

    OK = 0
    NEGATIVE_FORWARD_VARIANCE = 1
    BAD_TENORS = 2
    INVALID_INPUT = 3


def forward_vol_with_status(s1, t1, s2, t2) -> tuple[np.ndarray, np.ndarray]:
    """Forward vol between two tenors, with a status code per element (no warnings raised).

    Parameters
    ----------
    s1, s2 : array_like
        Implied vols (decimal per sqrt(year), ``>= 0``) to ``t1`` and ``t2``.
    t1, t2 : array_like
        Tenors in ACT/365 years, ``0 <= t1 < t2``.

    Returns
    -------
    vol : ndarray
        ``sqrt((s2^2 t2 - s1^2 t1) / (t2 - t1))``, decimal per sqrt(year); NaN unless status is OK.
    status : ndarray of int8
        :class:`ForwardVolStatus` values.

    Notes
    -----
    DESIGN.md (bucketed vega): total variance is additive in time, so the variance between ``t1`` and
    ``t2`` is ``w2 - w1`` with ``w = s^2 t``.
    """
    s1, t1, s2, t2 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (s1, t1, s2, t2)))
    w1, w2 = s1 * s1 * t1, s2 * s2 * t2
    return forward_vol_from_w(w1, t1, w2, t2, bad=(s1 < 0.0) | (s2 < 0.0))


def forward_vol_from_w(w1, t1, w2, t2, bad=None) -> tuple[np.ndarray, np.ndarray]:
    """Forward vol and status from total variances ``w1, w2`` at ``t1 < t2``; ``bad`` marks invalid inputs."""
    w1, t1, w2, t2 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (w1, t1, w2, t2)))
    invalid = ~(np.isfinite(w1) & np.isfinite(w2) & np.isfinite(t1) & np.isfinite(t2))
    if bad is not None:
        invalid |= bad
    tenors = ~invalid & ((t2 <= t1) | (t1 < 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        fv = (w2 - w1) / (t2 - t1)
    negative = ~invalid & ~tenors & (fv < 0.0)
    status = np.select(
        [invalid, tenors, negative],
        [ForwardVolStatus.INVALID_INPUT, ForwardVolStatus.BAD_TENORS, ForwardVolStatus.NEGATIVE_FORWARD_VARIANCE],
        ForwardVolStatus.OK,
    ).astype(np.int8)
    ok = status == ForwardVolStatus.OK
    vol = np.where(ok, np.sqrt(np.where(ok, fv, 0.0)), np.nan)
    return vol, status


def forward_vol(s1, t1, s2, t2):
    """Forward (implied) vol between tenors ``t1 < t2``, vectorised.

    Parameters
    ----------
    s1, s2 : array_like
        Implied vols (decimal per sqrt(year)) to ``t1`` and ``t2``.
    t1, t2 : array_like
        Tenors in ACT/365 years.

    Returns
    -------
    ndarray or float
        ``sigma(t1, t2) = sqrt((s2^2 t2 - s1^2 t1) / (t2 - t1))``; NaN (silently) where the forward
        variance is negative (calendar arbitrage), ``t2 <= t1`` or an input is invalid. Use
        :func:`forward_vol_with_status` for the reason.

    Examples
    --------
    >>> round(float(forward_vol(0.20, 0.25, 0.22, 0.50)), 4)  # sqrt((0.0242 - 0.0100) / 0.25)
    0.2383
    """
    vol, _ = forward_vol_with_status(s1, t1, s2, t2)
    return vol[()] if vol.ndim == 0 else vol
