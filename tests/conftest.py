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


os.environ.setdefault("NUMBA_NUM_THREADS", "2")
