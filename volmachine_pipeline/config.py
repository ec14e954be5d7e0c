"""Load and validate config/settings.yaml and config/universe.yaml (pydantic).

Errors name the file and the key (``config/settings.yaml: risk.max_loss_per_trade: ...``).
``VOLMACHINE_CONFIG`` points at another config folder; ``VOLMACHINE_HOME`` (default ``./var`` in
the checkout) is where everything is written.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message names file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Account(_Strict):
    equity: float = Field(10_000_000, gt=0)
    target_annual_pnl: float = Field(250_000, gt=0)
    target_sharpe: float = Field(3.0, gt=0)


class Risk(_Strict):
    max_loss_per_trade: float = Field(0.01, gt=0, le=1)
    max_total_open_risk: float = Field(0.10, gt=0, le=1)
    daily_loss_limit: float = Field(0.03, gt=0, le=1)
    weekly_loss_limit: float = Field(0.05, gt=0, le=1)
    drawdown_kill_switch: float = Field(0.15, gt=0, le=1)
    max_stress_loss: float = Field(0.10, gt=0, le=1)
    stress_spot_moves: list[float] = [-0.05, -0.025, 0.0, 0.025, 0.05]
    stress_vol_moves: list[float] = [-0.05, 0.0, 0.05]


class Data(_Strict):
    source: Literal["sim", "files"] = "sim"
    quarantine_warn_share: float = Field(0.05, ge=0, le=1)
    stale_min_underlying_move: float = Field(0.005, ge=0)
    freshness_max_sessions: int = Field(3, ge=1)


class Curves(_Strict):
    """Thresholds of the vol-curve asset checks (blocking unless named a warning)."""

    min_arb_free_share: float = Field(0.95, ge=0, le=1)
    max_median_rmse_vol: float = Field(0.01, gt=0)      # decimals: 0.01 = 1 vol point
    min_quotes_per_expiry: int = Field(8, ge=3)
    min_expiry_coverage: float = Field(0.8, ge=0, le=1)  # share of expiries with enough quotes
    max_forward_gap: float = Field(0.25, gt=0)          # |ln(F/S)| above this is not a forward
    stale_warn_share: float = Field(0.01, ge=0, le=1)   # warning check: stale quotes among raw rows


class Models(_Strict):
    """History length of the demo and the wing model's fitting window, estimator and check thresholds."""

    history_days: int = Field(120, ge=5, le=2000)
    wing_window_days: int = Field(60, ge=5)           # trailing exchange sessions, ending before the fit date
    wing_min_obs: int = Field(30, ge=5)               # usable feature rows in the window
    wing_min_days: int = Field(10, ge=2)              # distinct trade dates in the window
    wing_estimator: Literal["ols", "rlm"] = "ols"
    wing_min_median_r2: float = Field(0.3, ge=0, le=1)    # warning check: median R^2 over target SDs
    wing_max_oos_rmse_vol: float = Field(0.02, gt=0)      # warning check: worst out-of-sample RMSE, decimals
    wing_oos_days: int = Field(20, ge=1)              # sessions of out-of-sample diagnostics in the metadata

    @model_validator(mode="after")
    def _window(self) -> Models:
        if self.wing_min_days > self.wing_window_days:
            raise ValueError(f"wing_min_days ({self.wing_min_days}) exceeds wing_window_days "
                             f"({self.wing_window_days})")
        return self


