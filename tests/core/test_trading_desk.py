"""Candidates from edges and regime, their sizing against the book and the verdicts (core, on a simulated
SPX/QQQ snapshot whose 'wing model' is the market vol with one planted mispricing)."""

import json

import numpy as np
import pandas as pd
import pytest

from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.trading import (
    BookState,
    CandidateSpec,
    RiskLimits,
    RiskModelSpec,
    build_candidates,
    decide,
    factor_history,
    open_on,
    open_risk,
    price_candidates,
    risk_aversion,
    risk_model,
    structure_pnl,
)
from volmachine_core.trading.desk import _greedy

DAY = pd.Timestamp("2025-03-14")
EQUITY = 10_000_000.0


@pytest.fixture(scope="module")
def chain(surface_chain):
    """wing_theos-shaped rows of one snapshot per underlying: model vol = market vol, except the -2 SD put of
    the ~30-day expiry, whose market vol sits 3 points above the model (a rich wing)."""
    sim_quotes, build_surfaces = surface_chain
    market = SimMarket(SimConfig(seed=11), end=DAY)
    cp, _, sv = build_surfaces(sim_quotes(market, [market.sessions[-1]], ["SPX", "QQQ"]))
    sv = sv[np.isfinite(sv["iv_mid"]) & np.isfinite(sv["z"]) & (sv["tau"] > 2 / 365)].copy()
    sv["market_vol"] = sv["iv_mid"]
    sv["model_vol"] = sv["iv_mid"]
    sv["trade_date"] = DAY
    atm = sv.loc[sv.groupby(["underlying", "expiry"])["z"].transform(lambda z: z.abs() == z.abs().min())]
    atm = atm.drop_duplicates(["underlying", "expiry"]).set_index(["underlying", "expiry"])
    key = pd.MultiIndex.from_frame(sv[["underlying", "expiry"]])
    sv["atm_strike"] = atm["strike"].reindex(key).to_numpy()
    sv["atm_hedge_ratio"] = sv["vega"].to_numpy() / atm["vega"].reindex(key).to_numpy()
    sv["slega"] = 0.01 * sv["z"] * sv["vega"]
    sv["model_id"] = "test-model"
    sv["status"] = "ok"
    return sv.reset_index(drop=True), cp


def _edges(rows):
    base = {"trade_date": DAY, "fired": True, "strength": 0.5, "rationale": "test"}
    return pd.DataFrame([{**base, **r, "metrics": json.dumps(r["metrics"])} for r in rows])


def _wing_top(sv, und="SPX"):
    s = sv[(sv["underlying"] == und) & (sv["right"] == "P")]
    exp = s.loc[(s["tau"] - 30 / 365).abs().idxmin(), "expiry"]
    s = s[s["expiry"] == exp]
    t = s.loc[(s["z"] + 2.0).abs().idxmin()]
    return {"expiry": f"{pd.Timestamp(t['expiry']):%Y-%m-%d}", "strike": float(t["strike"]), "right": "P"}, t.name


@pytest.fixture(scope="module")
def built(chain):
    sv, _ = chain
    top, row = _wing_top(sv)
    sv = sv.copy()
    sv.loc[row, "model_vol"] -= 0.03  # the market is 3 vol points rich against the model
    edges = _edges([
        {"underlying": "SPX", "edge": "wing", "direction": "sell_vol", "metrics": {"top": [top]}},
        {"underlying": "SPX", "edge": "vrp", "direction": "sell_vol",
         "metrics": {"iv_30d": 0.18, "rv_20d": 0.12}},
        {"underlying": "QQQ", "edge": "term_structure", "direction": "backwardation",
         "metrics": {"iv_30d": 0.25, "iv_90d": 0.21, "mean": 0.08}},
        {"underlying": "QQQ", "edge": "skew", "direction": "puts_rich",
         "metrics": {"skew_pts": 0.06, "skew_over_atm": 0.3, "mean": 0.15}},
    ])
    regimes = pd.DataFrame({"trade_date": [DAY, DAY], "underlying": ["SPX", "QQQ"],
                            "regime": ["LOW_VOL_GRIND", "TREND_UP"]})
    cand, legs = build_candidates(edges, regimes, sv, CandidateSpec())
    return cand, legs, price_candidates(cand, legs)


