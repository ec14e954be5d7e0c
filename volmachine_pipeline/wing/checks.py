"""Asset checks of the wing model (fit quality, warning) and its theos (coverage, blocking)."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd

from volmachine_pipeline.config import Models

MODEL_CHECK = "fit_quality"
THEO_CHECK = "theo_coverage"


def model_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(MODEL_CHECK, asset=key, blocking=False,
                              description="Warns when the latest fits' median R^2 is below models.wing_min_median_r2 "
                                          "or the worst out-of-sample RMSE exceeds models.wing_max_oos_rmse_vol.")]


def theo_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(THEO_CHECK, asset=key, blocking=True,
                              description="Every option with a market vol and a curve, on an underlying with a "
                                          "fitted model, has a theo.")]


def model_quality(key: dg.AssetKey, models: pd.DataFrame, oos: pd.DataFrame, cfg: Models) -> dg.AssetCheckResult:
    """Fit quality of the newest fit date's models and the recent out-of-sample RMSE (warning)."""
    ok = models[models["status"] == "ok"]
    if ok.empty:
        return dg.AssetCheckResult(asset_key=key, check_name=MODEL_CHECK, passed=True,
                                   severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"note": "no model fitted yet (warm-up: too little history)"})
    latest = ok[ok["fit_date"] == ok["fit_date"].max()]
    r2 = float(latest["r2"].median())
    worst = float(oos["rmse_model_vp"].max() / 100.0) if len(oos) else float("nan")
    passed = r2 >= cfg.wing_min_median_r2 and not (worst > cfg.wing_max_oos_rmse_vol)
    return dg.AssetCheckResult(asset_key=key, check_name=MODEL_CHECK, passed=bool(passed),
                               severity=dg.AssetCheckSeverity.WARN,
                               metadata={"median_r2": r2, "worst_oos_rmse_vol": worst,
                                         "fit_date": str(latest["fit_date"].max().date())})


def theo_coverage(key: dg.AssetKey, strike_vols: pd.DataFrame, theos: pd.DataFrame) -> dg.AssetCheckResult:
    """Options with a finite mid vol and z, in (snapshot, underlying) pairs that have a model, all have a theo."""
    pair = ["snapshot_id", "underlying"]
    ok = theos[theos["status"] == "ok"] if len(theos) else theos
    modelled = pd.MultiIndex.from_frame(ok[pair].astype(str).drop_duplicates()) if len(ok) else None
    sv = strike_vols
    if len(sv) and modelled is not None:
        in_pair = pd.MultiIndex.from_frame(sv[pair].astype(str)).isin(modelled)
        expected = np.isfinite(sv["iv_mid"].to_numpy(float)) & np.isfinite(sv["z"].to_numpy(float)) & in_pair
    else:
        expected = np.zeros(len(sv), bool)
    n_expected, n_ok = int(expected.sum()), len(ok)
    waiting = sorted(set(sv["underlying"].astype(str)) - set(ok["underlying"].astype(str))) if len(sv) else []
    return dg.AssetCheckResult(asset_key=key, check_name=THEO_CHECK, passed=n_ok >= n_expected,
                               metadata={"options_expected": n_expected, "theos": n_ok,
                                         "coverage": float(n_ok / n_expected) if n_expected else 1.0,
                                         "underlyings_without_model": ", ".join(waiting) or "-"})
