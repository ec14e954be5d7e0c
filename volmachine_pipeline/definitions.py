"""The Dagster Definitions of volmachine (``dagster dev`` loads ``defs`` from here)."""

from __future__ import annotations

import dagster as dg

from volmachine_pipeline.market_data import eod, intraday
from volmachine_pipeline.market_data.freshness import option_quotes_freshness
from volmachine_pipeline.market_data.sensors import make_landing_sensor
from volmachine_pipeline.resources import MarketResource, WarehouseResource
from volmachine_pipeline.signals.assets import edge_signals, realized_vol, regime
from volmachine_pipeline.surfaces.assets import intraday_vol_surface, vol_surface
from volmachine_pipeline.trading.assets import book_risk, positions, sized_candidates, trade_candidates
from volmachine_pipeline.wing.assets import intraday_wing_theos, wing_features, wing_model, wing_theos

EOD_ASSETS = [eod.raw_option_quotes, eod.clean_option_quotes, eod.underlying_bars, eod.sim_truth, vol_surface]
WING_ASSETS = [wing_features, wing_model, wing_theos]
SIGNAL_ASSETS = [realized_vol, regime, edge_signals]
TRADING_ASSETS = [book_risk, trade_candidates, sized_candidates]
#: Date-partitioned analytics over all underlyings, run after eod_job (and book_job) for the same dates.
DAILY_ASSETS = [*WING_ASSETS, *SIGNAL_ASSETS, *TRADING_ASSETS]
INTRADAY_ASSETS = [intraday.intraday_raw_option_quotes, intraday.intraday_clean_option_quotes, intraday_vol_surface,
                   intraday_wing_theos]

eod_job = dg.define_asset_job(
    "eod_job", selection=dg.AssetSelection.assets(*EOD_ASSETS),
    description="End-of-day chain for a date x underlying range (one run per range: single-run backfill).")
wing_job = dg.define_asset_job(
    "wing_job", selection=dg.AssetSelection.assets(*WING_ASSETS),
    description="Wing features, point-in-time model and theos for a date range, all underlyings (runs after eod_job).")
daily_job = dg.define_asset_job(
    "daily_job", selection=dg.AssetSelection.assets(*DAILY_ASSETS),
    description="Wing model and theos, realised vol, curve signals, regime and edges, the book's risk, trade "
                "candidates and their sizing and verdicts for a date range, all underlyings (one run per range; "
                "runs after eod_job and book_job).")
book_job = dg.define_asset_job(
    "book_job", selection=dg.AssetSelection.assets(positions),
    description="Read and validate the book (config/positions.csv); run before daily_job.")
intraday_job = dg.define_asset_job(
    "intraday_job", selection=dg.AssetSelection.assets(*INTRADAY_ASSETS),
    description="Intraday chain for one landed snapshot file.")

defs = dg.Definitions(
    assets=[*EOD_ASSETS, positions, *DAILY_ASSETS, *INTRADAY_ASSETS],
    asset_checks=[option_quotes_freshness],
    jobs=[eod_job, wing_job, daily_job, book_job, intraday_job],
    sensors=[make_landing_sensor(intraday_job)],
    resources={"warehouse": WarehouseResource(), "market": MarketResource()},
)
