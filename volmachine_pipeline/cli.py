"""The ``volmachine`` command line. Runs go through the Dagster instance in ``$VOLMACHINE_HOME/dagster``,
so they show in the UI (``make dev``).

    volmachine demo [--days N] [--end YYYY-MM-DD] [--underlyings SPX,SPY] [--workers 2]
    volmachine ingest FILE... [--underlying SPX --root SPXW --multiplier 100]
    volmachine simulate --start D --end D --out DIR [--intraday] [--underlyings ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

EXIT_BAD_INPUT = 2
QUIET_RUN = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # the CLI prints its own summary


def _instance():
    from volmachine_pipeline.config import volmachine_home

    dh = volmachine_home() / "dagster"
    dh.mkdir(parents=True, exist_ok=True)
    cfg = dh / "dagster.yaml"
    if not cfg.exists() or not cfg.read_text().strip():
        cfg.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(dh)
    import dagster as dg

    return dg.DagsterInstance.get()


def _quiet() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    import logging

    logging.getLogger("dagster").setLevel(logging.WARNING)


def _sessions(end: str | None, days: int) -> list[str]:
    from volmachine_pipeline.partitions import trading_days

    keys = trading_days.get_partition_keys()
    if end:
        keys = [k for k in keys if k <= end]
    if not keys:
        raise SystemExit(f"volmachine: no trading sessions up to {end}")
    return keys[-days:]


def contiguous_blocks(selected: list[str], universe: list[str]) -> list[list[str]]:
    """Split a subset of the universe into runs of neighbours in universe order.

    A multi-partition range is a rectangle (a date range x an underlying range in the universe's
    order), so each block of neighbouring underlyings is one single-run backfill.
    """
    blocks: list[list[str]] = []
    last = -2
    for i, u in enumerate(universe):
        if u in selected:
            if i == last + 1:
                blocks[-1].append(u)
            else:
                blocks.append([u])
            last = i
    return blocks


def run_eod(instance, dates: list[str], underlyings: list[str]) -> None:
    """Single-run backfills of the end-of-day job over dates x underlyings (one run per block)."""
    from volmachine_pipeline.config import current_config
    from volmachine_pipeline.definitions import defs

    job = defs.resolve_job_def("eod_job")
    for block in contiguous_blocks(underlyings, current_config()[1].symbols):
        tags = {"dagster/asset_partition_range_start": f"{dates[0]}|{block[0]}",
                "dagster/asset_partition_range_end": f"{dates[-1]}|{block[-1]}"}
        res = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False, run_config=QUIET_RUN)
        if not res.success:
            failures = [e.message for e in res.all_events if e.is_failure]
            raise SystemExit("volmachine: run failed: " + "; ".join(failures)[:2000])


def _eod_worker(dates: list[str], underlyings: list[str]) -> None:
    """One process's share of a parallel history backfill (its own Dagster instance handle)."""
    _quiet()
    run_eod(_instance(), dates, underlyings)