def test_structures_from_edges_and_regime(built):
    cand, legs, priced = built
    kinds = set(zip(cand["source"], cand["structure"], strict=True))
    assert {("wing", "wing_trade"), ("vrp", "iron_condor"), ("term_structure", "calendar"), ("skew", "bull_put"),
            ("regime", "butterfly")} <= kinds
    # the regimes' favourites that an edge already proposes (same structure and expiry) are not proposed twice:
    # SPX's iron condor (vrp) and QQQ's bull put (skew, TREND_UP)
    assert not ((cand["source"] == "regime") & cand["structure"].isin(["iron_condor", "bull_put"])).any()
    assert priced["defined_risk"].all()
    assert not cand["candidate_id"].duplicated().any()


def test_max_loss_matches_a_brute_force_payoff_grid(built):
    _, legs, priced = built
    for r in priced[priced["structure"] != "calendar"].itertuples(index=False):
        lg = legs[legs["candidate_id"] == r.candidate_id]
        grid = np.linspace(0.0, 3.0 * lg["strike"].max(), 300_001)
        brute = max(-float(structure_pnl(lg, grid).min()), 0.0)
        # the grid may step over a kink by half a step: the payoff moves at most sum|q| per unit of price
        tol = (grid[1] - grid[0]) * lg["quantity"].abs().sum()
        assert brute - 1e-9 <= r.max_loss <= brute + tol, r.candidate_id
    cal = priced[priced["structure"] == "calendar"].iloc[0]
    assert cal["max_loss"] == pytest.approx(cal["net_premium"])  # bounded by the debit


def test_wing_trade_is_vega_hedged_and_its_theo_is_the_residual(built, chain):
    """Sold rich wing with a cover further out, long ATM options of the same right for the spread's vega."""
    cand, legs, priced = built
    w = priced[priced["structure"] == "wing_trade"].iloc[0]
    lg = legs[legs["candidate_id"] == w["candidate_id"]].sort_values("strike")
    assert list(lg["right"].unique()) == ["P"]
    cover, target, atm = lg.iloc[0], lg.iloc[1], lg.iloc[2]
    n, m = -target["quantity"], atm["quantity"]
    assert cover["quantity"] == n and m > 0 and n <= 10
    assert target["z"] - cover["z"] >= 0.5 - 1e-9  # the cover sits at least half an SD further out
    h = (target["vega"] - cover["vega"]) / atm["vega"]
    assert abs(m - n * h) <= max(0.1 * n * h, abs(round(n * h) - n * h)) + 1e-9
    net = (lg["quantity"] * lg["vega"]).sum()  # the spread's vega is hedged: what is left is rounding
    assert abs(net) <= 0.5 * atm["vega"] + 1e-9
    # theo of the sold rich option: about vega x 3 vol points per option, less crossing the spreads
    assert w["theo_ev"] > 0
    assert w["hedge_shares"] == pytest.approx(-(lg["quantity"] * lg["delta"]).sum())


def test_vrp_view_lowers_every_leg_vol(built):
    cand, legs, _ = built
    vrp = cand[cand["source"] == "vrp"]["candidate_id"].iloc[0]
    assert np.allclose(legs.loc[legs["candidate_id"] == vrp, "dv"], -0.5 * (0.18 - 0.12))
    cal = cand[cand["structure"] == "calendar"].iloc[0]
    lg = legs[legs["candidate_id"] == cal["candidate_id"]]
    front = lg["expiry"] == cal["expiry"]
    assert (lg.loc[front, "dv"] < 0).all() and (lg.loc[~front, "dv"] == 0).all()


def _model():
    return risk_model(pd.DataFrame(), ["SPX", "QQQ"], RiskModelSpec())


def _term(sv):
    t = sv.groupby(["underlying", "expiry"], as_index=False).agg(tau=("tau", "first"), atm_vol=("atm_vol", "first"))
    return t.assign(trade_date=DAY)


def _decide(built, chain, state, book=None, blocked=None):
    cand, legs, priced = built
    sv, _ = chain
    return decide(priced, legs, pd.DataFrame() if book is None else book, _term(sv), _model(), state,
                  risk_aversion(250_000, 3.0), RiskLimits(), blocked=blocked)


