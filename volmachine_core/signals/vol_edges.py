"""Edges from the vol level and shape against their own history: ``vrp``, ``term_structure`` and ``skew``.

Per (trade_date, underlying), from constant-maturity ATM vols (``cm_atm_vols``), realised vol
(``realized_vol``) and the 30-day 25-delta skew (``cm_skew``):

* ``vrp``: ``ratio = iv_30d / rv`` (Yang-Zhang, 20 sessions). Fires when ``ratio > vrp_min_ratio`` (1.3)
  and the ratio's trailing percentile is at least ``vrp_min_pct`` (high for its own history): implied is
  rich, sell premium. A ratio below ``1 / vrp_min_ratio`` at a low percentile fires the other way
  (``buy_vol``).
* ``term_structure``: ``slope = ln(iv_90d / iv_30d)`` (positive = contango). Fires when its z-score
  against the trailing window is beyond ``+-term_z``: extreme contango or backwardation.
* ``skew``: ``(vol(25d put) - vol(25d call)) / atm_vol`` at 30 days. Fires when its z-score is beyond
  ``+-skew_z``: puts (or calls) rich for their history.

Histories are point-in-time (``signals.history``); with fewer than ``min_history`` earlier sessions a
detector stays quiet and says so in its metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from volmachine_core.signals.edges import EDGE_STRUCTURES, strength_from
from volmachine_core.signals.history import trailing_moments, trailing_percentile
from volmachine_core.signals.skew import cm_skew
from volmachine_core.signals.term import cm_atm_vols

__all__ = ["VolEdgeSpec", "CURVE_SIGNAL_COLUMNS", "curve_signals", "vol_signal_history", "vrp_edges",
           "term_structure_edges", "skew_edges"]

CURVE_SIGNAL_COLUMNS = ("trade_date", "underlying", "snapshot_id", "iv_30d", "iv_90d", "iv_180d", "n_expiries",
                        "put_vol", "call_vol", "atm_30d", "skew", "skew_pts")


def curve_signals(curve_params: pd.DataFrame) -> pd.DataFrame:
    """Per (snapshot, underlying): constant-maturity ATM vols (30, 90, 180 days) and the 30-day 25-delta skew.

    The inputs of the regime and the vrp / term-structure / skew detectors, from one snapshot's fitted
    curves (``cm_atm_vols`` and ``cm_skew``). Columns :data:`CURVE_SIGNAL_COLUMNS`; ``atm_30d`` is the
    ATM vol the skew is normalised by.
    """
    cm = cm_atm_vols(curve_params, tenors_days=(30, 90, 180))
    sk = cm_skew(curve_params, tenor_days=30).rename(columns={"atm_vol": "atm_30d"})
    out = cm.merge(sk.drop(columns="trade_date"), on=["snapshot_id", "underlying"], how="left")
    return out[list(CURVE_SIGNAL_COLUMNS)]


@dataclass(frozen=True)
class VolEdgeSpec:
    """Thresholds of the vrp, term-structure and skew detectors (module docstring)."""

    vrp_min_ratio: float = 1.3
    vrp_min_pct: float = 0.6
    term_z: float = 2.0
    skew_z: float = 2.0
    history_window: int = 120
    min_history: int = 20

    def __post_init__(self) -> None:
        if self.vrp_min_ratio <= 1.0 or not 0.0 <= self.vrp_min_pct <= 1.0:
            raise ValueError("vrp_min_ratio must exceed 1 and vrp_min_pct lie in [0, 1]")
        if self.term_z <= 0 or self.skew_z <= 0 or not 2 <= self.min_history <= self.history_window:
            raise ValueError("term_z and skew_z must be > 0 and 2 <= min_history <= history_window")


def vol_signal_history(rv: pd.DataFrame, curve: pd.DataFrame, spec: VolEdgeSpec = VolEdgeSpec()) -> pd.DataFrame:
    """The three signals per (trade_date, underlying) with their trailing percentile / z-score.

    Parameters
    ----------
    rv : DataFrame
        trade_date, underlying, rv_yz (annual decimal).
    curve : DataFrame
        :func:`curve_signals` output: trade_date, underlying, iv_30d, iv_90d, put_vol, call_vol, skew,
        skew_pts.

    Returns
    -------
    DataFrame
        trade_date, underlying, iv_30d, iv_90d, rv, vrp_ratio, vrp_pct, term_slope, term_z, put_vol,
        call_vol, skew, skew_pts, skew_z, n_history (earlier sessions with a 30-day vol), and the trailing
        baselines ``term_mean`` and ``skew_mean`` the z-scores are measured against.
    """
    def _dated(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        return df[["trade_date", "underlying", *cols]].assign(trade_date=lambda d: pd.to_datetime(d["trade_date"]))

    h = _dated(curve, ["iv_30d", "iv_90d", "put_vol", "call_vol", "skew", "skew_pts"]).merge(
        _dated(rv, ["rv_yz"]), on=["trade_date", "underlying"], how="left")
    h = h.rename(columns={"rv_yz": "rv"}).sort_values(["underlying", "trade_date"]).reset_index(drop=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h["vrp_ratio"] = h["iv_30d"] / h["rv"]
        h["term_slope"] = np.log(h["iv_90d"] / h["iv_30d"])
    w, m = spec.history_window, spec.min_history
    h["vrp_pct"] = trailing_percentile(h, "vrp_ratio", w, m)
    for col, name in (("term_slope", "term"), ("skew", "skew")):
        mom = trailing_moments(h, col, w, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            h[f"{name}_z"] = np.where(mom["sd"] > 0, (h[col] - mom["mean"]) / mom["sd"], np.nan)
        h[f"{name}_mean"] = mom["mean"].to_numpy()
    h["n_history"] = h.groupby("underlying").cumcount().clip(upper=w)
    return h


def _rows(h: pd.DataFrame, edge: str, fired, strength, direction, rationale, metrics) -> pd.DataFrame:
    return pd.DataFrame({"trade_date": h["trade_date"].to_numpy(), "underlying": h["underlying"].to_numpy(),
                         "edge": edge, "fired": np.asarray(fired, bool), "strength": np.asarray(strength, float),
                         "direction": direction, "rationale": rationale, "structure": EDGE_STRUCTURES[edge],
                         "metrics": metrics})


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if np.isfinite(x) else "n/a"


def vrp_edges(h: pd.DataFrame, spec: VolEdgeSpec = VolEdgeSpec()) -> pd.DataFrame:
    """``vrp`` edge rows (one per row of :func:`vol_signal_history`)."""
    ratio, pct = h["vrp_ratio"].to_numpy(float), h["vrp_pct"].to_numpy(float)
    enough = (h["n_history"].to_numpy() >= spec.min_history) & np.isfinite(ratio) & np.isfinite(pct)
    rich = enough & (ratio > spec.vrp_min_ratio) & (pct >= spec.vrp_min_pct)
    cheap = enough & (ratio < 1.0 / spec.vrp_min_ratio) & (pct <= 1.0 - spec.vrp_min_pct)
    strength = np.where(rich, strength_from(ratio - spec.vrp_min_ratio, 0.25),
                        np.where(cheap, strength_from(1.0 / spec.vrp_min_ratio - ratio, 0.15), 0.0))
    direction = np.where(rich, "sell_vol", np.where(cheap, "buy_vol", "none"))
    rationale, metrics = [], []
    for r in h.assign(ok_=enough, rich_=rich, cheap_=cheap).itertuples(index=False):  # text per row, not math
        text = (f"IV30 {_pct(r.iv_30d)} vs RV20 {_pct(r.rv)} = {r.vrp_ratio:.2f} ratio"
                f" ({100 * r.vrp_pct:.0f}th pct of its history)" if r.ok_ else
                f"IV30 {_pct(r.iv_30d)} vs RV20 {_pct(r.rv)}: history too short ({r.n_history} sessions)")
        if r.rich_:
            text += ": implied rich, sell premium via credit spreads"
        elif r.cheap_:
            text += ": implied cheap against realised, buy vol (debit spreads)"
        rationale.append(text)
        metrics.append({"iv_30d": r.iv_30d, "rv_20d": r.rv, "ratio": r.vrp_ratio, "ratio_pct": r.vrp_pct,
                        "min_ratio": spec.vrp_min_ratio, "min_pct": spec.vrp_min_pct, "n_history": r.n_history})
    return _rows(h, "vrp", rich | cheap, strength, direction, rationale, metrics)


def _z_extreme(z: np.ndarray, threshold: float, above: str, below: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fired, strength and direction of a z-score beyond ``+-threshold`` (``above`` / ``below`` name the sides)."""
    fired = np.isfinite(z) & (np.abs(z) >= threshold)
    strength = np.where(fired, strength_from(np.abs(z) - threshold, 1.0), 0.0)
    return fired, strength, np.where(~fired, "none", np.where(z > 0, above, below))


