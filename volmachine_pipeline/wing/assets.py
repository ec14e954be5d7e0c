"""Wing assets: features from end-of-day curves, the point-in-time model, theos and theo curves.

Partitioned by trading date, all underlyings of the universe in one partition: the model is a
cross-date object, and one key per date keeps a history backfill's Dagster bookkeeping small.
``wing_model`` for date d fits on the features of the ``models.wing_window_days`` sessions before d;
d's own features are read only for the out-of-sample diagnostics. Intraday snapshots get theos from
the latest model fitted at or before their date.
"""

import dagster as dg
import pandas as pd

from volmachine_core import wing as core
from volmachine_core.wing.diagnostics import detection_cells, detection_scores, oos_summary, out_of_sample
from volmachine_core.wing.theo_curves import THEO_CURVE_COLUMNS
from volmachine_core.wing.theo_curves import theo_curves as build_theo_curves
from volmachine_pipeline.config import current_config
from volmachine_pipeline.metadata import md_table
from volmachine_pipeline.partitions import day_keys, eod_parts, sessions_before, snapshot_partitions, trading_days
from volmachine_pipeline.resources import WarehouseResource
from volmachine_pipeline.wing import checks

GROUP = "wing"
#: Sessions back a snapshot looks for its latest model fit.
MODEL_LOOKBACK_SESSIONS = 10
_SINGLE_RUN = dg.BackfillPolicy.single_run()
_WINDOW = current_config()[0].models.wing_window_days
#: Columns the theos need from strike_vols and curve_params.
SV_COLUMNS = ["snapshot_id", "underlying", "expiry", "expiry_ts", "strike", "right", "multiplier", "tau", "forward",
              "discount_factor", "bid", "ask", "iv_bid", "iv_mid", "iv_ask", "vega", "delta", "z", "otm"]
CP_COLUMNS = ["snapshot_id", "underlying", "expiry", "tau", "bdays", "forward", "atm_vol", "atm_slope"]


def _models_for(wh, first: str, last: str) -> pd.DataFrame:
    """Model rows with fit dates from ``MODEL_LOOKBACK_SESSIONS`` sessions before ``first`` to ``last``."""
    return wh.read("wing_model", [{"fit_date": d} for d in sessions_before(first, last, MODEL_LOOKBACK_SESSIONS)])


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=["curve_params", "curve_points"])
def wing_features(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """ln(vol(target_sd)/atm_vol), sqrt(bdays), ln(atm_vol), atm_slope per date x underlying x expiry x SD."""
    wh, days = warehouse.get(), day_keys(context)
    _, uni = current_config()
    parts = eod_parts(days)
    feats = core.wing_features(wh.read("curve_params", parts), wh.read("curve_points", parts),
                               dte_min=uni.dte_min, dte_max=uni.dte_max, target_sds=uni.target_sds)
    wh.write_partitions("wing_features", feats, ["trade_date"], [(d,) for d in days])
    wh.ensure_views()
    reasons = feats.loc[~feats["usable"], "reason"].value_counts().to_dict() if len(feats) else {}
    return dg.MaterializeResult(metadata={"dagster/row_count": len(feats),
                                          "usable_share": float(feats["usable"].mean()) if len(feats) else 0.0,
                                          "unusable_by_reason": dg.MetadataValue.json(reasons)})


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=[dg.AssetDep("wing_features", partition_mapping=dg.TimeWindowPartitionMapping(
              start_offset=-_WINDOW, end_offset=0, allow_nonexistent_upstream_partitions=True))],
          check_specs=checks.model_specs(dg.AssetKey("wing_model")))
