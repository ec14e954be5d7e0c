"""Structures built on a simulated SPX snapshot: strikes at target SDs, bid/ask pricing, defined risk."""

import numpy as np
import pandas as pd
import pytest

from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.trading.payoff import structure_pnl, structure_risk
from volmachine_core.trading.structures import butterfly, calendar, iron_condor, sd_strike, vertical


@pytest.fixture(scope="module")
def snap(surface_chain):
    sim_quotes, build_surfaces = surface_chain
    market = SimMarket(SimConfig(seed=7), end="2025-03-14")
    cp, _, sv = build_surfaces(sim_quotes(market, [market.sessions[-1]], ["SPX"]))
    cp = cp[(cp["tau"] > 20 / 365) & (cp["tau"] < 70 / 365)].sort_values("tau")
    front, back = cp.iloc[0], cp.iloc[-1]
    return sv, front, back


def test_sd_strike_is_the_listed_strike_nearest_the_target(snap):
    sv, front, _ = snap
    row = sd_strike(sv, front["expiry"], "P", -1.0, front["atm_vol"])
    target = row["forward"] * np.exp(-front["atm_vol"] * np.sqrt(row["tau"]))
    listed = sv[(sv["expiry"] == front["expiry"]) & (sv["right"] == "P") & (sv["bid"] > 0)]["strike"]
    assert abs(row["strike"] - target) == pytest.approx(np.min(np.abs(listed - target)))


def test_iron_condor_is_a_credit_with_defined_risk(snap):
    sv, front, _ = snap
    ic = iron_condor(sv, front["expiry"], front["atm_vol"])
    r = structure_risk(ic)
    assert r.defined_risk and r.net_premium < 0
    widths = np.diff(np.sort(ic["strike"].to_numpy()))
    assert r.max_loss == pytest.approx(max(widths[0], widths[2]) + r.net_premium)
    grid = np.linspace(0.5 * ic["strike"].min(), 1.5 * ic["strike"].max(), 200_001)
    assert -structure_pnl(ic, grid).min() == pytest.approx(r.max_loss, rel=1e-6)
    assert (ic.loc[ic["quantity"] < 0, "price"] > 0).all()  # sold at the bid


@pytest.mark.parametrize("kind", ["bull_put", "bear_call"])
def test_verticals_sell_the_near_strike_on_the_right_side(snap, kind):
    """Crossing both spreads can leave a far call spread with no credit (the index's call wing is cheap): the
    builder prices it honestly; choosing candidates with an edge is the sizing's job."""
    sv, front, _ = snap
    v = vertical(sv, front["expiry"], front["atm_vol"], kind)
    r = structure_risk(v)
    assert r.defined_risk and r.max_loss <= abs(np.diff(v["strike"].to_numpy()))[0] + max(r.net_premium, 0) + 1e-9
    short = v.loc[v["quantity"] < 0, "strike"].iloc[0]
    assert (short < front["forward"]) if kind == "bull_put" else (short > front["forward"])


def test_butterfly_at_a_pin_and_calendar_are_debits_with_defined_risk(snap):
    sv, front, back = snap
    pin = float(front["forward"]) * 1.01
    fly = butterfly(sv, front["expiry"], front["atm_vol"], wing_sd=0.5, center=pin)
    r = structure_risk(fly)
    assert r.defined_risk and r.net_premium > 0 and r.max_loss == pytest.approx(r.net_premium)
    center = fly.loc[fly["quantity"] == -2, "strike"].iloc[0]
    assert abs(center - pin) < 0.01 * pin
    cal = calendar(sv, front["expiry"], back["expiry"], front["atm_vol"])
    rc = structure_risk(cal)
    assert rc.defined_risk and rc.net_premium > 0 and rc.max_loss == pytest.approx(rc.net_premium)


def test_missing_strikes_give_none(snap):
    sv, front, _ = snap
    assert iron_condor(sv.iloc[:0].reindex(columns=sv.columns), front["expiry"], front["atm_vol"]) is None
    assert vertical(sv, pd.Timestamp("2030-01-18"), 0.2, "bull_put") is None
    with pytest.raises(ValueError, match="short_sd"):
        iron_condor(sv, front["expiry"], 0.2, short_sd=2.0, wing_sd=1.0)
