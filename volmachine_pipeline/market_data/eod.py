"""End-of-day market-data assets, partitioned by trading date x underlying (single-run backfills).

A range of partitions is one run: the asset receives every (date, underlying) key of the range and
processes them together, vectorised, writing one Parquet file per partition.
"""


from pathlib import Path

import dagster as dg
import pandas as pd

from volmachine_core.conventions import previous_session
from volmachine_core.market.clean import clean_quotes, quarantine_stale
from volmachine_pipeline.config import current_config
from volmachine_pipeline.ingest import land_vendor_files, vendor_columns
from volmachine_pipeline.market_data import checks
from volmachine_pipeline.partitions import eod_keys, eod_partitions
from volmachine_pipeline.resources import MarketResource, WarehouseResource

EOD_BY = ["trade_date", "underlying"]
GROUP = "market_data"
single_run = dg.BackfillPolicy.single_run()


def _parts(keys):
    return [{"trade_date": d, "underlying": u} for d, u in keys]


def _sim_eod_path(home: Path, key: tuple) -> Path:
    d, u = (str(x) for x in key)
    return home / "sources" / "sim" / "eod" / d / f"sim-{u}-{d.replace('-', '')}T1545.csv"


def _in_keys(df: pd.DataFrame, date_col: str, keys: list[tuple[str, str]]) -> pd.Series:
    """Rows whose (date, underlying) is one of this run's partitions (vectorised)."""
    d = pd.to_datetime(df[date_col]).dt.strftime("%Y-%m-%d")
    idx = pd.MultiIndex.from_arrays([d, df["underlying"].astype(str)])
    return pd.Series(idx.isin(pd.MultiIndex.from_tuples(keys)), index=df.index)


@dg.asset(partitions_def=eod_partitions, backfill_policy=single_run, group_name=GROUP,
          kinds={"parquet", "duckdb"}, code_version="1")
def raw_option_quotes(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                      market: MarketResource) -> dg.MaterializeResult:
    """Vendor quote rows exactly as received (text), one file per trading date x underlying.

    With ``data.source: sim`` the embedded market writes its Cboe-format end-of-day file to
    ``$VOLMACHINE_HOME/sources/sim/eod/`` and that file is ingested like any vendor file.
    """
    wh, keys = warehouse.get(), eod_keys(context)
    if market.source() != "sim":
        raise dg.Failure("end-of-day partitions need data.source: sim; with data.source: files, quotes "
                         "arrive through the landing folder (`volmachine ingest` or the landing sensor)")
    sim = market.sim(max(d for d, _ in keys))
    chains = sim.eod_chains(sorted({d for d, _ in keys}), sorted({u for _, u in keys}))
    chains = chains[_in_keys(chains.rename(columns={"underlying_symbol": "underlying"}), "quote_date", keys)]
    raw = land_vendor_files(wh.home, chains, ["quote_date", "underlying_symbol"], EOD_BY, _sim_eod_path)
    wh.write_partitions("raw_option_quotes", raw, EOD_BY, keys, drop_by=True)
    wh.ensure_views()
    return dg.MaterializeResult(metadata={"dagster/row_count": len(raw), "partitions": len(keys),
                                          "files": raw["source_file"].nunique()})


