"""Stress grid by full repricing: zero at the origin, against a scalar Black-Scholes reference, convexity."""

import numpy as np
import pandas as pd
import pytest

from volmachine_core.pricing import bs_price
from volmachine_core.trading.stress import stress_grid


def book():
    return pd.DataFrame({"forward": [100.0, 100.0], "strike": [95.0, 105.0], "tau": [0.1, 0.1], "vol": [0.25, 0.2],
                         "discount_factor": [1.0, 1.0], "right": ["P", "C"], "quantity": [-10, 5],
                         "multiplier": [100.0, 100.0]})


def test_origin_is_zero_and_points_match_a_scalar_reference():
    g = stress_grid(book())
    assert g.loc[0.0, 0.0] == pytest.approx(0.0, abs=1e-9)
    b = book()
    want = 0.0
    for r in b.itertuples():  # r = 0, no carry: Black-Scholes on S = F equals Black-76
        now = bs_price(r.forward, r.strike, r.tau, r.vol, 0.0, r.right == "C")
        shocked = bs_price(r.forward * 0.95, r.strike, r.tau, r.vol + 0.05, 0.0, r.right == "C")
        want += r.quantity * r.multiplier * (shocked - now)
    assert g.loc[0.05, -0.05] == pytest.approx(want, rel=1e-10)
    assert list(g.index) == [-0.05, 0.0, 0.05] and list(g.columns) == [-0.05, -0.025, 0.0, 0.025, 0.05]


def test_full_repricing_sees_convexity_greeks_would_miss():
    long_straddle = pd.DataFrame({"forward": [100.0] * 2, "strike": [100.0] * 2, "tau": [0.05] * 2,
                                  "vol": [0.2] * 2, "discount_factor": [1.0] * 2, "right": ["C", "P"],
                                  "quantity": [1, 1], "multiplier": [100.0] * 2})
    g = stress_grid(long_straddle)
    assert g.loc[0.0, -0.05] > 0 and g.loc[0.0, 0.05] > 0  # gains both ways: gamma, not delta
    assert g.loc[0.05, 0.0] > 0 > g.loc[-0.05, 0.0]


def test_empty_book_and_missing_columns():
    assert (stress_grid(book().iloc[:0]) == 0).all().all()
    with pytest.raises(ValueError, match="lack column"):
        stress_grid(pd.DataFrame({"forward": [1.0]}))
    assert np.isfinite(stress_grid(book(), vol_moves=[-0.5]).to_numpy()).all()  # vol floored, not negative
