"""Wing-model diagnostics: planted-bump detection on hand-built frames, out-of-sample errors on exact data.

Detection: every count below is worked out by hand from the frames (comments give the reasoning).
Out of sample: features generated noise-free from known coefficients, so the point-in-time model is
exact (RMSE ~ 0) while the naive baseline (yesterday's ratio of the expiry nearest in DTE, times
today's ATM vol) is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.conventions import trading_sessions
from volmachine_core.wing import WingModelSpec, fit_wing_models
from volmachine_core.wing.diagnostics import detection_cells, detection_scores, oos_summary, out_of_sample

D1 = pd.Timestamp("2024-03-15")
E1, E2, E3 = pd.Timestamp("2024-04-19"), pd.Timestamp("2024-05-17"), pd.Timestamp("2024-06-21")
F = 100.0
TARGET_SDS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)


def option(z, residual, *, right=None, status="ok", in_range=True, iv_bid=0.2, expiry=E1, und="AAA"):
    right = right or ("C" if z >= 0 else "P")
    return {"trade_date": D1, "underlying": und, "expiry": expiry, "strike": F * np.exp(0.1 * z), "right": right,
            "forward": F, "z": z, "residual": residual, "status": status, "in_dte_range": in_range, "iv_bid": iv_bid}


@pytest.fixture(scope="module")
def theos():
    rows = [
        # cell -1.5: four OTM puts within 0.25 SD (-1.3 is nearer -1.5 than -1.0) -> median 0.0225, flagged
        option(-1.6, 0.020), option(-1.5, 0.030), option(-1.4, 0.025), option(-1.3, 0.0),
        # excluded from every cell: ITM call, no model, outside the DTE range, one-sided, too far from a target SD
        option(-1.5, -0.5, right="C"), option(-1.5, -0.5, status="no_model"), option(-1.5, -0.5, in_range=False),
        option(-1.5, -0.5, iv_bid=np.nan), option(-0.5, -0.5), option(-0.7, -0.5),
        # cell +1.0: two OTM calls, median -0.005, not flagged
        option(0.9, -0.004), option(1.1, -0.006),
        # cell +2.0: one call, -0.012 flagged; cell -1.0 of another expiry: one put, flagged
        option(2.2, -0.012), option(-1.0, 0.010, expiry=E2),
    ]
    return pd.DataFrame(rows)


def test_detection_cells(theos):
    cells = detection_cells(theos, TARGET_SDS).set_index(["expiry", "target_sd"])
    assert set(cells.index) == {(E1, -1.5), (E1, 1.0), (E1, 2.0), (E2, -1.0)}
    # -1.3 is nearer -1.5 (0.2) than -1.0 (0.3): it joins the -1.5 cell with residual 0
    assert cells.loc[(E1, -1.5), "n_options"] == 4
    assert cells.loc[(E1, -1.5), "residual"] == pytest.approx(np.median([0.02, 0.03, 0.025, 0.0]))
    assert cells.loc[(E1, 1.0), "residual"] == pytest.approx(-0.005) and not cells.loc[(E1, 1.0), "flag"]
    assert cells.loc[(E1, 2.0), "n_options"] == 1 and cells.loc[(E1, 2.0), "flag"]
    assert cells.loc[(E2, -1.0), "flag"]  # |0.010| >= flag_vol 0.01: the bound is inclusive
    assert cells.loc[(E1, -1.5), "flag"]


def test_detection_cells_settings(theos):
    wide = detection_cells(theos, TARGET_SDS, half_width=0.5, min_abs_sd=0.5, flag_vol=0.02)
    # with min_abs_sd 0.5 the -0.5 target SD is used: the put at -0.5 and at -0.7 form a cell
    c = wide.set_index(["expiry", "target_sd"])
    assert c.loc[(E1, -0.5), "n_options"] == 2
    assert c.loc[(E1, -1.5), "flag"] and not c.loc[(E2, -1.0), "flag"]


def cells_frame():
    """Hand-built cells of (D1, AAA, E1) and one of (D1, AAA, E2)."""
    rows = [(E1, -2.0, 0.000, False), (E1, -1.5, 0.030, True), (E1, -1.0, 0.015, True), (E1, 1.0, -0.020, True),
            (E1, 1.5, 0.002, False), (E1, 2.0, -0.012, True), (E2, -1.0, 0.020, True)]
    return pd.DataFrame([{"trade_date": D1, "underlying": "AAA", "expiry": e, "target_sd": s, "residual": r,
                          "n_options": 3, "flag": f} for e, s, r, f in rows])


def planted_frame():
    rows = [
        (D1, E1, -1.5, 0.030),   # found at its own cell with its sign
        (D1, E1, 1.5, 0.020),    # its cell is not flagged: missed; the flags at 1.0 and 2.0 have the other sign
        (D1, E1, -1.0, 0.010),   # below min_shift: ignored
        (D1, E3, 1.0, 0.050),    # no cells for E3: not covered
        (D1 + pd.Timedelta(days=3), E1, 1.0, 0.050),  # no cells that day: not covered
    ]
    return pd.DataFrame([{"trade_date": d, "underlying": "AAA", "expiry": e, "target_sd": s, "vol_shift": v}
                         for d, e, s, v in rows])


def test_detection_scores_counts():
    s = detection_scores(cells_frame(), planted_frame())
    assert s["n_planted"] == 2 and s["n_found"] == 1 and s["recall"] == 0.5
    # flags: -1.5 (strict hit), -1.0 (0.5 SD from the -1.5 bump, same sign: ok), 1.0 and 2.0 (near the 1.5
    # bump but opposite sign), E2 -1.0 (no bump): 2 of 5 correct, 1 of 5 at the bump's own SD
    assert s["n_flags"] == 5
    assert s["precision"] == pytest.approx(2 / 5) and s["precision_strict"] == pytest.approx(1 / 5)
    assert s["flag_rate"] == pytest.approx(5 / 7)


def test_bumps_without_their_own_cell_count_but_are_not_observable():
    p = pd.concat([planted_frame(), planted_frame().iloc[[0]].assign(target_sd=0.5)], ignore_index=True)
    s = detection_scores(cells_frame(), p)
    assert s["n_planted"] == 3 and s["n_found"] == 1 and s["recall"] == pytest.approx(1 / 3)
    assert s["n_observable"] == 2 and s["recall_observable"] == 0.5  # no cell at +0.5 SD: it cannot be seen


def test_reach_sd_is_the_neighbour_rule():
    s = detection_scores(cells_frame(), planted_frame(), reach_sd=0.4)
    assert s["precision"] == pytest.approx(1 / 5)  # the -1.0 flag is now too far from the -1.5 bump
    s = detection_scores(cells_frame(), planted_frame(), reach_sd=0.0)
    assert s["precision"] == pytest.approx(1 / 5) == s["precision_strict"]


def test_sign_must_agree_for_a_find():
    p = planted_frame()
    p.loc[0, "vol_shift"] = -0.030  # the flag at -1.5 shows +0.030: wrong direction
    s = detection_scores(cells_frame(), p)
    assert s["n_planted"] == 2 and s["n_found"] == 0 and s["recall"] == 0.0


def test_min_shift_decides_which_bumps_count():
    s = detection_scores(cells_frame(), planted_frame(), min_shift=0.005)
    assert s["n_planted"] == 3  # the 0.010 bump at -1.0 counts now and is found (flag +0.015)
    assert s["n_found"] == 2


def test_no_flags_and_no_bumps_give_nan():
    cells = cells_frame().assign(flag=False)
    s = detection_scores(cells, planted_frame().iloc[3:])
    assert s["n_planted"] == 0 and np.isnan(s["recall"])
    assert s["n_flags"] == 0 and np.isnan(s["precision"]) and np.isnan(s["precision_strict"])
    assert s["flag_rate"] == 0.0


def test_precision_strict_is_never_above_precision():
    cells = cells_frame().iloc[[1]]  # one flag at -1.5 showing +0.030
    planted = planted_frame().iloc[[0]].assign(vol_shift=-0.030)  # the bump there went the other way
    s = detection_scores(cells, planted)
    assert s["precision"] == 0.0
    assert s["precision_strict"] <= s["precision"]


# --- out of sample --------------------------------------------------------------------------------------

SESSIONS = trading_sessions("2024-01-02", "2024-03-29")[:30]
SDS = (-1.0, 1.0)
EXPIRIES = (pd.Timestamp("2024-03-15"), pd.Timestamp("2024-04-19"), pd.Timestamp("2024-06-21"))
COEF = {("AAA", -1.0): (0.20, -0.01, 0.05, -2.0), ("AAA", 1.0): (0.05, 0.002, -0.03, 1.5),
        ("BBB", -1.0): (0.15, -0.006, 0.02, -1.0), ("BBB", 1.0): (0.10, -0.001, 0.04, 0.8)}


@pytest.fixture(scope="module")
def exact_features():
    rng = np.random.default_rng(2)
    rows = []
    for und in ("AAA", "BBB"):
        for d in SESSIONS:
            for e in EXPIRIES:
                dte = (e - d).days
                bdays = int(round(dte * 5 / 7))
                atm = rng.uniform(0.15, 0.4)
                slope = rng.normal(-0.03, 0.02)
                for sd in SDS:
                    y = np.array([1.0, np.sqrt(bdays), np.log(atm), slope]) @ np.array(COEF[und, sd])
                    rows.append({"trade_date": d, "underlying": und, "expiry": e, "target_sd": sd, "dte": dte,
                                 "bdays": bdays, "atm_vol": atm, "atm_slope": slope, "vol": atm * np.exp(y), "y": y,
                                 "sqrt_bdays": np.sqrt(bdays), "ln_atm_vol": np.log(atm), "usable": True})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def oos(exact_features):
    models = fit_wing_models(exact_features, SESSIONS[24:], WingModelSpec(window_days=20, min_obs=20, min_days=10))
    assert (models["status"] == "ok").all()
    return out_of_sample(exact_features, models)


def test_out_of_sample_rows_and_exact_model(exact_features, oos):
    assert len(oos) == 6 * 2 * len(EXPIRIES) * len(SDS)  # every usable row of the 6 fit dates
    assert set(oos["trade_date"]) == set(SESSIONS[24:])
    assert np.abs(oos["err_model"]).max() < 1e-10
    np.testing.assert_allclose(oos["err_model"], oos["model_vol"] - oos["vol"])
    np.testing.assert_allclose(oos["err_baseline"], oos["baseline_vol"] - oos["vol"])


def test_baseline_is_yesterdays_ratio_of_the_nearest_expiry(exact_features, oos):
    f = exact_features
    for _, r in oos.sample(10, random_state=0).iterrows():
        prev = SESSIONS[SESSIONS.get_loc(r["trade_date"]) - 1]
        y = f[(f["trade_date"] == prev) & (f["underlying"] == r["underlying"]) & (f["target_sd"] == r["target_sd"])]
        same = y[y["expiry"] == r["expiry"]]  # expiries are fixed dates: the same one, one session older
        today = f[(f["trade_date"] == r["trade_date"]) & (f["underlying"] == r["underlying"])
                  & (f["expiry"] == r["expiry"]) & (f["target_sd"] == r["target_sd"])]
        want = today["atm_vol"].iloc[0] * np.exp(same["y"].iloc[0])
        assert r["baseline_vol"] == pytest.approx(want, rel=1e-12)


def test_baseline_uses_the_nearest_dte_when_the_expiry_is_new(exact_features):
    """Drop yesterday's June rows: the baseline for June falls back to the expiry nearest in DTE (April)."""
    f = exact_features
    day, prev = SESSIONS[26], SESSIONS[25]
    gone = (f["trade_date"] == prev) & (f["expiry"] == EXPIRIES[2])
    f2 = f[~gone].reset_index(drop=True)
    models = fit_wing_models(f, [day], WingModelSpec(window_days=20, min_obs=20, min_days=10))
    o = out_of_sample(f2, models)
    r = o[(o["expiry"] == EXPIRIES[2]) & (o["underlying"] == "AAA") & (o["target_sd"] == 1.0)].iloc[0]
    apr = f[(f["trade_date"] == prev) & (f["expiry"] == EXPIRIES[1]) & (f["underlying"] == "AAA")
            & (f["target_sd"] == 1.0)]
    today_atm = f[(f["trade_date"] == day) & (f["expiry"] == EXPIRIES[2]) & (f["underlying"] == "AAA")]["atm_vol"]
    assert r["baseline_vol"] == pytest.approx(today_atm.iloc[0] * np.exp(apr["y"].iloc[0]), rel=1e-12)


def test_oos_summary(oos):
    s = oos_summary(oos).set_index("target_sd")
    assert sorted(s.index) == list(SDS)
    for sd in SDS:
        o = oos[oos["target_sd"] == sd]
        assert s.loc[sd, "n"] == len(o)
        assert s.loc[sd, "rmse_model_vp"] < 1e-8
        want = 100 * np.sqrt(np.mean(o["err_baseline"] ** 2))
        assert s.loc[sd, "rmse_baseline_vp"] == pytest.approx(want, rel=1e-12)
        assert want > 0.1  # the baseline is visibly worse than the exact model
        assert s.loc[sd, "model_over_baseline"] == pytest.approx(s.loc[sd, "rmse_model_vp"] / want)


def test_out_of_sample_without_models_is_empty(exact_features):
    models = fit_wing_models(exact_features, [SESSIONS[3]], WingModelSpec(window_days=20, min_obs=20, min_days=10))
    o = out_of_sample(exact_features, models)
    assert o.empty and {"err_model", "err_baseline", "model_vol", "baseline_vol"} <= set(o.columns)
