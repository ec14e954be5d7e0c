"""Signals: realised vol, constant-maturity implied vol, the market regime and the edge detectors.

Edges: ``wing`` (wing-model residuals), ``vrp``, ``term_structure``, ``skew`` (vol level and shape against
their history), ``event_vol`` (implied event moves) and ``gamma`` (dealer gamma exposure), all in one
tidy table (``signals.edges``).
"""

from volmachine_core.signals.edges import EDGE_COLUMNS, EDGE_STRUCTURES, EDGES, edge_frame, metrics_json
from volmachine_core.signals.history import trailing_percentile, trailing_zscore
from volmachine_core.signals.realized import ANNUALISATION, REALIZED_VOL_COLUMNS, realized_vol
from volmachine_core.signals.regime import (
    REGIME_COLUMNS,
    REGIME_STRUCTURES,
    REGIMES,
    RegimeSpec,
    classify_regimes,
    confusion_matrix,
    regime_features,
)
from volmachine_core.signals.skew import cm_skew, delta_vols
from volmachine_core.signals.term import cm_atm_vols
from volmachine_core.signals.vol_edges import (
    CURVE_SIGNAL_COLUMNS,
    VolEdgeSpec,
    curve_signals,
    skew_edges,
    term_structure_edges,
    vol_signal_history,
    vrp_edges,
)
from volmachine_core.signals.wing_edge import wing_candidates, wing_edges

__all__ = [
    "ANNUALISATION", "CURVE_SIGNAL_COLUMNS", "EDGES", "EDGE_COLUMNS", "EDGE_STRUCTURES", "REALIZED_VOL_COLUMNS",
    "REGIMES", "REGIME_COLUMNS", "REGIME_STRUCTURES", "RegimeSpec", "VolEdgeSpec", "classify_regimes",
    "cm_atm_vols", "cm_skew", "confusion_matrix", "curve_signals", "delta_vols", "edge_frame", "metrics_json",
    "realized_vol", "regime_features", "skew_edges", "term_structure_edges", "trailing_percentile",
    "trailing_zscore", "vol_signal_history", "vrp_edges", "wing_candidates", "wing_edges",
]
