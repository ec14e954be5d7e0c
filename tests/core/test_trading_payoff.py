"""Structure payoff and risk: max loss and profit against a brute-force price grid, breakevens, defined risk."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volmachine_core.trading.payoff import structure_pnl, structure_risk

EXP = pd.Timestamp("2026-12-18")


def legs(*rows, expiry=EXP):
    return pd.DataFrame([{"right": r, "strike": k, "expiry": expiry, "quantity": q, "price": p}
                         for r, k, q, p in rows])


def brute(lg, hi=None):
    k = lg["strike"].max()
    grid = np.linspace(0.0, 3 * k if hi is None else hi, 100_001)
    pnl = structure_pnl(lg, grid)
    return -min(pnl.min(), 0.0), max(pnl.max(), 0.0)


def test_iron_condor_numbers():
    # short 95/105 strangle, long 90/110 wings: credit 1.45, width 5 -> max loss 3.55, max profit 1.45
    ic = legs(("P", 90, 1, 0.40), ("P", 95, -1, 1.10), ("C", 105, -1, 1.05), ("C", 110, 1, 0.30))
    r = structure_risk(ic)
    assert r.net_premium == pytest.approx(-1.45)
    assert r.max_loss == pytest.approx(3.55) and r.max_profit == pytest.approx(1.45)
    assert r.breakevens == pytest.approx((93.55, 106.45))
    assert r.defined_risk and r.reason == "ok"
    assert (r.max_loss, r.max_profit) == pytest.approx(brute(ic), abs=1e-3)


@pytest.mark.parametrize(("rows", "loss", "profit"), [
    ([("P", 95, -1, 2.0), ("P", 90, 1, 0.8)], 3.8, 1.2),        # bull put spread
    ([("C", 105, -1, 2.0), ("C", 110, 1, 0.7)], 3.7, 1.3),      # bear call spread
    ([("C", 95, 1, 6.0), ("C", 100, -2, 3.0), ("C", 105, 1, 1.0)], 1.0, 4.0),  # long call butterfly
    ([("C", 100, 1, 3.0)], 3.0, np.inf),                         # long call
])
def test_defined_risk_structures(rows, loss, profit):
    r = structure_risk(legs(*rows))
    assert r.defined_risk
    assert r.max_loss == pytest.approx(loss) and r.max_profit == pytest.approx(profit)


@pytest.mark.parametrize(("rows", "reason"), [
    ([("C", 100, -1, 3.0)], "unbounded_loss"),                    # naked call
    ([("P", 100, -1, 3.0)], "naked_short"),                       # naked put: bounded at S = 0, not covered
    ([("C", 100, 1, 3.0), ("C", 105, -2, 1.5)], "unbounded_loss"),  # call ratio spread
    ([("P", 100, 1, 3.0), ("P", 95, -2, 1.5)], "naked_short"),    # put ratio spread: bounded but one put naked
])
def test_unbounded_or_naked_is_not_defined_risk(rows, reason):
    r = structure_risk(legs(*rows))
    assert not r.defined_risk and r.reason == reason


def test_naked_put_loss_is_the_strike_less_the_credit():
    r = structure_risk(legs(("P", 100, -1, 3.0)))
    assert r.max_loss == pytest.approx(97.0) and r.max_profit == pytest.approx(3.0)


def test_long_calendar_is_bounded_by_the_debit():
    front = legs(("C", 100, -1, 2.0))
    back = legs(("C", 100, 1, 3.5), expiry=EXP + pd.Timedelta(days=28))
    r = structure_risk(pd.concat([front, back], ignore_index=True))
    assert r.defined_risk and r.net_premium == pytest.approx(1.5)
    assert r.max_loss == pytest.approx(1.5) and np.isnan(r.max_profit) and r.breakevens == ()
    # selling the back month against a bought front one is not covered
    rev = pd.concat([front.assign(quantity=1), back.assign(quantity=-1)], ignore_index=True)
    assert not structure_risk(rev).defined_risk


def test_bad_legs_name_the_problem():
    with pytest.raises(ValueError, match="right must be"):
        structure_risk(legs(("X", 100, 1, 1.0)))
    with pytest.raises(ValueError, match="quantities non-zero"):
        structure_risk(legs(("C", 100, 0, 1.0)))
    with pytest.raises(ValueError, match="at least one leg"):
        structure_risk(legs(("C", 100, 1, 1.0)).iloc[:0])


leg = st.tuples(st.sampled_from("CP"), st.integers(80, 120).map(float), st.sampled_from([-2, -1, 1, 2]),
                st.floats(0.0, 10.0).map(lambda x: round(x, 2)))


@settings(max_examples=100, deadline=None)
@given(st.lists(leg, min_size=1, max_size=4))
def test_max_loss_and_profit_match_a_brute_force_grid(rows):
    lg = legs(*rows)
    r = structure_risk(lg)
    loss, profit = brute(lg, hi=1000.0)
    if np.isfinite(r.max_loss):
        assert r.max_loss == pytest.approx(loss, abs=2e-2)
    else:  # unbounded: the loss keeps growing with S
        assert structure_pnl(lg, [2000.0])[0] < structure_pnl(lg, [1000.0])[0]
    if np.isfinite(r.max_profit):
        assert r.max_profit == pytest.approx(profit, abs=2e-2)
    for b in r.breakevens:
        assert structure_pnl(lg, [b])[0] == pytest.approx(0.0, abs=1e-8)
    if r.defined_risk:
        assert np.isfinite(r.max_loss)
