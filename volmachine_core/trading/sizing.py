"""Mean-variance sizing: risk aversion from a PnL target, best size, and marginal utility against a book.

Utility of holding ``k`` units of a trade with expected PnL ``mu`` and PnL standard deviation ``sd`` per
unit (both in currency over the holding horizon) is ``u = k mu - c (k sd)^2``; the best size is
``k* = mu / (2 c sd^2)`` and ``u(k*) = mu^2 / (4 c sd^2)``.

Risk aversion from a target: at the best size the PnL has mean ``k* mu`` and standard deviation ``k* sd``,
whose ratio is the trade's Sharpe ratio ``mu / sd``, and ``mean / sd^2 = 2c``. A desk that targets an
annual PnL ``P`` at Sharpe ``S`` (mean ``P``, sd ``P / S``) therefore has ``c = S^2 / (2 P)``: the seed's
250,000 at Sharpe 3 gives ``c = 1.8e-5`` per dollar. With the target a fixed share of equity, ``c`` scales as
``1 / equity``: a larger account takes proportionally larger positions.

Against a book: with exposures (e.g. vega by bucket) ``E`` of the book and ``e`` of one unit of the
candidate and their covariance ``Sigma`` (PnL variance ``x' Sigma x`` for exposure ``x``), adding ``k``
units changes utility by ``k mu - c (2 k e' Sigma E + k^2 e' Sigma e)``. The best addition is
``k* = (mu - 2 c e' Sigma E) / (2 c e' Sigma e)`` and its marginal utility
``(mu - 2 c e' Sigma E)^2 / (4 c e' Sigma e)`` when ``k* > 0`` (0 otherwise): a trade that offsets the book's
risk is worth more than the same trade that adds to it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["risk_aversion", "best_size", "utility", "marginal_utility"]


def risk_aversion(target_annual_pnl: float, target_sharpe: float, equity: float | None = None,
                  reference_equity: float | None = None) -> float:
    """``c = S^2 / (2 P)`` per currency unit, scaled by ``reference_equity / equity`` when both are given.

    Parameters
    ----------
    target_annual_pnl : float
        ``P``, currency per year (> 0), at ``reference_equity``.
    target_sharpe : float
        ``S``, annual (> 0).
    equity, reference_equity : float, optional
        Current account equity and the equity the target was set for; the target grows with equity.
    """
    if target_annual_pnl <= 0 or target_sharpe <= 0:
        raise ValueError("target_annual_pnl and target_sharpe must be > 0")
    c = target_sharpe ** 2 / (2.0 * target_annual_pnl)
    if equity is not None and reference_equity is not None:
        if equity <= 0 or reference_equity <= 0:
            raise ValueError("equity and reference_equity must be > 0")
        c *= reference_equity / equity
    return c


def utility(k, mu, sd, c: float) -> np.ndarray:
    """``u = k mu - c (k sd)^2`` (currency), vectorised."""
    k, mu, sd = (np.asarray(x, dtype=float) for x in (k, mu, sd))
    return k * mu - c * (k * sd) ** 2


def best_size(mu, sd, c: float) -> np.ndarray:
    """``k* = mu / (2 c sd^2)`` units (0 where ``mu <= 0`` or ``sd <= 0``), vectorised, not rounded."""
    mu, sd = np.asarray(mu, dtype=float), np.asarray(sd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where((mu > 0) & (sd > 0), mu / (2.0 * c * sd * sd), 0.0)
    return k


def marginal_utility(mu: float, e, book, cov, c: float) -> tuple[float, float]:
    """(best added units ``k*`` >= 0, the utility gained) of a candidate against the book (module docstring).

    Parameters
    ----------
    mu : float
        Expected PnL of one unit of the candidate (currency).
    e, book : array_like, shape (n,)
        Exposures of one candidate unit and of the book, in the units ``cov`` is expressed in.
    cov : array_like, shape (n, n)
        Covariance of the exposures' risk factors over the horizon, so ``x' cov x`` is a PnL variance.
    c : float
        Risk aversion (:func:`risk_aversion`).
    """
    e, book, cov = np.asarray(e, float), np.asarray(book, float), np.asarray(cov, float)
    var = float(e @ cov @ e)
    if var <= 0:
        raise ValueError("the candidate's PnL variance e' cov e must be > 0")
    edge = mu - 2.0 * c * float(e @ cov @ book)
    if edge <= 0:
        return 0.0, 0.0
    return edge / (2.0 * c * var), edge * edge / (4.0 * c * var)
