"""Trading assets on a temporary VOLMACHINE_HOME (the 14-session SPX demo of conftest): the empty book,
candidates with verdicts in the contract's shape, and a book file with a bad row (greeks, slega history,
open risk counted against the limits)."""

from __future__ import annotations

import json
import warnings

import dagster as dg
import pandas as pd
import pytest

from volmachine_pipeline.warehouse import Warehouse

warnings.filterwarnings("ignore", category=DeprecationWarning)
pytestmark = pytest.mark.slow

EQUITY = 10_000_000.0


def test_empty_book_is_a_normal_case(analytics_home):
    wh = Warehouse(analytics_home)
    assert wh.read("positions").empty and wh.read("position_rejects").empty
    assert wh.read("book_risk").empty
    sized = wh.read("sized_candidates")
    assert len(sized) > 0


def test_sized_candidates_contract_verdicts_and_lineage(analytics_home, contract):
    wh = Warehouse(analytics_home)
    sized = wh.read("sized_candidates")
    assert set(contract["sized_candidates"]) <= set(sized.columns)
    assert not sized["candidate_id"].duplicated().any()
    assert set(sized["verdict"]) <= {"allowed", "blocked"}
    for r in sized.itertuples(index=False):
        lineage = json.loads(r.lineage)
        assert lineage["snapshot_id"].startswith(f"{r.trade_date:%Y-%m-%d}")
        assert lineage["option_quotes"] and lineage["curve_params"] and lineage["wing_model"]
        assert lineage["trade_candidates"] == r.candidate_id
        rules = json.loads(r.rules)
        assert all({"rule", "passed", "value", "limit", "detail"} <= set(x) for x in rules)
        assert (r.verdict == "allowed") == (r.verdict_reasons == "")
    allowed = sized[sized["verdict"] == "allowed"]
    assert len(allowed) > 0
    assert (allowed["max_loss_total"] <= 0.01 * EQUITY + 1e-6).all()
    assert (allowed.groupby("trade_date")["max_loss_total"].sum() <= 0.10 * EQUITY).all()
    assert (allowed["contracts"] >= 1).all() and (allowed["contracts"] % 1 == 0).all()
    # the legs JSON trades every leg at its side of the market
    legs = json.loads(allowed["legs"].iloc[0])
    assert all(leg["price"] == (leg["ask"] if leg["quantity"] > 0 else leg["bid"]) for leg in legs
               if "strike" in leg)
    # the catalog view answers and joins back to the signals it came from
    n = wh.query("select count(*) as n from sized_candidates s join regime r using (trade_date, underlying)")
    assert int(n["n"].iloc[0]) == len(sized)


def test_candidates_carry_defined_risk_and_structures(analytics_home):
    wh = Warehouse(analytics_home)
    cand = wh.read("trade_candidates")
    assert cand["defined_risk"].all() and (cand["max_loss"] > 0).all()
    assert cand["structure"].nunique() >= 2
    legs = wh.read("candidate_legs")
    assert set(legs["candidate_id"]) == set(cand["candidate_id"])


def test_a_book_file_gives_greeks_slega_history_and_open_risk(analytics_home):
    """A two-leg put spread plus a bad row: the bad row is rejected with its reason, the spread gets daily greeks
    (a slega history) and its max loss is open risk in every day's total_open_risk rule."""
    from volmachine_pipeline.cli import _instance
    from volmachine_pipeline.config import config_dir
    from volmachine_pipeline.definitions import defs

    wh = Warehouse(analytics_home)
    days = sorted(wh.partition_values("sized_candidates", "trade_date"))
    cp = wh.read("curve_params", [{"trade_date": days[-3], "underlying": "SPX"}])
    exp = cp.loc[(cp["tau"] - 40 / 365).abs().idxmin()]
    k = round(float(exp["forward"]) * 0.95 / 5) * 5
    expiry = f"{pd.Timestamp(exp['expiry']):%Y-%m-%d}"
    book = config_dir() / "positions.csv"
    book.write_text(
        "position_id,underlying,expiry,strike,right,quantity,entry_price,open_date\n"
        f"p1,SPX,{expiry},{k},P,-2,40.0,{days[-3]}\n"
        f"p2,SPX,{expiry},{k - 100},P,2,20.0,{days[-3]}\n"
        f"p3,SPX,{expiry},{k},X,1,10.0,{days[-3]}\n")
    inst = _instance()
    try:
        assert defs.resolve_job_def("book_job").execute_in_process(instance=inst).success
        rej = wh.read("position_rejects")
        assert rej["position_id"].tolist() == ["p3"] and rej["reason"].iloc[0] == "bad_right"
        res = defs.resolve_job_def("daily_job").execute_in_process(
            instance=inst, tags={"dagster/asset_partition_range_start": days[-3],
                                 "dagster/asset_partition_range_end": days[-1]},
            asset_selection=[dg.AssetKey("book_risk"), dg.AssetKey("sized_candidates")])
        assert res.success
        risk = wh.read("book_risk")
        assert sorted(risk["trade_date"].dt.strftime("%Y-%m-%d").unique()) == days[-3:]
        assert (risk["status"] == "ok").all() and risk["slega"].notna().all()
        assert len(risk) == 6  # two positions x three days: the slega history
        ev = inst.get_latest_materialization_event(dg.AssetKey("book_risk"))
        vol_risk = ev.asset_materialization.metadata["vol_risk_latest"].value
        assert "SPX" in vol_risk and "one_sd_vol_pnl" in vol_risk
        first = risk[risk["trade_date"] == risk["trade_date"].min()]
        entry = (-2 * 40.0 + 2 * 20.0) * 100.0
        assert first["pnl"].sum() == pytest.approx(first["mark"].sum() - entry)
        sized = wh.read("sized_candidates", [{"trade_date": days[-1]}])
        rules = json.loads(sized.loc[sized["rank"] == 1, "rules"].iloc[0])
        tor = next(r for r in rules if r["rule"] == "total_open_risk")
        open_risk = (100.0 - 20.0) * 2 * 100.0  # width minus credit, two contracts
        assert f"open risk {open_risk:,.0f}" in tor["detail"]
    finally:
        book.unlink()
        assert defs.resolve_job_def("book_job").execute_in_process(instance=inst).success
        defs.resolve_job_def("daily_job").execute_in_process(
            instance=inst, tags={"dagster/asset_partition_range_start": days[-3],
                                 "dagster/asset_partition_range_end": days[-1]},
            asset_selection=[dg.AssetKey("book_risk"), dg.AssetKey("sized_candidates")])
    assert wh.read("book_risk").empty
