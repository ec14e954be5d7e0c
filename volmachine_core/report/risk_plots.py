"""Risk pictures for the desk report, rendered to PNG bytes: stress grid, residual map, equity and drawdown.

Same conventions as :mod:`volmachine_core.report.plots` (Agg backend, no file I/O, vols in vol points on the
axes while inputs stay decimals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.report.plots import _png, plt

__all__ = ["stress_heatmap", "residual_heatmap", "equity_drawdown"]


def stress_heatmap(grid: pd.DataFrame, title: str) -> bytes:
    """PnL (currency) of a ``stress.stress_grid`` table: vol moves down the side, spot moves across, red for
    losses and green for gains on a scale symmetric around zero, each cell labelled in thousands."""
    z = grid.to_numpy(float)
    lim = float(np.nanmax(np.abs(z))) if z.size and np.isfinite(z).any() else 1.0
    fig, ax = plt.subplots(figsize=(5, 2.6), layout="constrained")
    im = ax.imshow(z, cmap="RdYlGn", vmin=-max(lim, 1e-9), vmax=max(lim, 1e-9), aspect="auto")
    ax.set_xticks(range(z.shape[1]), [f"{100 * s:+.1f}%" for s in grid.columns.astype(float)])
    ax.set_yticks(range(z.shape[0]), [f"{100 * v:+.0f} pts" for v in grid.index.astype(float)])
    ax.set_xlabel("spot move")
    ax.set_ylabel("vol move")
    for (i, j), v in np.ndenumerate(z):
        ax.text(j, i, f"{v / 1e3:,.0f}k", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8, label="PnL")
    ax.set_title(title, fontsize=10)
    return _png(fig)


def residual_heatmap(theos: pd.DataFrame, title: str, target_sds=None) -> bytes:
    """Wing-model residuals (market - model, vol points) by expiry (rows) and SD moneyness (columns).

    ``theos``: expiry, z, residual (decimals) of one snapshot and underlying. Residuals are averaged in
    half-SD cells (``target_sds`` centres; -3..3 by default); empty cells stay blank.
    """
    sds = np.asarray(target_sds if target_sds is not None else np.arange(-3.0, 3.01, 0.5), float)
    t = theos[np.isfinite(theos["z"]) & np.isfinite(theos["residual"])]
    cell = sds[np.argmin(np.abs(t["z"].to_numpy(float)[:, None] - sds[None, :]), axis=1)] if len(t) else []
    m = (t.assign(cell=cell).pivot_table(index="expiry", columns="cell", values="residual", aggfunc="mean")
         .reindex(columns=sds) * 100.0) if len(t) else pd.DataFrame(index=[], columns=sds, dtype=float)
    lim = float(np.nanmax(np.abs(m.to_numpy(float)))) if m.size and np.isfinite(m.to_numpy(float)).any() else 1.0
    fig, ax = plt.subplots(figsize=(6, 0.3 * max(len(m), 4) + 1.2), layout="constrained")
    im = ax.imshow(m.to_numpy(float), cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(sds)), [f"{s:+g}" for s in sds], fontsize=7)
    ax.set_yticks(range(len(m)), [f"{pd.Timestamp(e):%Y-%m-%d}" for e in m.index], fontsize=7)
    ax.set_xlabel("SD moneyness")
    fig.colorbar(im, ax=ax, shrink=0.8, label="residual (vol pts)")
    ax.set_title(title, fontsize=10)
    return _png(fig)


def equity_drawdown(daily_pnl: pd.DataFrame, equity0: float, title: str) -> bytes:
    """Equity (starting ``equity0`` plus cumulative daily PnL) and its drawdown from the running peak (%).

    ``daily_pnl``: trade_date, pnl (currency per session). An empty history draws the flat starting equity.
    """
    d = daily_pnl.sort_values("trade_date")
    dates = pd.to_datetime(d["trade_date"]) if len(d) else pd.to_datetime(pd.Series([pd.Timestamp.today()]))
    eq = equity0 + np.cumsum(d["pnl"].to_numpy(float)) if len(d) else np.array([equity0])
    dd = 100.0 * (eq / np.maximum.accumulate(np.r_[equity0, eq])[1:] - 1.0)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 3.2), sharex=True, layout="constrained",
                                 gridspec_kw={"height_ratios": [2, 1]})
    a1.plot(dates, eq / 1e6, color="C0")
    a1.set_ylabel("equity (m)")
    a2.fill_between(dates, dd, 0, color="C3", alpha=0.4)
    a2.set_ylabel("drawdown %")
    a1.set_title(title, fontsize=10)
    fig.autofmt_xdate()
    return _png(fig)
