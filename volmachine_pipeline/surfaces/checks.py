"""Asset checks of a surface build (pure functions of the build's frames; thresholds from settings)."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd

from volmachine_core.surface import SurfaceBuild
from volmachine_pipeline.config import Curves

CHECKS = {
    "arb_free_share": ("Share of fitted slices (a day or more to expiry) free of butterfly and calendar "
                       "arbitrage >= curves.min_arb_free_share.", True),
    "fit_rmse": ("Median fit RMSE (vol, decimals) <= curves.max_median_rmse_vol.", True),
    "forward_sanity": ("Every fitted forward finite, positive, |ln(F/S)| <= curves.max_forward_gap, "
                       "discount factor in (0.5, 1.1).", True),
    "quotes_per_expiry": ("Share of expiries with >= curves.min_quotes_per_expiry usable OTM vols >= "
                          "curves.min_expiry_coverage.", True),
    "stale_quotes": ("Warns when stale quotes exceed curves.stale_warn_share of the raw rows.", False),
}


def specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset_key, blocking=blocking, description=desc)
            for name, (desc, blocking) in CHECKS.items()]


def evaluate(asset_key: dg.AssetKey, sb: SurfaceBuild, cfg: Curves, n_raw: int, n_stale: int
             ) -> list[dg.AssetCheckResult]:
    cp, fw, sv = sb.curve_params, sb.forwards, sb.strike_vols
    # a slice in its last day is pin and microstructure, not a smile: left out of the arbitrage share
    judged = cp[(cp["tau"] >= 1 / 365) & (cp["model"] != "none")] if len(cp) else cp
    arb = float(judged["arb_free"].mean()) if len(judged) else 0.0
    rmse = float(cp["rmse_vol"].median()) if len(cp) else float("nan")
    live = fw[fw["status"] != "expired"] if "status" in fw else fw
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(np.log(live["forward"] / live["underlying_price"]))
    bad_fwd = live[~((live["forward"] > 0) & (gap <= cfg.max_forward_gap)
                     & live["discount_factor"].between(0.5, 1.1))]
    usable = sv[sv["otm"] & sv["iv_status"].eq("ok")] if len(sv) else sv
    per_exp = usable.groupby(["snapshot_id", "underlying", "expiry_ts"]).size()
    per_exp = per_exp.reindex(pd.MultiIndex.from_frame(live[["snapshot_id", "underlying", "expiry_ts"]]),
                              fill_value=0) if len(live) else per_exp
    coverage = float((per_exp >= cfg.min_quotes_per_expiry).mean()) if len(per_exp) else 0.0
    stale_share = n_stale / n_raw if n_raw else 0.0
    out = [
        ("arb_free_share", arb >= cfg.min_arb_free_share, {"arb_free_share": arb, "slices": len(judged),
                                                           "slices_with_arbitrage": int((~judged["arb_free"]).sum())}),
        ("fit_rmse", bool(rmse <= cfg.max_median_rmse_vol), {"median_rmse_vol": rmse}),
        ("forward_sanity", bad_fwd.empty, {"bad_forwards": len(bad_fwd), "forwards": len(live)}),
        ("quotes_per_expiry", coverage >= cfg.min_expiry_coverage,
         {"expiry_coverage": coverage, "thin_expiries": int((per_exp < cfg.min_quotes_per_expiry).sum())}),
        ("stale_quotes", stale_share <= cfg.stale_warn_share, {"stale_share": stale_share, "stale": n_stale}),
    ]
    return [dg.AssetCheckResult(asset_key=asset_key, check_name=name, passed=bool(ok),
                                severity=dg.AssetCheckSeverity.ERROR if CHECKS[name][1] else dg.AssetCheckSeverity.WARN,
                                metadata={k: (float(v) if isinstance(v, float) else v) for k, v in meta.items()})
            for name, ok, meta in out]
