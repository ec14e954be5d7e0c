"""End to end: `volmachine demo` on a reduced universe, twice; the warehouse answers the contract views."""

from __future__ import annotations

import duckdb
import pytest

from volmachine_pipeline.cli import main
from volmachine_pipeline.warehouse import Warehouse

pytestmark = pytest.mark.slow

CONTRACT = {
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


def _counts(home):
    with duckdb.connect(str(home / "volmachine.duckdb"), read_only=True) as con:
        return {v: con.execute(f"select count(*) from {v}").fetchone()[0] for v in CONTRACT}


def test_demo_twice_on_reduced_universe(home, capsys):
    args = ["demo", "--days", "6", "--end", "2025-03-14", "--underlyings", "SPX,MSFT"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert str(home / "volmachine.duckdb") in out and "2025-03-07" in out and "2025-03-14" in out
    first = _counts(home)
    assert first["option_quotes"] > 1000 and first["quote_quarantine"] > 0
    with duckdb.connect(str(home / "volmachine.duckdb"), read_only=True) as con:
        for view, cols in CONTRACT.items():
            have = {r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_name = ?", [view]).fetchall()}
            assert not set(cols) - have, (view, set(cols) - have)
        dates = con.execute("select count(distinct trade_date), count(distinct underlying) "
                            "from option_quotes").fetchone()
        assert dates == (6, 2)
        assert con.execute("select count(*) from ingest_summary where not conserved").fetchone()[0] == 0
        reasons = {r[0] for r in con.execute("select distinct reason from quote_quarantine").fetchall()}
        assert len(reasons) >= 3, reasons
        assert con.execute("select count(distinct source) from option_quotes").fetchone()[0] == 1
        assert con.execute("select min(source) from option_quotes").fetchone()[0] == "sim"
    assert main(args) == 0          # idempotent: same counts after a second run
    assert _counts(home) == first
    # the runs went through the instance under $VOLMACHINE_HOME/dagster
    assert any((home / "dagster").iterdir())
    assert len(Warehouse(home).files("option_quotes")) == 12
