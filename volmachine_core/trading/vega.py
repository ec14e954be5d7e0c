"""Book vol risk: modified vega, vega by forward-vol bucket, the vol-change correlation and one-SD vol PnL.

Vega is per 1.00 of vol (decimal), in currency; tau in ACT/365 years.

* **Modified vega** ``sum_i vega_i sqrt(T_ref / T_i)`` (``T_ref`` 90 days): short-dated vol moves more than
  long-dated, roughly as ``1 / sqrt(T)``, so a vega at ``T_i`` is worth ``sqrt(T_ref / T_i)`` vegas at ``T_ref``.
* **Forward-vol buckets** between bucket edges ``0 = t_0 < t_1 < ... < t_m``: the forward vol
  ``s_j = sqrt((w(t_j) - w(t_{j-1})) / (t_j - t_{j-1}))`` with ``w(t) = sigma(t)^2 t`` (DESIGN.md). An
  option at ``T`` has ``sigma(T)^2 T = sum_j s_j^2 overlap_j(T)`` with ``overlap_j(T)`` the part of bucket
  ``j`` before ``T``, so ``d sigma(T) / d s_j = s_j overlap_j(T) / (sigma(T) T)`` and its vega in bucket
  ``j`` is ``vega * d sigma / d s_j``. The buckets' vegas add up to what a parallel move of every forward
  vol by 1.00 does to the option when the term structure is flat.
* **Correlation of vol changes** by tenor from a history of ATM vol changes, shrunk toward
  ``rho^|ln(T_a/T_b)|`` (nearby tenors move together) with weight ``shrink``.
* **One-SD vol PnL** ``sqrt(E' M E)`` with ``E_j`` = bucket vega times the bucket vol's daily change SD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["modified_vega", "forward_vols", "bucket_vegas", "vol_change_correlation", "vol_pnl_sd"]


def modified_vega(vega, tau, t_ref: float = 90 / 365) -> float:
    """``sum vega_i sqrt(t_ref / tau_i)`` (currency per vol point scaled to ``t_ref``)."""
    vega, tau = np.asarray(vega, dtype=float), np.asarray(tau, dtype=float)
    if (tau <= 0).any() or t_ref <= 0:
        raise ValueError("tau and t_ref must be > 0")
    return float(np.sum(vega * np.sqrt(t_ref / tau)))


def forward_vols(tau, atm_vol, edges) -> np.ndarray:
    """Forward vol of each bucket ``(edges[j-1], edges[j]]`` from an ATM term structure.

    ``w(t)`` is interpolated linearly in ``t`` between the listed ``(tau, atm_vol^2 tau)`` points (flat vol
    outside); ``edges`` ascending, the first > 0 (bucket 0 starts at 0). Raises on a negative forward
    variance (calendar arbitrage).
    """
    tau, vol, edges = (np.asarray(x, dtype=float) for x in (tau, atm_vol, edges))
    order = np.argsort(tau)
    tau, w = tau[order], vol[order] ** 2 * tau[order]
    e = np.r_[0.0, edges]
    we = np.interp(e, tau, w)
    we = np.where(e < tau[0], vol[order][0] ** 2 * e, we)
    we = np.where(e > tau[-1], vol[order][-1] ** 2 * e, we)
    dw = np.diff(we)
    if (dw < -1e-12).any():
        raise ValueError("forward variance is negative between buckets: the term structure has calendar arbitrage")
    return np.sqrt(np.maximum(dw, 0.0) / np.diff(e))


def bucket_vegas(vega, tau, edges, fwd_vols) -> np.ndarray:
    """Vega of each option in each forward-vol bucket, shape ``(n_options, n_buckets)`` (module docstring).

    Options beyond the last edge take the last bucket's forward vol for the part after it.
    """
    vega, tau = np.asarray(vega, dtype=float), np.asarray(tau, dtype=float)
    e = np.r_[0.0, np.asarray(edges, dtype=float)]
    s = np.asarray(fwd_vols, dtype=float)
    lo, hi = e[:-1], e[1:].copy()
    hi[-1] = np.inf  # the last bucket runs on
    overlap = np.clip(np.minimum(tau[:, None], hi[None, :]) - lo[None, :], 0.0, None)
    total_var = overlap @ (s * s)
    with np.errstate(divide="ignore", invalid="ignore"):
        dsig = np.where(total_var[:, None] > 0, s[None, :] * overlap / np.sqrt(total_var[:, None] * tau[:, None]), 0.0)
    return vega[:, None] * dsig


def vol_change_correlation(atm_history: pd.DataFrame, tenors_days, shrink: float = 0.3,
                           rho: float = 0.8) -> np.ndarray:
    """Correlation of daily changes of constant-maturity ATM vols, shrunk toward ``rho^|ln(Ta/Tb)|``.

    Parameters
    ----------
    atm_history : DataFrame
        One row per day (in date order), one column per tenor named ``iv_<n>d`` for ``n`` in ``tenors_days``.
    shrink : float
        Weight of the structured target in [0, 1] (1 = the target alone, e.g. with too little history).
    """
    if not 0.0 <= shrink <= 1.0 or not 0.0 < rho < 1.0:
        raise ValueError("shrink must lie in [0, 1] and rho in (0, 1)")
    t = np.asarray(tenors_days, dtype=float)
    target = rho ** np.abs(np.log(t[:, None] / t[None, :]))
    d = atm_history[[f"iv_{int(n)}d" for n in tenors_days]].diff().dropna()
    if len(d) < 3:
        return target
    sample = np.nan_to_num(np.corrcoef(d.to_numpy(float), rowvar=False), nan=0.0)
    np.fill_diagonal(sample, 1.0)
    return shrink * target + (1.0 - shrink) * sample


def vol_pnl_sd(exposure, corr) -> float:
    """One-SD vol PnL ``sqrt(E' M E)`` (currency) for bucket exposures ``E`` already scaled by their vol SDs."""
    e, m = np.asarray(exposure, dtype=float), np.asarray(corr, dtype=float)
    return float(np.sqrt(max(e @ m @ e, 0.0)))
