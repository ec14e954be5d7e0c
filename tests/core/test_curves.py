"""fit_curves on a known arbitrage-free SSVI surface: accuracy, SD-space outputs, public API.

Truth: ``volmachine_core.curves._testing.ssvi_snapshot`` (SSVI, Gatheral and Jacquier 2014, with
eta (1 + |rho|) <= 2 and theta increasing: no butterfly or calendar arbitrage), 40 expiries of 2 days to
~2 years, ticked bid/ask prices bracketing the truth (so every mid carries noise inside its spread).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import volmachine_core.curves as curves
from volmachine_core.curves import CURVE_PARAMS_COLUMNS, CURVE_POINTS_COLUMNS, TARGET_SDS, curve_vol, fit_curves
from volmachine_core.curves._testing import ssvi_snapshot
from volmachine_core.curves.svi import svi_total_variance


@pytest.fixture(scope="module")
def truth_fit():
    sv, truth = ssvi_snapshot(n_expiries=40, n_strikes=200, seed=7, spot=1000.0)
    return sv, truth, fit_curves(sv)


def _truth_vol(truth, i, k):
    tp = truth[["a", "b", "rho", "m", "sigma"]].iloc[i].to_numpy(float)
    return np.sqrt(svi_total_variance(k, *tp) / truth["tau"].iat[i])


def test_public_names_import_and_have_docstrings():
    mod = importlib.import_module("volmachine_core.curves")
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj):
            assert obj.__doc__, name
    assert mod.__doc__


def test_frames_have_contract_columns_and_grain(truth_fit):
    sv, truth, res = truth_fit
    cp, pts = res.curve_params, res.curve_points
    assert tuple(cp.columns) == CURVE_PARAMS_COLUMNS
    assert tuple(pts.columns) == CURVE_POINTS_COLUMNS
    assert len(cp) == len(truth) == 40
    assert not cp.duplicated(["snapshot_id", "underlying", "expiry_ts"]).any()
    assert len(pts) == 40 * len(TARGET_SDS)
    assert (cp["bdays"].astype(int) >= 0).all() and cp["bdays"].is_monotonic_increasing  # day 2 is a Sunday
    assert set(res.summary()) >= {"n_slices", "n_svi", "n_fallback", "n_not_arb_free"}


def test_curve_vols_match_truth_inside_two_sd(truth_fit):
    _, truth, res = truth_fit
    errs = []
    for i in range(len(truth)):
        k = np.linspace(-2.0, 2.0, 41) * np.sqrt(truth["theta"].iat[i])
        errs.append(np.abs(curve_vol(res.curve_params.iloc[i], k) - _truth_vol(truth, i, k)))
    e = np.concatenate(errs) * 100.0  # vol points
    assert np.median(e) < 0.15
    assert e.max() < 0.5


def test_atm_vol_matches_truth(truth_fit):
    _, truth, res = truth_fit
    err = np.abs(res.curve_params["atm_vol"].to_numpy() - np.sqrt(truth["theta"] / truth["tau"]).to_numpy())
    assert err.max() * 100.0 < 0.2


def test_no_false_arbitrage_flags(truth_fit):
    cp = truth_fit[2].curve_params
    assert cp["arb_free"].all() and cp["butterfly_ok"].all() and cp["calendar_ok"].all()
    assert not cp["arb_in_data"].any()
    assert (cp["model"] == "svi").all()
    assert (cp["status"] == "ok").all()


def test_fit_quality_columns(truth_fit):
    cp = truth_fit[2].curve_params
    assert (cp["inside_share"] > 0.95).all()
    assert (cp["rmse_vol"] < 0.01).all()
    assert (cp["n_points"] >= 5).all()


def test_atm_slope_is_finite_difference_in_z(truth_fit):
    cp = truth_fit[2].curve_params
    for i in (0, 10, 39):
        row = cp.iloc[i]
        sdk = row["atm_vol"] * np.sqrt(row["tau"])
        h = 1e-4
        fd = (curve_vol(row, h * sdk) - curve_vol(row, -h * sdk)) / (2 * h)
        assert row["atm_slope"] == pytest.approx(float(fd), rel=1e-6, abs=1e-9)
        assert row["atm_vol"] == pytest.approx(float(curve_vol(row, 0.0)), rel=1e-12)


def test_curve_points_strikes_map_back_to_target_sds(truth_fit):
    cp, pts = truth_fit[2].curve_params, truth_fit[2].curve_points
    m = pts.merge(cp[["expiry_ts", "forward", "atm_vol", "tau"]], on="expiry_ts")
    z = np.log(m["strike"] / m["forward"]) / (m["atm_vol"] * np.sqrt(m["tau"]))
    np.testing.assert_allclose(z, m["target_sd"], atol=1e-9)
    np.testing.assert_allclose(m["k"], np.log(m["strike"] / m["forward"]), atol=1e-12)
    atm = pts[pts["target_sd"] == 0.0].merge(cp[["expiry_ts", "atm_vol"]], on="expiry_ts")
    np.testing.assert_allclose(atm["vol"], atm["atm_vol"], rtol=1e-12)


def test_curve_vol_frame_shapes_and_json(truth_fit):
    cp = truth_fit[2].curve_params
    n = len(cp)
    k1 = np.zeros(n)
    v1 = curve_vol(cp, k1)
    np.testing.assert_allclose(v1, cp["atm_vol"], rtol=1e-12)
    grid = np.tile(np.linspace(-0.1, 0.1, 5), (n, 1))
    v2 = curve_vol(cp, grid)
    assert v2.shape == (n, 5)
    np.testing.assert_allclose(v2[3], curve_vol(cp["params"].iat[3], grid[3], tau=cp["tau"].iat[3]))
    # the numeric columns give the same answer as the JSON
    v3 = curve_vol(cp.drop(columns="params"), grid)
    np.testing.assert_allclose(v2, v3, rtol=1e-12)
    with pytest.raises(ValueError, match="k: first dimension"):
        curve_vol(cp, np.zeros(n + 1))


def test_curve_vol_is_total_variance_over_tau():
    p = {"model": "svi", "a": 0.01, "b": 0.1, "rho": -0.5, "m": 0.05, "sigma": 0.2}
    k = np.linspace(-1, 1, 11)
    w = svi_total_variance(k, 0.01, 0.1, -0.5, 0.05, 0.2)
    np.testing.assert_allclose(curve_vol(p, k, tau=0.5) ** 2 * 0.5, w, rtol=1e-13)
    assert curves.TARGET_SDS[0] == -3.0 and curves.TARGET_SDS[-1] == 3.0 and len(curves.TARGET_SDS) == 13
