"""The desk report document: trading status from the verdicts, Markdown and self-contained HTML, risk plots."""

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from volmachine_core.report import (
    Section,
    equity_drawdown,
    render_html,
    render_markdown,
    residual_heatmap,
    stress_heatmap,
    trading_status,
)
from volmachine_core.trading import stress_grid

PNG = b"\x89PNG\r\n\x1a\n"


def _rules(failed=()):
    names = ["defined_risk", "data_quality", "max_loss_per_trade", "total_open_risk", "drawdown_kill_switch",
             "daily_loss_limit", "weekly_loss_limit"]
    return json.dumps([{"rule": n, "passed": n not in failed, "value": 0.0, "limit": 0.0, "detail": f"{n} detail"}
                       for n in names])


def _sized(unds, reasons, failed=()):
    return pd.DataFrame({"underlying": unds, "verdict_reasons": reasons,
                         "verdict": ["blocked" if r else "allowed" for r in reasons], "rules": _rules(failed)})


def test_trading_status():
    assert trading_status(pd.DataFrame(), ["SPX"]) == ("TRADING ALLOWED", [])
    ok = _sized(["SPX", "QQQ"], ["", "no_size"])
    assert trading_status(ok, ["SPX", "QQQ"]) == ("TRADING ALLOWED", [])
    kill = _sized(["SPX", "QQQ"], ["drawdown_kill_switch", "drawdown_kill_switch"], failed=["drawdown_kill_switch"])
    head, why = trading_status(kill, ["SPX", "QQQ"])
    assert head == "TRADING BLOCKED" and why == ["drawdown_kill_switch: drawdown_kill_switch detail"]
    one_bad = _sized(["SPX", "QQQ"], ["data_quality", ""])
    assert trading_status(one_bad, ["SPX", "QQQ"])[0] == "TRADING ALLOWED"
    all_bad = _sized(["SPX", "QQQ"], ["data_quality", "data_quality,no_size"])
    head, why = trading_status(all_bad, ["SPX", "QQQ"])
    assert head == "TRADING BLOCKED" and "data_quality" in why[0] and "QQQ, SPX" in why[0]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.srcs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.srcs += [v for k, v in attrs if k in ("src", "href")]

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def picture():
    legs = pd.DataFrame({"forward": [100.0, 100.0], "strike": [95.0, 105.0], "tau": [0.1, 0.1], "vol": [0.2, 0.2],
                         "discount_factor": [1.0, 1.0], "right": ["P", "C"], "quantity": [-1, -1],
                         "multiplier": [100.0, 100.0]})
    return stress_heatmap(stress_grid(legs), "stress")


def test_html_is_self_contained_and_escaped(picture):
    table = pd.DataFrame({"candidate": ["<b>x</b>"], "theo_ev": [1.23456]})
    doc = render_html("Desk report 2026-11-20", ("TRADING BLOCKED", ["kill <switch>"]),
                      [Section("Candidates", ["rationale <i>raw</i>", table, (picture, "stress grid")])])
    p = _Collect()
    p.feed(doc)
    assert {"html", "head", "body", "table", "img", "style"} <= set(p.tags) and "script" not in p.tags
    assert p.srcs and all(s.startswith("data:image/png;base64,") for s in p.srcs)
    assert base64.b64decode(p.srcs[0].split(",", 1)[1]).startswith(PNG)
    assert not re.search(r"https?://", doc)
    assert "<b>x</b>" not in doc and "&lt;b&gt;x&lt;/b&gt;" in doc and "kill &lt;switch&gt;" in doc
    assert "TRADING BLOCKED" in "".join(p.text) and 'class="status blocked"' in doc


def test_markdown_status_first_tables_and_inline_images(picture):
    md = render_markdown("Desk report", ("TRADING ALLOWED", []),
                         [Section("Regime", [pd.DataFrame({"underlying": ["SPX"], "regime": ["CHOP"]})]),
                          Section("Empty", [pd.DataFrame()]), Section("Plots", [(picture, "stress")])])
    lines = md.splitlines()
    assert lines[0] == "# Desk report" and lines[2] == "**TRADING ALLOWED**"
    assert "| SPX" in md and "_none_" in md and "](data:image/png;base64," in md


