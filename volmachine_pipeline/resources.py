"""Dagster resources: the Parquet warehouse and the market data source."""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
import pandas as pd

from volmachine_pipeline.config import current_config, volmachine_home
from volmachine_pipeline.warehouse import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB/Parquet warehouse under ``home`` (default ``$VOLMACHINE_HOME`` or ``./var``)."""

    home: str | None = None

    def get(self) -> Warehouse:
        return Warehouse(self.home or volmachine_home())


@lru_cache(maxsize=4)
def _sim_market(seed: int, origin: str, bad_quote_rate: float, intraday_minutes: int,
                planted: bool, vrp: bool, symbols: tuple[str, ...], end: str):
    from volmachine_core.market.sim import SimConfig, SimMarket, default_universe

    specs = [u for u in default_universe() if u.symbol in symbols]
    missing = sorted(set(symbols) - {u.symbol for u in specs})
    if missing:
        raise ValueError(
            f"config/universe.yaml: underlyings {missing} are not in the simulated market "
            f"({', '.join(u.symbol for u in default_universe())}); use data.source: files for them")
    cfg = SimConfig(seed=seed, origin=origin, bad_quote_rate=bad_quote_rate,
                    intraday_minutes=intraday_minutes, underlyings=specs,
                    planted_mispricings=planted, vol_risk_premium=vrp)
    return SimMarket(cfg, end=end)


class MarketResource(dg.ConfigurableResource):
    """Where end-of-day quotes come from: ``sim`` (the embedded simulated market) by default.

    ``seed`` overrides settings.yaml's ``sim.seed`` (tests use other seeds).
    """

    seed: int | None = None

    def source(self) -> str:
        return current_config()[0].data.source

    def sim(self, end: str | pd.Timestamp):
        settings, universe = current_config()
        s = settings.sim
        return _sim_market(self.seed if self.seed is not None else s.seed, str(s.origin), s.bad_quote_rate,
                           s.intraday_minutes, s.planted_mispricings, s.vol_risk_premium,
                           tuple(universe.symbols), str(pd.Timestamp(end).date()))
