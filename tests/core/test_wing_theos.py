"""Wing theos on a hand-built snapshot whose model ratios, market vols and prices are known exactly.

Construction: one slice (F = 100, D = 0.995, tau = 35/365, atm_vol = 0.25); a model table whose only
non-zero coefficient is ``b_const``, so the predicted ``ln(vol/atm_vol)`` at each target SD is that
constant; strikes at the exact target-SD moneyness ``K = F exp(z atm_vol sqrt(tau))`` (plus two between
knots), both rights at each strike; market mid vol = model vol + a known residual; bid/ask prices and
greeks from ``black76_price`` / ``black76_greeks`` (Black 1976).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.interp import hermite_eval, pchip_slopes
from volmachine_core.pricing import black76_greeks, black76_price
from volmachine_core.wing import COEFFICIENTS, SLEGA_BUMP, WING_THEO_COLUMNS, wing_theos
from volmachine_core.wing.theos import model_ratio, slice_predictions

SNAP = "2024-03-15T16:00:00"
TRADE_DATE = pd.Timestamp("2024-03-15")
EXPIRY = pd.Timestamp("2024-04-19")
F, D, TAU, ATM, BDAYS, MULT = 100.0, 0.995, 35 / 365, 0.25, 24, 100.0
SDS = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
YHAT = np.array([0.25, 0.10, 0.04, 0.0, -0.01, 0.0, 0.05])
#: Query z: every knot plus two points between knots.
ZS = np.array([-2.0, -1.0, -0.75, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
HALF_SPREAD = 0.004


def models_table(und="AAA", fit_date=TRADE_DATE, yhat=YHAT, sds=SDS):
    rows = []
    for sd, y in zip(sds, yhat, strict=True):
        if sd == 0.0:
            continue
        row = {"fit_date": fit_date, "underlying": und, "target_sd": float(sd), "status": "ok",
               "model_id": f"wing/1:ols:{und}:{fit_date:%Y-%m-%d}:60d"}
        row |= {f"b_{c}": 0.0 for c in COEFFICIENTS} | {"b_const": float(y)}
        rows.append(row)
    return pd.DataFrame(rows)


def curve_params_table(slices):
    """``slices``: (underlying, expiry) pairs; all share F, tau, atm_vol."""
    return pd.DataFrame([{"snapshot_id": SNAP, "underlying": u, "expiry": e, "tau": TAU, "bdays": BDAYS,
                          "forward": F, "atm_vol": ATM, "atm_slope": -0.05} for u, e in slices])


def true_model_vol(z):
    rows = np.zeros(len(z), dtype=np.int64)
    return ATM * np.exp(hermite_eval(SDS, YHAT[None, :], pchip_slopes(SDS, YHAT[None, :]), rows, z))


def quotes(und="AAA", expiry=EXPIRY, residual_seed=0, zs=ZS):
    """Both rights at each strike; market vol = model vol + known residual."""
    rng = np.random.default_rng(residual_seed)
    z = np.repeat(zs, 2)
    right = np.tile(["C", "P"], len(zs))
    call = right == "C"
    K = F * np.exp(z * ATM * np.sqrt(TAU))
    res = rng.uniform(-0.02, 0.02, len(z))
    mkt = true_model_vol(z) + res
    iv_bid, iv_ask = mkt - HALF_SPREAD, mkt + HALF_SPREAD
    g = black76_greeks(F, K, TAU, mkt, D, call)
    return pd.DataFrame({
        "snapshot_id": SNAP, "underlying": und, "expiry": expiry, "expiry_ts": expiry + pd.Timedelta(hours=20),
        "strike": K, "right": right, "multiplier": MULT, "tau": TAU, "forward": F, "discount_factor": D,
        "bid": black76_price(F, K, TAU, iv_bid, D, call), "ask": black76_price(F, K, TAU, iv_ask, D, call),
        "iv_bid": iv_bid, "iv_mid": mkt, "iv_ask": iv_ask, "vega": g["vega"], "delta": g["delta"], "z": z,
        "otm": np.where(call, K >= F, K < F), "true_residual": res,
    })


@pytest.fixture(scope="module")
def snapshot():
    sv = quotes()
    cp = curve_params_table([("AAA", EXPIRY)])
    return sv, cp, wing_theos(sv, cp, models_table(), target_sds=SDS, dte_range=(7, 60))


def test_columns_grain_and_status(snapshot):
    sv, _, th = snapshot
    assert tuple(th.columns) == WING_THEO_COLUMNS
    assert len(th) == len(sv)
    assert (th["status"] == "ok").all()
    assert (th["fit_date"] == TRADE_DATE).all() and (th["model_id"] == "wing/1:ols:AAA:2024-03-15:60d").all()
    assert (th["trade_date"] == TRADE_DATE).all() and th["in_dte_range"].all()
    np.testing.assert_allclose(th["mid"], 0.5 * (sv["bid"] + sv["ask"]))
    np.testing.assert_array_equal(th["market_vol"], sv["iv_mid"])


def test_slice_predictions_are_the_constants(snapshot):
    _, cp, _ = snapshot
    sl, yhat = slice_predictions(cp, models_table(), SDS)
    assert len(sl) == 1 and sl["fit_date"].iloc[0] == TRADE_DATE
    np.testing.assert_allclose(yhat[0], YHAT, rtol=0, atol=1e-15)


def test_model_vol_is_atm_times_exp_yhat_at_knots(snapshot):
    _, _, th = snapshot
    at_knot = np.isin(th["z"], SDS)
    assert at_knot.sum() == 2 * len(SDS)
    want = ATM * np.exp(YHAT[np.searchsorted(SDS, th.loc[at_knot, "z"])])
    np.testing.assert_allclose(th.loc[at_knot, "model_vol"], want, rtol=1e-14)
    np.testing.assert_allclose(th["model_vol"], true_model_vol(th["z"].to_numpy()), rtol=1e-14)
    assert (th["atm_vol"] == ATM).all()


def test_residual_sign_and_buyer_pnl_theo(snapshot):
    sv, _, th = snapshot
    np.testing.assert_allclose(th["residual"], sv["true_residual"], atol=1e-14)
    np.testing.assert_allclose(th["pnl_theo"], -sv["vega"] * sv["true_residual"] * MULT, rtol=1e-10, atol=1e-12)
    rich = th["residual"] > 0  # market above model: a buyer overpays
    assert rich.any() and (~rich).any()
    assert (th.loc[rich, "pnl_theo"] < 0).all() and (th.loc[~rich, "pnl_theo"] > 0).all()


def test_theo_price_is_black76_at_model_vol(snapshot):
    _, _, th = snapshot
    call = (th["right"] == "C").to_numpy()
    want = black76_price(F, th["strike"].to_numpy(), TAU, true_model_vol(th["z"].to_numpy()), D, call)
    np.testing.assert_allclose(th["theo_price"], want, rtol=1e-12)
    # pnl_theo is the first-order Taylor term of (price at model vol - price at market vol) per contract:
    # the gap left is the volga term 0.5 volga residual^2
    mkt = th["market_vol"].to_numpy()
    volga = black76_greeks(F, th["strike"].to_numpy(), TAU, mkt, D, call)["volga"]
    gap = (th["theo_price"] - black76_price(F, th["strike"].to_numpy(), TAU, mkt, D, call)) * MULT
    second = 0.5 * volga * th["residual"].to_numpy() ** 2 * MULT
    np.testing.assert_allclose(gap - th["pnl_theo"], second, rtol=0.1, atol=2e-3)


def test_spread_in_vol_and_residual_beyond_spread(snapshot):
    _, _, th = snapshot
    np.testing.assert_allclose(th["half_spread_vol"], HALF_SPREAD, rtol=1e-12)
    r = th["residual"].to_numpy()
    want = np.sign(r) * np.maximum(np.abs(r) - HALF_SPREAD, 0.0)
    np.testing.assert_allclose(th["residual_beyond_spread"], want, atol=1e-15)
    inside = np.abs(r) <= HALF_SPREAD
    assert inside.any() and (th.loc[inside, "residual_beyond_spread"] == 0).all()


def test_half_spread_from_price_when_there_is_no_bid_vol():
    sv = quotes()
    one = 1  # the -2 SD put: out of the money, no bid
    sv.loc[one, ["bid", "iv_bid"]] = [0.0, np.nan]
    th = wing_theos(sv, curve_params_table([("AAA", EXPIRY)]), models_table(), target_sds=SDS)
    want = 0.5 * sv.loc[one, "ask"] / sv.loc[one, "vega"]
    assert th.loc[one, "half_spread_vol"] == pytest.approx(want, rel=1e-12)
    assert th.loc[one, "status"] == "ok"


def test_atm_hedge_ratio_and_deltas(snapshot):
    sv, _, th = snapshot
    for right in ("C", "P"):
        t = th[th["right"] == right]
        atm = t.iloc[np.argmin(np.abs(np.log(t["strike"] / F)))]
        assert atm["z"] == 0.0
        assert (t["atm_strike"] == atm["strike"]).all() and (t["atm_vega"] == atm["vega"]).all()
        assert atm["atm_hedge_ratio"] == 1.0
        np.testing.assert_allclose(t["atm_hedge_ratio"], t["vega"] / atm["vega"], rtol=1e-14)
        np.testing.assert_allclose(t["hedge_delta"], -t["atm_hedge_ratio"] * atm["delta"], rtol=1e-14)
        np.testing.assert_allclose(t["net_delta"], t["delta"] + t["hedge_delta"], rtol=1e-14)
        assert atm["net_delta"] == pytest.approx(0.0, abs=1e-15)
    # vega-neutral pair: option vega minus ratio x ATM vega is 0
    np.testing.assert_allclose(th["vega"] - th["atm_hedge_ratio"] * th["atm_vega"], 0.0, atol=1e-12)


def test_atm_option_is_the_strike_nearest_the_forward():
    sv = quotes()
    sv["forward"] = F * np.exp(0.3 * ATM * np.sqrt(TAU))  # forward 0.3 SD above the z = 0 strike: 0.5 SD is nearer
    th = wing_theos(sv, curve_params_table([("AAA", EXPIRY)]), models_table(), target_sds=SDS)
    k05 = F * np.exp(0.5 * ATM * np.sqrt(TAU))
    np.testing.assert_allclose(th["atm_strike"], k05, rtol=1e-14)


def test_slega_is_the_central_difference_and_about_vega_z(snapshot):
    sv, _, th = snapshot
    K, z, mkt = sv["strike"].to_numpy(), sv["z"].to_numpy(), sv["iv_mid"].to_numpy()
    call = (sv["right"] == "C").to_numpy()
    fd = 0.5 * (black76_price(F, K, TAU, mkt + SLEGA_BUMP * z, D, call)
                - black76_price(F, K, TAU, mkt - SLEGA_BUMP * z, D, call))
    np.testing.assert_allclose(th["slega"], fd, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(th["slega"], SLEGA_BUMP * sv["vega"] * z, rtol=2e-3, atol=1e-12)
    assert (th.loc[th["z"] == 0, "slega"] == 0).all()


@pytest.mark.parametrize(("dte_range", "inside"), [((7, 35), True), ((35, 90), True), ((1, 34), False),
                                                    ((36, 90), False), (None, True)])
def test_in_dte_range_is_inclusive(dte_range, inside):
    th = wing_theos(quotes(), curve_params_table([("AAA", EXPIRY)]), models_table(), target_sds=SDS,
                    dte_range=dte_range)
    assert (th["in_dte_range"] == inside).all()


def test_no_model_and_no_curve_statuses():
    other = pd.Timestamp("2024-05-17")
    sv = pd.concat([quotes(), quotes(und="BBB", residual_seed=1), quotes(expiry=other, residual_seed=2)],
                   ignore_index=True)
    cp = curve_params_table([("AAA", EXPIRY), ("BBB", EXPIRY)])  # no curve for AAA's May expiry
    th = wing_theos(sv, cp, models_table(), target_sds=SDS)
    n = len(ZS) * 2
    assert (th["status"].iloc[:n] == "ok").all()
    no_model, no_curve = th.iloc[n:2 * n], th.iloc[2 * n:]
    assert (no_model["status"] == "no_model").all() and (no_curve["status"] == "no_curve").all()
    for part in (no_model, no_curve):
        assert part[["model_vol", "residual", "pnl_theo", "theo_price"]].isna().all().all()
        assert part["fit_date"].isna().all() and part["model_id"].isna().all()
    assert (no_model["atm_vol"] == ATM).all() and no_curve["atm_vol"].isna().all()
    # hedges and slega need no model
    assert np.isfinite(no_model["atm_hedge_ratio"]).all() and np.isfinite(no_curve["slega"]).all()


def test_no_curves_at_all_gives_no_curve_status():
    cp = curve_params_table([("AAA", EXPIRY)]).iloc[:0]
    th = wing_theos(quotes(), cp, models_table(), target_sds=SDS)
    assert len(th) == len(ZS) * 2 and (th["status"] == "no_curve").all()


def test_model_fitted_after_the_trade_date_is_not_used():
    th = wing_theos(quotes(), curve_params_table([("AAA", EXPIRY)]),
                    models_table(fit_date=TRADE_DATE + pd.Timedelta(days=1)), target_sds=SDS)
    assert (th["status"] == "no_model").all()


def test_rows_without_mid_vol_are_dropped():
    sv = quotes()
    sv.loc[[0, 3], "iv_mid"] = np.nan
    th = wing_theos(sv, curve_params_table([("AAA", EXPIRY)]), models_table(), target_sds=SDS)
    assert len(th) == len(sv) - 2
    empty = wing_theos(sv.iloc[[0]], curve_params_table([("AAA", EXPIRY)]), models_table(), target_sds=SDS)
    assert empty.empty and tuple(empty.columns) == WING_THEO_COLUMNS


def test_input_errors():
    cp = curve_params_table([("AAA", EXPIRY)])
    with pytest.raises(ValueError, match="must include 0"):
        wing_theos(quotes(), cp, models_table(), target_sds=[-1.0, 1.0])
    with pytest.raises(ValueError, match=r"strike_vols lacks column\(s\) \['vega'\]"):
        wing_theos(quotes().drop(columns="vega"), cp, models_table(), target_sds=SDS)


# --- model_ratio beyond the outer target SDs -------------------------------------------------------------


def _ratio(yrow, z, nu=0):
    y = np.asarray([yrow], float)
    return model_ratio(SDS, y, np.zeros(len(z), dtype=np.int64), np.asarray(z, float), nu=nu)


def test_model_ratio_continues_linearly_when_end_slopes_rise_outward():
    y = np.array([0.30, 0.12, 0.05, 0.0, -0.02, 0.0, 0.08])  # falls to the left end, rises to the right end
    d = pchip_slopes(SDS, y[None, :])[0]
    assert d[0] < 0 and d[-1] > 0
    zl, zr = np.array([-2.5, -3.0, -6.0]), np.array([2.5, 3.0, 6.0])
    np.testing.assert_allclose(_ratio(y, zl), y[0] + d[0] * (zl - SDS[0]), rtol=1e-14)
    np.testing.assert_allclose(_ratio(y, zr), y[-1] + d[-1] * (zr - SDS[-1]), rtol=1e-14)
    np.testing.assert_allclose(_ratio(y, zl, nu=1), d[0], rtol=1e-14)
    np.testing.assert_allclose(_ratio(y, zr, nu=1), d[-1], rtol=1e-14)
    np.testing.assert_array_equal(_ratio(y, np.r_[zl, zr], nu=2), 0.0)
    # continuous at the outer knots
    eps = 1e-9
    assert _ratio(y, [SDS[0] - eps])[0] == pytest.approx(_ratio(y, [SDS[0] + eps])[0], abs=1e-8)
    assert _ratio(y, [SDS[-1] + eps])[0] == pytest.approx(_ratio(y, [SDS[-1] - eps])[0], abs=1e-8)


def test_model_ratio_is_flat_when_end_slopes_fall_outward():
    y = np.array([-0.10, -0.02, 0.0, 0.0, 0.02, 0.05, 0.03])  # falls outward on both sides
    d = pchip_slopes(SDS, y[None, :])[0]
    assert d[0] > 0 and d[-1] < 0
    z = np.array([-6.0, -2.5, 2.5, 6.0])
    np.testing.assert_array_equal(_ratio(y, z), [y[0], y[0], y[-1], y[-1]])
    np.testing.assert_array_equal(_ratio(y, z, nu=1), 0.0)


@pytest.mark.parametrize("seed", range(5))
def test_model_ratio_never_falls_outward(seed):
    y = np.random.default_rng(seed).normal(0.0, 0.1, len(SDS))
    y[3] = 0.0
    zl, zr = np.linspace(-8.0, SDS[0], 50), np.linspace(SDS[-1], 8.0, 50)
    assert (np.diff(_ratio(y, zl)) <= 1e-15).all()  # rising (or flat) as z goes left
    assert (np.diff(_ratio(y, zr)) >= -1e-15).all()
