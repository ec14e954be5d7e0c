"""`volmachine simulate` writes vendor files of the embedded market that ingest back as source='sim'."""

from __future__ import annotations

import pyarrow.csv as pacsv

from volmachine_pipeline.cli import main
from volmachine_pipeline.warehouse import Warehouse


def test_simulate_eod_and_intraday_files_then_ingest(home, tmp_path, capsys):
    out = tmp_path / "vendor"
    assert main(["simulate", "--start", "2025-03-03", "--end", "2025-03-04", "--out", str(out),
                 "--underlyings", "MSFT"]) == 0
    eod = sorted(p.name for p in out.glob("*.csv"))
    assert eod == ["sim-MSFT-20250303T1545.csv", "sim-MSFT-20250304T1545.csv"]
    cols = pacsv.read_csv(out / eod[0]).column_names
    assert cols[:6] == ["underlying_symbol", "quote_date", "root", "expiration", "strike", "option_type"]
    assert "bid_1545" in cols and "ask_1545" in cols

    intra = tmp_path / "intra"
    assert main(["simulate", "--start", "2025-03-04", "--end", "2025-03-04", "--out", str(intra),
                 "--underlyings", "MSFT", "--intraday"]) == 0
    files = sorted(intra.glob("*.csv"))
    assert len(files) == 12 and files[0].name == "sim-MSFT-20250304T1000.csv"
    assert "quote_datetime" in pacsv.read_csv(files[0]).column_names

    capsys.readouterr()
    assert main(["ingest", str(files[0])]) == 0
    printed = capsys.readouterr().out
    assert "snapshots 2025-03-04T1000" in printed
    clean = Warehouse(home).read("option_quotes")
    assert len(clean) > 500 and set(clean["source"]) == {"sim"} and set(clean["underlying"]) == {"MSFT"}


def test_simulate_refuses_dates_before_the_simulated_origin(home, tmp_path, capsys):
    assert main(["simulate", "--start", "2020-01-01", "--end", "2020-01-05", "--out", str(tmp_path)]) == 2
    assert "starts 2024-01-02" in capsys.readouterr().err
