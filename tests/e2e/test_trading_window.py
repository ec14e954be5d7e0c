"""Candidates, sizing and verdicts over forty simulated sessions through the production chain (no Dagster):
the edges and regime of ``demo_window`` (SPX, MSFT, NVDA to 2026-11-20), the wing model's theos, an empty book."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from volmachine_core import signals as sig
from volmachine_core.trading import (
    BookState,
    RiskLimits,
    build_candidates,
    decide,
    factor_history,
    price_candidates,
    risk_aversion,
    risk_model,
)

pytestmark = pytest.mark.slow
EQUITY = 10_000_000.0


@pytest.fixture(scope="module")
def sized(edges, demo_window):
    w = demo_window
    theos = w["theos"][w["theos"]["in_dte_range"]]
    cand, legs = build_candidates(edges["table"], edges["regimes"], theos)
    priced = price_candidates(cand, legs)
    market, days, unds, cp = w["market"], w["days"], w["underlyings"], w["curve_params"]
    bars = market.bars(market.sessions[-(len(days) + 60):], unds)
    fh = factor_history(sig.curve_signals(cp), bars)
    models = {f"{d:%Y-%m-%d}": risk_model(fh[fh.index < d], unds)
              for d in pd.to_datetime(priced["trade_date"]).unique()}
    term = cp.assign(trade_date=pd.to_datetime(cp["snapshot_id"].str.slice(0, 10)))
    term = term[term["tau"] > 1 / 365][["trade_date", "underlying", "tau", "atm_vol"]]
    out = decide(priced, legs, pd.DataFrame(), term, models, BookState(EQUITY, EQUITY, 0.0, 0.0, 0.0),
                 risk_aversion(250_000, 3.0), RiskLimits())
    return priced, out


def test_four_structure_kinds_all_defined_risk(sized):
    priced, _ = sized
    assert priced["structure"].nunique() >= 4, priced["structure"].value_counts()
    assert priced["defined_risk"].all() and (priced["max_loss"] > 0).all()


def test_allowed_trades_within_the_limits_with_verdict_records(sized):
    _, out = sized
    allowed = out[out["verdict"] == "allowed"]
    assert len(allowed) > 0 and allowed["structure"].nunique() >= 2
    assert (allowed["max_loss_total"] <= 0.01 * EQUITY + 1e-6).all()
    assert (allowed.groupby("trade_date")["max_loss_total"].sum() <= 0.10 * EQUITY + 1e-6).all()
    assert (allowed["theo_ev"] > 0).all() and (allowed["marginal_utility"] > 0).all()
    assert (out.loc[out["contracts"] == 0, "verdict"] == "blocked").all()
    for r in out.itertuples(index=False):
        assert json.loads(r.lineage)["option_quotes"]
        order = json.loads(r.order)
        lo, hi = sorted((order["theo"], 0.5 * (order["bid"] + order["ask"])))
        assert lo - 1e-9 <= order["limit"] <= hi + 1e-9 or not order["edge_at_mid"]
