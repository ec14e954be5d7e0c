"""The data-quality gate of trade candidates on small stand-in assets: a failed blocking check blocks exactly the
(date, underlying) partitions its run covered, a later passing re-run clears them, a date-only asset's failure
blocks every underlying of the date; and the blocking checks of the project's real upstream assets."""

import warnings

import dagster as dg
import pytest

from volmachine_pipeline.partitions import underlying_partitions
from volmachine_pipeline.trading.quality import blocking_check_keys, failed_blocking_checks

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

UNDS = list(underlying_partitions.get_partition_keys())  # SPX, SPY, QQQ, MSFT, NVDA: the project's order
DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-02-01")
EOD = dg.MultiPartitionsDefinition({"date": DAYS, "underlying": dg.StaticPartitionsDefinition(UNDS)})
ASKED = ["2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"]
#: Outcome of the blocking check of each stand-in asset in the next run.
PASSES = {"curves": True, "theos": True, "part": True}


@dg.asset(partitions_def=EOD, backfill_policy=dg.BackfillPolicy.single_run(),
          check_specs=[dg.AssetCheckSpec("fit", asset="curves", blocking=True),
                       dg.AssetCheckSpec("stale", asset="curves")])
def curves() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[
        dg.AssetCheckResult(check_name="fit", passed=PASSES["curves"]),
        dg.AssetCheckResult(check_name="stale", passed=False, severity=dg.AssetCheckSeverity.WARN)])


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(),
          check_specs=[dg.AssetCheckSpec("coverage", asset="theos", blocking=True)])
def theos() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(check_name="coverage", passed=PASSES["theos"])])


@dg.asset(partitions_def=EOD, check_specs=[dg.AssetCheckSpec("rows", asset="part", blocking=True, partitions_def=EOD)])
def part() -> dg.MaterializeResult:
    """A partitioned check spec: Dagster records the evaluation's partition itself."""
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(check_name="rows", passed=PASSES["part"])])


DEFS = dg.Definitions(assets=[curves, theos, part],
                      jobs=[dg.define_asset_job("curves_job", [curves]), dg.define_asset_job("theos_job", [theos]),
                            dg.define_asset_job("part_job", [part])])
CHECKS = blocking_check_keys(DEFS, ["curves", "theos", "part"])
FIT = "curves:fit"


@pytest.fixture
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