def run_eod_parallel(instance, dates: list[str], underlyings: list[str], workers: int) -> None:
    """The end-of-day backfill split into ``workers`` groups of neighbouring underlyings, one process each.

    Each group is still one single-run backfill (per contiguous block); the processes write different
    partitions, which the warehouse allows, and share the Dagster instance (SQLite handles the
    concurrent runs). With one worker, or one underlying, it runs in this process.
    """
    workers = max(1, min(workers, len(underlyings)))
    if workers == 1:
        run_eod(instance, dates, underlyings)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from volmachine_core.warmup import warm

    warm()  # compile (or load) the numba kernels once, not once per worker at the same time

    size = -(-len(underlyings) // workers)
    groups = [underlyings[i:i + size] for i in range(0, len(underlyings), size)]
    with ProcessPoolExecutor(max_workers=len(groups), mp_context=mp.get_context("spawn")) as pool:
        for fut in [pool.submit(_eod_worker, dates, g) for g in groups]:
            fut.result()          # re-raises a worker's SystemExit with its message


def run_book(instance) -> None:
    """Read and validate the book file (``book_job``): the daily job's trading assets read the result."""
    from volmachine_pipeline.definitions import defs

    book = defs.resolve_job_def("book_job").execute_in_process(instance=instance, raise_on_error=False,
                                                               run_config=QUIET_RUN)
    if not book.success:
        raise SystemExit("volmachine: reading the book failed: "
                         + "; ".join(e.message for e in book.all_events if e.is_failure)[:2000])


def run_daily(instance, dates: list[str], read_book: bool = True) -> None:
    """The book (``book_job``, unless ``read_book`` is False because it was just read), then one single-run
    backfill of the daily job (wing model and theos, signals, book risk, candidates, sizing) over ``dates``,
    all underlyings."""
    from volmachine_pipeline.definitions import defs

    if read_book:
        run_book(instance)
    tags = {"dagster/asset_partition_range_start": dates[0], "dagster/asset_partition_range_end": dates[-1]}
    res = defs.resolve_job_def("daily_job").execute_in_process(instance=instance, tags=tags, raise_on_error=False,
                                                               run_config=QUIET_RUN)
    if not res.success:
        failures = [e.message for e in res.all_events if e.is_failure]
        raise SystemExit("volmachine: daily run failed: " + "; ".join(failures)[:2000])


def cmd_demo(args) -> int:
    from volmachine_pipeline.config import current_config, volmachine_home
    from volmachine_pipeline.warehouse import Warehouse

    settings, universe = current_config()
    t0 = time.time()
    instance = _instance()
    unds = universe.symbols
    if args.underlyings:
        unds = [u for u in unds if u in args.underlyings.split(",")]
    dates = _sessions(args.end, args.days or settings.models.history_days)
    # one "planned" event per asset for a whole single-run backfill instead of one per partition (Dagster's
    # switch; its cost: partitions of a failed run are not marked failed): saves ~40 s of SQLite writes
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    print(f"volmachine demo: {len(dates)} sessions {dates[0]}..{dates[-1]} x {', '.join(unds)} "
          f"(simulated market, seed {settings.sim.seed})", flush=True)
    if len(dates) > 1:
        run_eod_parallel(instance, dates[:-1], unds, args.workers)
        print(f"  history backfill, market data and surfaces ({min(args.workers, len(unds))} parallel runs): "
              f"{time.time() - t0:.1f} s", flush=True)
        tw = time.time()
        run_daily(instance, dates[:-1])  # reads the book first
        print(f"  history backfill, wing model, theos and signals (one run): {time.time() - tw:.1f} s", flush=True)
    t1 = time.time()
    run_eod(instance, dates[-1:], unds)
    run_daily(instance, dates[-1:], read_book=len(dates) == 1)
    print(f"  latest day {dates[-1]}: {time.time() - t1:.1f} s", flush=True)
    wh = Warehouse(volmachine_home())
    views = wh.refresh_catalog()
    counts = wh.query("SELECT " + ", ".join(f"(SELECT count(*) FROM {v}) AS {v}" for v in views)).iloc[0]
    print(f"\nwarehouse: {wh.root}\ncatalog:   {wh.catalog_path}   (open with: duckdb {wh.catalog_path})")
    for v in views:
        print(f"  {v:24s} {int(counts[v]):>10,d} rows")
    print(f"dagster:   {instance.root_directory}   (make dev opens the UI on it)")
    print(f"done in {time.time() - t0:.1f} s")
    return 0


def cmd_ingest(args) -> int:
    from volmachine_core.market.vendor import VendorFormatError, detect_format
    from volmachine_pipeline.config import volmachine_home
    from volmachine_pipeline.ingest_io import read_raw_file
    from volmachine_pipeline.landing import archive, default_options, duplicate_of, file_sha256, snapshot_key
    from volmachine_pipeline.partitions import SNAPSHOT_PARTITIONS_NAME
    from volmachine_pipeline.warehouse import Warehouse

    home = volmachine_home()
    # validate every file before anything is written
    plans = []
    for f in args.files:
        path = Path(f)
        if not path.is_file():
            print(f"volmachine ingest: {f}: no such file", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            rf = read_raw_file(path)
            detect_format(list(rf.frame.columns), source_file=str(path))
            if args.underlying is None and not _has_column(rf.frame, ("underlying_symbol", "underlying")):
                raise VendorFormatError(f"{path}: no underlying column (underlying_symbol): "
                                        "pass --underlying (and --root)")
        except Exception as exc:  # one line, naming file and column
            print(f"volmachine ingest: {str(exc).splitlines()[0]}", file=sys.stderr)
            return EXIT_BAD_INPUT
        plans.append((path, file_sha256(path)))
    instance = _instance()
    from volmachine_pipeline.definitions import defs

    job = defs.resolve_job_def("intraday_job")
    wh = Warehouse(home)
    for path, sha in plans:
        existing = list(instance.get_dynamic_partitions(SNAPSHOT_PARTITIONS_NAME))
        dup = duplicate_of(sha, existing)
        if dup and not args.force:
            print(f"{path}: already ingested as snapshot partition {dup} (same sha256); skipped "
                  "(--force re-ingests it)")
            continue
        key = dup or snapshot_key(path, sha)
        archive(home, key, path, default_options(path, args.underlying, args.root, args.multiplier), move=False)
        instance.add_dynamic_partitions(SNAPSHOT_PARTITIONS_NAME, [key])
        res = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False,
                                     run_config=QUIET_RUN)
        if not wh.partition_path("option_quotes", {"snapshot_key": key}).exists():
            msgs = "; ".join(e.message for e in res.all_events if e.is_failure)
            print(f"volmachine ingest: {path}: run failed: {msgs[:1000]}", file=sys.stderr)
            return 1
        failed_checks = [f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:"
                         f"{e.asset_check_evaluation_data.check_name}" for e in res.all_events
                         if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed]
        clean = wh.read("option_quotes", [{"snapshot_key": key}])
        quar = wh.read("quote_quarantine", [{"snapshot_key": key}])
        sids = sorted(clean["snapshot_id"].unique()) if len(clean) else []
        reasons = quar["reason"].value_counts().to_dict() if len(quar) else {}
        print(f"{path}: partition {key}; snapshots {', '.join(sids) or '-'}; "
              f"clean {len(clean):,}; quarantined {len(quar):,} {reasons if reasons else ''}".rstrip())
        if failed_checks:
            print(f"  checks not passed: {', '.join(failed_checks)}"
                  + ("" if res.success else " (blocking: downstream assets of this snapshot did not run)"))
    return 0


def _has_column(frame, names) -> bool:
    cols = {str(c).strip().lower() for c in frame.columns}
    return any(n in cols for n in names)


def cmd_simulate(args) -> int:
    import pandas as pd

    from volmachine_core.conventions import trading_sessions
    from volmachine_pipeline.config import current_config
    from volmachine_pipeline.ingest import write_vendor_csv
    from volmachine_pipeline.resources import MarketResource

    settings, universe = current_config()
    unds = args.underlyings.split(",") if args.underlyings else universe.symbols
    sessions = trading_sessions(args.start, args.end)
    sessions = sessions[sessions >= pd.Timestamp(settings.sim.origin)]
    if not len(sessions):
        print(f"volmachine simulate: no sessions between {args.start} and {args.end} "
              f"(the simulated market starts {settings.sim.origin})", file=sys.stderr)
        return EXIT_BAD_INPUT
    market = MarketResource(seed=args.seed).sim(sessions[-1])
    out = Path(args.out)
    n_files = 0
    for d in sessions:
        day = str(d.date())
        for u in unds:
            if args.intraday:
                for t in market.intraday_times(d):
                    chain = market.intraday_chain(d, u, t)
                    write_vendor_csv(chain, out / f"sim-{u}-{pd.Timestamp(t).strftime('%Y%m%dT%H%M')}.csv")
                    n_files += 1
            else:
                chain = market.eod_chain(d, u)
                write_vendor_csv(chain, out / f"sim-{u}-{day.replace('-', '')}T1545.csv")
                n_files += 1
    print(f"wrote {n_files} vendor files to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    _quiet()
    p = argparse.ArgumentParser(prog="volmachine", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="materialise the asset graph on the simulated market (history + latest day)")
    d.add_argument("--days", type=int, help="trading days of history (default settings models.history_days)")
    d.add_argument("--end", help="last session (default: the last completed session)")
    d.add_argument("--underlyings", help="comma-separated subset of the universe")
    d.add_argument("--workers", type=int, default=3 if (os.cpu_count() or 1) > 1 else 1,
                   help="processes for the history backfill, each a single run over a block of underlyings "
                        "(default 3: one more block than the two cores balances unequal chains; 1 on one core)")
    d.set_defaults(fn=cmd_demo)
    i = sub.add_parser("ingest", help="ingest vendor quote files (what the landing sensor does, per file)")
    i.add_argument("files", nargs="+")
    i.add_argument("--underlying", help="underlying symbol for files without one (e.g. SPX)")
    i.add_argument("--root", help="option root for files without one (e.g. SPXW)")
    i.add_argument("--multiplier", type=float, help="contract multiplier (default 100)")
    i.add_argument("--force", action="store_true", help="re-ingest a file already ingested")
    i.set_defaults(fn=cmd_ingest)
    s = sub.add_parser("simulate", help="write vendor files of the embedded simulated market")
    s.add_argument("--start", required=True)
    s.add_argument("--end", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--intraday", action="store_true", help="intraday snapshots instead of end-of-day files")
    s.add_argument("--underlyings", help="comma-separated subset")
    s.add_argument("--seed", type=int, help="override settings sim.seed")
    s.set_defaults(fn=cmd_simulate)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
