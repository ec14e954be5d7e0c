"""All six edge detectors on one day range, assembled into the edge table (what the ``edge_signals`` asset runs).

Inputs are the detectors' own (see each module); thresholds come in one :class:`EdgeSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from volmachine_core.signals.edges import assemble_edges
from volmachine_core.signals.event_vol import event_vol_edges
from volmachine_core.signals.gamma import GammaSpec
from volmachine_core.signals.gamma_edge import gamma_edges
from volmachine_core.signals.vol_edges import VolEdgeSpec, skew_edges, term_structure_edges, vrp_edges
from volmachine_core.signals.wing_edge import wing_edges

__all__ = ["EdgeSpec", "detect_edges"]


@dataclass(frozen=True)
class EdgeSpec:
    """Thresholds of every detector: vol-level (vrp, term, skew), gamma, wing and event settings."""

    vol: VolEdgeSpec = field(default_factory=VolEdgeSpec)
    gamma: GammaSpec = field(default_factory=GammaSpec)
    wing_min_beyond_spread: float = 0.01
    event_min_premium: float = 0.20
    event_lookahead_sessions: int = 10
    event_min_history: int = 4
    event_max_history: int = 12


def detect_edges(history: pd.DataFrame, theos: pd.DataFrame, gamma_profile: pd.DataFrame,
                 implied_events: pd.DataFrame, past_moves: pd.DataFrame, schedule: pd.DataFrame,
                 regimes: pd.DataFrame | None = None, spec: EdgeSpec = EdgeSpec()) -> pd.DataFrame:
    """The edge table (``EDGE_COLUMNS`` plus the day's regime) for the days in ``history``.

    Parameters
    ----------
    history : DataFrame
        ``vol_signal_history`` rows of the days to evaluate (their z-scores and percentiles already use the
        earlier sessions).
    theos : DataFrame
        ``wing_theos`` rows of those days.
    gamma_profile : DataFrame
        ``gamma_profile`` rows of those days.
    implied_events, past_moves, schedule : DataFrame
        ``implied_event_variance``, ``realised_event_moves`` and the event schedule.
    regimes : DataFrame, optional
        ``regime`` rows (trade_date, underlying, regime, confidence) of those days.
    """
    v = spec.vol
    return assemble_edges([
        wing_edges(theos, spec.wing_min_beyond_spread),
        vrp_edges(history, v), term_structure_edges(history, v), skew_edges(history, v),
        event_vol_edges(implied_events, past_moves, schedule, threshold=spec.event_min_premium,
                        lookahead_sessions=spec.event_lookahead_sessions, min_history=spec.event_min_history,
                        max_history=spec.event_max_history),
        gamma_edges(gamma_profile, spec.gamma)], regimes)
