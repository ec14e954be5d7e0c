"""Data-quality gate of trade candidates: failed blocking asset checks per (trading date, underlying).

The upstream assets evaluate their checks once per run (``MaterializeResult(check_results=...)``), and a
run usually is a single-run backfill over a partition range, so one check evaluation speaks for every
partition the run materialised. Dagster stores the evaluation without a partition (the project's check
specs are not partitioned); which partitions a run covered is read from the run's own partition tags, the
same tags Dagster resolves the run's partitions from (``DagsterRun.get_resolved_partitions_subset_for_events``):

* ``dagster/asset_partition_range_start`` / ``..._end``: ``"{date}|{underlying}"`` for ``eod_partitions``
  (a rectangle: the dates between start and end, inclusive, times the underlyings between the start and
  end underlying in the static partition order), or plain dates for ``trading_days`` (every underlying);
* ``dagster/partition``: one key of either form.

An evaluation that does carry a partition (a partitioned check spec) is mapped by that partition directly.
"""

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

#: Most recent evaluations read per check key (the walk stops earlier once every asked pair is decided).
HISTORY_LIMIT = 500
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
_RUN_BATCH = 200
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPLETED = {"SUCCEEDED", "FAILED"}

#: What one evaluation covers: first date, last date (inclusive, ``YYYY-MM-DD``), underlyings (None: all).
Coverage = tuple[str, str, frozenset[str] | None]


def blocking_check_keys(assets_defs_or_defs: dg.Definitions | Iterable[object],
                        asset_keys: Iterable[dg.AssetKey | str | Sequence[str]]) -> list[dg.AssetCheckKey]:
    """Keys of the blocking checks (``AssetCheckSpec(blocking=True)``) on the given upstream assets.

    ``assets_defs_or_defs`` is a ``dg.Definitions`` (its assets and standalone asset checks are read, nothing
    is resolved) or an iterable of asset / asset-check definitions; anything else in it (``AssetSpec``,
    source assets) is ignored. Keys come out in the order of ``asset_keys``, then of the check specs.
    """
    if isinstance(assets_defs_or_defs, dg.Definitions):
        defs_list = [*(assets_defs_or_defs.assets or []), *(assets_defs_or_defs.asset_checks or [])]
    else:
        defs_list = list(assets_defs_or_defs)
    wanted = [dg.AssetKey.from_coercible(k) for k in asset_keys]
    found: list[dg.AssetCheckKey] = []
    for d in defs_list:
        if not isinstance(d, dg.AssetsDefinition):
            continue
        for spec in d.check_specs:
            if spec.blocking and spec.asset_key in wanted and spec.key not in found:
                found.append(spec.key)
    return sorted(found, key=lambda k: wanted.index(k.asset_key))  # stable: spec order within an asset


