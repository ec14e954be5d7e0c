"""The wing-vol model: features from fitted curves, point-in-time regressions, theos and theo curves.

``ln(vol(target_sd) / atm_vol) ~ 1 + sqrt(bdays) + ln(atm_vol) + atm_slope`` per (underlying,
target_sd), fitted on a trailing window strictly before the date it prices; the residual of an
option's market vol against the model vol is the mispricing, worth ``-vega * residual`` to a buyer.
"""

from volmachine_core.wing.features import FEATURE_COLUMNS, REGRESSORS, design_matrix, wing_features
from volmachine_core.wing.model import (
    COEFFICIENTS,
    MODEL_VERSION,
    WING_MODEL_COLUMNS,
    WingModelSpec,
    fit_wing_models,
    predict_at,
)
from volmachine_core.wing.theos import SLEGA_BUMP, WING_THEO_COLUMNS, slice_predictions, wing_theos

__all__ = [
    "COEFFICIENTS",
    "FEATURE_COLUMNS",
    "MODEL_VERSION",
    "REGRESSORS",
    "SLEGA_BUMP",
    "WING_MODEL_COLUMNS",
    "WING_THEO_COLUMNS",
    "WingModelSpec",
    "design_matrix",
    "fit_wing_models",
    "predict_at",
    "slice_predictions",
    "wing_features",
    "wing_theos",
]
