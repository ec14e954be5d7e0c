"""Shared fixtures: a temporary VOLMACHINE_HOME per test, paths to the real recorded chains."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


#: Views of the warehouse contract (DESIGN.md, "What a user can query") built so far, with the columns each must have.
WAREHOUSE_CONTRACT: dict[str, list[str]] = {
    "raw_option_quotes": ["source_file", "source_row", "ingested_at"],
    "option_quotes": ["snapshot_id", "quote_ts", "trade_date", "underlying", "expiry", "expiry_ts", "strike",
                      "right", "bid", "ask", "bid_size", "ask_size", "volume", "open_interest",
                      "underlying_price", "multiplier", "source_file", "source_row"],
    "quote_quarantine": ["source_file", "source_row", "reason", "detail"],
    "underlying_bars": ["trade_date", "underlying", "open", "high", "low", "close", "volume"],
    "forwards": ["snapshot_id", "underlying", "expiry", "tau", "forward", "discount_factor", "rate",
                 "underlying_price", "n_pairs", "fit_rmse"],
    "strike_vols": ["snapshot_id", "underlying", "expiry", "strike", "right", "iv_bid", "iv_mid", "iv_ask",
                    "iv_status", "vega", "delta", "z"],
    "curve_params": ["snapshot_id", "underlying", "expiry", "tau", "bdays", "atm_vol", "atm_slope", "rmse_vol",
                     "arb_free", "model", "params"],
    "curve_points": ["snapshot_id", "underlying", "expiry", "target_sd", "strike", "vol"],
    "wing_model": ["fit_date", "underlying", "target_sd", "b_const", "b_sqrt_bdays", "b_ln_atm_vol", "b_atm_slope",
                   "r2", "n_obs", "window_start", "window_end"],
    "wing_theos": ["snapshot_id", "underlying", "expiry", "strike", "right", "market_vol", "model_vol", "residual",
                   "vega", "pnl_theo", "atm_hedge_ratio", "slega"],
    "regime": ["trade_date", "underlying", "regime", "confidence", "features"],
    "edge_signals": ["trade_date", "underlying", "edge", "strength", "direction", "rationale", "metrics"],
    "sized_candidates": ["candidate_id", "trade_date", "underlying", "structure", "legs", "limit_price", "max_loss",
                         "theo_ev", "contracts", "utility", "marginal_utility", "verdict", "verdict_reasons",
                         "lineage"],
    "sim_truth_forwards": ["snapshot_id", "underlying", "expiry", "forward", "discount_factor"],
    "sim_truth_surface": ["snapshot_id", "underlying", "expiry"],
    "sim_truth_mispricings": ["trade_date", "underlying", "expiry", "target_sd", "vol_shift"],
    "sim_truth_events": ["underlying", "event_date", "kind", "move"],
    "sim_truth_regimes": ["trade_date", "underlying", "regime"],
}


@pytest.fixture(scope="session")
def contract() -> dict[str, list[str]]:
    """The warehouse contract: view name -> required columns."""
    return WAREHOUSE_CONTRACT


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty VOLMACHINE_HOME (and DAGSTER_HOME inside it) for one test."""
    h = tmp_path / "vmhome"
    h.mkdir()
    monkeypatch.setenv("VOLMACHINE_HOME", str(h))
    (h / "dagster").mkdir()
    (h / "dagster" / "dagster.yaml").touch()
    monkeypatch.setenv("DAGSTER_HOME", str(h / "dagster"))
    return h


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real chains not found at {SHARED_DATA}")
    return SHARED_DATA


def build_surfaces(quotes):
    """``build_surface`` snapshot by snapshot (as the daily runs do); concatenated curve_params,
    curve_points and strike_vols."""
    import pandas as pd

    from volmachine_core.surface import build_surface

    builds = [build_surface(q) for _, q in quotes.groupby("snapshot_id", sort=True)]
    return tuple(pd.concat([getattr(b, t) for b in builds], ignore_index=True)
                 for t in ("curve_params", "curve_points", "strike_vols"))


def sim_quotes(market, days, underlyings):
    """Clean end-of-day quotes of the simulated market (vendor file -> normalise), days x underlyings."""
    import pandas as pd

    from volmachine_core.market.vendor import normalise

    frames = [market.eod_chain(d, u) for d in days for u in underlyings]
    return pd.concat([normalise(f.assign(source_row=range(1, len(f) + 1)), source_file="sim", source="sim").clean
                      for f in frames], ignore_index=True)


@pytest.fixture(scope="session")
def surface_chain():
    """Helpers turning the simulated market into surfaces: ``(sim_quotes, build_surfaces)``."""
    return sim_quotes, build_surfaces


os.environ.setdefault("NUMBA_NUM_THREADS", "2")
