"""Partitions: exchange trading date x underlying for end-of-day work; one dynamic partition per snapshot.

* ``trading_days``: XNYS sessions (weekends and exchange holidays excluded) from the configured origin,
  America/New_York; the newest partition is the last completed session.
* ``eod_partitions``: ``date`` x ``underlying``; keys look like ``2025-01-02|SPX``.
* ``snapshot_partitions``: dynamic, one key per landed quote file / simulator tick, added by the
  landing sensor or ``volmachine ingest``.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pandas as pd

from volmachine_core.conventions import CALENDAR_END, exchange_holidays, trading_sessions
from volmachine_pipeline.config import current_config

SNAPSHOT_PARTITIONS_NAME = "snapshot"


def _trading_days() -> dg.DailyPartitionsDefinition:
    settings, _ = current_config()
    start = pd.Timestamp(settings.sim.origin)
    hol = [pd.Timestamp(h).to_pydatetime() for h in exchange_holidays()
           if start <= pd.Timestamp(h) <= pd.Timestamp(CALENDAR_END)]
    return dg.DailyPartitionsDefinition(
        start_date=datetime(start.year, start.month, start.day),
        timezone="America/New_York",
        exclusions=["0 0 * * 6", "0 0 * * 0", *hol],
    )


trading_days = _trading_days()
underlying_partitions = dg.StaticPartitionsDefinition(current_config()[1].symbols)
eod_partitions = dg.MultiPartitionsDefinition({"date": trading_days, "underlying": underlying_partitions})
snapshot_partitions = dg.DynamicPartitionsDefinition(name=SNAPSHOT_PARTITIONS_NAME)


def eod_keys(context) -> list[tuple[str, str]]:
    """(date, underlying) pairs of the partitions this run materialises (one or a whole range)."""
    keys = context.partition_keys if context.has_partition_key_range or context.has_partition_key else []
    out = []
    for k in keys:
        mk = k if isinstance(k, dg.MultiPartitionKey) else dg.MultiPartitionKey(
            dict(zip(["date", "underlying"], str(k).split("|"), strict=True)))
        out.append((mk.keys_by_dimension["date"], mk.keys_by_dimension["underlying"]))
    return sorted(out)


def day_keys(context) -> list[str]:
    """Trading dates (YYYY-MM-DD) a ``trading_days`` run materialises: one partition or a whole range."""
    return sorted(context.partition_keys if context.has_partition_key_range or context.has_partition_key else [])


def sessions_before(first: str, last: str, n: int) -> list[str]:
    """The ``n`` sessions before ``first`` followed by the sessions ``first..last`` (YYYY-MM-DD)."""
    days = trading_sessions(pd.Timestamp(first) - pd.Timedelta(days=int(n * 1.6) + 15), last)
    i = int(days.searchsorted(pd.Timestamp(first)))
    return [f"{d:%Y-%m-%d}" for d in days[max(i - n, 0):]]


def eod_parts(days: list[str]) -> list[dict]:
    """Warehouse partitions (trade_date x underlying) of ``days`` for every underlying of the universe."""
    return [{"trade_date": d, "underlying": u} for d in days for u in current_config()[1].symbols]


def date_parts(days: list[str]) -> list[dict]:
    """Warehouse partitions of date-partitioned tables for ``days``."""
    return [{"trade_date": d} for d in days]
