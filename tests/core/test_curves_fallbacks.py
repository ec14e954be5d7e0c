"""Fallbacks and garbage: a bad slice never raises, falls back (previous SVI, else spline) and is flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.curves import curve_vol, fit_curves
from volmachine_core.curves.svi import svi_total_variance

P = (0.01, 0.1, -0.5, 0.02, 0.1)


def quotes(k, tau=0.25, expiry="2024-06-14 20:00", params=P, snapshot="2024-03-15T16:00:00", seed=0):
    rng = np.random.default_rng(seed)
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):  # tau <= 0 on purpose in one test
        vol = np.sqrt(svi_total_variance(k, *params) / tau) + rng.uniform(-0.001, 0.001, k.size)
    return pd.DataFrame({
        "snapshot_id": snapshot, "underlying": "TST", "expiry_ts": pd.Timestamp(expiry, tz="UTC"), "tau": tau,
        "forward": 100.0, "k": k, "iv_bid": vol - 0.003, "iv_mid": vol, "iv_ask": vol + 0.003, "iv_status": "ok",
        "otm": True, "spread_vol": 0.006,
    })


def test_three_points_fall_back_to_spline_and_are_flagged():
    cp = fit_curves(quotes([-0.1, 0.0, 0.1])).curve_params
    row = cp.iloc[0]
    assert row["model"] == "spline" and row["status"] == "fallback"
    assert row["reason"].startswith("too_few_points:3")
    assert np.isfinite(row["atm_vol"]) and row["atm_vol"] == pytest.approx(np.sqrt((0.01 + 0.1 * np.hypot(0.02, 0.1)
                                                                                    - 0.1 * 0.5 * -0.02) / 0.25),
                                                                             abs=0.003)
    assert np.isnan(row["a"])


def test_previous_parameters_are_reused_when_the_slice_fails():
    good = fit_curves(quotes(np.linspace(-0.3, 0.3, 40), snapshot="2024-03-15T15:00:00")).curve_params
    bad = quotes([-0.1, 0.1], snapshot="2024-03-15T16:00:00", tau=0.2499)
    row = fit_curves(bad, previous=good).curve_params.iloc[0]
    assert row["model"] == "svi_previous" and row["status"] == "fallback"
    k = np.linspace(-0.2, 0.2, 5)
    # vol per k is kept: a and b scaled by tau / tau_prev
    np.testing.assert_allclose(curve_vol(row, k), curve_vol(good.iloc[0], k), rtol=1e-12)


def test_slice_with_no_usable_quotes_gives_no_model_row():
    q = quotes(np.linspace(-0.2, 0.2, 10))
    q["iv_mid"] = np.nan
    res = fit_curves(q)
    row = res.curve_params.iloc[0]
    assert row["model"] == "none" and row["status"] == "no_data" and not row["arb_free"]
    assert res.curve_points["vol"].isna().all()


@pytest.mark.parametrize("garbage", ["nan", "zeros", "outliers", "negative", "inf", "huge", "status", "mixed"])
def test_garbage_vols_never_raise(garbage):
    rng = np.random.default_rng(3)
    q = quotes(np.linspace(-0.4, 0.3, 60))
    idx = rng.choice(60, 12, replace=False)
    col = q["iv_mid"].to_numpy().copy()
    if garbage == "nan":
        col[idx] = np.nan
    elif garbage == "zeros":
        col[idx] = 0.0
    elif garbage == "outliers":
        col[idx] *= rng.choice([0.3, 3.0], 12)
    elif garbage == "negative":
        col[idx] = -0.2
    elif garbage == "inf":
        col[idx] = np.inf
    elif garbage == "huge":
        col[idx] = 1e6
    elif garbage == "status":
        q.loc[idx, "iv_status"] = "below_intrinsic"
    else:
        col[idx[:4]], col[idx[4:8]] = np.nan, 0.0
        col[idx[8:]] *= 4.0
        q.loc[idx[:3], "spread_vol"] = np.nan
        q.loc[idx[3:6], "iv_bid"] = np.nan
    q["iv_mid"] = col
    cp = fit_curves(q).curve_params
    row = cp.iloc[0]
    assert row["model"] == "svi"
    if garbage in ("outliers", "mixed"):
        assert row["n_trimmed"] > 0
    # the fit still recovers the clean smile near the money
    k = np.linspace(-0.2, 0.2, 9)
    np.testing.assert_allclose(curve_vol(row, k), np.sqrt(svi_total_variance(k, *P) / 0.25), atol=0.004)


def test_whole_garbage_slices_fall_back_without_raising():
    rng = np.random.default_rng(5)
    q = quotes(np.linspace(-0.4, 0.3, 30))
    q["iv_mid"] = rng.uniform(0.01, 3.0, 30)  # pure noise
    q2 = quotes(np.linspace(-0.4, 0.3, 30), expiry="2024-09-13 20:00", tau=0.5)
    q2["k"] = 0.0  # all at one strike
    q3 = quotes(np.linspace(-0.4, 0.3, 30), expiry="2024-12-13 20:00", tau=-0.1)  # expired
    cp = fit_curves(pd.concat([q, q2, q3], ignore_index=True)).curve_params
    assert len(cp) == 3
    assert set(cp["status"]) <= {"ok", "fallback", "no_data", "repaired", "arbitrage"}


def test_missing_columns_fail_loudly():
    with pytest.raises(ValueError, match="missing required columns.*iv_mid"):
        fit_curves(quotes([0.0]).drop(columns="iv_mid"))


def test_optional_columns_absent_and_empty_input():
    q = quotes(np.linspace(-0.3, 0.3, 30)).drop(columns=["iv_bid", "iv_ask", "spread_vol"])
    assert fit_curves(q).curve_params["model"].iat[0] == "svi"
    res = fit_curves(q.iloc[:0])
    assert len(res.curve_params) == 0 and len(res.curve_points) == 0
