"""Signal assets on a temporary VOLMACHINE_HOME (the 14-session SPX demo of conftest): realised vol, curve
signals, regime and edge_signals for every day, in the contract's shape; a re-run of one day reproduces it."""

from __future__ import annotations

import json
import warnings

import dagster as dg
import pandas as pd
import pytest

from volmachine_core.signals import EDGES, REGIMES
from volmachine_pipeline.warehouse import Warehouse

warnings.filterwarnings("ignore", category=DeprecationWarning)
pytestmark = pytest.mark.slow

DAYS = 14


def test_signal_tables_cover_every_day(analytics_home):
    wh = Warehouse(analytics_home)
    rv, vs, reg = wh.read("realized_vol"), wh.read("vol_signals"), wh.read("regime")
    for t in (rv, vs, reg):
        assert t["trade_date"].nunique() == DAYS and set(t["underlying"]) == {"SPX"}
    assert rv["rv_yz"].iloc[-1] > 0 and (rv["n_obs"].iloc[-1] == DAYS - 1)
    assert (vs["iv_30d"] > 0).all() and (vs["skew"] > 0).all()  # index skew: puts over calls
    assert set(reg["regime"]) <= set(REGIMES) and reg["confidence"].between(0, 1).all()
    feats = json.loads(reg["features"].iloc[-1])
    assert {"rv", "rv_pct", "iv_30d", "iv30_pct", "term", "trend_t", "thresholds"} <= set(feats)


def test_edge_signals_rows_and_metadata(analytics_home):
    wh = Warehouse(analytics_home)
    e = wh.read("edge_signals")
    assert set(e["edge"]) <= set(EDGES) and {"wing", "vrp", "term_structure", "skew", "gamma"} <= set(e["edge"])
    assert not e.duplicated(["trade_date", "underlying", "edge"]).any()
    assert e["strength"].between(0, 1).all() and (e.loc[~e["fired"], "strength"] == 0).all()
    assert e["rationale"].str.contains("regime ").all()
    gamma = e[e["edge"] == "gamma"]
    assert gamma["trade_date"].nunique() == DAYS
    m = json.loads(gamma["metrics"].iloc[-1])
    assert m["headline"] == "calls_long_puts_short" and m["gex_calls_long_puts_short"] < 0
    # the catalog view answers too
    n = wh.query("select count(*) as n from edge_signals join regime using (trade_date, underlying)")
    assert int(n["n"].iloc[0]) == len(e)


def test_rerunning_one_day_reproduces_regime_and_edges(analytics_home):
    """The regime's hysteresis continues from the stored previous day, so one day re-run alone is the same."""
    from volmachine_pipeline.cli import _instance
    from volmachine_pipeline.definitions import defs

    wh = Warehouse(analytics_home)
    day = sorted(wh.partition_values("regime", "trade_date"))[-2]
    before = (wh.read("regime", [{"trade_date": day}]), wh.read("edge_signals", [{"trade_date": day}]))
    res = defs.resolve_job_def("daily_job").execute_in_process(
        instance=_instance(), partition_key=day, raise_on_error=False,
        asset_selection=[dg.AssetKey("regime"), dg.AssetKey("edge_signals")])
    assert res.success
    after = (wh.read("regime", [{"trade_date": day}]), wh.read("edge_signals", [{"trade_date": day}]))
    for b, a in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(b.reset_index(drop=True), a.reset_index(drop=True))
    mats = [e for e in res.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    md = mats[-1].event_specific_data.materialization.metadata
    assert "SPX_signals" in md and "data:image/png;base64," in md["SPX_signals"].value
