"""strike_vols and add_z: repricing, OTM flags, greeks against finite differences, statuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import volmachine_core.strike_vols as sv_mod
from volmachine_core.forwards import fit_forwards
from volmachine_core.market.clean import clean_quotes
from volmachine_core.pricing import black76_price
from volmachine_core.strike_vols import NO_BID, NO_FORWARD, STRIKE_VOL_COLUMNS, add_z, strike_vols
from volmachine_pipeline.ingest_io import read_raw_file

SPXW = "spxw_2019-06-26_cboe_eod_1545.csv"
KEYS = ["snapshot_id", "underlying", "expiry_ts"]


@pytest.fixture(scope="module")
def quotes(shared_data) -> pd.DataFrame:
    rf = read_raw_file(shared_data / SPXW)
    return clean_quotes(rf.frame.assign(source_file="x"), options={"underlying": "SPX", "root": "SPXW"}).clean


@pytest.fixture(scope="module")
def forwards(quotes) -> pd.DataFrame:
    return fit_forwards(quotes)


@pytest.fixture(scope="module")
def vols(quotes, forwards) -> pd.DataFrame:
    return strike_vols(quotes, forwards)


def test_public_names_have_docstrings():
    for name in sv_mod.__all__:
        obj = getattr(sv_mod, name)
        if callable(obj):
            assert obj.__doc__, name


def test_one_row_per_quote_in_input_order(quotes, vols):
    assert len(vols) == len(quotes)
    assert list(vols.columns[: len(STRIKE_VOL_COLUMNS)]) == list(STRIKE_VOL_COLUMNS)
    np.testing.assert_array_equal(vols["source_row"], quotes["source_row"])
    np.testing.assert_array_equal(vols["strike"], quotes["strike"])
    np.testing.assert_allclose(vols["mid"], 0.5 * (quotes["bid"] + quotes["ask"]))
    np.testing.assert_allclose(vols["k"], np.log(vols["strike"] / vols["forward"]))
    # the warehouse contract's columns (DESIGN.md, strike_vols view; z comes from add_z)
    for col in ("snapshot_id", "underlying", "expiry", "strike", "right", "iv_bid", "iv_mid", "iv_ask",
                "iv_status", "vega", "delta"):
        assert col in vols.columns


def test_mid_vol_reprices_the_mid(vols):
    ok = vols[vols["iv_status"] == "ok"]
    assert len(ok) > 0.95 * len(vols)
    price = black76_price(ok["forward"], ok["strike"], ok["tau"], ok["iv_mid"], ok["discount_factor"],
                          (ok["right"] == "C").to_numpy())
    np.testing.assert_allclose(price, ok["mid"], rtol=0, atol=1e-8)


def test_bid_and_ask_vols_bracket_the_mid_vol(vols):
    ok = vols[(vols["iv_status"] == "ok") & (vols["iv_bid_status"] == "ok") & (vols["iv_ask_status"] == "ok")]
    assert len(ok) > 5000
    assert (ok["iv_bid"] <= ok["iv_mid"]).all() and (ok["iv_mid"] <= ok["iv_ask"]).all()
    np.testing.assert_allclose(ok["spread_vol"], ok["iv_ask"] - ok["iv_bid"])
    assert (ok["spread_vol"] >= 0).all()


def test_otm_flags_one_side_per_strike(vols):
    call = vols["right"] == "C"
    expected = np.where(call, vols["strike"] >= vols["forward"], vols["strike"] < vols["forward"])
    np.testing.assert_array_equal(vols["otm"], expected)
    per_strike = vols.groupby(["expiry_ts", "strike"])["otm"].agg(["sum", "size"])
    paired = per_strike[per_strike["size"] == 2]
    assert (paired["sum"] == 1).all()


def test_zero_bids_have_no_bid_vol(quotes, vols):
    zero = (quotes["bid"] <= 0).to_numpy()
    assert zero.sum() == 706  # README: 706 zero bids
    assert (vols.loc[zero, "iv_bid_status"] == NO_BID).all()
    assert vols.loc[zero, "iv_bid"].isna().all()


def test_vega_and_delta_match_finite_differences(vols):
    ok = vols[(vols["iv_status"] == "ok") & (vols["tau"] > 0.02)].sample(300, random_state=1)
    F, K, tau, sig, D = (ok[c].to_numpy() for c in ("forward", "strike", "tau", "iv_mid", "discount_factor"))
    call = (ok["right"] == "C").to_numpy()
    h = 1e-5
    fd_vega = (black76_price(F, K, tau, sig + h, D, call) - black76_price(F, K, tau, sig - h, D, call)) / (2 * h)
    dF = 1e-6 * F
    fd_delta = (black76_price(F + dF, K, tau, sig, D, call) - black76_price(F - dF, K, tau, sig, D, call)) / (2 * dF)
    np.testing.assert_allclose(ok["vega"], fd_vega, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ok["delta"], fd_delta, rtol=1e-5, atol=1e-7)
    assert (ok["vega"] > 0).all()
    assert (ok.loc[ok["right"] == "C", "delta"] > 0).all() and (ok.loc[ok["right"] == "P", "delta"] < 0).all()


def test_below_intrinsic_mid_and_missing_forward_statuses(quotes, forwards):
    fw = forwards.set_index("expiry")
    expiry = fw.index[20]
    q = quotes[quotes["expiry"] == expiry].reset_index(drop=True)
    F, D = fw.loc[expiry, "forward"], fw.loc[expiry, "discount_factor"]
    itm_put = q.index[(q["right"] == "P") & (q["strike"] > F + 200)][0]
    intrinsic = D * (q.loc[itm_put, "strike"] - F)
    q.loc[itm_put, ["bid", "ask"]] = [intrinsic - 3.0, intrinsic - 1.0]  # whole market below intrinsic
    out = strike_vols(q, forwards)
    row = out.loc[itm_put]
    assert row["iv_status"] == "below_intrinsic" and np.isnan(row["iv_mid"])
    assert row["iv_bid_status"] == "below_intrinsic" and row["iv_ask_status"] == "below_intrinsic"
    assert np.isnan(row["vega"]) and np.isnan(row["delta"])
    # an expiry the forwards table does not know
    missing = strike_vols(q, forwards[forwards["expiry"] != expiry])
    assert (missing["iv_status"] == NO_FORWARD).all() and missing["iv_mid"].isna().all()
    assert (missing["iv_bid_status"] == NO_FORWARD).all() and not missing["otm"].any()
    assert missing["forward"].isna().all()


def test_statuses_use_known_names(vols):
    known = {"ok", "below_intrinsic", "above_upper_bound", "no_time_value", "invalid_input", NO_FORWARD, NO_BID}
    for col in ("iv_status", "iv_bid_status", "iv_ask_status"):
        assert set(vols[col].unique()) <= known


def test_am_and_pm_expiries_on_one_date_use_their_own_forwards(quotes):
    day = quotes[quotes["expiry"] == pd.Timestamp("2019-08-16")]
    am = day.assign(root="SPX", settlement="AM", expiry_ts=pd.Timestamp("2019-08-16 13:30", tz="UTC").as_unit("us"),
                    bid=day["bid"] * 1.0, ask=day["ask"] * 1.0)
    both = pd.concat([day, am], ignore_index=True)
    fw = fit_forwards(both)
    assert len(fw) == 2
    out = strike_vols(both, fw)
    tau_by_root = out.groupby("root")["tau"].first()
    assert tau_by_root["SPX"] < tau_by_root["SPXW"]
    np.testing.assert_array_equal(out.groupby("root")["forward"].nunique(), [1, 1])
    # same prices, shorter time: the AM copy has higher vols
    iv = out.pivot_table(index=["strike", "right"], columns="root", values="iv_mid").dropna()
    assert (iv["SPX"] > iv["SPXW"]).all()


def test_duplicate_forward_keys_rejected(quotes, forwards):
    with pytest.raises(ValueError, match="one row per"):
        strike_vols(quotes, pd.concat([forwards, forwards.iloc[:1]]))
    with pytest.raises(ValueError, match="strike"):
        strike_vols(quotes.drop(columns="strike"), forwards)


def test_add_z_is_sd_moneyness(vols):
    atm = vols[KEYS].drop_duplicates().assign(atm_vol=0.2)
    atm = atm.iloc[1:]  # one expiry without an ATM vol
    out = add_z(vols, atm)
    assert len(out) == len(vols)
    have = out["atm_vol"].notna()
    np.testing.assert_allclose(out.loc[have, "z"], out.loc[have, "k"] / (0.2 * np.sqrt(out.loc[have, "tau"])))
    assert out.loc[~have, "z"].isna().all() and (~have).sum() > 0
    again = add_z(out, atm.assign(atm_vol=0.1))  # replaces, does not duplicate, the columns
    assert list(again.columns) == list(out.columns)
    np.testing.assert_allclose(again.loc[have, "z"], 2.0 * out.loc[have, "z"])
    with pytest.raises(ValueError, match="one row per"):
        add_z(vols, pd.concat([atm, atm.iloc[:1]]))
