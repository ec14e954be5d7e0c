"""Wing-model features from hand-built ``curve_params`` / ``curve_points`` frames.

Every expected number is computed by hand from the frames below: ``y = ln(vol / atm_vol)``,
``sqrt_bdays = sqrt(bdays)``, ``ln_atm_vol = ln(atm_vol)``; ``dte`` is calendar days from the snapshot's
date to the expiry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.wing import FEATURE_COLUMNS, design_matrix, wing_features

SDS = (-1.0, 0.0, 1.0)


def slice_row(snapshot, expiry, *, und="AAA", tau=0.1, bdays=20, atm=0.2, slope=-0.05, arb_free=True,
              status="ok"):
    return {"snapshot_id": snapshot, "underlying": und, "expiry": pd.Timestamp(expiry), "tau": tau, "bdays": bdays,
            "atm_vol": atm, "atm_slope": slope, "rmse_vol": 0.001, "arb_free": arb_free, "status": status,
            "model": "svi"}


def point_rows(snapshot, expiry, vols, *, und="AAA"):
    return [{"snapshot_id": snapshot, "underlying": und, "expiry": pd.Timestamp(expiry), "target_sd": s,
             "k": 0.0, "strike": 100.0, "vol": v} for s, v in zip(SDS, vols, strict=True)]


def frames(slices):
    """``curve_params`` and ``curve_points`` from ``(slice kwargs, vols at SDS)`` pairs."""
    cp = pd.DataFrame([slice_row(*a, **kw) for (a, kw), _ in slices])
    pts = pd.DataFrame([r for (a, kw), vols in slices for r in point_rows(*a, vols, und=kw.get("und", "AAA"))])
    return cp, pts


@pytest.fixture
def one_slice():
    return frames([((("2024-03-15T16:00:00", "2024-04-19"), {"bdays": 24, "atm": 0.25, "slope": -0.04}),
                    (0.30, 0.25, 0.22))])


def test_columns_values_and_zero_sd_dropped(one_slice):
    f = wing_features(*one_slice, dte_min=1, dte_max=365)
    assert tuple(f.columns) == FEATURE_COLUMNS
    assert f["target_sd"].tolist() == [-1.0, 1.0]  # SD 0 has ratio 1 by definition: no row
    np.testing.assert_allclose(f["y"], np.log(np.array([0.30, 0.22]) / 0.25), rtol=0, atol=1e-15)
    np.testing.assert_allclose(f["sqrt_bdays"], np.sqrt(24.0))
    np.testing.assert_allclose(f["ln_atm_vol"], np.log(0.25))
    assert (f["dte"] == 35).all()  # 2024-03-15 -> 2024-04-19
    assert (f["trade_date"] == pd.Timestamp("2024-03-15")).all()
    assert f["usable"].all() and (f["reason"] == "").all()
    assert f["trade_date"].dtype.kind == "M" and f["expiry"].dtype.kind == "M"


def test_design_matrix_from_features_and_from_raw_columns(one_slice):
    f = wing_features(*one_slice, dte_min=1, dte_max=365)
    x = design_matrix(f)
    np.testing.assert_allclose(x, [[1.0, np.sqrt(24.0), np.log(0.25), -0.04]] * 2)
    raw = f[["bdays", "atm_vol", "atm_slope"]]
    np.testing.assert_allclose(design_matrix(raw), x)


def test_target_sds_selection(one_slice):
    f = wing_features(*one_slice, dte_min=1, dte_max=365, target_sds=[1.0])
    assert f["target_sd"].tolist() == [1.0]


@pytest.mark.parametrize(("dte_min", "dte_max", "kept"), [
    (7, 35, [7, 35]),      # both bounds inclusive
    (8, 34, []),
    (7, 7, [7]),
    (35, 60, [35]),
])
def test_dte_filter_bounds_are_inclusive(dte_min, dte_max, kept):
    snap = "2024-03-15T16:00:00"
    cp, pts = frames([(((snap, "2024-03-22"), {}), (0.3, 0.2, 0.19)),   # 7 days
                      (((snap, "2024-04-19"), {}), (0.3, 0.2, 0.19))])  # 35 days
    f = wing_features(cp, pts, dte_min=dte_min, dte_max=dte_max)
    assert sorted(f["dte"].unique().tolist()) == kept


def test_latest_snapshot_of_the_day_is_used():
    early, late = "2024-03-15T10:00:00", "2024-03-15T16:00:00"
    cp, pts = frames([(((early, "2024-04-19"), {"atm": 0.30}), (0.40, 0.30, 0.28)),
                      (((late, "2024-04-19"), {"atm": 0.20}), (0.26, 0.20, 0.18)),
                      (((early, "2024-04-19"), {"und": "BBB", "atm": 0.5}), (0.6, 0.5, 0.45))])
    f = wing_features(cp, pts, dte_min=1, dte_max=365)
    a = f[f["underlying"] == "AAA"]
    assert (a["snapshot_id"] == late).all() and len(a) == 2
    np.testing.assert_allclose(a["y"], np.log(np.array([0.26, 0.18]) / 0.20))
    b = f[f["underlying"] == "BBB"]  # BBB's only snapshot is the early one: it is that day's curve
    assert (b["snapshot_id"] == early).all() and len(b) == 2


def test_several_days_are_separate_and_sorted():
    cp, pts = frames([((("2024-03-18T16:00:00", "2024-04-19"), {}), (0.3, 0.2, 0.19)),
                      ((("2024-03-15T16:00:00", "2024-04-19"), {}), (0.3, 0.2, 0.19)),
                      ((("2024-03-15T16:00:00", "2024-03-28"), {}), (0.3, 0.2, 0.19))])
    f = wing_features(cp, pts, dte_min=1, dte_max=365)
    assert len(f) == 6
    keys = f[["underlying", "target_sd", "trade_date", "expiry"]]
    assert keys.equals(keys.sort_values(["underlying", "target_sd", "trade_date", "expiry"]).reset_index(drop=True))
    assert sorted(f["dte"].unique().tolist()) == [13, 32, 35]


@pytest.mark.parametrize(("kw", "vols", "reason"), [
    ({"status": "fallback"}, (0.3, 0.2, 0.19), "curve_fallback"),
    ({"status": "fallback", "arb_free": False}, (0.3, 0.2, 0.19), "curve_fallback"),  # first reason wins
    ({"arb_free": False}, (0.3, 0.2, 0.19), "curve_not_arbitrage_free"),
    ({"arb_free": None}, (0.3, 0.2, 0.19), "curve_not_arbitrage_free"),
    ({}, (np.nan, 0.2, np.nan), "non_finite"),
    ({}, (0.0, 0.2, -0.1), "non_finite"),
    ({"bdays": 0}, (0.3, 0.2, 0.19), "non_finite"),
    ({"slope": np.nan}, (0.3, 0.2, 0.19), "non_finite"),
    ({"status": "repaired"}, (0.3, 0.2, 0.19), ""),
])
def test_unusable_rows_stay_with_a_reason(kw, vols, reason):
    cp, pts = frames([((("2024-03-15T16:00:00", "2024-04-19"), kw), vols)])
    f = wing_features(cp, pts, dte_min=1, dte_max=365)
    assert len(f) == 2
    assert (f["reason"] == reason).all()
    assert (f["usable"] == (reason == "")).all()


def test_atm_vol_zero_is_not_usable():
    cp, pts = frames([((("2024-03-15T16:00:00", "2024-04-19"), {"atm": 0.0}), (0.3, 0.2, 0.19))])
    f = wing_features(cp, pts, dte_min=1, dte_max=365)
    assert (f["reason"] == "non_finite").all() and not f["usable"].any()


@pytest.mark.parametrize("column", ["bdays", "atm_slope", "arb_free", "status"])
def test_missing_curve_params_column_is_named(one_slice, column):
    cp, pts = one_slice
    with pytest.raises(ValueError, match=rf"curve_params lacks column\(s\) \['{column}'\]"):
        wing_features(cp.drop(columns=column), pts, dte_min=1, dte_max=365)


def test_missing_curve_points_column_is_named(one_slice):
    cp, pts = one_slice
    with pytest.raises(ValueError, match=r"curve_points lacks column\(s\) \['target_sd'\]"):
        wing_features(cp, pts.drop(columns="target_sd"), dte_min=1, dte_max=365)


@pytest.mark.parametrize("which", ["params", "points", "both"])
def test_empty_input_gives_empty_frame_with_columns(one_slice, which):
    cp, pts = one_slice
    if which in ("params", "both"):
        cp = cp.iloc[:0]
    if which in ("points", "both"):
        pts = pts.iloc[:0]
    f = wing_features(cp, pts, dte_min=1, dte_max=365)
    assert f.empty and tuple(f.columns) == FEATURE_COLUMNS
    assert f["trade_date"].dtype == "datetime64[ns]" and f["usable"].dtype == bool and f["y"].dtype == float
