"""Signals: realised vol, constant-maturity implied vol, the market regime and the edge detectors.

Edges: ``wing`` (wing-model residuals), ``vrp``, ``term_structure``, ``skew`` (vol level and shape against
their history), ``event_vol`` (implied event moves) and ``gamma`` (dealer gamma exposure), all in one
tidy table (``signals.edges``).
"""

from volmachine_core.signals.detect import EdgeSpec, detect_edges
from volmachine_core.signals.edges import EDGE_COLUMNS, EDGE_STRUCTURES, EDGES, assemble_edges, edge_frame, metrics_json
from volmachine_core.signals.event_vol import (
    event_vol_edges,
    events_from_config,
    implied_event_variance,
    realised_event_moves,
)
from volmachine_core.signals.gamma import (
    ASSUMPTIONS,
    GammaSpec,
    gamma_chain,
    gamma_flip,
    gamma_profile,
    gex_by_strike,
    pin_strikes,
)
from volmachine_core.signals.gamma_edge import gamma_edges
from volmachine_core.signals.history import trailing_moments, trailing_percentile, trailing_zscore
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
    "EdgeSpec", "detect_edges",
    "ASSUMPTIONS", "GammaSpec", "event_vol_edges", "events_from_config", "gamma_chain", "gamma_edges", "gamma_flip",
    "gamma_profile", "gex_by_strike", "implied_event_variance", "pin_strikes", "realised_event_moves",
    "ANNUALISATION", "CURVE_SIGNAL_COLUMNS", "EDGES", "EDGE_COLUMNS", "EDGE_STRUCTURES", "REALIZED_VOL_COLUMNS",
    "assemble_edges",
    "REGIMES", "REGIME_COLUMNS", "REGIME_STRUCTURES", "RegimeSpec", "VolEdgeSpec", "classify_regimes",
    "cm_atm_vols", "cm_skew", "confusion_matrix", "curve_signals", "delta_vols", "edge_frame", "metrics_json",
    "realized_vol", "regime_features", "skew_edges", "term_structure_edges", "trailing_percentile",
    "trailing_moments", "trailing_zscore", "vol_signal_history", "vrp_edges", "wing_candidates", "wing_edges",
]
