"""Signals: realised vol and constant-maturity implied vol (inputs of the regime and edge detectors)."""

from volmachine_core.signals.realized import ANNUALISATION, REALIZED_VOL_COLUMNS, realized_vol
from volmachine_core.signals.term import cm_atm_vols

__all__ = ["ANNUALISATION", "REALIZED_VOL_COLUMNS", "cm_atm_vols", "realized_vol"]