def failed_blocking_checks(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey],
                           days: Sequence[str], underlyings: Sequence[str], *,
                           underlying_order: Sequence[str] | None = None,
                           history_limit: int = HISTORY_LIMIT) -> dict[tuple[str, str], list[str]]:
    """(day, underlying) -> names like 'curve_params:fit_rmse (run 1a2b3c4d)' of blocking checks whose most
    recent evaluation covering that partition failed. Pairs with no failed check are absent.

    For each check key the newest ``history_limit`` (default 500) evaluations are walked, newest first; for
    each asked (day, underlying) the first completed evaluation (SUCCEEDED or FAILED; PLANNED ones, left by
    runs that died before evaluating, are ignored) whose run covered it decides, so a later passing re-run of
    a partition clears an earlier failure. Evaluations older than that bound are not seen: a pair whose only
    evaluations are older counts as not failed. Like Dagster, a failure only blocks with ERROR severity.

    Coverage comes from the evaluation's ``partition`` when set, else from the run's partition tags (see the
    module docstring). ``underlying_order`` is the static order of the underlying dimension that range tags
    refer to (default: the project's ``underlying_partitions``); a range whose end underlying is not in it
    covers just its start and end underlyings. Every distinct run is fetched once (batched); runs that no
    longer exist, and runs or partitions that cannot be parsed as a trading date (x underlying), are skipped.
    Storage errors of the instance itself propagate.
    """
    asked_days = sorted(set(days))
    asked_unds = list(dict.fromkeys(underlyings))
    keys = list(dict.fromkeys(check_keys))
    if not asked_days or not asked_unds or not keys:
        return {}
    order = list(underlying_order) if underlying_order is not None else _universe_order()

    storage = instance.event_log_storage
    histories = {k: [r for r in storage.get_asset_check_execution_history(k, limit=history_limit)
                     if r.status.value in _COMPLETED] for k in keys}
    tags = _run_tags(instance, {r.run_id for recs in histories.values() for r in recs if r.partition is None})
    run_cov: dict[str, Coverage | None] = {}

    out: dict[tuple[str, str], list[str]] = {}
    for key, records in histories.items():
        pending = {u: set(asked_days) for u in asked_unds}
        label = f"{key.asset_key.to_user_string()}:{key.name}"
        for rec in records:
            if not any(pending.values()):
                break
            if rec.partition is not None:
                cov = _key_coverage(rec.partition, rec.partition)
            else:
                if rec.run_id not in run_cov:
                    run_tags = tags.get(rec.run_id)
                    run_cov[rec.run_id] = None if run_tags is None else _run_coverage(run_tags, order)
                cov = run_cov[rec.run_id]
            if cov is None:
                continue
            lo, hi, cov_unds = cov
            hit_days = asked_days[bisect_left(asked_days, lo):bisect_right(asked_days, hi)]
            if not hit_days:
                continue
            failed = _blocks(rec)
            for u in (asked_unds if cov_unds is None else [u for u in asked_unds if u in cov_unds]):
                hit = pending[u].intersection(hit_days)
                if not hit:
                    continue
                pending[u] -= hit
                if failed:
                    name = f"{label} (run {rec.run_id[:8]})"
                    for d in hit:
                        out.setdefault((d, u), []).append(name)
    return dict(sorted(out.items()))


def _universe_order() -> list[str]:
    from volmachine_pipeline.partitions import underlying_partitions

    return list(underlying_partitions.get_partition_keys())


def _run_tags(instance: dg.DagsterInstance, run_ids: set[str]) -> dict[str, Mapping[str, str]]:
    """Tags of the runs that still exist, one storage query per batch of run ids."""
    ids = sorted(run_ids)
    out: dict[str, Mapping[str, str]] = {}
    for i in range(0, len(ids), _RUN_BATCH):
        for run in instance.get_runs(filters=dg.RunsFilter(run_ids=ids[i:i + _RUN_BATCH])):
            out[run.run_id] = run.tags
    return out


def _split(key: str) -> tuple[str, str | None] | None:
    """(date, underlying or None) of a partition key ``date|underlying`` or ``date``; None if not of that form."""
    parts = key.split("|")
    if len(parts) == 1 and _DATE.match(parts[0]):
        return parts[0], None
    if len(parts) == 2:
        if _DATE.match(parts[0]):
            return parts[0], parts[1]
        if _DATE.match(parts[1]):       # dimension names sorting the other way round
            return parts[1], parts[0]
    return None


def _key_coverage(start: str, end: str, order: Sequence[str] = ()) -> Coverage | None:
    a, b = _split(start), _split(end)
    if a is None or b is None or (a[1] is None) != (b[1] is None):
        return None
    if a[1] is None or b[1] is None:
        return a[0], b[0], None
    if a[1] in order and b[1] in order:
        i, j = sorted((order.index(a[1]), order.index(b[1])))
        return a[0], b[0], frozenset(order[i:j + 1])
    return a[0], b[0], frozenset({a[1], b[1]})


def _run_coverage(tags: Mapping[str, str], order: Sequence[str]) -> Coverage | None:
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        return _key_coverage(start, end, order)
    if part := tags.get(PARTITION_TAG):
        return _key_coverage(part, part, order)
    return None       # no partition information: not a run of a partitioned upstream asset


def _blocks(rec) -> bool:
    """A FAILED evaluation blocks unless it was recorded with WARN severity (Dagster blocks on ERROR only)."""
    if rec.status.value != "FAILED":
        return False
    data = getattr(getattr(rec.event, "dagster_event", None), "event_specific_data", None)
    return getattr(data, "severity", dg.AssetCheckSeverity.ERROR) != dg.AssetCheckSeverity.WARN