def term_structure_edges(h: pd.DataFrame, spec: VolEdgeSpec = VolEdgeSpec()) -> pd.DataFrame:
    """``term_structure`` edge rows: extreme contango (z >= term_z) or backwardation (z <= -term_z)."""
    fired, strength, direction = _z_extreme(h["term_z"].to_numpy(float), spec.term_z, "contango", "backwardation")
    rationale, metrics = [], []
    for r, d in zip(h.itertuples(index=False), direction, strict=True):
        shape = "contango" if r.term_slope > 0 else "backwardation"
        text = (f"30d {_pct(r.iv_30d)} vs 90d {_pct(r.iv_90d)}: {shape}, slope {100 * r.term_slope:+.1f}%"
                + (f" is {r.term_z:+.1f} SD against its {min(r.n_history, spec.history_window)}-session history"
                   if np.isfinite(r.term_z) else f", history too short ({r.n_history} sessions)"))
        if d == "backwardation":
            text += ": front rich, calendar spreads (sell the front, buy the back)"
        elif d == "contango":
            text += ": front cheap against the back, calendar spreads on the steep part of the curve"
        rationale.append(text)
        metrics.append({"iv_30d": r.iv_30d, "iv_90d": r.iv_90d, "slope": r.term_slope, "z": r.term_z,
                        "mean": r.term_mean, "z_threshold": spec.term_z, "n_history": r.n_history})
    return _rows(h, "term_structure", fired, strength, direction, rationale, metrics)