def test_risk_plots_render():
    theos = pd.DataFrame({"expiry": pd.to_datetime(["2026-12-18"] * 3 + ["2027-01-15"] * 2),
                          "z": [-2.1, 0.0, 1.9, -1.0, 0.4], "residual": [0.02, 0.0, -0.01, np.nan, 0.005]})
    assert residual_heatmap(theos, "residuals").startswith(PNG)
    assert residual_heatmap(theos.iloc[:0], "none").startswith(PNG)
    pnl = pd.DataFrame({"trade_date": pd.bdate_range("2026-01-01", periods=30), "pnl": np.r_[np.ones(10) * 1e4,
                                                                                             -np.ones(20) * 2e4]})
    assert equity_drawdown(pnl, 1e7, "equity").startswith(PNG)
    assert equity_drawdown(pnl.iloc[:0], 1e7, "flat").startswith(PNG)


def test_desk_report_sections_from_a_day(picture):
    from volmachine_core.report import desk_report, failed_rules, legs_summary

    legs = json.dumps([{"expiry": "2027-03-19", "strike": 7100.0, "right": "P", "quantity": -5},
                       {"expiry": "2027-03-19", "strike": 6800.0, "right": "P", "quantity": 5},
                       {"instrument": "underlying", "quantity": 0.14}])
    assert legs_summary(legs) == "-5 P 7100 2027-03-19, +5 P 6800 2027-03-19, hedge +0.14"
    rules = json.dumps([{"rule": "max_loss_per_trade", "passed": False, "value": 0.012, "limit": 0.01, "detail": ""},
                        {"rule": "data_quality", "passed": False, "value": 1.0, "limit": 0.0,
                         "detail": "curve_params:fit_rmse (run 1a2b)"},
                        {"rule": "defined_risk", "passed": True, "value": 1.0, "limit": 1.0, "detail": ""}])
    assert failed_rules(rules) == "max_loss_per_trade 1.2% > 1.0%; data_quality (curve_params:fit_rmse (run 1a2b))"
    sized = pd.DataFrame({"candidate_id": ["a", "b"], "underlying": ["SPX", "QQQ"], "legs": [legs, legs],
                          "side": ["buy", "sell"], "contracts": [2.0, 0.0], "limit_price": [86.6, 3.4],
                          "max_loss": [336.6, 30.0], "theo_ev": [67.6, -1.0], "marginal_utility": [13459.0, 0.0],
                          "verdict": ["allowed", "blocked"], "verdict_reasons": ["", "max_loss_per_trade"],
                          "rules": [_rules(), rules], "rank": [1, 2], "max_loss_total": [67_320.0, 0.0]})
    regime = pd.DataFrame({"underlying": ["SPX", "QQQ"], "regime": ["CHOP", "CHOP"], "confidence": [0.7, 0.7]})
    edges = pd.DataFrame({"underlying": ["SPX", "QQQ"], "edge": ["wing", "vrp"], "fired": [True, False],
                          "strength": [0.6, 0.0], "direction": ["sell_vol", "none"], "rationale": ["r1", "r2"]})
    title, status, sections = desk_report("2026-11-20", ["SPX", "QQQ"], regime, edges, sized, pd.DataFrame(),
                                          pd.DataFrame(), None, [("Pictures", picture, "stress")])
    assert title.endswith("2026-11-20") and status == ("TRADING ALLOWED", [])
    by = {s.title: s for s in sections}
    assert list(by) == ["Regime", "Edges", "Candidates", "Book risk", "Pictures"]
    cand = by["Candidates"].blocks[1]
    assert cand["why"].tolist() == ["", "max_loss_per_trade 1.2% > 1.0%; data_quality (curve_params:fit_rmse "
                                        "(run 1a2b))"]
    assert "2 candidates, 1 allowed; max loss of the allowed 67,320" == by["Candidates"].blocks[0]
    assert len(by["Edges"].blocks[0]) == 1 and by["Book risk"].blocks == ["empty book"]
    assert "TRADING ALLOWED" in render_html(title, status, sections)
