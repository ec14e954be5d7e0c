"""Row-wise monotone (PCHIP) Hermite interpolation, vectorised over many curves at once.

Each row of ``y`` is one curve sampled at the knots ``x`` (one row of knots per curve, or one knot
vector shared by all rows). Slopes follow Fritsch-Carlson as in scipy's ``PchipInterpolator``, so the
interpolant is C1, passes through every knot and is monotone wherever the data are. Evaluation takes
one query point per (row, x) pair, so a million options on a few thousand curves cost one gather.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pchip_slopes", "hermite_eval"]


def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson node derivatives (scipy ``PchipInterpolator``'s), row-wise along axis 1.

    Parameters
    ----------
    x : ndarray
        Strictly increasing knots, shape ``(m,)`` shared by all rows or ``(n, m)``.
    y : ndarray
        Values, shape ``(n, m)``, ``m >= 2``.

    Returns
    -------
    ndarray
        ``dy/dx`` at every knot, shape ``(n, m)``.
    """
    y = np.asarray(y, dtype=float)
    x = np.broadcast_to(np.asarray(x, dtype=float), y.shape)
    h = np.diff(x, axis=1)
    delta = np.diff(y, axis=1) / h
    d = np.zeros_like(y)
    if x.shape[1] == 2:
        d[:, 0] = d[:, 1] = delta[:, 0]
        return d
    h0, h1 = h[:, :-1], h[:, 1:]
    m0, m1 = delta[:, :-1], delta[:, 1:]
    w1, w2 = 2.0 * h1 + h0, h1 + 2.0 * h0
    same = (np.sign(m0) * np.sign(m1)) > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = (w1 + w2) / (w1 / m0 + w2 / m1)
    d[:, 1:-1] = np.where(same, interior, 0.0)
    d[:, 0] = _end_slope(h[:, 0], h[:, 1], delta[:, 0], delta[:, 1])
    d[:, -1] = _end_slope(h[:, -1], h[:, -2], delta[:, -1], delta[:, -2])
    return d


def _end_slope(h0, h1, m0, m1):
    d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    d = np.where(np.sign(d) != np.sign(m0), 0.0, d)
    return np.where((np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3.0 * np.abs(m0)), 3.0 * m0, d)


def hermite_eval(x: np.ndarray, y: np.ndarray, d: np.ndarray, rows: np.ndarray, xq: np.ndarray,
                 nu: int = 0) -> np.ndarray:
    """Evaluate the cubic Hermite curve of row ``rows[i]`` at ``xq[i]``.

    Parameters
    ----------
    x : ndarray
        Knots shared by all rows, shape ``(m,)``, strictly increasing.
    y, d : ndarray
        Knot values and slopes, shape ``(n, m)`` (``d`` from :func:`pchip_slopes`).
    rows : ndarray of int
        Curve of each query point, shape ``(q,)``.
    xq : ndarray
        Query abscissae, shape ``(q,)``. NaN gives NaN.
    nu : int
        0 for the value, 1 and 2 for the first and second derivative in ``x``.

    Returns
    -------
    ndarray
        Shape ``(q,)``. Beyond ``[x[0], x[-1]]`` the curve is flat at the end knot's value
        (derivatives 0 there); callers wanting another continuation add it themselves.
    """
    x = np.asarray(x, dtype=float)
    xq = np.asarray(xq, dtype=float)
    rows = np.asarray(rows, dtype=np.int64)
    xc = np.clip(xq, x[0], x[-1])
    i = np.clip(np.searchsorted(x, xc, side="right") - 1, 0, len(x) - 2)
    h = x[i + 1] - x[i]
    t = (xc - x[i]) / h
    y0, y1, d0, d1 = y[rows, i], y[rows, i + 1], d[rows, i] * h, d[rows, i + 1] * h
    beyond = xq != xc
    if nu == 0:
        t2, t3 = t * t, t * t * t
        out = (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * d0 + (-2 * t3 + 3 * t2) * y1 + (t3 - t2) * d1
    elif nu == 1:
        t2 = t * t
        out = ((6 * t2 - 6 * t) * y0 + (3 * t2 - 4 * t + 1) * d0 + (-6 * t2 + 6 * t) * y1 + (3 * t2 - 2 * t) * d1) / h
        out = np.where(beyond, 0.0, out)
    elif nu == 2:
        out = ((12 * t - 6) * y0 + (6 * t - 4) * d0 + (-12 * t + 6) * y1 + (6 * t - 2) * d1) / (h * h)
        out = np.where(beyond, 0.0, out)
    else:
        raise ValueError(f"nu must be 0, 1 or 2, got {nu}")
    return np.where(np.isnan(xq), np.nan, out)