def skew_edges(h: pd.DataFrame, spec: VolEdgeSpec = VolEdgeSpec()) -> pd.DataFrame:
    """``skew`` edge rows: 25-delta put minus call vol over ATM, beyond ``+-skew_z`` of its history."""
    fired, strength, direction = _z_extreme(h["skew_z"].to_numpy(float), spec.skew_z, "puts_rich", "calls_rich")
    rationale, metrics = [], []
    for r, d in zip(h.itertuples(index=False), direction, strict=True):
        text = (f"25d put {_pct(r.put_vol)} vs 25d call {_pct(r.call_vol)} = {100 * r.skew_pts:.1f} pts skew, "
                f"{r.skew:.2f} of ATM" if np.isfinite(r.skew) else "25-delta vols unavailable")
        text += (f", {r.skew_z:+.1f} SD against its history" if np.isfinite(r.skew_z) else
                 f", history too short ({r.n_history} sessions)")
        if d == "puts_rich":
            text += ": puts rich, sell put verticals (bull put spreads)"
        elif d == "calls_rich":
            text += ": calls rich, sell call verticals (bear call spreads)"
        rationale.append(text)
        metrics.append({"put_25d_vol": r.put_vol, "call_25d_vol": r.call_vol, "skew_pts": r.skew_pts,
                        "skew_over_atm": r.skew, "z": r.skew_z, "mean": r.skew_mean, "z_threshold": spec.skew_z,
                        "n_history": r.n_history})
    return _rows(h, "skew", fired, strength, direction, rationale, metrics)