class Signals(_Strict):
    """Realised vol, regime rules (see volmachine_core.signals.regime) and edge thresholds."""

    rv_window: int = Field(20, ge=2, le=252)            # sessions per realised-vol estimate
    market_reference: str = "auto"                     # auto (the universe's index) | own | a symbol
    regime_panic_term: float = 0.11                    # ln(iv30/iv180) at or above: HIGH_VOL_PANIC
    regime_down_term: float = 0.06                     # at or above: TREND_DOWN
    regime_calm_term: float = -0.05                    # above: CHOP; at or below: LOW_VOL_GRIND / TREND_UP
    regime_up_trend_t: float = 2.0                     # 20-session return t-stat for TREND_UP
    regime_confirm_days: int = Field(3, ge=1)          # consecutive sessions before the regime changes
    regime_panic_confirm_days: int = Field(1, ge=1)
    history_window: int = Field(120, ge=10)            # sessions of history for z-scores
    percentile_window: int = Field(252, ge=10)         # sessions of history for percentiles
    min_history: int = Field(20, ge=2)                 # fewest earlier sessions before a detector may fire
    vrp_min_ratio: float = Field(1.3, gt=1)            # iv30 / rv20 above this ...
    vrp_min_pct: float = Field(0.6, ge=0, le=1)        # ... and at least this percentile of its history
    term_z: float = Field(2.0, gt=0)                   # |z| of ln(iv90/iv30) for an extreme term structure
    skew_z: float = Field(2.0, gt=0)                   # |z| of the 30-day 25-delta skew over ATM
    wing_min_beyond_spread: float = Field(0.01, ge=0)  # vol beyond the half spread for the wing edge
    event_min_premium: float = Field(0.20, ge=0)       # implied over realised event move, minus 1
    event_lookahead_sessions: int = Field(10, ge=1)    # sessions ahead an event is looked at
    event_min_history: int = Field(4, ge=1)            # past realised moves needed
    event_max_history: int = Field(12, ge=1)           # most recent past moves used
    gamma_headline: Literal["calls_long_puts_short", "short_all", "short_puts_only", "otm_split"] = \
        "calls_long_puts_short"                        # dealer-positioning assumption of the headline
    gamma_pin_max_sessions: int = Field(2, ge=0)       # sessions to expiry for a pin
    gamma_pin_min_share: float = Field(0.10, gt=0, le=1)  # share of the expiry's open interest at the pin

    @model_validator(mode="after")
    def _thresholds(self) -> Signals:
        if not self.regime_calm_term < self.regime_down_term < self.regime_panic_term:
            raise ValueError("regime thresholds must satisfy regime_calm_term < regime_down_term < "
                             "regime_panic_term")
        if self.event_min_history > self.event_max_history:
            raise ValueError(f"event_min_history ({self.event_min_history}) exceeds event_max_history "
                             f"({self.event_max_history})")
        if self.min_history > self.history_window:
            raise ValueError(f"min_history ({self.min_history}) exceeds history_window ({self.history_window})")
        return self


class Trading(_Strict):
    """Candidates, sizing, orders and the book (README: Trading)."""

    positions_file: str = "positions.csv"      # in the config folder; missing = empty book
    target_dte: int = Field(30, ge=1)
    min_dte: int = Field(7, ge=1)
    short_sd: float = Field(1.0, gt=0)
    wing_sd: float = Field(2.0, gt=0)
    panic_short_sd: float = Field(1.5, gt=0)
    panic_wing_sd: float = Field(3.0, gt=0)
    butterfly_wing_sd: float = Field(1.0, gt=0)
    calendar_back_dte: int = Field(75, ge=2)
    wing_units: int = Field(10, ge=1)
    wing_protect_sd: float = Field(0.5, gt=0)
    edge_capture: float = Field(0.5, ge=0, le=1)
    horizon_sessions: float = Field(10, gt=0)
    reference_equity: float = Field(10_000_000, gt=0)
    vega_bucket_days: list[int] = [30, 90]
    corr_shrink: float = Field(0.3, ge=0, le=1)
    corr_rho: float = Field(0.8, gt=0, lt=1)
    risk_history_sessions: int = Field(120, ge=10)
    t_ref_days: int = Field(90, ge=1)
    aggression: float = Field(0.5, ge=0, lt=1)
    peg_max_adverse: float = Field(0.25, ge=0)
    hedge_min_delta: float = Field(10, ge=0)
    hedge_slippage: float = Field(0.0005, ge=0)
    max_contracts: int = Field(100, ge=1)

    @model_validator(mode="after")
    def _order(self) -> Trading:
        if not self.min_dte <= self.target_dte < self.calendar_back_dte:
            raise ValueError("need min_dte <= target_dte < calendar_back_dte")
        if self.short_sd >= self.wing_sd or self.panic_short_sd >= self.panic_wing_sd:
            raise ValueError("short_sd must be below wing_sd (and panic_short_sd below panic_wing_sd)")
        if self.vega_bucket_days != sorted(set(self.vega_bucket_days)) or min(self.vega_bucket_days, default=0) <= 0:
            raise ValueError("vega_bucket_days must be ascending positive days")
        return self


