"""numba kernels for SVI slice calibration (private).

* ``qe_fit``: the Zeliade (2009) quasi-explicit method. For fixed ``(m, sigma)`` and
  ``y = (k - m)/sigma`` raw SVI is linear, ``w = a + d y + c sqrt(y^2 + 1)`` with ``c = b sigma``,
  ``d = rho b sigma``; the constrained weighted least squares in ``(a, d, c)`` is a 3-variable convex
  QP solved exactly by an active-set enumeration (KKT systems of size <= 6). The outer 2-D problem in
  ``(m, ln sigma)`` starts on a coarse grid and is polished with a box-projected Nelder-Mead.
  Constraints: ``|d| <= c`` (``|rho| <= 1``, ``b >= 0``), ``c + |d| <= LEE sigma`` (Lee's wing bound
  ``b (1 + |rho|) <= LEE``), ``0 <= a <= max w`` (so ``w >= 0``).
* ``pen_fit``: Nelder-Mead on all five parameters (kind 1) or on an SSVI slice (kind 2, butterfly-free
  by Gatheral and Jacquier 2014 Theorem 4.2) with penalties on negative Durrleman ``g``, on total
  variance below a calendar floor, on the Lee bound and on negative minimum variance.

All objectives are weighted sums of squared total-variance errors with weights summing to one.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit

_G = np.array(
    [[0.0, 1.0, -1.0], [0.0, -1.0, -1.0], [0.0, 1.0, 1.0], [0.0, -1.0, 1.0], [-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
)
_SUBSETS = np.array(
    [list(c) + [-1] * (3 - r) for r in (1, 2, 3) for c in itertools.combinations(range(6), r)], dtype=np.int64
)
_M_GRID = np.array([-1.5, -0.5, 0.0, 0.5, 1.5])
_S_GRID = np.log(np.array([0.3, 0.7, 1.5, 3.0]))


@njit(cache=True, nogil=True)
def _gauss(M, r, n):  # pragma: no cover - compiled
    """Solve ``M[:n,:n] x = r[:n]`` in place (partial pivoting); False if (near) singular."""
    scale = 0.0
    for i in range(n):
        for j in range(n):
            scale = max(scale, abs(M[i, j]))
    tiny = 1e-13 * scale
    for i in range(n):
        p = i
        big = abs(M[i, i])
        for j in range(i + 1, n):
            if abs(M[j, i]) > big:
                big = abs(M[j, i])
                p = j
        if big <= tiny:
            return False
        if p != i:
            for c in range(n):
                t = M[i, c]
                M[i, c] = M[p, c]
                M[p, c] = t
            t = r[i]
            r[i] = r[p]
            r[p] = t
        for j in range(i + 1, n):
            f = M[j, i] / M[i, i]
            if f != 0.0:
                for c in range(i, n):
                    M[j, c] -= f * M[i, c]
                r[j] -= f * r[i]
    for i in range(n - 1, -1, -1):
        s = r[i]
        for c in range(i + 1, n):
            s -= M[i, c] * r[c]
        r[i] = s / M[i, i]
    return True


@njit(cache=True, nogil=True)
def _feasible(x, h, tol):  # pragma: no cover - compiled
    for ci in range(6):
        v = _G[ci, 0] * x[0] + _G[ci, 1] * x[1] + _G[ci, 2] * x[2] - h[ci]
        if v > tol:
            return False
    return True


@njit(cache=True, nogil=True)
def _qp3(H, g, h, x):  # pragma: no cover - compiled
    """Minimise ``x'Hx - 2 g'x`` subject to ``_G x <= h``; writes ``x``, returns the objective."""
    M = np.empty((6, 6))
    r = np.empty(6)
    tol = 1e-11 * (1.0 + abs(h[2]) + abs(h[5]))
    for i in range(3):
        r[i] = g[i]
        for j in range(3):
            M[i, j] = H[i, j]
    if _gauss(M, r, 3):
        x[0], x[1], x[2] = r[0], r[1], r[2]
        if _feasible(x, h, tol):
            return x @ H @ x - 2.0 * (g @ x)
    best = np.inf
    xb = np.zeros(3)
    xb[0] = min(max(g[0] / H[0, 0], 0.0), h[5]) if H[0, 0] > 0 else 0.0  # flat smile: always feasible
    best = xb @ H @ xb - 2.0 * (g @ xb)
    for s in range(_SUBSETS.shape[0]):
        na = 0
        for j in range(3):
            if _SUBSETS[s, j] >= 0:
                na += 1
        n = 3 + na
        for i in range(6):
            for j in range(6):
                M[i, j] = 0.0
        for i in range(3):
            r[i] = g[i]
            for j in range(3):
                M[i, j] = H[i, j]
        for j in range(na):
            ci = _SUBSETS[s, j]
            for i in range(3):
                M[i, 3 + j] = _G[ci, i]
                M[3 + j, i] = _G[ci, i]
            r[3 + j] = h[ci]
        if not _gauss(M, r, n):
            continue
        x[0], x[1], x[2] = r[0], r[1], r[2]
        if not _feasible(x, h, tol):
            continue
        f = x @ H @ x - 2.0 * (g @ x)
        kkt = True
        for j in range(na):
            if r[3 + j] < -1e-12 * (1.0 + abs(f)):
                kkt = False
        if kkt:
            return f
        if f < best:
            best = f
            xb[:] = x
    x[:] = xb
    return best


@njit(cache=True, nogil=True)
def qe_eval(m, sig, k, W, om, C, wmax, lee, x):  # pragma: no cover - compiled
    """Weighted SSE of the best ``(a, d, c)`` for fixed ``(m, sigma)``; writes ``x = (a, d, c)``."""
    H = np.zeros((3, 3))
    g = np.zeros(3)
    for i in range(k.shape[0]):
        y = (k[i] - m) / sig
        s = math.sqrt(y * y + 1.0)
        o = om[i]
        oy = o * y
        os_ = o * s
        H[0, 0] += o
        H[0, 1] += oy
        H[0, 2] += os_
        H[1, 1] += oy * y
        H[1, 2] += oy * s
        g[0] += o * W[i]
        g[1] += oy * W[i]
        g[2] += os_ * W[i]
    H[2, 2] = H[1, 1] + H[0, 0]
    H[1, 0], H[2, 0], H[2, 1] = H[0, 1], H[0, 2], H[1, 2]
    h = np.array([0.0, 0.0, lee * sig, lee * sig, 0.0, wmax])
    return max(_qp3(H, g, h, x) + C, 0.0)


@njit(cache=True, nogil=True)
def _raw(kind, p, sk, wsc, lee):  # pragma: no cover - compiled
    """Raw SVI ``(a, b, rho, m, sigma)`` from scaled optimiser coordinates."""
    if kind == 1:
        return p[0] * wsc, math.exp(p[1]), math.tanh(p[2]), p[3] * sk, math.exp(p[4]) * sk
    theta = math.exp(p[0]) * wsc
    rho = math.tanh(p[1])
    q = theta * (1.0 + abs(rho))
    phi = min(0.999 * 4.0 / q, math.sqrt(4.0 / q), lee * 2.0 / q) / (1.0 + math.exp(-p[2]))
    return 0.5 * theta * (1.0 - rho * rho), 0.5 * theta * phi, rho, -rho / phi, math.sqrt(1.0 - rho * rho) / phi


@njit(cache=True, nogil=True)
def pen_eval(kind, p, k, W, om, sk, wsc, lee, gk, wfloor, lam, ref, gmargin):  # pragma: no cover - compiled
    """Weighted SSE plus penalties (butterfly ``g < gmargin``, calendar floor, Lee, ``w_min < 0``)."""
    a, b, rho, m, sig = _raw(kind, p, sk, wsc, lee)
    sse = 0.0
    for i in range(k.shape[0]):
        x = k[i] - m
        e = a + b * (rho * x + math.sqrt(x * x + sig * sig)) - W[i]
        sse += om[i] * e * e
    pg = 0.0
    pc = 0.0
    for j in range(gk.shape[0]):
        x = gk[j] - m
        R = math.sqrt(x * x + sig * sig)
        w = a + b * (rho * x + R)
        if w <= 0.0:
            pg += 1.0 + (w / wsc) ** 2
            continue
        w1 = b * (rho + x / R)
        w2 = b * sig * sig / (R * R * R)
        gg = (1.0 - gk[j] * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
        if gg < gmargin:
            pg += (gmargin - gg) ** 2
        if wfloor[j] > w:
            pc += ((wfloor[j] - w) / wsc) ** 2
    n = max(gk.shape[0], 1)
    e = max(b * (1.0 + abs(rho)) - lee, 0.0)
    wmin = a + b * sig * math.sqrt(max(1.0 - rho * rho, 0.0))
    e2 = max(-wmin / wsc, 0.0)
    return sse + lam * ref * (1e4 * (pg / n + e * e + e2 * e2) + 1e6 * pc / n)


@njit(cache=True, nogil=True)
def _obj(kind, p, k, W, om, C, wmax, lee, sk, wsc, gk, wfloor, lam, ref, gmargin, x3):  # pragma: no cover
    if kind == 0:
        return qe_eval(p[0] * sk, math.exp(p[1]) * sk, k, W, om, C, wmax, lee, x3)
    return pen_eval(kind, p, k, W, om, sk, wsc, lee, gk, wfloor, lam, ref, gmargin)


@njit(cache=True, nogil=True)
def nelder_mead(kind, x0, step, lo, hi, maxev, ftol, xtol, k, W, om, C, wmax, lee, sk, wsc, gk, wfloor, lam, ref,
                gmargin):  # pragma: no cover - compiled
    """Box-projected Nelder-Mead (standard coefficients); returns ``(x, f, evaluations)``."""
    n = x0.shape[0]
    x3 = np.zeros(3)
    S = np.empty((n + 1, n))
    F = np.empty(n + 1)
    for j in range(n):
        S[0, j] = min(max(x0[j], lo[j]), hi[j])
    for i in range(1, n + 1):
        S[i] = S[0]
        t = S[0, i - 1] + step[i - 1]
        S[i, i - 1] = t if t <= hi[i - 1] else S[0, i - 1] - step[i - 1]
    for i in range(n + 1):
        F[i] = _obj(kind, S[i], k, W, om, C, wmax, lee, sk, wsc, gk, wfloor, lam, ref, gmargin, x3)
    nev = n + 1
    c = np.empty(n)
    xr = np.empty(n)
    xe = np.empty(n)
    while nev < maxev:
        idx = np.argsort(F)
        S = S[idx]
        F = F[idx]
        spread = 0.0
        for i in range(1, n + 1):
            for j in range(n):
                spread = max(spread, abs(S[i, j] - S[0, j]))
        if spread <= xtol and F[n] - F[0] <= ftol * abs(F[0]) + 1e-300:
            break
        for j in range(n):
            c[j] = 0.0
            for i in range(n):
                c[j] += S[i, j]
            c[j] /= n
        for j in range(n):
            xr[j] = min(max(2.0 * c[j] - S[n, j], lo[j]), hi[j])
        fr = _obj(kind, xr, k, W, om, C, wmax, lee, sk, wsc, gk, wfloor, lam, ref, gmargin, x3)
        nev += 1
        if fr < F[0]:
            for j in range(n):
                xe[j] = min(max(3.0 * c[j] - 2.0 * S[n, j], lo[j]), hi[j])
            fe = _obj(kind, xe, k, W, om, C, wmax, lee, sk, wsc, gk, wfloor, lam, ref, gmargin, x3)
            nev += 1
            if fe < fr:
                S[n] = xe
                F[n] = fe
            else:
                S[n] = xr
                F[n] = fr
            continue
        if fr < F[n - 1]:
            S[n] = xr
            F[n] = fr
            continue
        if fr < F[n]:
            for j in range(n):
                xe[j] = c[j] + 0.5 * (xr[j] - c[j])
            ref_f = fr
        else:
            for j in range(n):
                xe[j] = c[j] + 0.5 * (S[n, j] - c[j])
            ref_f = F[n]
        fc = _obj(kind, xe, k, W, om, C, wmax, lee, sk, wsc, gk, wfloor, lam, ref, gmargin, x3)
        nev += 1
        if fc < ref_f:
            S[n] = xe
            F[n] = fc
            continue
        for i in range(1, n + 1):
            for j in range(n):
                S[i, j] = S[0, j] + 0.5 * (S[i, j] - S[0, j])
            F[i] = _obj(kind, S[i], k, W, om, C, wmax, lee, sk, wsc, gk, wfloor, lam, ref, gmargin, x3)
            nev += 1
    b = np.argmin(F)
    return S[b].copy(), F[b], nev


@njit(cache=True, nogil=True)
def qe_fit(k, W, om, lee, sk, mlo, mhi, slo, shi, maxev):  # pragma: no cover - compiled
    """Quasi-explicit SVI fit; returns ``(params[5] = a, b, rho, m, sigma, sse, evaluations)``.

    ``sk`` is the slice's scale in ``k`` (about ``atm_vol sqrt(tau)``); ``[mlo, mhi]`` bounds ``m/sk``
    and ``[slo, shi]`` bounds ``ln(sigma/sk)``; weights ``om`` must sum to one.
    """
    C = 0.0
    wmax = 0.0
    for i in range(k.shape[0]):
        C += om[i] * W[i] * W[i]
        wmax = max(wmax, W[i])
    x3 = np.zeros(3)
    empty = np.zeros(0)
    lo = np.array([mlo, slo])
    hi = np.array([mhi, shi])
    best = np.inf
    p0 = np.zeros(2)
    for mg in _M_GRID:
        for sg in _S_GRID:
            p = np.array([min(max(mg, mlo), mhi), min(max(sg, slo), shi)])
            f = qe_eval(p[0] * sk, math.exp(p[1]) * sk, k, W, om, C, wmax, lee, x3)
            if f < best:
                best = f
                p0[:] = p
    nev = _M_GRID.shape[0] * _S_GRID.shape[0]
    step = np.array([0.4, 0.4])
    for _ in range(2):  # one restart from the converged point guards against a collapsed simplex
        p0, best, ne = nelder_mead(0, p0, step, lo, hi, maxev, 1e-10, 1e-5, k, W, om, C, wmax, lee, sk, 1.0,
                                   empty, empty, 0.0, 0.0, 0.0)
        nev += ne
        step = np.array([0.1, 0.1])
    m = p0[0] * sk
    sig = math.exp(p0[1]) * sk
    sse = qe_eval(m, sig, k, W, om, C, wmax, lee, x3)
    a, d, c = x3[0], x3[1], x3[2]
    b = c / sig
    rho = d / c if c > 0.0 else 0.0
    rho = min(max(rho, -0.999999), 0.999999)
    out = np.array([a, b, rho, m, sig])
    return out, sse, nev


@njit(cache=True, nogil=True)
def pen_fit(kind, p0, k, W, om, lee, sk, wsc, gk, wfloor, ref, gmargin, maxev):  # pragma: no cover - compiled
    """Penalised fit with escalating penalty weights; returns ``(scaled params, objective, evaluations)``."""
    n = p0.shape[0]
    lo = np.full(n, -50.0)
    hi = np.full(n, 50.0)
    if kind == 1:
        lo[2], hi[2] = -7.0, 7.0
        lo[4], hi[4] = math.log(1e-3), math.log(1e3)
    else:
        lo[1], hi[1] = -7.0, 7.0
    step = np.full(n, 0.3)
    p = p0.copy()
    f = 0.0
    nev = 0
    lam = 1.0
    for _ in range(4):
        for _r in range(2):
            p, f, ne = nelder_mead(kind, p, step, lo, hi, maxev, 1e-10, 1e-7, k, W, om, 0.0, 0.0, lee, sk, wsc,
                                   gk, wfloor, lam, ref, gmargin)
            nev += ne
        viol = pen_eval(kind, p, k, W, om, sk, wsc, lee, gk, wfloor, 1.0, 1.0, gmargin) - pen_eval(
            kind, p, k, W, om, sk, wsc, lee, gk, wfloor, 0.0, 1.0, gmargin)
        if viol <= 0.0:
            break
        lam *= 100.0
    return p, f, nev


@njit(cache=True, nogil=True)
def median(x):  # pragma: no cover - compiled
    """``np.median(x)`` of a 1-d float array: NaN if any element is NaN or ``x`` is empty."""
    for i in range(x.size):
        if np.isnan(x[i]):
            return np.nan
    return np.median(x)


@njit(cache=True, nogil=True)
def mad(x):  # pragma: no cover - compiled
    """Median absolute deviation about the median, ``median(|x - median(x)|)`` (unscaled; NaN as ``median``)."""
    return median(np.abs(x - median(x)))


@njit(cache=True, nogil=True)
def running_median(x, window):  # pragma: no cover - compiled
    """Centred running median of odd width ``window``, ``x`` padded with its end values.

    Same values as ``np.median(sliding_window_view(pad(x, window // 2, mode="edge"), window), axis=1)``
    for NaN-free ``x`` (an odd window's median is one of its elements).
    """
    n = x.size
    half = window // 2
    out = np.empty(n)
    buf = np.empty(window)
    for i in range(n):
        for j in range(window):
            idx = min(max(i - half + j, 0), n - 1)
            v = x[idx]
            p = j  # insertion sort into buf[:j + 1]
            while p > 0 and buf[p - 1] > v:
                buf[p] = buf[p - 1]
                p -= 1
            buf[p] = v
        out[i] = buf[half]
    return out
