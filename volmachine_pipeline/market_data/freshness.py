"""Freshness check: the newest clean quotes are no older than a few exchange sessions."""


import dagster as dg
import pandas as pd

from volmachine_core.conventions import trading_sessions
from volmachine_pipeline.config import current_config
from volmachine_pipeline.resources import WarehouseResource


@dg.asset_check(asset="option_quotes", description="Warns when the newest trade_date in option_quotes is more "
                "than settings data.freshness_max_sessions sessions behind the last completed session.")
def option_quotes_freshness(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    wh = warehouse.get()
    settings, _ = current_config()
    dates = wh.partition_values("option_quotes", "trade_date")  # end-of-day partitions, from folder names
    if not dates:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"reason": "no end-of-day clean quotes yet"})
    newest = dates[-1]
    today = pd.Timestamp.now(tz="America/New_York").tz_localize(None).normalize()
    sessions = trading_sessions(pd.Timestamp(newest), today - pd.Timedelta(days=1))
    behind = max(len(sessions) - 1, 0)
    return dg.AssetCheckResult(passed=behind <= settings.data.freshness_max_sessions,
                               severity=dg.AssetCheckSeverity.WARN,
                               metadata={"newest_trade_date": str(pd.Timestamp(newest).date()),
                                         "sessions_behind": behind,
                                         "allowed": settings.data.freshness_max_sessions})
