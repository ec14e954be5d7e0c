"""End to end: `volmachine demo` on a reduced universe, twice; the warehouse answers the contract views."""

from __future__ import annotations

import duckdb
import pytest

from volmachine_pipeline.cli import main
from volmachine_pipeline.warehouse import Warehouse

pytestmark = pytest.mark.slow


def _counts(home, contract):
    with duckdb.connect(str(home / "volmachine.duckdb"), read_only=True) as con:
        return {v: con.execute(f"select count(*) from {v}").fetchone()[0] for v in contract}


def test_demo_twice_on_reduced_universe(home, capsys, contract):
    args = ["demo", "--days", "6", "--end", "2025-03-14", "--underlyings", "SPX,MSFT"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert str(home / "volmachine.duckdb") in out and "2025-03-07" in out and "2025-03-14" in out
    first = _counts(home, contract)
    assert first["option_quotes"] > 1000 and first["quote_quarantine"] > 0
    with duckdb.connect(str(home / "volmachine.duckdb"), read_only=True) as con:
        for view, cols in contract.items():
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
    assert _counts(home, contract) == first
    # the runs went through the instance under $VOLMACHINE_HOME/dagster
    assert any((home / "dagster").iterdir())
    assert len(Warehouse(home).files("option_quotes")) == 12
