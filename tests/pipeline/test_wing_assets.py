"""Wing assets on a temporary VOLMACHINE_HOME: demo history -> features, point-in-time model, theos,
theo curves; the model of a date ignores later features; intraday snapshots get theos too."""

from __future__ import annotations

import warnings

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from volmachine_pipeline.cli import main
from volmachine_pipeline.warehouse import Warehouse

warnings.filterwarnings("ignore", category=DeprecationWarning)
pytestmark = pytest.mark.slow

END, DAYS = "2025-03-14", 14  # the analytics_home demo (tests/pipeline/conftest.py)


@pytest.fixture(scope="module")
def wing_home(analytics_home):
    return analytics_home


def test_demo_materialises_features_model_theos_and_theo_curves(wing_home):
    wh = Warehouse(wing_home)
    feats, models = wh.read("wing_features"), wh.read("wing_model")
    theos, curves = wh.read("wing_theos"), wh.read("theo_curves")
    assert feats["trade_date"].nunique() == DAYS and feats["usable"].mean() > 0.95
    assert feats["dte"].between(7, 180).all() and 0.0 not in set(feats["target_sd"])
    assert models["fit_date"].nunique() == DAYS
    ok = models[models["status"] == "ok"]
    assert ok["fit_date"].nunique() == DAYS - 5          # five sessions of warm-up
    assert (models["window_end"] < models["fit_date"]).all()
    assert set(ok["target_sd"]) == {s / 2 for s in range(-6, 7)} - {0.0}
    assert ok["r2"].median() > 0.3 and (ok["n_obs"] >= 30).all()
    last = theos[theos["trade_date"] == theos["trade_date"].max()]
    assert (last["status"] == "ok").all() and len(last) > 1000
    assert (last["fit_date"] == last["trade_date"]).all()    # fitted for the day, on the days before it
    assert np.allclose(last["pnl_theo"], -last["vega"] * last["residual"] * last["multiplier"])
    assert curves["model"].eq("theo").all() and curves["arb_free"].mean() > 0.9
    with_catalog = wh.query("select count(*) as n from wing_theos join wing_model using (underlying)"
                            " where wing_model.fit_date = wing_theos.fit_date and wing_model.target_sd = 1.0")
    assert int(with_catalog["n"].iloc[0]) == int((theos["status"] == "ok").sum())


def test_model_of_a_date_ignores_features_from_that_date_on(wing_home):
    """Tamper with the features of t and every later session, refit t: the model of t is unchanged."""
    from volmachine_pipeline.cli import _instance
    from volmachine_pipeline.definitions import defs

    wh = Warehouse(wing_home)
    models = wh.read("wing_model")
    t = sorted(models["fit_date"].unique())[-3]
    before = models[models["fit_date"] == t].sort_values(["underlying", "target_sd"]).reset_index(drop=True)
    feats = wh.read("wing_features")
    later = feats["trade_date"] >= t
    assert later.any()
    feats.loc[later, "y"] = feats.loc[later, "y"] * 3.0 + 0.1
    wh.write_partitions("wing_features", feats, ["trade_date"])
    day = f"{pd.Timestamp(t):%Y-%m-%d}"
    res = defs.resolve_job_def("wing_job").execute_in_process(
        instance=_instance(), partition_key=day, raise_on_error=False,
        asset_selection=[dg.AssetKey("wing_model")])
    assert res.success
    after = wh.read("wing_model", [{"fit_date": day}]).sort_values(["underlying", "target_sd"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)


def test_intraday_snapshot_gets_theos_from_the_latest_model(wing_home, tmp_path, capsys):
    out = tmp_path / "intra"
    assert main(["simulate", "--start", END, "--end", END, "--out", str(out), "--underlyings", "SPX",
                 "--intraday"]) == 0
    f = sorted(out.glob("*.csv"))[3]
    assert main(["ingest", str(f)]) == 0
    assert "checks not passed" not in capsys.readouterr().out
    wh = Warehouse(wing_home)
    theos = wh.read("wing_theos", [{"snapshot_key": k} for k in wh.partition_values("wing_theos", "snapshot_key")])
    assert len(theos) > 1000 and (theos["status"] == "ok").all()
    assert (theos["fit_date"] == pd.Timestamp(END)).all()
    assert theos["snapshot_id"].str.startswith(f"{END}T").all()
