"""Configuration of the embedded simulated market: regimes, underlyings, the simulation switches.

Units everywhere: vols are decimals (0.15 = 15%), drifts and rates continuously compounded per year,
``tau`` ACT/365 years, prices per unit of underlying, cash dividends in the underlying's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "REGIMES",
    "RegimeParams",
    "REGIME_PARAMS",
    "REGIME_EXIT_PROBS",
    "UnderlyingSpec",
    "SimConfig",
    "default_universe",
]

#: Market regimes, in the seed VolMachine's naming; the index of a name is its integer code.
REGIMES: tuple[str, ...] = ("LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TREND_UP", "TREND_DOWN", "CHOP")


@dataclass(frozen=True)
class RegimeParams:
    """Dynamics of one market regime.

    Attributes
    ----------
    drift : float
        Annual drift of the market factor (continuously compounded), e.g. 0.25 = +25%/year.
    vol_mult : float
        Target multiple of each underlying's base vol the stochastic vol reverts to (> 0).
    jump_rate : float
        Poisson intensity of market jumps per year.
    jump_mean, jump_sd : float
        Mean and standard deviation of a market jump's log size.
    mean_duration : float
        Mean regime duration in trading days (geometric durations).
    """

    drift: float
    vol_mult: float
    jump_rate: float
    jump_mean: float
    jump_sd: float
    mean_duration: float


REGIME_PARAMS: dict[str, RegimeParams] = {
    "LOW_VOL_GRIND": RegimeParams(0.14, 0.70, 0.0, 0.0, 0.0, 40.0),
    "HIGH_VOL_PANIC": RegimeParams(-0.35, 2.10, 12.0, -0.025, 0.025, 15.0),
    "TREND_UP": RegimeParams(0.30, 0.85, 0.5, -0.01, 0.01, 30.0),
    "TREND_DOWN": RegimeParams(-0.25, 1.30, 3.0, -0.015, 0.015, 20.0),
    "CHOP": RegimeParams(0.0, 1.00, 1.0, -0.01, 0.015, 25.0),
}

#: Where a regime goes when it ends (rows: from, columns: to, in REGIMES order; rows sum to 1).
REGIME_EXIT_PROBS: tuple[tuple[float, ...], ...] = (
    (0.00, 0.15, 0.40, 0.15, 0.30),  # LOW_VOL_GRIND ->
    (0.10, 0.00, 0.20, 0.30, 0.40),  # HIGH_VOL_PANIC ->
    (0.45, 0.10, 0.00, 0.15, 0.30),  # TREND_UP ->
    (0.10, 0.40, 0.20, 0.00, 0.30),  # TREND_DOWN ->
    (0.35, 0.15, 0.25, 0.25, 0.00),  # CHOP ->
)


@dataclass(frozen=True)
class UnderlyingSpec:
    """One simulated underlying: contract terms, dynamics, dividends, events, surface shape, listings.

    Attributes
    ----------
    symbol, root : str
        Underlying symbol and option root (``SPXW`` for PM-settled SPX weeklies/dailies).
    kind : str
        'index', 'etf' or 'stock' (drives tick sizes' defaults and the open-interest pattern).
    multiplier : float
        Units of underlying per contract.
    settlement : str
        'PM' (session close) or 'AM'; every default is 'PM'.
    spot0 : float
        Price on the origin date.
    base_vol : float
        Long-run annual vol in a neutral regime (decimal).
    market_corr : float
        Correlation of the diffusive return with the market factor (1 = the index itself).
    idio_vol_of_vol : float
        Daily standard deviation of the idiosyncratic log-vol shock.
    vrp : float
        Mean relative vol risk premium: implied ATM vol ~ (1 + vrp) x expected realised vol.
    rho0, rho_lnvol, rho_sqrtb : float
        SSVI correlation ``rho = rho0 + rho_lnvol*ln(atm/base) + rho_sqrtb*(sqrt(bdays)-sqrt(21))``.
    eta, eta_lnvol, gamma : float
        SSVI power-law curvature ``phi = eta'/(theta^gamma (1+theta)^(1-gamma))`` with
        ``eta' = eta*exp(eta_lnvol*ln(atm/base))``, capped so ``eta'(1+|rho|) <= 2``.
    div_yield : float
        Continuous dividend yield (SPX); 0 when dividends are discrete.
    div_cash : float
        Discrete cash dividend per ex-date (0 = none).
    div_months : tuple of int
        Months with an ex-dividend date.
    div_rule : str or int
        'third_friday' (rolled back to a session) or a day of month (rolled forward to a session).
    earnings_months : tuple of int
        Months with an earnings event (empty = no earnings); event day = first session on or after
        ``earnings_day`` of the month, the jump lands in that session's close-to-close return.
    earnings_day : int
        Day of month of the earnings reaction session (see above).
    earnings_move : float
        Standard deviation of the earnings log move.
    tick_small, tick_large, tick_break : float
        Option price tick below and at/above ``tick_break``.
    strike_steps : tuple of float
        Admissible strike increments, finest first; each expiry uses finer steps near the money.
    round_strike : float
        Strikes divisible by this are 'round' (more open interest).
    sd_range : tuple of float
        Strike range in SDs of the expiry below and above spot.
    n_weeklies, n_monthlies : int
        Number of Friday weeklies and third-Friday monthlies listed ahead.
    quarterlies : str
        'eoq' (last session of Mar/Jun/Sep/Dec, SPX style), 'cycle' (third Fridays of Mar/Jun/Sep/Dec
        to one year) or 'none'.
    n_quarterlies : int
        Number of quarterly expiries ahead (for 'eoq').
    leaps_years : float
        January (third Friday) LEAPS are listed up to this many years ahead.
    dailies : bool
        List the next two sessions as daily expiries (SPXW style).
    spread_vol : float
        ATM bid/ask spread in vol terms (decimal), widened in the wings and the front.
    size_scale, oi_scale : float
        Typical quoted size (contracts) and open interest at the money.
    base_volume : float
        Typical daily underlying volume (shares / index units).
    """

    symbol: str
    root: str
    kind: str
    spot0: float
    base_vol: float
    market_corr: float
    multiplier: float = 100.0
    settlement: str = "PM"
    idio_vol_of_vol: float = 0.04
    vrp: float = 0.12
    rho0: float = -0.3
    rho_lnvol: float = 0.05
    rho_sqrtb: float = 0.006
    eta: float = 1.0
    eta_lnvol: float = -0.15
    gamma: float = 0.4
    div_yield: float = 0.0
    div_cash: float = 0.0
    div_months: tuple[int, ...] = ()
    div_rule: str | int = "third_friday"
    earnings_months: tuple[int, ...] = ()
    earnings_day: int = 25
    earnings_move: float = 0.0
    tick_small: float = 0.01
    tick_large: float = 0.01
    tick_break: float = 3.0
    strike_steps: tuple[float, ...] = (1.0, 2.5, 5.0, 10.0)
    round_strike: float = 10.0
    sd_range: tuple[float, float] = (4.5, 4.0)
    n_weeklies: int = 4
    n_monthlies: int = 3
    quarterlies: str = "cycle"
    n_quarterlies: int = 4
    leaps_years: float = 2.0
    dailies: bool = False
    spread_vol: float = 0.010
    size_scale: float = 50.0
    oi_scale: float = 3000.0
    base_volume: float = 2.0e7

    @property
    def has_earnings(self) -> bool:
        """True when the underlying has quarterly earnings events."""
        return len(self.earnings_months) > 0 and self.earnings_move > 0


def default_universe() -> tuple[UnderlyingSpec, ...]:
    """The five default underlyings: SPX, SPY, QQQ, MSFT, NVDA (all PM-settled, European-priced).

    Real equity and ETF options are American; the simulator prices every option as European with
    Black-76 on the forward, which the downstream forward/vol fitting assumes as well.
    """
    return (
        UnderlyingSpec(
            symbol="SPX",
            root="SPXW",
            kind="index",
            spot0=6000.0,
            base_vol=0.15,
            market_corr=1.0,
            idio_vol_of_vol=0.0,
            vrp=0.14,
            rho0=-0.72,
            rho_lnvol=0.06,
            rho_sqrtb=0.008,
            eta=1.05,
            eta_lnvol=-0.2,
            gamma=0.42,
            div_yield=0.013,
            tick_small=0.05,
            tick_large=0.10,
            strike_steps=(5.0, 10.0, 25.0, 50.0, 100.0),
            round_strike=100.0,
            sd_range=(5.0, 4.0),
            n_weeklies=5,
            n_monthlies=9,
            quarterlies="eoq",
            n_quarterlies=5,
            leaps_years=2.1,
            dailies=True,
            spread_vol=0.006,
            size_scale=40.0,
            oi_scale=6000.0,
            base_volume=2.5e9,
        ),
        UnderlyingSpec(
            symbol="SPY",
            root="SPY",
            kind="etf",
            spot0=600.0,
            base_vol=0.15,
            market_corr=0.995,
            idio_vol_of_vol=0.01,
            vrp=0.13,
            rho0=-0.68,
            rho_lnvol=0.06,
            rho_sqrtb=0.008,
            eta=1.05,
            eta_lnvol=-0.2,
            gamma=0.42,
            div_cash=1.85,
            div_months=(3, 6, 9, 12),
            div_rule="third_friday",
            strike_steps=(1.0, 5.0, 10.0, 25.0),
            round_strike=10.0,
            sd_range=(4.5, 4.0),
            n_weeklies=5,
            n_monthlies=3,
            quarterlies="eoq",
            n_quarterlies=3,
            spread_vol=0.008,
            size_scale=300.0,
            oi_scale=8000.0,
            base_volume=6.0e7,
        ),
        UnderlyingSpec(
            symbol="QQQ",
            root="QQQ",
            kind="etf",
            spot0=500.0,
            base_vol=0.20,
            market_corr=0.90,
            idio_vol_of_vol=0.02,
            vrp=0.12,
            rho0=-0.60,
            rho_lnvol=0.06,
            rho_sqrtb=0.008,
            eta=1.1,
            eta_lnvol=-0.2,
            gamma=0.42,
            div_cash=0.72,
            div_months=(3, 6, 9, 12),
            div_rule=23,
            strike_steps=(1.0, 5.0, 10.0, 25.0),
            round_strike=10.0,
            sd_range=(4.5, 4.0),
            n_weeklies=4,
            n_monthlies=3,
            quarterlies="cycle",
            spread_vol=0.010,
            size_scale=200.0,
            oi_scale=5000.0,
            base_volume=4.0e7,
        ),
        UnderlyingSpec(
            symbol="MSFT",
            root="MSFT",
            kind="stock",
            spot0=420.0,
            base_vol=0.22,
            market_corr=0.65,
            idio_vol_of_vol=0.04,
            vrp=0.10,
            rho0=-0.30,
            rho_lnvol=0.04,
            rho_sqrtb=0.006,
            eta=1.35,
            eta_lnvol=-0.15,
            gamma=0.38,
            div_cash=0.83,
            div_months=(2, 5, 8, 11),
            div_rule=15,
            earnings_months=(1, 4, 7, 10),
            earnings_day=25,
            earnings_move=0.045,
            strike_steps=(2.5, 5.0, 10.0, 20.0),
            round_strike=50.0,
            sd_range=(4.5, 4.0),
            n_weeklies=4,
            n_monthlies=3,
            quarterlies="cycle",
            spread_vol=0.012,
            size_scale=60.0,
            oi_scale=3000.0,
            base_volume=2.0e7,
        ),
        UnderlyingSpec(
            symbol="NVDA",
            root="NVDA",
            kind="stock",
            spot0=130.0,
            base_vol=0.48,
            market_corr=0.55,
            idio_vol_of_vol=0.06,
            vrp=0.09,
            rho0=-0.12,
            rho_lnvol=0.03,
            rho_sqrtb=0.004,
            eta=1.5,
            eta_lnvol=-0.1,
            gamma=0.36,
            earnings_months=(2, 5, 8, 11),
            earnings_day=22,
            earnings_move=0.08,
            strike_steps=(1.0, 2.5, 5.0, 10.0),
            round_strike=10.0,
            sd_range=(4.5, 4.0),
            n_weeklies=4,
            n_monthlies=3,
            quarterlies="cycle",
            spread_vol=0.015,
            size_scale=150.0,
            oi_scale=6000.0,
            base_volume=2.5e8,
        ),
    )


@dataclass(frozen=True)
class SimConfig:
    """Switches and knobs of the simulated market (frozen; identical configs give identical data).

    Attributes
    ----------
    seed : int
        Master seed. Every random draw is a counter-based hash of (seed, stream, underlying, date,
        contract), so one day's data never depends on the requested date range.
    origin : str
        First simulated session (paths start here), 'YYYY-MM-DD'.
    bad_quote_rate : float
        Fraction of quote rows turned into bad quotes (0 <= rate < 0.2).
    intraday_minutes : int
        Minutes between intraday snapshots.
    intraday_start, intraday_end : str
        First and last intraday snapshot, New York wall clock 'HH:MM'.
    underlyings : tuple of UnderlyingSpec
        The universe (names used everywhere).
    planted_mispricings : bool
        Plant smooth vol bumps (the wing-trade edge) into quotes.
    mispricings_per_day : float
        Poisson mean of planted bumps per session across the whole universe.
    bump_vol_range : tuple of float
        Absolute size range of a bump (decimal vol).
    bump_width_sd : float
        Gaussian width of a bump in SD-moneyness ``z``.
    bump_target_sds : tuple of float
        Absolute target SDs a bump centres on (each used with either sign).
    bump_dte_range : tuple of int
        Calendar days to expiry eligible for a bump (inclusive).
    vol_risk_premium : bool
        Implied vol above expected realised on average; False gives an unbiased (no-edge) market.
    rate_level : float
        Long-run level of the Nelson-Siegel rate curve (continuous).
    market_base_vol : float
        Base vol of the market factor (SPX-like).
    initial_regime : str
        Regime on the origin date.
    """

    seed: int = 7
    origin: str = "2024-01-02"
    bad_quote_rate: float = 0.005
    intraday_minutes: int = 30
    intraday_start: str = "10:00"
    intraday_end: str = "15:30"
    underlyings: tuple[UnderlyingSpec, ...] = field(default_factory=default_universe)
    planted_mispricings: bool = True
    mispricings_per_day: float = 3.0
    bump_vol_range: tuple[float, float] = (0.015, 0.04)
    bump_width_sd: float = 0.35
    bump_target_sds: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5, 3.0)
    bump_dte_range: tuple[int, int] = (7, 180)
    vol_risk_premium: bool = True
    rate_level: float = 0.04
    market_base_vol: float = 0.15
    initial_regime: str = "LOW_VOL_GRIND"

    def __post_init__(self) -> None:
        if not 0.0 <= self.bad_quote_rate < 0.2:
            raise ValueError(f"bad_quote_rate must be in [0, 0.2), got {self.bad_quote_rate}")
        if self.intraday_minutes <= 0:
            raise ValueError(f"intraday_minutes must be positive, got {self.intraday_minutes}")
        if self.initial_regime not in REGIMES:
            raise ValueError(f"initial_regime must be one of {REGIMES}, got {self.initial_regime!r}")
        object.__setattr__(self, "underlyings", tuple(self.underlyings))
        symbols = [u.symbol for u in self.underlyings]
        if len(set(symbols)) != len(symbols) or not symbols:
            raise ValueError(f"underlyings must be non-empty with unique symbols, got {symbols}")
        for u in self.underlyings:
            if u.settlement not in ("AM", "PM"):
                raise ValueError(f"underlyings[{u.symbol}].settlement must be 'AM' or 'PM'")

    def spec(self, symbol: str) -> UnderlyingSpec:
        """The spec of ``symbol``; raises KeyError naming the known symbols."""
        for u in self.underlyings:
            if u.symbol == symbol:
                return u
        raise KeyError(f"unknown underlying {symbol!r}; known: {[u.symbol for u in self.underlyings]}")
