"""Market data: the clean quote schema, vendor formats, quality filters, the embedded simulated market."""

from volmachine_core.market.schema import (
    CLEAN_QUOTE_COLUMNS,
    QUARANTINE_COLUMNS,
    UNDERLYING_BAR_COLUMNS,
    ReasonCode,
)

__all__ = ["CLEAN_QUOTE_COLUMNS", "QUARANTINE_COLUMNS", "UNDERLYING_BAR_COLUMNS", "ReasonCode"]
