"""The embedded simulated options market (pure: returns DataFrames, no file I/O).

Five default underlyings (SPX, SPY, QQQ, MSFT, NVDA) with regime-switching stochastic vol and
jumps, earnings and dividends, Nelson-Siegel rates, an arbitrage-free SSVI surface with a vol risk
premium, planted wing mispricings, realistic listings, ticked quotes and injected bad quotes, in
Cboe DataShop vendor layouts, plus truth tables for every hidden quantity. All options are priced
as European (real equity/ETF options are American). Everything carries ``source = 'sim'``.

Example
-------
>>> from volmachine_core.market.sim import SimConfig, SimMarket, default_universe
>>> m = SimMarket(SimConfig(seed=7, underlyings=default_universe()), end="2024-03-28")
>>> eod = m.eod_chain("2024-03-28", "SPX")
"""

from volmachine_core.market.sim.badquotes import BAD_KINDS, BAD_REASONS
from volmachine_core.market.sim.config import REGIMES, SimConfig, UnderlyingSpec, default_universe
from volmachine_core.market.sim.listings import list_expiries, third_friday
from volmachine_core.market.sim.market import EOD_TIME, SOURCE, SimMarket
from volmachine_core.market.sim.surface import durrleman_g, power_law_phi, ssvi_total_variance
from volmachine_core.market.sim.vendor_out import EOD_COLUMNS, INTRADAY_COLUMNS

__all__ = [
    "BAD_KINDS",
    "BAD_REASONS",
    "EOD_COLUMNS",
    "EOD_TIME",
    "INTRADAY_COLUMNS",
    "REGIMES",
    "SOURCE",
    "SimConfig",
    "SimMarket",
    "UnderlyingSpec",
    "default_universe",
    "durrleman_g",
    "list_expiries",
    "power_law_phi",
    "ssvi_total_variance",
    "third_friday",
]
