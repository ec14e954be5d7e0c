"""The edge table: one row per (trade_date, underlying, edge) evaluated, fired or not.

Every detector returns rows with ``EDGE_COLUMNS``:

* ``trade_date`` (datetime64), ``underlying`` (str), ``edge`` (one of :data:`EDGES`);
* ``fired`` (bool): the detector's condition holds; quiet rows are kept so a trader (and a test) can see
  what was measured on a day nothing fired;
* ``strength`` in [0, 1]: how far past its threshold the signal is (0 when quiet);
* ``direction`` (str): which side the edge points to, e.g. ``sell_vol``, ``buy_vol``, ``contango``,
  ``pin``; ``none`` when quiet;
* ``rationale`` (str): the numbers behind the call, in the seed report's style
  (``"IV 18.5% vs RV 12.3% = 1.50 ratio"``);
* ``structure`` (str): the structure family the edge suggests (DESIGN.md's edge-to-structure map);
* ``metrics`` (dict): every number the detector used, JSON-serialisable (the asset writes it as JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["EDGES", "EDGE_COLUMNS", "EDGE_STRUCTURES", "assemble_edges", "edge_frame", "metrics_json", "strength_from"]

EDGES = ("wing", "vrp", "term_structure", "skew", "event_vol", "gamma")
EDGE_COLUMNS = ("trade_date", "underlying", "edge", "fired", "strength", "direction", "rationale", "structure",
                "metrics")
#: Structure family each edge suggests (DESIGN.md, from the seed's VolMachine).
EDGE_STRUCTURES = {
    "wing": "vega-hedged wing trade",
    "vrp": "credit spreads (sell premium)",
    "term_structure": "calendar spreads",
    "skew": "verticals on the rich side",
    "event_vol": "iron condor for the crush",
    "gamma": "butterfly at the pin",
}


def strength_from(excess, scale) -> np.ndarray:
    """Strength in [0, 1] from how far a signal is past its threshold: ``1 - exp(-max(excess, 0) / scale)``.

    ``excess`` is in the signal's own units (0 at the threshold); ``scale`` is the excess worth a strength of
    about 0.63. NaN excess gives 0.
    """
    x = np.nan_to_num(np.asarray(excess, dtype=float), nan=0.0)
    return 1.0 - np.exp(-np.maximum(x, 0.0) / np.asarray(scale, dtype=float))


def _clean(v):
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    return v


def metrics_json(metrics: Mapping) -> str:
    """A detector's metrics as compact JSON (floats rounded to 6 places, NaN as null, dates as YYYY-MM-DD)."""
    return json.dumps(_clean(metrics), separators=(",", ":"), sort_keys=True)


def edge_frame(rows: pd.DataFrame | list[dict]) -> pd.DataFrame:
    """Rows in ``EDGE_COLUMNS`` order with their types checked; ``metrics`` dicts become JSON strings.

    Raises
    ------
    ValueError
        A column is missing, an edge name is unknown or a strength is outside [0, 1].
    """
    df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
    if df.empty:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in EDGE_COLUMNS})
    missing = [c for c in EDGE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"edge rows lack column(s) {missing}")
    bad = sorted(set(df["edge"]) - set(EDGES))
    if bad:
        raise ValueError(f"unknown edge name(s) {bad}; expected one of {EDGES}")
    s = df["strength"].to_numpy(float)
    if len(s) and (~np.isfinite(s) | (s < 0) | (s > 1)).any():
        raise ValueError("edge strength must be finite and within [0, 1]")
    df["trade_date"] = pd.to_datetime(df["trade_date"]).astype("datetime64[us]")
    df["fired"] = df["fired"].astype(bool)
    df["strength"] = df["strength"].astype(float)
    df["metrics"] = [m if isinstance(m, str) else metrics_json(m) for m in df["metrics"]]
    for c in ("underlying", "edge", "direction", "rationale", "structure"):
        df[c] = df[c].astype(str)
    return df[list(EDGE_COLUMNS)].reset_index(drop=True)


def assemble_edges(parts: list[pd.DataFrame], regimes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One edge table from the detectors' rows, each row told the day's regime and what it favours.

    Parameters
    ----------
    parts : list of DataFrame
        Detector outputs with ``EDGE_COLUMNS`` (metrics as dicts or JSON); empty frames are skipped.
    regimes : DataFrame, optional
        trade_date, underlying, regime, confidence. When given, each row gains ``regime`` and
        ``regime_confidence`` columns and its rationale ends with the regime's favoured structures
        ("regime LOW_VOL_GRIND (0.88) favours iron condors and butterflies").

    Returns
    -------
    DataFrame sorted by trade_date, underlying, edge (``edge_frame`` checked).
    """
    from volmachine_core.signals.regime import REGIME_STRUCTURES

    parts = [p for p in parts if p is not None and len(p)]
    table = edge_frame(pd.concat(parts, ignore_index=True) if parts else [])
    if regimes is not None and len(table):
        r = regimes[["trade_date", "underlying", "regime", "confidence"]].assign(
            trade_date=lambda d: pd.to_datetime(d["trade_date"]).astype("datetime64[us]"))
        table = table.merge(r.rename(columns={"confidence": "regime_confidence"}), on=["trade_date", "underlying"],
                            how="left")
        known = table["regime"].notna().to_numpy()
        suffix = np.array([f"; regime {g} ({c:.2f}) favours {REGIME_STRUCTURES.get(g, '?')}" if k else ""
                           for g, c, k in zip(table["regime"], table["regime_confidence"].fillna(0.0), known,
                                              strict=True)], dtype=object)
        table["rationale"] = table["rationale"].to_numpy(dtype=object) + suffix
    return table.sort_values(["trade_date", "underlying", "edge"], kind="stable").reset_index(drop=True)