def run(instance, asset: str, start: str, end: str | None = None, passed: bool = True) -> str:
    """One run of a stand-in asset over a partition range (single-run backfill) or one partition; its run id."""
    PASSES[asset] = passed
    tags = ({"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end} if end
            else {"dagster/partition": start})
    res = DEFS.resolve_job_def(f"{asset}_job").execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    assert res.success == passed
    return res.run_id


def block(days, unds, name):
    return {(d, u): [name] for d in days for u in unds}


def test_blocking_check_keys_of_stand_ins():
    assert [k.to_user_string() for k in CHECKS] == ["curves:fit", "theos:coverage", "part:rows"]
    assert blocking_check_keys([curves, theos], [dg.AssetKey("theos")]) == [CHECKS[1]]


def test_failed_range_run_blocks_its_rectangle_and_reruns_clear_it(instance):
    bad = run(instance, "curves", "2025-01-07|SPY", "2025-01-09|QQQ", passed=False)
    run(instance, "curves", "2025-01-06|SPX", "2025-01-10|SPX")                  # other underlying: passes
    got = failed_blocking_checks(instance, CHECKS, ASKED, UNDS)
    want = block(["2025-01-07", "2025-01-08", "2025-01-09"], ["SPY", "QQQ"], f"{FIT} (run {bad[:8]})")
    assert got == want

    run(instance, "curves", "2025-01-08|SPY", "2025-01-09|QQQ")                  # passing re-run of a part
    assert failed_blocking_checks(instance, CHECKS, ASKED, UNDS) == block(["2025-01-07"], ["SPY", "QQQ"],
                                                                          f"{FIT} (run {bad[:8]})")
    run(instance, "curves", "2025-01-07|SPY")                                    # one partition (dagster/partition)
    assert failed_blocking_checks(instance, CHECKS, ASKED, UNDS) == block(["2025-01-07"], ["QQQ"],
                                                                          f"{FIT} (run {bad[:8]})")
    run(instance, "curves", "2025-01-07|QQQ")
    assert failed_blocking_checks(instance, CHECKS, ASKED, UNDS) == {}


def test_only_asked_pairs_and_newest_failure_reported(instance):
    run(instance, "curves", "2025-01-06|SPX", "2025-01-10|NVDA", passed=False)
    again = run(instance, "curves", "2025-01-09|SPX", "2025-01-09|SPY", passed=False)
    got = failed_blocking_checks(instance, CHECKS, ["2025-01-09", "2025-01-20"], ["SPY", "MSFT"])
    assert set(got) == {("2025-01-09", "SPY"), ("2025-01-09", "MSFT")}
    assert got[("2025-01-09", "SPY")] == [f"{FIT} (run {again[:8]})"]


def test_date_only_failure_blocks_every_underlying_of_its_dates(instance):
    run(instance, "curves", "2025-01-06|SPX", "2025-01-10|NVDA")
    bad = run(instance, "theos", "2025-01-08", "2025-01-09", passed=False)
    got = failed_blocking_checks(instance, CHECKS, ASKED, UNDS)
    assert got == block(["2025-01-08", "2025-01-09"], UNDS, f"theos:coverage (run {bad[:8]})")

    fit_bad = run(instance, "curves", "2025-01-09|MSFT", "2025-01-09|MSFT", passed=False)
    got = failed_blocking_checks(instance, CHECKS, ASKED, UNDS)
    assert got[("2025-01-09", "MSFT")] == [f"{FIT} (run {fit_bad[:8]})", f"theos:coverage (run {bad[:8]})"]
    run(instance, "theos", "2025-01-09")
    got = failed_blocking_checks(instance, CHECKS, ASKED, UNDS)
    assert set(got) == {("2025-01-08", u) for u in UNDS} | {("2025-01-09", "MSFT")}


def test_everything_passing_returns_nothing(instance):
    assert failed_blocking_checks(instance, CHECKS, ASKED, UNDS) == {}      # no history at all
    run(instance, "curves", "2025-01-06|SPX", "2025-01-10|NVDA")
    run(instance, "theos", "2025-01-06", "2025-01-10")
    run(instance, "part", "2025-01-07|SPX")
    assert failed_blocking_checks(instance, CHECKS, ASKED, UNDS) == {}
    assert failed_blocking_checks(instance, CHECKS, [], UNDS) == {}
    assert failed_blocking_checks(instance, [], ASKED, UNDS) == {}


def test_partitioned_check_uses_the_recorded_partition(instance):
    bad = run(instance, "part", "2025-01-07|QQQ", passed=False)
    assert failed_blocking_checks(instance, CHECKS, ASKED, UNDS) == block(["2025-01-07"], ["QQQ"],
                                                                          f"part:rows (run {bad[:8]})")


def test_unknown_runs_are_skipped_and_history_is_bounded(instance):
    bad = run(instance, "curves", "2025-01-07|SPY", "2025-01-07|SPY", passed=False)
    run(instance, "curves", "2025-01-08|SPY", "2025-01-08|SPY", passed=False)
    # the newest evaluation alone is within a history of one: the older failure is not seen
    got = failed_blocking_checks(instance, CHECKS, ASKED, UNDS, history_limit=1)
    assert set(got) == {("2025-01-08", "SPY")}
    instance.delete_run(bad)
    got = failed_blocking_checks(instance, CHECKS, ASKED, UNDS)
    assert set(got) == {("2025-01-08", "SPY")}


def test_range_follows_the_given_underlying_order(instance):
    bad = run(instance, "curves", "2025-01-07|SPY", "2025-01-07|MSFT", passed=False)  # SPY, QQQ, MSFT
    name = f"{FIT} (run {bad[:8]})"
    assert failed_blocking_checks(instance, CHECKS, ASKED, UNDS) == block(["2025-01-07"], ["SPY", "QQQ", "MSFT"], name)
    got = failed_blocking_checks(instance, CHECKS, ASKED, UNDS, underlying_order=["MSFT", "NVDA", "SPY", "SPX", "QQQ"])
    assert got == block(["2025-01-07"], ["SPY", "NVDA", "MSFT"], name)


def test_blocking_check_keys_of_the_project():
    from volmachine_pipeline.definitions import defs

    keys = blocking_check_keys(defs, ["option_quotes", "curve_params", "wing_theos", "wing_model"])
    assert {k.to_user_string() for k in keys} == {
        "option_quotes:row_conservation", "option_quotes:schema", "curve_params:arb_free_share",
        "curve_params:fit_rmse", "curve_params:forward_sanity", "curve_params:quotes_per_expiry",
        "wing_theos:theo_coverage"}
    names = {k.name for k in keys}
    assert not names & {"stale_quotes", "quarantine_rate", "fit_quality", "option_quotes_freshness"}
    assert all(k.asset_key.path[0] != "intraday" for k in keys)
