"""End-of-day assets materialised with dagster.materialize on a temporary VOLMACHINE_HOME."""

from __future__ import annotations

import warnings

import dagster as dg
import pandas as pd

from volmachine_pipeline.market_data import eod
from volmachine_pipeline.resources import MarketResource, WarehouseResource
from volmachine_pipeline.surfaces.assets import vol_surface
from volmachine_pipeline.warehouse import Warehouse

warnings.filterwarnings("ignore", category=DeprecationWarning)

ASSETS = [eod.raw_option_quotes, eod.clean_option_quotes, eod.underlying_bars, eod.sim_truth]
WITH_SURFACE = [*ASSETS, vol_surface]


def _materialise(home, start, end, und, seed, assets=ASSETS):
    with dg.instance_for_test() as instance:
        res = dg.materialize(
            assets, instance=instance,
            resources={"warehouse": WarehouseResource(home=str(home)), "market": MarketResource(seed=seed)},
            tags={"dagster/asset_partition_range_start": f"{start}|{und}",
                  "dagster/asset_partition_range_end": f"{end}|{und}"},
            raise_on_error=False)
        checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
                  for e in res.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
        mats = [e for e in res.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    return res, checks, mats


def test_range_is_one_run_and_every_raw_row_is_accounted_for(home):
    res, checks, mats = _materialise(home, "2025-06-02", "2025-06-04", "NVDA", seed=11)
    assert res.success
    assert checks["row_conservation"] and checks["schema"]
    # one materialisation per asset per partition, from a single run
    parts = {e.partition for e in mats}
    assert parts == {f"{d}|NVDA" for d in ("2025-06-02", "2025-06-03", "2025-06-04")}
    wh = Warehouse(home)
    raw, clean, quar = wh.read("raw_option_quotes"), wh.read("option_quotes"), wh.read("quote_quarantine")
    assert len(raw) == len(clean) + len(quar)
    keys = pd.concat([clean[["source_file", "source_row"]], quar[["source_file", "source_row"]]])
    assert not keys.duplicated().any()
    assert set(clean["underlying"]) == {"NVDA"} and set(clean["source"]) == {"sim"}
    assert clean["trade_date"].nunique() == 3
    # each partition is its own Parquet file in hive-style folders
    assert len(wh.files("option_quotes")) == 3
    assert wh.files("option_quotes")[0].parent.name == "underlying=NVDA"
    bars = wh.read("underlying_bars")
    assert len(bars) == 3 and (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()


def test_planted_bad_quotes_are_quarantined_with_their_reason(home):
    res, _, _ = _materialise(home, "2025-06-02", "2025-06-06", "SPX", seed=5)
    assert res.success
    wh = Warehouse(home)
    truth = wh.read("sim_truth_bad_quotes")
    quar = wh.read("quote_quarantine")
    assert len(truth) > 0
    # reasons the model-free ingest checks can always see (below_intrinsic needs the parity forward,
    # stale needs the previous session and a quote that should have moved: see quality.py)
    always = truth[truth["reason"].isin(["crossed", "zero_ask", "negative_price", "missing_field", "duplicate"])]
    got = quar["reason"].value_counts()
    for reason, n in always["reason"].value_counts().items():
        assert got.get(reason, 0) >= n, (reason, n, got.to_dict())
    # and nothing quarantined that the simulator did not plant
    assert len(quar) <= len(truth)


def test_rematerialising_replaces_partitions(home):
    _materialise(home, "2025-06-02", "2025-06-03", "MSFT", seed=3)
    wh = Warehouse(home)
    first = len(wh.read("option_quotes"))
    res, _, _ = _materialise(home, "2025-06-03", "2025-06-03", "MSFT", seed=3)
    assert res.success
    assert len(wh.read("option_quotes")) == first


def test_surface_assets_match_the_simulator_truth(home):
    res, checks, _ = _materialise(home, "2025-06-05", "2025-06-06", "SPX", seed=9, assets=WITH_SURFACE)
    assert res.success
    for name in ("arb_free_share", "fit_rmse", "forward_sanity", "quotes_per_expiry"):
        assert checks[name], name
    wh = Warehouse(home)
    fw = wh.read("forwards").merge(wh.read("sim_truth_forwards"), on=["snapshot_id", "underlying", "expiry"],
                                   suffixes=("", "_true"))
    week = fw["tau"] > 7 / 365
    assert len(fw) > 20
    assert ((fw["forward"] / fw["forward_true"] - 1).abs()[week] * 1e4).median() < 1.0
    cp = wh.read("curve_params")
    assert cp["arb_free"].mean() >= 0.995 and set(cp["trade_date"].dt.strftime("%Y-%m-%d")) == {
        "2025-06-05", "2025-06-06"}
    pts = wh.read("curve_points")
    assert sorted(pts["target_sd"].unique()) == [x / 2 for x in range(-6, 7)]
