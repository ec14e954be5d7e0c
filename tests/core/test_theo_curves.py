"""Theo curves: the wing model's smile as a stored curve, evaluated through the curve API.

Construction as in ``test_wing_theos.py``: one slice (F = 100, tau = 35/365, atm_vol = 0.25) and a model
whose only non-zero coefficient is ``b_const``, so the predicted ln-ratios at the target SDs are known.
Derivatives are checked against central finite differences; butterfly arbitrage with Durrleman's ``g``
(Gatheral and Jacquier 2014, Lemma 2.2) recomputed here from finite-difference derivatives.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from volmachine_core.curves import curve_vol, durrleman_g, total_variance
from volmachine_core.interp import hermite_eval, pchip_slopes
from volmachine_core.wing import COEFFICIENTS
from volmachine_core.wing.theo_curves import THEO_CURVE_COLUMNS, theo_curves, theo_total_variance

SNAP = "2024-03-15T16:00:00"
TRADE_DATE = pd.Timestamp("2024-03-15")
EXPIRY = pd.Timestamp("2024-04-19")
F, TAU, ATM = 100.0, 35 / 365, 0.25
SDS = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
YHAT = np.array([0.25, 0.10, 0.04, 0.0, -0.01, 0.0, 0.05])
WILD = np.array([1.5, -1.2, 1.2, 0.0, 1.2, -1.2, 1.5])


def models_table(yhat=YHAT, und="AAA"):
    rows = []
    for sd, y in zip(SDS, yhat, strict=True):
        if sd != 0.0:
            rows.append({"fit_date": TRADE_DATE, "underlying": und, "target_sd": float(sd), "status": "ok",
                         "model_id": f"m:{und}"} | {f"b_{c}": 0.0 for c in COEFFICIENTS} | {"b_const": float(y)})
    return pd.DataFrame(rows)


def curve_params_table(unds=("AAA",)):
    return pd.DataFrame([{"snapshot_id": SNAP, "underlying": u, "expiry": EXPIRY, "tau": TAU, "bdays": 24,
                          "forward": F, "atm_vol": ATM, "atm_slope": -0.05} for u in unds])


def model_vol(z, yhat=YHAT):
    """PCHIP through the ratios, continued with the end slope where it rises outward (else flat)."""
    y = np.asarray(yhat, float)[None, :]
    d = pchip_slopes(SDS, y)[0]
    r = hermite_eval(SDS, y, d[None, :], np.zeros(len(z), dtype=np.int64), z)
    r = r + np.where(z < SDS[0], min(d[0], 0.0) * (z - SDS[0]), 0.0)
    r = r + np.where(z > SDS[-1], max(d[-1], 0.0) * (z - SDS[-1]), 0.0)
    return ATM * np.exp(r)


def strike_vols(seed=0, unds=("AAA",)):
    """Both rights on a z grid; mid vol = model vol + noise; a few one-sided quotes (no bid vol)."""
    rng = np.random.default_rng(seed)
    z = np.repeat(np.linspace(-2.5, 2.5, 21), 2)
    right = np.tile(["C", "P"], 21)
    K = F * np.exp(z * ATM * np.sqrt(TAU))
    mid = model_vol(z) + rng.normal(0.0, 0.01, len(z))
    bid = mid - 0.003
    bid[[1, 41]] = np.nan  # one-sided wing quotes: an OTM put, an ITM put
    one = pd.DataFrame({"snapshot_id": SNAP, "expiry": EXPIRY, "strike": K, "right": right, "forward": F,
                        "tau": TAU, "z": z, "iv_bid": bid, "iv_mid": mid, "iv_ask": mid + 0.003,
                        "otm": np.where(right == "C", K >= F, K < F)})
    return pd.concat([one.assign(underlying=u) for u in unds], ignore_index=True)


@pytest.fixture(scope="module")
def curve():
    tc = theo_curves(strike_vols(), curve_params_table(), models_table(), target_sds=SDS)
    assert len(tc) == 1
    return tc.iloc[0]


def test_columns_and_fields(curve):
    tc = theo_curves(strike_vols(), curve_params_table(), models_table(), target_sds=SDS)
    assert tuple(tc.columns) == THEO_CURVE_COLUMNS
    assert curve["model"] == "theo" and curve["status"] == "ok" and curve["arb_free"] and curve["butterfly_ok"]
    assert curve["min_g"] > 0
    assert curve["forward"] == F and curve["atm_vol"] == ATM and curve["fit_date"] == TRADE_DATE
    assert curve["model_id"] == "m:AAA"
    p = json.loads(curve["params"])
    assert p["model"] == "theo" and p["atm_vol"] == ATM and p["tau"] == TAU
    np.testing.assert_allclose(p["z"], SDS)
    np.testing.assert_allclose(p["y"], YHAT, atol=1e-12)


def test_atm_slope_is_the_curve_slope_at_zero(curve):
    h = 1e-5
    fd = (model_vol(np.array([h])) - model_vol(np.array([-h]))) / (2 * h)
    assert curve["atm_slope"] == pytest.approx(fd[0], rel=1e-4)  # z = 0 is a knot: the FD error is O(h)
    assert curve["atm_slope"] == pytest.approx(ATM * pchip_slopes(SDS, YHAT[None, :])[0, 3], rel=1e-14)


def test_passes_through_model_vols_at_target_sds(curve):
    k = SDS * ATM * np.sqrt(TAU)
    want = ATM * np.exp(YHAT)
    np.testing.assert_allclose(curve_vol(curve["params"], k, TAU), want, rtol=1e-11)
    np.testing.assert_allclose(theo_total_variance(curve["params"], k), TAU * want**2, rtol=1e-11)


def test_curve_api_evaluates_theo_params(curve):
    k = np.linspace(-0.5, 0.5, 37)  # well beyond the outer target SDs too (|z| up to ~6.5)
    for nu in (0, 1, 2):
        np.testing.assert_array_equal(total_variance(curve["params"], k, nu=nu),
                                      theo_total_variance(curve["params"], k, nu=nu))
    w = theo_total_variance(json.loads(curve["params"]), k)  # a mapping works like the JSON text
    np.testing.assert_allclose(curve_vol(curve["params"], k, TAU), np.sqrt(w / TAU), rtol=1e-15)
    np.testing.assert_allclose(curve_vol(curve["params"], k), np.sqrt(w / TAU), rtol=1e-15)  # tau from params
    np.testing.assert_allclose(curve_vol(curve["params"], k, TAU), model_vol(k / (ATM * np.sqrt(TAU))), rtol=1e-11)
    assert theo_total_variance(curve["params"], k.reshape(37, 1)).shape == (37, 1)


def test_curve_vol_on_a_frame_of_theo_curves():
    tc = theo_curves(strike_vols(unds=("AAA", "BBB")), curve_params_table(("AAA", "BBB")),
                     pd.concat([models_table(), models_table(YHAT * 0.5, und="BBB")], ignore_index=True),
                     target_sds=SDS)
    k = np.tile(np.linspace(-0.2, 0.2, 9), (2, 1))
    z = k[0] / (ATM * np.sqrt(TAU))
    got = curve_vol(tc, k)
    np.testing.assert_allclose(got[0], model_vol(z), rtol=1e-11)
    np.testing.assert_allclose(got[1], model_vol(z, YHAT * 0.5), rtol=1e-11)


@pytest.mark.parametrize("nu", [1, 2])
def test_derivatives_match_finite_differences(curve, nu):
    h = 1e-4
    z = np.array([-3.1, -1.7, -0.8, -0.3, 0.2, 0.77, 1.3, 2.6, 4.0])  # away from the knots
    k = z * ATM * np.sqrt(TAU)
    w = lambda x: theo_total_variance(curve["params"], x)  # noqa: E731
    fd = (w(k + h) - w(k - h)) / (2 * h) if nu == 1 else (w(k + h) - 2 * w(k) + w(k - h)) / h**2
    got = theo_total_variance(curve["params"], k, nu=nu)
    np.testing.assert_allclose(got, fd, rtol=1e-5 if nu == 1 else 1e-3, atol=1e-9 if nu == 1 else 1e-6)


def test_wild_model_is_flagged_as_arbitrage():
    tc = theo_curves(strike_vols(), curve_params_table(), models_table(WILD), target_sds=SDS)
    row = tc.iloc[0]
    assert not row["arb_free"] and not row["butterfly_ok"] and row["status"] == "arbitrage"
    assert row["min_g"] < 0
    # independent check: Durrleman's g from finite-difference derivatives is negative somewhere on the grid
    z = np.linspace(-4.9, 4.9, 491)
    k, h = z * ATM * np.sqrt(TAU), 1e-5
    w = lambda x: theo_total_variance(row["params"], x)  # noqa: E731
    g = durrleman_g(k, w(k), (w(k + h) - w(k - h)) / (2 * h), (w(k + h) - 2 * w(k) + w(k - h)) / h**2)
    assert g.min() < 0
    sane = theo_curves(strike_vols(), curve_params_table(), models_table(), target_sds=SDS).iloc[0]
    assert sane["min_g"] > 0 and sane["arb_free"]


def test_rmse_against_two_sided_otm_mid_vols():
    sv = strike_vols(seed=3)
    tc = theo_curves(sv, curve_params_table(), models_table(), target_sds=SDS)
    use = sv[sv["otm"] & sv["iv_bid"].notna()]
    assert len(use) == 21 - 1  # 21 strikes, one OTM option each (calls at K = F), minus one one-sided quote
    err = use["iv_mid"] - model_vol(use["z"].to_numpy())
    assert tc["n_points"].iloc[0] == len(use)
    assert tc["rmse_vol"].iloc[0] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-10)


def test_curve_without_market_quotes_has_nan_rmse():
    sv = strike_vols().assign(underlying="ZZZ")
    tc = theo_curves(sv, curve_params_table(), models_table(), target_sds=SDS)
    assert tc["n_points"].iloc[0] == 0 and np.isnan(tc["rmse_vol"].iloc[0])


def test_slices_without_model_get_no_curve():
    tc = theo_curves(strike_vols(unds=("AAA", "BBB")), curve_params_table(("AAA", "BBB")), models_table(),
                     target_sds=SDS)
    assert tc["underlying"].tolist() == ["AAA"]
    empty = theo_curves(strike_vols(), curve_params_table(("BBB",)), models_table(), target_sds=SDS)
    assert empty.empty and tuple(empty.columns) == THEO_CURVE_COLUMNS


def test_non_theo_params_are_refused():
    with pytest.raises(ValueError, match="not a theo curve"):
        theo_total_variance({"model": "svi", "a": 0.01}, 0.0)