def test_empty_book_sizes_within_the_limits(built, chain):
    out = _decide(built, chain, BookState(EQUITY, EQUITY, 0.0, 0.0, 0.0))
    allowed = out[out["verdict"] == "allowed"]
    assert len(allowed) >= 1 and (allowed["contracts"] > 0).all() and (allowed["contracts"] <= 100).all()
    assert (allowed["max_loss_total"] <= 0.01 * EQUITY + 1e-6).all()
    assert allowed["max_loss_total"].sum() <= 0.10 * EQUITY
    for r in out.itertuples(index=False):
        rules = json.loads(r.rules)
        assert {x["rule"] for x in rules} >= {"defined_risk", "data_quality", "max_loss_per_trade",
                                              "total_open_risk", "drawdown_kill_switch", "daily_loss_limit",
                                              "weekly_loss_limit", "stress_loss"}
        assert r.verdict == ("allowed" if r.verdict_reasons == "" else "blocked")
        assert json.loads(r.lineage)["option_quotes"] and json.loads(r.legs)
    neg = out[out["theo_ev"] <= 0]
    assert (neg["contracts"] == 0).all() and (neg["verdict"] == "blocked").all()


def test_kill_switch_blocks_everything(built, chain):
    out = _decide(built, chain, BookState(0.8 * EQUITY, EQUITY, 0.0, 0.0, 0.0))
    assert (out["verdict"] == "blocked").all()
    assert out["verdict_reasons"].str.contains("drawdown_kill_switch").all()


def test_failed_data_check_blocks_that_underlying_only(built, chain):
    out = _decide(built, chain, BookState(EQUITY, EQUITY, 0.0, 0.0, 0.0),
                  blocked={(f"{DAY:%Y-%m-%d}", "QQQ"): ["curve_params:fit_rmse (run abc)"]})
    q = out[out["underlying"] == "QQQ"]
    assert (q["verdict"] == "blocked").all() and q["verdict_reasons"].str.contains("data_quality").all()
    assert not out.loc[out["underlying"] == "SPX", "verdict_reasons"].str.contains("data_quality").any()


def test_greedy_prefers_the_trade_that_diversifies_the_book():
    """Two candidates, same edge and risk: one doubles the book's exposure, the other offsets it."""
    c = risk_aversion(250_000, 3.0)
    cov = np.diag([1e-4, 1e-4])
    book = np.array([2_000.0, 0.0])
    e = np.array([[2_000.0, 0.0], [-2_000.0, 0.0]])
    mu, loss = np.array([50.0, 50.0]), np.array([1e3, 1e3])
    _, _, _, order = _greedy(mu, e, book, cov, c, loss, 1e9, 1e9)
    assert order[0] == 1  # the offsetting trade is taken first
    one = [_greedy(mu[[i]], e[[i]], book, cov, c, loss[[i]], 1e9, 1e9) for i in (0, 1)]
    (n_double, _, u_double, _), (n_offset, _, u_offset, _) = one
    assert u_offset[0] > u_double[0] >= 0.0 and n_offset[0] > n_double[0]


def test_open_risk_and_open_positions():
    pos = pd.DataFrame({"position_id": ["a", "b"], "underlying": ["SPX", "SPX"],
                        "expiry": pd.to_datetime(["2025-04-17", "2025-04-17"]), "strike": [5000.0, 4900.0],
                        "right": ["P", "P"], "quantity": [-1, 1], "entry_price": [40.0, 25.0],
                        "open_date": pd.to_datetime(["2025-03-10", "2025-03-10"]), "multiplier": [100.0, 100.0]})
    held = open_on(pos, ["2025-03-07", "2025-03-14", "2025-04-18"])
    assert set(held["trade_date"]) == {pd.Timestamp("2025-03-14")}
    r = open_risk(held)
    assert r["open_risk"].iloc[0] == pytest.approx((100.0 - 15.0) * 100.0)  # width minus credit, per contract


