"""Intraday market-data assets: one dynamic partition per landed quote file (snapshot).

Asset keys carry the prefix ``intraday`` (``intraday/raw_option_quotes`` ...) and write into the
same warehouse tables as the end-of-day assets, under ``snapshot_key=<key>`` folders, so the
contract views show both.
"""


import dagster as dg
import pandas as pd

from volmachine_core.market.clean import clean_quotes, quarantine_stale
from volmachine_pipeline.config import current_config
from volmachine_pipeline.ingest import raw_rows, vendor_columns
from volmachine_pipeline.landing import archived
from volmachine_pipeline.market_data import checks
from volmachine_pipeline.partitions import snapshot_partitions
from volmachine_pipeline.resources import WarehouseResource

GROUP = "intraday"
PREFIX = "intraday"


def previous_quotes(wh, underlyings: list[str], before: str) -> pd.DataFrame | None:
    """Latest clean quotes of each underlying from a snapshot strictly before ``before`` (for stale checks)."""
    if not wh.files("option_quotes"):
        return None
    q = wh.query(
        "WITH last AS (SELECT underlying, max(snapshot_id) AS sid FROM option_quotes "
        "WHERE snapshot_id < ? AND list_contains(?, underlying) GROUP BY underlying) "
        "SELECT o.* FROM option_quotes o JOIN last ON o.underlying = last.underlying AND o.snapshot_id = last.sid",
        [before, underlyings])
    return q if len(q) else None


@dg.asset(name="raw_option_quotes", key_prefix=PREFIX, partitions_def=snapshot_partitions, group_name=GROUP,
          kinds={"parquet"}, code_version="1")
def intraday_raw_option_quotes(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The landed file's rows exactly as received (text), from ``archive/<snapshot key>/``."""
    wh = warehouse.get()
    arch = archived(wh.home, context.partition_key)
    raw, rf = raw_rows(wh.home, arch.path)
    wh.write_partition("raw_option_quotes", {"snapshot_key": context.partition_key}, raw)
    wh.ensure_views()
    return dg.MaterializeResult(metadata={"dagster/row_count": len(raw), "file": str(arch.path),
                                          "sha256": rf.file_hash})


@dg.multi_asset(
    specs=[dg.AssetSpec([PREFIX, "option_quotes"], deps=[intraday_raw_option_quotes], group_name=GROUP,
                        kinds={"parquet"}, description="Clean quotes of one landed snapshot file."),
           dg.AssetSpec([PREFIX, "quote_quarantine"], deps=[intraday_raw_option_quotes], group_name=GROUP,
                        kinds={"parquet"}, description="Rejected rows of one landed snapshot file.")],
    check_specs=checks.check_specs(dg.AssetKey([PREFIX, "option_quotes"])),
    partitions_def=snapshot_partitions, can_subset=False,
)
def intraday_clean_option_quotes(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Normalise one landed file; stale quotes are judged against the underlying's previous snapshot."""
    settings, _ = current_config()
    wh, key = warehouse.get(), context.partition_key
    raw = wh.read("raw_option_quotes", [{"snapshot_key": key}])
    opts = archived(wh.home, key).options
    res = clean_quotes(vendor_columns(raw), options=opts)
    if len(res.clean):
        prev = previous_quotes(wh, sorted(res.clean["underlying"].unique()), str(res.clean["snapshot_id"].min()))
        res = quarantine_stale(res, prev, settings.data.stale_min_underlying_move)
    clean, quarantine = res.clean, res.quarantine.assign(snapshot_key=key)
    wh.write_partition("option_quotes", {"snapshot_key": key}, clean)
    wh.write_partition("quote_quarantine", {"snapshot_key": key}, quarantine)
    wh.ensure_views()
    ck = dg.AssetKey([PREFIX, "option_quotes"])
    check_results = checks.evaluate(ck, raw, clean, quarantine, settings.data.quarantine_warn_share)
    reasons = quarantine["reason"].value_counts().to_dict() if len(quarantine) else {}
    yield dg.MaterializeResult(asset_key=ck, check_results=check_results, metadata={
        "dagster/row_count": len(clean),
        "snapshot_ids": dg.MetadataValue.json(sorted(clean["snapshot_id"].unique().tolist()) if len(clean) else []),
        "quarantined": len(quarantine)})
    yield dg.MaterializeResult(asset_key=[PREFIX, "quote_quarantine"], metadata={
        "dagster/row_count": len(quarantine), "reasons": dg.MetadataValue.json(reasons)})
