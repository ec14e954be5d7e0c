"""Surface assets: forwards, strike_vols, curve_params, curve_points from one `build_surface` call.

End-of-day: partitioned by trading date x underlying (single-run backfills). Intraday: one dynamic
partition per landed snapshot file (keys prefixed ``intraday/``). Smile and term-structure plots are
attached to ``curve_params`` for single-date runs (the daily run and intraday snapshots); a history
backfill carries the statistics only, so the event log does not hold a plot per historical partition.
"""

import dagster as dg
import pandas as pd

from volmachine_core.market.schema import ReasonCode
from volmachine_core.report import png_markdown, smile_grid, term_structure
from volmachine_core.surface import SurfaceBuild, build_surface
from volmachine_pipeline.config import current_config
from volmachine_pipeline.partitions import eod_keys, eod_partitions, snapshot_partitions
from volmachine_pipeline.resources import WarehouseResource
from volmachine_pipeline.surfaces import checks

TABLES = ("forwards", "strike_vols", "curve_params", "curve_points")
DESCRIPTIONS = {
    "forwards": "Forward and discount factor per snapshot x underlying x expiry (put-call parity).",
    "strike_vols": "Bid/mid/ask implied vols, status, vega, delta and z per option.",
    "curve_params": "Raw-SVI fit per expiry: ATM vol and slope, RMSE, share inside bid-ask, arbitrage flags.",
    "curve_points": "Fitted curve at target SDs -3..+3 (strike and vol).",
}
EOD_BY = ["trade_date", "underlying"]


def _with_trade_date(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(trade_date=pd.to_datetime(df["snapshot_id"].str.slice(0, 10)))


def _raw_and_stale(wh, parts: list[dict]) -> tuple[int, int]:
    """Raw rows of the partitions (Parquet footers) and how many were quarantined as stale."""
    quar = wh.read("quote_quarantine", parts, columns=["reason"])
    n_stale = int((quar["reason"] == ReasonCode.STALE.value).sum()) if len(quar) else 0
    return wh.count_rows("raw_option_quotes", parts), n_stale


def _metadata(sb: SurfaceBuild, plots: bool) -> dict:
    meta: dict = {k: dg.MetadataValue.float(float(v)) if isinstance(v, float) else v
                  for k, v in sb.summary().items()}
    cp = sb.curve_params
    if len(cp):
        stats = cp.groupby("underlying").agg(slices=("tau", "size"), atm_vol_front=("atm_vol", "first"),
                                             median_rmse_vol=("rmse_vol", "median"),
                                             inside_share=("inside_share", "median"),
                                             arb_free=("arb_free", "mean"))
        meta["fit_statistics"] = dg.MetadataValue.md(stats.round(4).to_markdown())
    if plots and len(cp):
        for (sid, und), grp in cp.groupby(["snapshot_id", "underlying"]):
            sv = sb.strike_vols[(sb.strike_vols["snapshot_id"] == sid) & (sb.strike_vols["underlying"] == und)]
            smile = png_markdown(smile_grid(sv, grp, f"{und} {sid}: market bid/ask vs fit"), f"{und} smiles")
            ts = png_markdown(term_structure(grp, f"{und} {sid}: ATM term structure"), f"{und} term structure")
            meta[f"smiles_{und}"] = dg.MetadataValue.md(smile)
            meta[f"term_structure_{und}"] = dg.MetadataValue.md(ts)
    return meta


def _results(prefix: list[str], sb: SurfaceBuild, n_raw: int, n_stale: int, plots: bool):
    settings, _ = current_config()
    key = dg.AssetKey([*prefix, "curve_params"])
    check_results = checks.evaluate(key, sb, settings.curves, n_raw, n_stale)
    yield dg.MaterializeResult(asset_key=[*prefix, "forwards"], metadata={"dagster/row_count": len(sb.forwards)})
    yield dg.MaterializeResult(asset_key=[*prefix, "strike_vols"],
                               metadata={"dagster/row_count": len(sb.strike_vols)})
    yield dg.MaterializeResult(asset_key=key, check_results=check_results,
                               metadata={"dagster/row_count": len(sb.curve_params), **_metadata(sb, plots)})
    yield dg.MaterializeResult(asset_key=[*prefix, "curve_points"],
                               metadata={"dagster/row_count": len(sb.curve_points)})


def _specs(prefix: list[str], dep: dg.AssetKey, group: str) -> list[dg.AssetSpec]:
    return [dg.AssetSpec([*prefix, t], deps=[dep], group_name=group, kinds={"parquet"}, description=DESCRIPTIONS[t])
            for t in TABLES]


@dg.multi_asset(specs=_specs([], dg.AssetKey("option_quotes"), "surfaces"),
                check_specs=checks.specs(dg.AssetKey("curve_params")),
                partitions_def=eod_partitions, backfill_policy=dg.BackfillPolicy.single_run(), can_subset=False)
def vol_surface(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Forwards, strike vols and arbitrage-checked SVI curves for end-of-day partitions."""
    wh, keys = warehouse.get(), eod_keys(context)
    parts = [{"trade_date": d, "underlying": u} for d, u in keys]
    sb = build_surface(wh.read("option_quotes", parts))
    for table in TABLES:
        wh.write_partitions(table, _with_trade_date(getattr(sb, table)), EOD_BY, keys)
    wh.ensure_views()
    yield from _results([], sb, *_raw_and_stale(wh, parts), plots=len({d for d, _ in keys}) == 1)


@dg.multi_asset(specs=_specs(["intraday"], dg.AssetKey(["intraday", "option_quotes"]), "intraday"),
                check_specs=checks.specs(dg.AssetKey(["intraday", "curve_params"])),
                partitions_def=snapshot_partitions, can_subset=False)
def intraday_vol_surface(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The same surface build for one landed snapshot file."""
    wh, key = warehouse.get(), context.partition_key
    part = [{"snapshot_key": key}]
    sb = build_surface(wh.read("option_quotes", part))
    for table in TABLES:
        wh.write_partition(table, part[0], _with_trade_date(getattr(sb, table)))
    wh.ensure_views()
    yield from _results(["intraday"], sb, *_raw_and_stale(wh, part), plots=True)