def test_factor_history_and_model_shapes():
    days = pd.bdate_range("2025-01-01", periods=40)
    rng = np.random.default_rng(3)
    vs = pd.DataFrame({"trade_date": np.repeat(days, 2), "underlying": ["SPX", "QQQ"] * 40,
                       "iv_30d": 0.2 + rng.normal(0, 0.01, 80).cumsum() / 10, "iv_90d": 0.21, "iv_180d": 0.22,
                       "skew_pts": 0.05 + rng.normal(0, 0.002, 80)})
    bars = vs[["trade_date", "underlying"]].assign(close=100 * np.exp(rng.normal(0, 0.01, 80).cumsum()))
    fh = factor_history(vs, bars)
    m = risk_model(fh, ["SPX", "QQQ"])
    n = len(m.factors)
    assert m.corr.shape == (n, n) and np.allclose(np.diag(m.corr), 1.0)
    assert np.all(np.linalg.eigvalsh(m.cov(10)) > -1e-12)
    assert m.n_obs == 39


def test_daily_pnl_counts_each_change_once():
    """Mark changes since the last priced mark (a stored previous day included), entry cost on the first day."""
    from volmachine_core.trading import daily_pnl

    pos = pd.DataFrame({"position_id": ["a", "b"], "entry_price": [1.0, 2.0], "quantity": [1, -1],
                        "multiplier": [100.0, 100.0]})
    hist = pd.DataFrame({"trade_date": pd.to_datetime(["2025-01-03", "2025-01-06", "2025-01-07", "2025-01-07"]),
                         "position_id": ["a", "a", "a", "b"], "mark": [120.0, np.nan, 140.0, -150.0]},
                        index=[10, 11, 12, 13])
    prev = pd.DataFrame({"trade_date": pd.to_datetime(["2025-01-02"]), "position_id": ["a"], "mark": [110.0]})
    got = daily_pnl(hist, pos, prev)
    assert got.index.tolist() == [10, 11, 12, 13]
    assert got.tolist()[0] == 10.0 and np.isnan(got.tolist()[1]) and got.tolist()[2:] == [20.0, 50.0]
    alone = daily_pnl(hist, pos)
    assert alone.loc[10] == 20.0  # first row ever: mark minus entry cost


def test_risk_aversion_scales_down_as_equity_grows(built, chain):
    """c is set at 10m of equity; at 20m the same candidates are sized at least as large, some larger."""
    cand, legs, priced = built
    sv, _ = chain
    c = risk_aversion(250_000, 3.0)

    def sized(equity):
        out = decide(priced, legs, pd.DataFrame(), _term(sv), _model(), BookState(equity, equity, 0.0, 0.0, 0.0),
                     c, RiskLimits(), c_equity=EQUITY)
        return out.set_index("candidate_id")["contracts"]

    small, large = sized(EQUITY), sized(2 * EQUITY)
    assert (large >= small).all() and (large > small).any()


def test_book_vol_risk_buckets_and_one_sd_pnl():
    """A 20-day option's vega sits in the first bucket: one-SD vol PnL = |vega| x the bucket's daily vol SD; an
    equal short in the same bucket nets it to zero; a 200-day option spreads over all three buckets."""
    from volmachine_core.trading import book_vol_risk

    term = pd.DataFrame({"underlying": "SPX", "tau": [0.05, 0.25, 0.6, 1.0], "atm_vol": 0.2})
    g = pd.DataFrame({"underlying": "SPX", "vega": [5_000.0], "modified_vega": [5_000.0], "tau": [20 / 365],
                      "status": "ok"})
    r = book_vol_risk(g, term, pd.DataFrame(columns=["trade_date", "underlying", "iv_30d", "iv_90d", "iv_180d"]))
    assert r["vega_b0"].iloc[0] == pytest.approx(5_000.0) and r["vega_b1"].iloc[0] == pytest.approx(0.0)
    assert r["one_sd_vol_pnl"].iloc[0] == pytest.approx(5_000.0 * 0.01)
    hedged = pd.concat([g, g.assign(vega=-5_000.0)], ignore_index=True)
    assert book_vol_risk(hedged, term, pd.DataFrame(columns=["trade_date", "underlying", "iv_30d", "iv_90d",
                                                             "iv_180d"]))["one_sd_vol_pnl"].iloc[0] == \
        pytest.approx(0.0, abs=1e-9)
    long_dated = book_vol_risk(g.assign(tau=200 / 365), term, pd.DataFrame(
        columns=["trade_date", "underlying", "iv_30d", "iv_90d", "iv_180d"]))
    b = long_dated[["vega_b0", "vega_b1", "vega_b2"]].to_numpy()[0]
    assert (b > 0).all() and b.sum() == pytest.approx(5_000.0, rel=1e-6)  # flat term: buckets add up to vega
