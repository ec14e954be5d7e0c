"""Trading: the book and OCC symbols, structure payoff and risk, vol risk by bucket, sizing, order prices.

Candidates from signals, the slega history and the assets come next (issue 8). Pure like the rest of
:mod:`volmachine_core`: no Dagster, no I/O.
"""

from volmachine_core.trading.greeks import GREEK_COLUMNS, book_totals, position_greeks
from volmachine_core.trading.occ import (
    OCC_COLUMNS,
    OCC_LENGTH,
    OCC_REASON_TEXT,
    ROOT_WIDTH,
    STRIKE_MAX,
    STRIKE_SCALE,
    STRIKE_TOLERANCE,
    OccContract,
    OccReason,
    format_occ,
    parse_occ,
    parse_occ_one,
)
from volmachine_core.trading.orders import delta_peg, hedge_order, limit_price
from volmachine_core.trading.payoff import LEG_COLUMNS, StructureRisk, structure_pnl, structure_risk
from volmachine_core.trading.positions import (
    LEG_FIELDS,
    POSITION_COLUMNS,
    POSITION_REASON_PRIORITY,
    REJECTED_POSITION_COLUMNS,
    REQUIRED_POSITION_COLUMNS,
    VALIDATED_POSITION_COLUMNS,
    PositionReason,
    empty_positions,
    positions_from_records,
    validate_positions,
)
from volmachine_core.trading.rules import BookState, RiskLimits, book_state, evaluate_rules
from volmachine_core.trading.sizing import best_size, marginal_utility, risk_aversion, utility
from volmachine_core.trading.stress import STRESS_LEG_COLUMNS, stress_grid
from volmachine_core.trading.structures import butterfly, calendar, iron_condor, sd_strike, vertical
from volmachine_core.trading.vega import (
    bucket_vegas,
    forward_vols,
    modified_vega,
    vol_change_correlation,
    vol_pnl_sd,
)

__all__ = [
    "LEG_COLUMNS",
    "StructureRisk",
    "GREEK_COLUMNS",
    "book_totals",
    "position_greeks",
    "STRESS_LEG_COLUMNS",
    "stress_grid",
    "BookState",
    "RiskLimits",
    "book_state",
    "evaluate_rules",
    "best_size",
    "butterfly",
    "calendar",
    "iron_condor",
    "sd_strike",
    "vertical",
    "bucket_vegas",
    "forward_vols",
    "modified_vega",
    "vol_change_correlation",
    "vol_pnl_sd",
    "delta_peg",
    "hedge_order",
    "limit_price",
    "marginal_utility",
    "risk_aversion",
    "structure_pnl",
    "structure_risk",
    "utility",
    "LEG_FIELDS",
    "OCC_COLUMNS",
    "OCC_LENGTH",
    "OCC_REASON_TEXT",
    "OccContract",
    "OccReason",
    "POSITION_COLUMNS",
    "POSITION_REASON_PRIORITY",
    "PositionReason",
    "REJECTED_POSITION_COLUMNS",
    "REQUIRED_POSITION_COLUMNS",
    "ROOT_WIDTH",
    "STRIKE_MAX",
    "STRIKE_SCALE",
    "STRIKE_TOLERANCE",
    "VALIDATED_POSITION_COLUMNS",
    "empty_positions",
    "format_occ",
    "parse_occ",
    "parse_occ_one",
    "positions_from_records",
    "validate_positions",
]