@dg.multi_asset(
    specs=[dg.AssetSpec("option_quotes", deps=[raw_option_quotes], group_name=GROUP, kinds={"parquet"},
                        description="Clean quotes (contract view option_quotes), one file per date x underlying."),
           dg.AssetSpec("quote_quarantine", deps=[raw_option_quotes], group_name=GROUP, kinds={"parquet"},
                        description="Rejected raw rows with reason codes.")],
    check_specs=checks.check_specs(dg.AssetKey("option_quotes")),
    partitions_def=eod_partitions, backfill_policy=single_run, can_subset=False,
)
def clean_option_quotes(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Normalise raw rows into clean quotes; bad rows to quarantine with a reason (stale vs the prior session)."""
    settings, _ = current_config()
    wh, keys = warehouse.get(), eod_keys(context)
    raw = wh.read_with_partition("raw_option_quotes", _parts(keys))
    dates = sorted({d for d, _ in keys})
    prior = previous_session(dates[0])
    previous = wh.read("option_quotes", [{"trade_date": prior.date(), "underlying": u}
                                         for u in sorted({u for _, u in keys})]) if prior is not None else None
    res = clean_quotes(vendor_columns(raw), options={"source": "sim"})
    res = quarantine_stale(res, previous, settings.data.stale_min_underlying_move)
    part = raw.drop_duplicates("source_file").set_index("source_file")[["_part_trade_date", "_part_underlying"]]
    part.columns = EOD_BY
    # a quarantined row belongs to its file's partition (its own underlying field may be unreadable)
    quarantine = res.quarantine.drop(columns="underlying").join(part, on="source_file")
    clean = res.clean
    wh.write_partitions("option_quotes", clean, EOD_BY, keys)
    wh.write_partitions("quote_quarantine", quarantine, EOD_BY, keys)
    wh.ensure_views()
    key = dg.AssetKey("option_quotes")
    check_results = checks.evaluate(key, raw, clean, quarantine, settings.data.quarantine_warn_share)
    reasons = quarantine["reason"].value_counts().to_dict() if len(quarantine) else {}
    yield dg.MaterializeResult(asset_key=key, check_results=check_results, metadata={
        "dagster/row_count": len(clean), "snapshots": int(clean["snapshot_id"].nunique()) if len(clean) else 0,
        "quarantined": len(quarantine)})
    yield dg.MaterializeResult(asset_key="quote_quarantine", metadata={
        "dagster/row_count": len(quarantine), "reasons": dg.MetadataValue.json(reasons)})


@dg.asset(partitions_def=eod_partitions, backfill_policy=single_run, group_name=GROUP,
          kinds={"parquet"}, code_version="1")
def underlying_bars(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    market: MarketResource) -> dg.MaterializeResult:
    """Daily open/high/low/close/volume of each underlying."""
    wh, keys = warehouse.get(), eod_keys(context)
    sim = market.sim(max(d for d, _ in keys))
    bars = sim.bars(sorted({d for d, _ in keys}), sorted({u for _, u in keys}))
    bars = bars[_in_keys(bars, "trade_date", keys)]
    wh.write_partitions("underlying_bars", bars, EOD_BY, keys)
    wh.ensure_views()
    return dg.MaterializeResult(metadata={"dagster/row_count": len(bars)})


#: warehouse table -> SimMarket method that produces it
SIM_TRUTH = {
    "sim_truth_forwards": "truth_forwards",
    "sim_truth_surface": "truth_surface",
    "sim_truth_mispricings": "truth_mispricings",
    "sim_truth_regimes": "truth_regimes",
    "sim_truth_events": "truth_events",
    "sim_truth_bad_quotes": "truth_bad_quotes",
}


@dg.asset(partitions_def=eod_partitions, backfill_policy=single_run, group_name="sim_truth",
          kinds={"parquet"}, code_version="1")
def sim_truth(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
              market: MarketResource) -> dg.MaterializeResult:
    """What the embedded market really did, per date x underlying: the ``sim_truth_*`` tables.

    One asset writing six tables (forwards, surface, mispricings, regimes, events, bad quotes), so a
    history backfill records one event per partition rather than six.
    """
    wh, keys = warehouse.get(), eod_keys(context)
    dates, unds = sorted({d for d, _ in keys}), sorted({u for _, u in keys})
    sim = market.sim(max(dates))
    rows = {}
    for table, method in SIM_TRUTH.items():
        df = (sim.truth_events(unds, dates[0], dates[-1]) if method == "truth_events"
              else getattr(sim, method)(dates, unds))
        date_col = "event_date" if table == "sim_truth_events" else "trade_date"
        if date_col not in df.columns:  # snapshot-keyed tables carry the date in snapshot_id
            df = df.assign(trade_date=df["snapshot_id"].str.slice(0, 10))
            date_col = "trade_date"
        df = df[_in_keys(df, date_col, keys)]
        df = df.assign(partition_date=pd.to_datetime(df[date_col]).dt.strftime("%Y-%m-%d"))
        wh.write_partitions(table, df, ["partition_date", "underlying"], keys)
        rows[table] = len(df)
    wh.ensure_views()
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(rows.values()),
                                          "rows_by_table": dg.MetadataValue.json(rows)})
