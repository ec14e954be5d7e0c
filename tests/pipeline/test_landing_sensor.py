"""The landing sensor and the intraday chain: one dynamic partition per new file, duplicates and bad files."""

from __future__ import annotations

import warnings

import dagster as dg
import pandas as pd
import pytest

from volmachine_pipeline.landing import duplicate_of, snapshot_key
from volmachine_pipeline.partitions import SNAPSHOT_PARTITIONS_NAME

warnings.filterwarnings("ignore", category=DeprecationWarning)

GENERIC = """underlying,quote_ts,expiry,strike,right,bid,ask,underlying_price,open_interest
XYZ,2025-03-03 10:30:00,2025-03-21,95,P,0.80,0.90,100.2,10
XYZ,2025-03-03 10:30:00,2025-03-21,100,C,2.40,2.50,100.2,20
XYZ,2025-03-03 10:30:00,2025-03-21,100,P,2.10,2.20,100.2,20
XYZ,2025-03-03 10:30:00,2025-03-21,105,C,0.70,0.60,100.2,5
XYZ,2025-03-03 10:30:00,2025-03-21,105,X,0.70,0.80,100.2,5
"""


def _defs():
    from volmachine_pipeline.definitions import defs

    return defs


def _sensor(defs):
    return defs.resolve_sensor_def("landing_sensor")


def test_snapshot_key_and_duplicate_lookup(tmp_path):
    p = tmp_path / "My File (1).CSV"
    key = snapshot_key(p, "ab" * 32)
    assert key == "my_file_1-" + "ab" * 6
    assert duplicate_of("ab" * 32, ["x-000000000000", key]) == key
    assert duplicate_of("cd" * 32, [key]) is None


def test_sensor_adds_partition_and_run_then_recognises_duplicate(home):
    landing = home / "landing"
    landing.mkdir()
    (landing / "xyz_1030.csv").write_text(GENERIC)
    (landing / "notes.txt").write_text("ignored: not a quote file suffix")
    defs = _defs()
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, definitions=defs)
        res = _sensor(defs)(ctx)
        assert isinstance(res, dg.SensorResult)
        assert len(res.run_requests) == 1
        key = res.run_requests[0].partition_key
        assert key.startswith("xyz_1030-")
        (add,) = res.dynamic_partitions_requests
        assert list(add.partition_keys) == [key]
        assert not (landing / "xyz_1030.csv").exists()
        assert (home / "archive" / key / "xyz_1030.csv").exists()
        assert (landing / "notes.txt").exists()
        instance.add_dynamic_partitions(SNAPSHOT_PARTITIONS_NAME, [key])

        (landing / "again_same_bytes.csv").write_text(GENERIC)
        res2 = _sensor(defs)(dg.build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(res2, dg.SkipReason)
        assert not (landing / "again_same_bytes.csv").exists()
        assert list((home / "archive" / "duplicates").iterdir())


def test_sensor_rejects_unreadable_file_with_reason(home):
    landing = home / "landing"
    landing.mkdir()
    (landing / "broken.csv").write_text("foo,bar\n1,2\n")
    defs = _defs()
    with dg.instance_for_test() as instance:
        res = _sensor(defs)(dg.build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(res, dg.SkipReason)
        assert (landing / "rejected" / "broken.csv").exists()
        assert "broken.csv" in (landing / "rejected" / "broken.csv.error.txt").read_text()
        assert instance.get_dynamic_partitions(SNAPSHOT_PARTITIONS_NAME) == []


def test_intraday_chain_materialises_clean_and_quarantine(home):
    from volmachine_pipeline.warehouse import Warehouse

    landing = home / "landing"
    landing.mkdir()
    (landing / "xyz_1030.csv").write_text(GENERIC)
    defs = _defs()
    with dg.instance_for_test() as instance:
        res = _sensor(defs)(dg.build_sensor_context(instance=instance, definitions=defs))
        key = res.run_requests[0].partition_key
        instance.add_dynamic_partitions(SNAPSHOT_PARTITIONS_NAME, [key])
        job = defs.resolve_job_def("intraday_job")
        out = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
                  for e in out.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
        assert checks["row_conservation"] and checks["schema"]
        assert checks["quarantine_rate"] is False  # 2 of 5 rows bad: above the 5% warning share
        # three quotes cannot make a curve: the blocking check stops the run after the surface step
        assert checks["quotes_per_expiry"] is False and not out.success
    wh = Warehouse(home)
    clean = wh.read("option_quotes")
    quar = wh.read("quote_quarantine")
    assert len(clean) == 3 and len(quar) == 2
    assert set(quar["reason"]) == {"crossed", "bad_right"}
    assert (clean["snapshot_id"] == "2025-03-03T1030").all()
    assert pd.Timestamp(clean["expiry_ts"].iloc[0]) == pd.Timestamp("2025-03-21 20:00", tz="UTC")
    raw = wh.read("raw_option_quotes")
    assert len(raw) == 5 and raw["strike"].tolist() == ["95", "100", "100", "105", "105"]


@pytest.mark.parametrize("content", ["", "\x00\x01\x02garbage", "underlying,quote_ts\nXYZ,2025-01-01\n"])
def test_cli_ingest_refuses_unreadable_files_and_writes_nothing(home, tmp_path, capsys, content):
    from volmachine_pipeline.cli import main

    f = tmp_path / "bad.csv"
    f.write_bytes(content.encode())
    assert main(["ingest", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.csv" in err
    assert not (home / "warehouse").exists() and not (home / "archive").exists()


def test_definitions_load_with_the_documented_asset_keys():
    defs = _defs()
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_option_quotes", "option_quotes", "quote_quarantine", "underlying_bars", "sim_truth",
            "intraday/raw_option_quotes", "intraday/option_quotes", "intraday/quote_quarantine",
            "wing_features", "wing_model", "wing_theos", "theo_curves", "intraday/wing_theos",
            "intraday/theo_curves"} <= keys
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"eod_job", "wing_job", "daily_job", "intraday_job"}
    assert defs.resolve_sensor_def("landing_sensor").default_status == dg.DefaultSensorStatus.RUNNING