def wing_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Wing regression per underlying x target SD, fitted on the sessions strictly before each date."""
    wh, days = warehouse.get(), day_keys(context)
    cfg = current_config()[0].models
    spec = core.WingModelSpec(window_days=cfg.wing_window_days, min_obs=cfg.wing_min_obs,
                              min_days=cfg.wing_min_days, estimator=cfg.wing_estimator)
    window = sessions_before(days[0], days[-1], max(cfg.wing_window_days, cfg.wing_oos_days))
    feats = wh.read("wing_features", [{"trade_date": d} for d in window])
    models = core.fit_wing_models(feats, days, spec)
    wh.write_partitions("wing_model", models, ["fit_date"], [(d,) for d in days])
    wh.ensure_views()
    recent = wh.read("wing_model", [{"fit_date": d} for d in window[-cfg.wing_oos_days:]])
    oos = oos_summary(out_of_sample(feats, recent))
    latest = models[(models["fit_date"] == models["fit_date"].max()) & (models["status"] == "ok")]
    coef = (latest.groupby("target_sd")[[c for c in latest.columns if c.startswith("b_")] + ["r2", "n_obs"]]
            .median().reset_index()) if len(latest) else latest
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(models),
                  "fits_by_status": dg.MetadataValue.json(models["status"].value_counts().to_dict()),
                  "latest_fit_date": days[-1], "estimator": spec.estimator, "window_sessions": spec.window_days,
                  "coefficients_latest_median_over_underlyings": md_table(coef),
                  "median_r2_latest": float(latest["r2"].median()) if len(latest) else float("nan"),
                  "out_of_sample_vs_baseline": md_table(oos.round(4))},
        check_results=[checks.model_quality(dg.AssetKey("wing_model"), models, oos, cfg)])


def _planted_recovery(wh, days: list[str], theos: pd.DataFrame) -> dict:
    """On the simulated market: recall and precision of the mispricing flag against the planted bumps."""
    if current_config()[0].data.source != "sim" or theos.empty:
        return {}
    parts = [{"partition_date": d, "underlying": u} for d in days for u in current_config()[1].symbols]
    planted = wh.read("sim_truth_mispricings", parts)
    if planted.empty:
        return {}
    scores = detection_scores(detection_cells(theos, current_config()[1].target_sds), planted)
    return {"planted_bump_recovery": dg.MetadataValue.json({k: round(v, 4) if isinstance(v, float) else v
                                                             for k, v in scores.items()})}


def _theo_results(prefix: list[str], sv: pd.DataFrame, theos: pd.DataFrame, curves: pd.DataFrame,
                  extra: dict | None = None):
    key = dg.AssetKey([*prefix, "wing_theos"])
    ok = theos[(theos["status"] == "ok") & theos["in_dte_range"].astype(bool)]
    top = (ok.reindex(ok["residual_beyond_spread"].abs().sort_values(ascending=False).index).head(10)
           [["underlying", "expiry", "strike", "right", "z", "market_vol", "model_vol", "residual", "pnl_theo"]])
    top = top.assign(expiry=pd.to_datetime(top["expiry"]).dt.strftime("%Y-%m-%d")).round(4)
    yield dg.MaterializeResult(
        asset_key=key, check_results=[checks.theo_coverage(key, sv, theos)],
        metadata={"dagster/row_count": len(theos),
                  "status": dg.MetadataValue.json(theos["status"].value_counts().to_dict() if len(theos) else {}),
                  "largest_residuals_beyond_spread_in_dte_range": md_table(top), **(extra or {})})
    yield dg.MaterializeResult(asset_key=[*prefix, "theo_curves"],
                               metadata={"dagster/row_count": len(curves),
                                         "arb_free_share": float(curves["arb_free"].mean()) if len(curves) else 0.0})


def _theo_specs(prefix: list[str], deps: list, group: str) -> list[dg.AssetSpec]:
    theo = "Model vol, residual, PnL theo, ATM vega hedge ratio, hedge delta and slega per option."
    curve = "The wing model's smile per expiry as a curve (model 'theo'): an exit price for any strike."
    return [dg.AssetSpec([*prefix, "wing_theos"], deps=deps, group_name=group, kinds={"parquet"}, description=theo),
            dg.AssetSpec([*prefix, "theo_curves"], deps=deps, group_name=group, kinds={"parquet"}, description=curve)]


def _build(wh, sv: pd.DataFrame, cp: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Theos and theo curves of the snapshots in ``sv``/``cp`` (empty frames when there are none)."""
    _, uni = current_config()
    if sv.empty or cp.empty:
        return (pd.DataFrame({c: pd.Series(dtype=object) for c in core.WING_THEO_COLUMNS}),
                pd.DataFrame({c: pd.Series(dtype=object) for c in THEO_CURVE_COLUMNS}))
    dates = sorted(sv["snapshot_id"].astype(str).str.slice(0, 10).unique())
    models = _models_for(wh, dates[0], dates[-1])
    theos = core.wing_theos(sv, cp, models, target_sds=uni.target_sds, dte_range=(uni.dte_min, uni.dte_max))
    return theos, build_theo_curves(sv, cp, models, target_sds=uni.target_sds)


@dg.multi_asset(specs=_theo_specs([], ["strike_vols", "curve_params", "wing_model"], GROUP),
                check_specs=checks.theo_specs(dg.AssetKey("wing_theos")), partitions_def=trading_days,
                backfill_policy=_SINGLE_RUN, can_subset=False)
def wing_theos(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Theos of every end-of-day option from the latest model fitted at or before its date."""
    wh, days = warehouse.get(), day_keys(context)
    parts = eod_parts(days)
    sv, cp = wh.read("strike_vols", parts, columns=SV_COLUMNS), wh.read("curve_params", parts, columns=CP_COLUMNS)
    theos, curves = _build(wh, sv, cp)
    wh.write_partitions("wing_theos", theos, ["trade_date"], [(d,) for d in days])
    curves = curves.assign(trade_date=pd.to_datetime(curves["snapshot_id"].astype(str).str.slice(0, 10)))
    wh.write_partitions("theo_curves", curves, ["trade_date"], [(d,) for d in days])
    wh.ensure_views()
    yield from _theo_results([], sv, theos, curves, _planted_recovery(wh, days, theos))


@dg.multi_asset(specs=_theo_specs(["intraday"], [dg.AssetKey(["intraday", "strike_vols"]),
                                                 dg.AssetKey(["intraday", "curve_params"]),
                                                 dg.AssetDep("wing_model", partition_mapping=dg.AllPartitionMapping())],
                                  "intraday"),
                check_specs=checks.theo_specs(dg.AssetKey(["intraday", "wing_theos"])),
                partitions_def=snapshot_partitions, can_subset=False)
def intraday_wing_theos(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Theos of one landed snapshot from the latest model fitted at or before its date."""
    wh, part = warehouse.get(), {"snapshot_key": context.partition_key}
    sv, cp = wh.read("strike_vols", [part], columns=SV_COLUMNS), wh.read("curve_params", [part], columns=CP_COLUMNS)
    theos, curves = _build(wh, sv, cp)
    wh.write_partition("wing_theos", part, theos)
    wh.write_partition("theo_curves", part, curves)
    wh.ensure_views()
    yield from _theo_results(["intraday"], sv, theos, curves)
