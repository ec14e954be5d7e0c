"""Risk rules: every rule's numbers in each verdict; kill switch, loss limits, budgets, data quality."""

import numpy as np
import pandas as pd
import pytest

from volmachine_core.trading.rules import BookState, RiskLimits, book_state, evaluate_rules

EQ = 10_000_000.0


def cands(*rows):
    return pd.DataFrame([{"candidate_id": i, "underlying": u, "contracts": n, "max_loss": loss, "defined_risk": d}
                         for i, (u, n, loss, d) in enumerate(rows)])


def fresh(open_risk=0.0):
    return book_state(pd.DataFrame(columns=["trade_date", "pnl"]), EQ, open_risk)


def test_empty_book_allows_a_trade_within_limits_and_lists_every_rule():
    v = evaluate_rules(cands(("SPX", 3, 50_000.0, True)), fresh()).iloc[0]
    assert v.verdict == "allowed" and v.verdict_reasons == ""
    names = [r["rule"] for r in v.rules]
    assert names == ["defined_risk", "data_quality", "max_loss_per_trade", "total_open_risk",
                     "drawdown_kill_switch", "daily_loss_limit", "weekly_loss_limit"]
    mlt = v.rules[2]
    assert mlt["value"] == pytest.approx(0.005) and mlt["limit"] == 0.01 and "max loss 50,000" in mlt["detail"]


def test_kill_switch_blocks_everything():
    marks = pd.DataFrame({"trade_date": pd.bdate_range("2025-01-01", periods=3),
                          "pnl": [500_000.0, -1_000_000.0, -1_200_000.0]})
    state = book_state(marks, EQ)
    assert state.peak_equity == pytest.approx(10.5e6) and state.equity == pytest.approx(8.3e6)
    v = evaluate_rules(cands(("SPX", 1, 1_000.0, True), ("MSFT", 1, 1_000.0, True)), state)
    assert (v["verdict"] == "blocked").all()
    assert v["verdict_reasons"].str.contains("drawdown_kill_switch").all()


def test_daily_and_weekly_loss_limits_from_marks():
    day = BookState(equity=EQ, peak_equity=EQ, pnl_today=-0.031 * EQ, pnl_week=-0.031 * EQ, open_risk=0.0)
    assert evaluate_rules(cands(("SPX", 1, 1.0, True)), day)["verdict_reasons"].iloc[0] == "daily_loss_limit"
    week = BookState(equity=EQ, peak_equity=EQ, pnl_today=0.0, pnl_week=-0.06 * EQ, open_risk=0.0)
    assert evaluate_rules(cands(("SPX", 1, 1.0, True)), week)["verdict_reasons"].iloc[0] == "weekly_loss_limit"


def test_per_trade_and_total_open_risk_budgets_in_rank_order():
    # open risk 8.5%: the first 1% trade fits, the second would make 10.5%
    v = evaluate_rules(cands(("SPX", 2, 100_000.0, True), ("SPY", 2, 100_000.0, True), ("QQQ", 1, 150_000.0, True)),
                       fresh(open_risk=850_000.0))
    assert v["verdict"].tolist() == ["allowed", "blocked", "blocked"]
    assert v["verdict_reasons"].tolist() == ["", "total_open_risk", "max_loss_per_trade,total_open_risk"]
    assert v["open_risk_after"].iloc[-1] == pytest.approx(950_000.0)


def test_data_quality_and_defined_risk_and_no_size():
    v = evaluate_rules(cands(("SPX", 1, 1_000.0, True), ("MSFT", 1, np.inf, False), ("SPY", 0, 0.0, True)),
                       fresh(), blocked_underlyings={"SPX": ["curve_quality failed"]})
    assert v["verdict"].tolist() == ["blocked", "blocked", "blocked"]
    assert v["verdict_reasons"].iloc[0] == "data_quality" and "curve_quality" in v["rules"].iloc[0][1]["detail"]
    assert v["verdict_reasons"].iloc[1].startswith("defined_risk")
    assert v["verdict_reasons"].iloc[2] == "no_size"


def test_custom_limits_and_bad_input():
    loose = RiskLimits(max_loss_per_trade=0.05, max_total_open_risk=0.5)
    assert evaluate_rules(cands(("SPX", 1, 300_000.0, True)), fresh(), loose)["verdict"].iloc[0] == "allowed"
    with pytest.raises(ValueError, match="lack column"):
        evaluate_rules(pd.DataFrame({"candidate_id": [1]}), fresh())
