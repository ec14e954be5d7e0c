"""Smile and term-structure plots rendered to PNG bytes (matplotlib, Agg backend, no file I/O).

Vols are plotted in vol points (percent) for readability; inputs stay decimals.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from volmachine_core.curves import curve_vol  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def png_markdown(png: bytes, alt: str) -> str:
    """A Markdown image with the PNG inlined as base64 (Dagster metadata, self-contained reports)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def smile_grid(strike_vols: pd.DataFrame, curve_params: pd.DataFrame, title: str, max_panels: int = 8) -> bytes:
    """Small multiples, one panel per expiry: market bid/ask vols (out-of-the-money side) and the fit.

    x is SD moneyness z, y vol points. Expiries are thinned evenly to ``max_panels``.
    """
    cp = curve_params.sort_values("tau").reset_index(drop=True)
    if len(cp) > max_panels:
        cp = cp.iloc[np.unique(np.linspace(0, len(cp) - 1, max_panels).round().astype(int))].reset_index(drop=True)
    n = max(len(cp), 1)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (_, row) in zip(axes.flat, cp.iterrows(), strict=False):
        sv = strike_vols[(strike_vols["expiry_ts"] == row["expiry_ts"]) & strike_vols["otm"]]
        sd = row["atm_vol"] * np.sqrt(row["tau"])
        z = sv["k"] / sd
        keep = z.abs() <= 4
        ax.vlines(z[keep], 100 * sv["iv_bid"][keep], 100 * sv["iv_ask"][keep], color="0.6", lw=0.8, label="bid-ask")
        zz = np.linspace(-4, 4, 161)
        ax.plot(zz, 100 * curve_vol(row, zz * sd, row["tau"]), color="C3", lw=1.2, label="fit")
        flag = "" if row["arb_free"] else "  ARB"
        ax.set_title(f"{pd.Timestamp(row['expiry']).date()}  {row['model']}{flag}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlim(-4, 4)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("SD moneyness z", fontsize=8)
    fig.supylabel("implied vol (vol points)", fontsize=8)
    return _png(fig)


def term_structure(curve_params: pd.DataFrame, title: str) -> bytes:
    """ATM vol and ATM slope against time to expiry for one snapshot x underlying."""
    cp = curve_params.sort_values("tau")
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    ax.plot(cp["tau"] * 365, 100 * cp["atm_vol"], marker="o", ms=3, label="ATM vol")
    ax.set_xlabel("days to expiry")
    ax.set_ylabel("ATM vol (vol points)")
    ax2 = ax.twinx()
    ax2.plot(cp["tau"] * 365, 100 * cp["atm_slope"], color="C1", marker=".", ms=3, label="ATM slope")
    ax2.set_ylabel("ATM slope (vol points per SD)")
    ax.set_title(title, fontsize=10)
    fig.legend(loc="upper right", fontsize=7)
    return _png(fig)


def iv_rv_history(history: pd.DataFrame, title: str) -> bytes:
    """30-day ATM implied vol against 20-session realised vol over time for one underlying.

    ``history`` has trade_date, iv_30d and rv (decimals); the shaded band is the vol risk premium.
    """
    h = history.sort_values("trade_date")
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    d, iv, rv = pd.to_datetime(h["trade_date"]), 100 * h["iv_30d"], 100 * h["rv"]
    ax.plot(d, iv, label="implied 30d ATM")
    ax.plot(d, rv, label="realised 20d (Yang-Zhang)")
    ax.fill_between(d, rv, iv, where=iv >= rv, alpha=0.15, color="C0", interpolate=True)
    ax.set_ylabel("vol (vol points)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return _png(fig)


def gex_by_strike(gex: pd.DataFrame, spot: float, title: str, flip_band: tuple[float, float] | None = None,
                  flip: float | None = None, max_sd_range: float | None = None) -> bytes:
    """Dealer gamma exposure by strike (bars, dollars per 1% move) with spot, the headline flip and the band.

    ``gex`` has strike and net_gex (and optionally call_gex, put_gex, stacked when present).
    ``max_sd_range`` trims strikes to ``spot * (1 +- max_sd_range)`` for readability.
    """
    g = gex.sort_values("strike")
    if max_sd_range is not None:
        g = g[(g["strike"] >= spot * (1 - max_sd_range)) & (g["strike"] <= spot * (1 + max_sd_range))]
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    width = float(np.median(np.diff(g["strike"].to_numpy()))) * 0.8 if len(g) > 1 else 1.0
    if {"call_gex", "put_gex"} <= set(g.columns):
        ax.bar(g["strike"], g["call_gex"] / 1e6, width=width, color="C2", alpha=0.7, label="calls")
        ax.bar(g["strike"], g["put_gex"] / 1e6, width=width, color="C3", alpha=0.7, label="puts")
    ax.plot(g["strike"], g["net_gex"] / 1e6, color="k", lw=1, label="net")
    ax.axvline(spot, color="C0", ls="--", lw=1, label=f"spot {spot:,.2f}")
    if flip_band is not None and all(np.isfinite(flip_band)):
        ax.axvspan(flip_band[0], flip_band[1], color="C1", alpha=0.15, label="flip band")
    if flip is not None and np.isfinite(flip):
        ax.axvline(flip, color="C1", lw=1.2, label=f"flip {flip:,.2f}")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("strike")
    ax.set_ylabel("dealer GEX ($m per 1% move)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6, ncol=2)
    return _png(fig)
