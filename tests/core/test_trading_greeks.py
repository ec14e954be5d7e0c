"""Book greeks per position on fitted curves: spot delta and gamma by finite differences, vega, slega, statuses."""

import json

import numpy as np
import pandas as pd
import pytest

from volmachine_core.pricing import bs_price
from volmachine_core.trading.greeks import book_totals, position_greeks

EXP = pd.Timestamp("2026-12-18")
TAU, SIG, S = 0.25, 0.2, 100.0


def curves(skew_b=0.0):
    # SVI with b = 0 is a flat smile at SIG; b > 0 adds a skew (rho = -0.5)
    params = {"model": "svi", "a": SIG ** 2 * TAU, "b": skew_b, "rho": -0.5, "m": 0.0, "sigma": 0.1}
    cp = pd.DataFrame([{"underlying": "X", "expiry": EXP, "tau": TAU, "forward": S, "atm_vol": SIG,
                        "status": "ok", "params": json.dumps(params)}])
    fw = pd.DataFrame([{"underlying": "X", "expiry": EXP, "discount_factor": 1.0}])
    return cp, fw


def book(**kw):
    row = {"position_id": "p1", "underlying": "X", "expiry": EXP, "strike": 105.0, "right": "C", "quantity": 3,
           "multiplier": 100.0}
    row.update(kw)
    return pd.DataFrame([row])


def test_spot_delta_gamma_vega_match_finite_differences():
    cp, fw = curves()
    g = position_greeks(book(), cp, fw, {"X": S}).iloc[0]
    size = 300.0

    def v(s, sig=SIG):  # zero rates: Black-Scholes on S equals Black-76 on F = S
        return size * bs_price(s, 105.0, TAU, sig, 0.0, True)

    h = 0.01
    assert g.delta == pytest.approx((v(S + h) - v(S - h)) / (2 * h), rel=1e-6)
    assert g.gamma == pytest.approx((v(S + h) - 2 * v(S) + v(S - h)) / h ** 2, rel=1e-4)
    assert g.vega == pytest.approx((v(S, SIG + 1e-5) - v(S, SIG - 1e-5)) / 2e-5, rel=1e-6)
    assert g.modified_vega == pytest.approx(g.vega * np.sqrt((90 / 365) / TAU))
    assert g.theta < 0 and g.status == "ok"


def test_slega_is_the_value_of_one_vol_point_per_sd_of_slope():
    cp, fw = curves()
    g = position_greeks(book(), cp, fw, {"X": S}).iloc[0]
    z = np.log(105.0 / S) / (SIG * np.sqrt(TAU))
    want = 300.0 * (bs_price(S, 105.0, TAU, SIG + 0.01 * z, 0.0, True) - bs_price(S, 105.0, TAU, SIG, 0.0, True))
    assert g.slega == pytest.approx(want, rel=1e-9) and g.slega > 0  # an OTM call gains when the call wing rises


def test_unpriced_positions_are_kept_and_counted():
    cp, fw = curves()
    b = pd.concat([book(), book(position_id="p2", expiry=pd.Timestamp("2027-03-19")),
                   book(position_id="p3", right="P", strike=95.0, quantity=-2)], ignore_index=True)
    g = position_greeks(b, cp, fw, {"X": S})
    assert g["status"].tolist() == ["ok", "no_curve", "ok"] and np.isnan(g["delta"].iloc[1])
    tot = book_totals(g).iloc[0]
    assert tot["positions"] == 3 and tot["not_priced"] == 1
    assert tot["delta"] == pytest.approx(g["delta"].iloc[[0, 2]].sum())
    cp_bad = cp.assign(status="fallback")
    assert position_greeks(book(), cp_bad, fw, {"X": S})["status"].iloc[0] == "curve_not_usable"
