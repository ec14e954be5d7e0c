"""The ``gamma`` edge from a dealer-gamma profile (``signals.gamma.gamma_profile``): a pin or short gamma.

One row per (trade_date, underlying), from the day's last snapshot; the rationale states the headline GEX,
the flip (or why there is none), the band across the dealer-positioning assumptions and the pin candidate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.signals.edges import EDGE_STRUCTURES, edge_frame, strength_from
from volmachine_core.signals.gamma import GammaSpec

__all__ = ["gamma_edges"]

_LABELS = {"calls_long_puts_short": "calls long / puts short", "short_all": "dealers short all",
           "short_puts_only": "short puts only", "otm_split": "OTM calls long / OTM puts short"}
_REASON_WORDS = {"no_crossing_short": "short gamma throughout", "no_crossing_long": "long gamma throughout",
                 "no_options": "no options"}

def _money(x: float) -> str:
    for div, suf in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.1f}{suf}"
    return f"{x:.0f}"


def _level(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}"


def _rationale(r: pd.Series, spec: GammaSpec, direction: str) -> str:
    """Seed-report style: the headline GEX, the flip and its band, the pin candidate, the call."""
    if not r["gross_gex"] > 0:
        return f"No usable open interest ({r['n_options']} options used, {r['n_left_out']} left out)"
    parts = [f"Dealer GEX {_money(r['headline_gex'])} per 1% ({_LABELS[spec.headline]}), "
             f"{r['gex_ratio']:+.0%} of gross"]
    band = (_level(r["flip_low"]) + ("" if r["flip_low"] == r["flip_high"] else f"-{_level(r['flip_high'])}")
            + f" across {r['n_flips']} of {len(spec.assumptions)} assumptions")
    if np.isfinite(r["headline_flip"]):
        parts.append(f"flip {_level(r['headline_flip'])} ({r['headline_flip'] / r['spot'] - 1:+.1%}; band {band})")
    else:
        parts.append(f"no flip within +/-{spec.flip_range:.0%} ({_REASON_WORDS[r['headline_flip_reason']]})"
                     + (f", band {band}" if r["n_flips"] else ""))
    if np.isfinite(r["pin_share"]):
        why = ("" if direction == "pin" else f" (no pin: under {spec.pin_min_share:.0%})"
               if r["pin_share"] < spec.pin_min_share else " (no pin: dealers short gamma)")
        parts.append(f"{'pin' if direction == 'pin' else 'top front strike'} {_level(r['pin_strike'])} holds "
                     f"{r['pin_share']:.0%} of {pd.Timestamp(r['pin_expiry']):%a %d %b} OI, "
                     f"{r['pin_dist_pct']:+.1%} ({r['pin_dist_sd']:+.1f} daily SD) away{why}")
    else:
        parts.append(f"no pin candidate (expiry within {spec.pin_max_sessions} sessions, strike within "
                     f"{spec.pin_window_sd:g} daily SD)")
    if direction == "short_gamma":
        parts.append("dealers short gamma: moves amplified, expect larger ranges")
    return "; ".join(parts)


def gamma_edges(profile: pd.DataFrame, spec: GammaSpec | None = None) -> pd.DataFrame:
    """``gamma`` edge rows (``EDGE_COLUMNS``), one per (trade_date, underlying), from its last snapshot.

    Direction ``pin`` (structure: butterfly at the pin) when a front expiry (``<= pin_max_sessions``
    sessions) has a strike within ``pin_window_sd`` daily SDs of spot holding ``>= pin_min_share`` of that
    expiry's OI and, if ``pin_needs_long_gamma``, headline GEX at spot is ``>= 0``; strength
    ``strength_from(share - pin_min_share, pin_share_scale)``. Else ``short_gamma`` when headline GEX /
    gross GEX ``<= -short_min_ratio``: hedging amplifies moves, expect larger ranges (wide wings, smaller
    size, no pin butterfly); strength ``strength_from(-ratio - short_min_ratio, short_ratio_scale)``. Else
    quiet ('none'). ``metrics`` holds every number used and the thresholds.

    Parameters
    ----------
    profile : DataFrame
        :func:`gamma_profile` output computed with the same ``spec``.
    spec : GammaSpec, optional
        Thresholds [``GammaSpec()``].
    """
    spec = spec or GammaSpec()
    p = profile.sort_values(["trade_date", "underlying", "snapshot_id"], kind="stable")
    p = p.drop_duplicates(["trade_date", "underlying"], keep="last").reset_index(drop=True)
    share, ratio = p["pin_share"].to_numpy(float), p["gex_ratio"].to_numpy(float)
    pin = (share >= spec.pin_min_share) & (np.abs(p["pin_dist_sd"].to_numpy(float)) <= spec.pin_window_sd)
    if spec.pin_needs_long_gamma:
        pin &= p["headline_gex"].to_numpy(float) >= 0
    short = ~pin & (ratio <= -spec.short_min_ratio)
    strength = np.where(pin, strength_from(share - spec.pin_min_share, spec.pin_share_scale),
                        np.where(short, strength_from(-ratio - spec.short_min_ratio, spec.short_ratio_scale), 0.0))
    direction = np.select([pin, short], ["pin", "short_gamma"], "none")
    keep = [c for c in p.columns if c not in ("trade_date", "underlying", "headline_flip_reason", "gex_sign")]
    thresholds = {k: getattr(spec, k) for k in ("pin_max_sessions", "pin_window_sd", "pin_min_share",
                                                "pin_needs_long_gamma", "short_min_ratio")}
    rows = [{"trade_date": r["trade_date"], "underlying": r["underlying"], "edge": "gamma", "fired": d != "none",
             "strength": float(s), "direction": d, "rationale": _rationale(r, spec, d),
             "structure": "wide wings, smaller size (moves amplified)" if d == "short_gamma"
             else EDGE_STRUCTURES["gamma"],
             "metrics": {**{c: None if pd.isna(r[c]) else r[c] for c in keep}, **thresholds}}
            for (_, r), d, s in zip(p.iterrows(), direction, strength, strict=True)]  # one per (day, underlying)
    return edge_frame(rows)
