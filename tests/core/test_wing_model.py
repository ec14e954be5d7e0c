"""Point-in-time wing regressions on synthetic features drawn from known coefficients.

Truth: per (underlying, target_sd), ``y = b0 + b1 sqrt(bdays) + b2 ln(atm_vol) + b3 atm_slope + e`` with
``e ~ N(0, 0.002)``, over 45 XNYS sessions, 4 expiries a day, 2 underlyings and 4 target SDs. The
reference fit is statsmodels' own ``OLS`` / ``RLM(HuberT)`` on the rows of the documented window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from volmachine_core.conventions import previous_session, trading_sessions
from volmachine_core.wing import (
    COEFFICIENTS,
    MODEL_VERSION,
    WING_MODEL_COLUMNS,
    WingModelSpec,
    design_matrix,
    fit_wing_models,
    predict_at,
)

SESSIONS = trading_sessions("2024-01-02", "2024-04-30")[:45]
UNDERLYINGS = ("AAA", "BBB")
SDS = (-2.0, -1.0, 1.0, 2.0)
NOISE = 0.002
SPEC = WingModelSpec(window_days=20, min_obs=30, min_days=10)
#: Fit dates: a Monday after a weekend, a mid-week day, the day after the last session (all with full windows).
FIT_DATES = (SESSIONS[30], SESSIONS[38], SESSIONS[44] + pd.Timedelta(days=1))


def true_coefs(und: str, sd: float) -> np.ndarray:
    """Known ``(b0, b1, b2, b3)`` of one regression."""
    u = UNDERLYINGS.index(und)
    return np.array([0.05 * abs(sd) + 0.01 * u, -0.004 * abs(sd), 0.08 * sd, -1.5 * sd + 0.2 * u])


def make_features(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for und in UNDERLYINGS:
        level = 0.2 if und == "AAA" else 0.35
        for d in SESSIONS:
            level *= np.exp(rng.normal(0.0, 0.03))
            for dte in rng.choice(np.arange(5, 120), 4, replace=False):
                atm = level * np.exp(rng.normal(0.0, 0.05))
                slope = rng.normal(-0.03, 0.01)
                bdays = int(round(dte * 5 / 7))
                for sd in SDS:
                    x = np.array([1.0, np.sqrt(bdays), np.log(atm), slope])
                    y = x @ true_coefs(und, sd) + rng.normal(0.0, NOISE)
                    rows.append({"trade_date": d, "snapshot_id": f"{d:%Y-%m-%d}T16:00:00", "underlying": und,
                                 "expiry": d + pd.Timedelta(days=int(dte)), "target_sd": sd, "dte": int(dte),
                                 "bdays": bdays, "tau": dte / 365.0, "atm_vol": atm, "atm_slope": slope,
                                 "vol": atm * np.exp(y), "y": y, "sqrt_bdays": np.sqrt(bdays),
                                 "ln_atm_vol": np.log(atm), "rmse_vol": 0.001, "usable": True, "reason": ""})
    f = pd.DataFrame(rows)
    # garbage rows that must never enter a fit
    bad = f.sample(40, random_state=1).index
    f.loc[bad, "usable"] = False
    f.loc[bad, "reason"] = "curve_fallback"
    f.loc[bad, "y"] = 5.0
    return f


@pytest.fixture(scope="module")
def features():
    return make_features()


@pytest.fixture(scope="module")
def ols_models(features):
    return fit_wing_models(features, FIT_DATES, SPEC)


def window_rows(features, row):
    f = features[features["usable"] & (features["underlying"] == row["underlying"])
                 & (features["target_sd"] == row["target_sd"])]
    return f[(f["trade_date"] >= row["window_start"]) & (f["trade_date"] <= row["window_end"])]


def test_grain_columns_and_status(ols_models):
    m = ols_models
    assert tuple(m.columns) == WING_MODEL_COLUMNS
    assert len(m) == len(FIT_DATES) * len(UNDERLYINGS) * len(SDS)
    assert (m["status"] == "ok").all()
    assert (m["model_version"] == MODEL_VERSION).all() and (m["estimator"] == "ols").all()
    assert set(m["target_sd"]) == set(SDS)
    r = m.iloc[0]
    assert r["model_id"] == f"{MODEL_VERSION}:ols:{r['underlying']}:{r['fit_date']:%Y-%m-%d}:20d"
    assert (m["r2"] > 0.9).all()
    np.testing.assert_allclose(m["resid_sd"], NOISE, rtol=0.3)


def test_window_ends_before_fit_date_and_spans_window_days(ols_models):
    for fit_date, g in ols_models.groupby("fit_date"):
        r = g.iloc[0]
        assert r["window_end"] < fit_date
        assert r["window_end"] == previous_session(fit_date)
        assert len(trading_sessions(r["window_start"], r["window_end"])) == SPEC.window_days
        assert (g["window_start"] == r["window_start"]).all() and (g["window_end"] == r["window_end"]).all()


def test_n_obs_and_n_days_count_usable_window_rows(features, ols_models):
    for _, r in ols_models.iterrows():
        w = window_rows(features, r)
        assert r["n_obs"] == len(w)
        assert r["n_days"] == w["trade_date"].nunique() == SPEC.window_days


def test_ols_recovers_known_coefficients(ols_models):
    z = []
    for _, r in ols_models.iterrows():
        b = r[[f"b_{c}" for c in COEFFICIENTS]].to_numpy(float)
        se = r[[f"se_{c}" for c in COEFFICIENTS]].to_numpy(float)
        z.append((b - true_coefs(r["underlying"], r["target_sd"])) / se)
    z = np.concatenate(z)
    assert np.abs(z).max() < 4.5
    assert 0.5 < np.sqrt(np.mean(z**2)) < 1.5  # standard errors are honest


def test_ols_matches_statsmodels_on_the_window_rows(features, ols_models):
    for _, r in ols_models.iterrows():
        w = window_rows(features, r)
        ref = sm.OLS(w["y"].to_numpy(), design_matrix(w)).fit()
        np.testing.assert_allclose(r[[f"b_{c}" for c in COEFFICIENTS]].to_numpy(float), ref.params,
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(r[[f"se_{c}" for c in COEFFICIENTS]].to_numpy(float), ref.bse,
                                   rtol=1e-9, atol=1e-12)
        assert r["r2"] == pytest.approx(ref.rsquared, rel=1e-10)
        assert r["resid_sd"] == pytest.approx(np.sqrt(ref.scale), rel=1e-10)


def test_rlm_recovers_coefficients_and_matches_statsmodels(features):
    spec = WingModelSpec(window_days=20, min_obs=30, min_days=10, estimator="rlm")
    m = fit_wing_models(features[features["underlying"] == "AAA"], FIT_DATES[:1], spec)
    assert (m["status"] == "ok").all() and (m["estimator"] == "rlm").all()
    assert m["model_id"].str.contains(":rlm:").all()
    for _, r in m.iterrows():
        b = r[[f"b_{c}" for c in COEFFICIENTS]].to_numpy(float)
        se = r[[f"se_{c}" for c in COEFFICIENTS]].to_numpy(float)
        assert np.all(np.abs(b - true_coefs("AAA", r["target_sd"])) < 5.0 * se)
        w = window_rows(features, r)
        ref = sm.RLM(w["y"].to_numpy(), design_matrix(w), M=sm.robust.norms.HuberT()).fit()
        np.testing.assert_allclose(b, ref.params, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(se, ref.bse, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fit_date", FIT_DATES[:2])
def test_point_in_time_rows_on_or_after_fit_date_are_ignored(features, ols_models, fit_date):
    f = features.copy()
    late = f["trade_date"] >= fit_date
    assert late.any()
    rng = np.random.default_rng(9)
    for c in ("y", "atm_slope", "ln_atm_vol", "sqrt_bdays"):
        f.loc[late, c] = f.loc[late, c] + rng.normal(0.0, 1.0, late.sum())
    f.loc[late, "usable"] = True
    f = pd.concat([f, f[late].assign(y=9.0)], ignore_index=True)  # and extra late rows
    got = fit_wing_models(f, [fit_date], SPEC)
    want = ols_models[ols_models["fit_date"] == fit_date].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_perturbing_the_window_does_change_the_fit(features, ols_models):
    """Control for the point-in-time test: the day before the fit date is inside the window."""
    fit_date = FIT_DATES[0]
    f = features.copy()
    f.loc[f["trade_date"] == previous_session(fit_date), "y"] += 0.05
    got = fit_wing_models(f, [fit_date], SPEC)
    want = ols_models[ols_models["fit_date"] == fit_date].reset_index(drop=True)
    assert not np.allclose(got["b_const"], want["b_const"])


@pytest.mark.parametrize(("spec", "fit_date"), [
    (WingModelSpec(window_days=20, min_obs=30, min_days=10), SESSIONS[8]),   # 8 days of data only
    (WingModelSpec(window_days=20, min_obs=1000, min_days=10), FIT_DATES[0]),  # 320 rows < 1000
    (WingModelSpec(window_days=5, min_obs=10, min_days=10), FIT_DATES[0]),  # a 5-session window has 5 days
])
def test_insufficient_data(features, spec, fit_date):
    m = fit_wing_models(features, [fit_date], spec)
    assert len(m) == len(UNDERLYINGS) * len(SDS)
    assert (m["status"] == "insufficient_data").all()
    assert m[[f"b_{c}" for c in COEFFICIENTS] + [f"se_{c}" for c in COEFFICIENTS] + ["r2"]].isna().all().all()


def test_fit_before_any_data_has_zero_observations(features):
    m = fit_wing_models(features, [SESSIONS[0]], SPEC)
    assert (m["n_obs"] == 0).all() and (m["status"] == "insufficient_data").all()


def test_no_usable_rows_or_no_dates_gives_empty_table(features):
    for m in (fit_wing_models(features.assign(usable=False), FIT_DATES, SPEC), fit_wing_models(features, [], SPEC)):
        assert m.empty and tuple(m.columns) == WING_MODEL_COLUMNS


@pytest.mark.parametrize("kwargs", [
    {"estimator": "lad"}, {"estimator": "OLS"}, {"window_days": 0}, {"min_obs": 4}, {"min_days": 0},
])
def test_spec_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        WingModelSpec(**kwargs)


def test_spec_error_names_the_estimator():
    with pytest.raises(ValueError, match="estimator must be 'ols' or 'rlm', got 'lad'"):
        WingModelSpec(estimator="lad")


@pytest.fixture(scope="module")
def slices():
    """AAA slices before, on, between and after the fit dates (unsorted), and one BBB slice."""
    d0, d1 = FIT_DATES[0], FIT_DATES[1]
    dates = [d1 + pd.Timedelta(days=3), d0 - pd.Timedelta(days=1), d0, d0 + pd.Timedelta(days=2), d1,
             d1 - pd.Timedelta(days=1)]
    s = pd.DataFrame({"underlying": "AAA", "trade_date": dates, "bdays": 15, "atm_vol": 0.22, "atm_slope": -0.02})
    extra = pd.DataFrame({"underlying": ["BBB"], "trade_date": [d1], "bdays": [40], "atm_vol": [0.3],
                          "atm_slope": [-0.01]})
    return pd.concat([s, extra], ignore_index=True)


def _coefs(m, und, day, sd) -> np.ndarray:
    row = m[(m["fit_date"] == day) & (m["underlying"] == und) & (m["target_sd"] == sd)]
    return row[[f"b_{c}" for c in COEFFICIENTS]].to_numpy(float)[0]


def test_predict_at_uses_the_latest_fit_at_or_before_trade_date(ols_models, slices):
    m = ols_models[ols_models["fit_date"].isin(FIT_DATES[:2])]
    yhat, fit, ids = predict_at(m, slices, SDS)
    assert yhat.shape == (len(slices), len(SDS)) and len(fit) == len(ids) == len(slices)  # order kept
    d0, d1 = FIT_DATES[0], FIT_DATES[1]
    expected = [d1, pd.NaT, d0, d0, d1, d0, d1]
    assert [None if pd.isna(v) else pd.Timestamp(v) for v in fit] == [None if pd.isna(v) else v for v in expected]
    assert ids[0] == f"{MODEL_VERSION}:ols:AAA:{d1:%Y-%m-%d}:20d"
    assert ids[1] is None
    x = design_matrix(slices)
    for j, sd in enumerate(SDS):
        assert np.isnan(yhat[1, j]) or sd == 0.0
        if sd == 0.0:
            continue
        assert yhat[2, j] == pytest.approx(x[2] @ _coefs(m, "AAA", d0, sd), rel=1e-13, abs=1e-15)
        assert yhat[6, j] == pytest.approx(x[6] @ _coefs(m, "BBB", d1, sd), rel=1e-13, abs=1e-15)


def test_predict_at_skips_failed_fits(ols_models, slices):
    m = ols_models[ols_models["fit_date"].isin(FIT_DATES[:2])].copy()
    later = (m["fit_date"] == FIT_DATES[1]) & (m["underlying"] == "AAA")
    m.loc[later, "status"] = "insufficient_data"
    m.loc[later, [f"b_{c}" for c in COEFFICIENTS]] = np.nan
    _, fit, _ = predict_at(m, slices, SDS)
    assert pd.Timestamp(fit[0]) == FIT_DATES[0]
    assert pd.Timestamp(fit[6]) == FIT_DATES[1]  # BBB unaffected


def test_predict_at_with_no_usable_model_gives_nan(ols_models, slices):
    yhat, fit, ids = predict_at(ols_models.iloc[:0], slices, SDS)
    assert len(fit) == len(slices) and pd.isna(fit).all() and all(i is None for i in ids)
    nonzero = [j for j, sd in enumerate(SDS) if sd != 0.0]
    assert np.isnan(yhat[:, nonzero]).all()


def test_predict_at_values(ols_models, slices):
    sds = (-2.0, 0.0, 1.0, 2.0, 3.0)  # 3.0 has no model
    yhat, fit, _ = predict_at(ols_models, slices, sds)
    assert yhat.shape == (len(slices), len(sds))
    np.testing.assert_array_equal(yhat[:, 1], 0.0)  # ratio 1 at the ATM point, even with no model
    assert np.isnan(yhat[:, 4]).all()
    assert np.isnan(yhat[1, [0, 2, 3]]).all()  # no model before the first fit
    x = design_matrix(slices)
    for i in np.flatnonzero(~pd.isna(fit)):
        und = slices["underlying"].iloc[i]
        for j, sd in ((0, -2.0), (2, 1.0), (3, 2.0)):
            b = _coefs(ols_models, und, pd.Timestamp(fit[i]), sd)
            np.testing.assert_allclose(yhat[i, j], x[i] @ b, rtol=1e-13)
    # the fitted model reproduces the truth at a slice within a few residual SDs
    t = x[0] @ true_coefs("AAA", 2.0)
    assert abs(yhat[0, 3] - t) < 5 * NOISE