class Sim(_Strict):
    seed: int = 7
    origin: date = date(2024, 1, 2)
    bad_quote_rate: float = Field(0.005, ge=0, le=0.5)
    intraday_minutes: int = Field(30, ge=5, le=390)
    planted_mispricings: bool = True
    vol_risk_premium: bool = True


class Settings(_Strict):
    account: Account = Account()
    risk: Risk = Risk()
    data: Data = Data()
    curves: Curves = Curves()
    models: Models = Models()
    signals: Signals = Signals()
    trading: Trading = Trading()
    sim: Sim = Sim()


class UnderlyingConfig(_Strict):
    symbol: str = Field(min_length=1, max_length=12, pattern=r"^[A-Z0-9._]+$")
    root: str = Field(min_length=1, max_length=12)
    multiplier: float = Field(100, gt=0)
    kind: Literal["index", "etf", "stock"]


class Universe(_Strict):
    underlyings: list[UnderlyingConfig] = Field(min_length=1)
    dte_min: int = Field(7, ge=0)
    dte_max: int = Field(180, gt=0)
    target_sds: list[float] = Field(min_length=1)

    @field_validator("underlyings")
    @classmethod
    def _unique(cls, v: list[UnderlyingConfig]) -> list[UnderlyingConfig]:
        seen = [u.symbol for u in v]
        dup = sorted({s for s in seen if seen.count(s) > 1})
        if dup:
            raise ValueError(f"duplicate symbols {dup}")
        return v

    @model_validator(mode="after")
    def _dte(self) -> Universe:
        if self.dte_min >= self.dte_max:
            raise ValueError(f"dte_min ({self.dte_min}) must be below dte_max ({self.dte_max})")
        return self

    @property
    def symbols(self) -> list[str]:
        return [u.symbol for u in self.underlyings]

    def get(self, symbol: str) -> UnderlyingConfig:
        for u in self.underlyings:
            if u.symbol == symbol:
                return u
        raise KeyError(f"underlying {symbol!r} is not in the universe ({', '.join(self.symbols)})")


def config_dir() -> Path:
    return Path(os.environ.get("VOLMACHINE_CONFIG", REPO_ROOT / "config"))


def volmachine_home() -> Path:
    """``$VOLMACHINE_HOME`` or ``<checkout>/var``, as an absolute path."""
    return Path(os.environ.get("VOLMACHINE_HOME", REPO_ROOT / "var")).resolve()


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def load_settings(path: Path | None = None) -> Settings:
    return _load(path or config_dir() / "settings.yaml", Settings)  # type: ignore[return-value]


def load_universe(path: Path | None = None) -> Universe:
    return _load(path or config_dir() / "universe.yaml", Universe)  # type: ignore[return-value]


def load_events(path: Path | None = None):
    """Known events from ``events.yaml`` (``events:`` list; a missing file is no events) as a frame.

    Entries are checked by ``volmachine_core.signals.event_vol.events_from_config``; an error names the
    file and the entry.
    """
    from volmachine_core.signals import events_from_config

    path = path or config_dir() / "events.yaml"
    if not path.exists():
        return events_from_config([])
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("events", []), list):
        raise ConfigError(f"{path}: expected a mapping with an 'events' list")
    try:
        return events_from_config(data.get("events") or [])
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


@lru_cache(maxsize=4)
def _cached(cfg: str) -> tuple[Settings, Universe]:
    d = Path(cfg)
    return load_settings(d / "settings.yaml"), load_universe(d / "universe.yaml")


def current_config() -> tuple[Settings, Universe]:
    """Settings and universe from the active config folder (cached per folder)."""
    return _cached(str(config_dir()))
