"""build_surface end to end: accuracy on a known SSVI truth, and the real recorded chains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.curves import curve_vol
from volmachine_core.market.clean import clean_quotes
from volmachine_core.market.synthetic import ssvi_snapshot
from volmachine_core.surface import build_surface
from volmachine_pipeline.ingest_io import read_raw_file


@pytest.fixture(scope="module")
def synthetic():
    snap = ssvi_snapshot(seed=3)
    return snap, build_surface(snap.quotes)


def test_contract_columns(synthetic, contract):
    _, sb = synthetic
    for table in ("forwards", "strike_vols", "curve_params", "curve_points"):
        cols = contract[table]
        assert not set(cols) - set(getattr(sb, table).columns), table


def test_forwards_and_discount_factors_match_truth(synthetic):
    snap, sb = synthetic
    fw = sb.forwards.merge(snap.forwards, on="expiry_ts", suffixes=("", "_true"))
    week = fw["tau"] > 7 / 365
    err_bp = (fw["forward"] / fw["forward_true"] - 1).abs() * 1e4
    assert err_bp[week].median() < 1.0 and err_bp[week].max() < 5.0
    month = fw["tau"] > 30 / 365
    assert (fw["discount_factor"] - fw["discount_factor_true"])[month].abs().max() < 1e-3


def test_curve_vols_match_truth_inside_two_sd(synthetic):
    snap, sb = synthetic
    cp = sb.curve_params.set_index("expiry_ts")
    assert cp["arb_free"].all(), "false arbitrage flag on an arbitrage-free truth"
    errs, atm_errs = [], []
    for _, row in cp.iterrows():
        sd = row["atm_vol"] * np.sqrt(row["tau"])
        k = np.linspace(-2, 2, 41) * sd
        errs.append(np.abs(curve_vol(row, k, row["tau"]) - snap.truth.vol(k, row["tau"])))
        atm_errs.append(abs(row["atm_vol"] - snap.truth.vol(np.array([0.0]), row["tau"])[0]))
    errs = np.concatenate(errs)
    assert np.median(errs) < 0.0015 and errs.max() < 0.005     # 0.15 and 0.5 vol points
    assert max(atm_errs) < 0.002                                 # 0.2 vol points


def test_z_uses_the_curve_atm_vol(synthetic):
    _, sb = synthetic
    sv = sb.strike_vols.merge(sb.curve_params[["expiry_ts", "atm_vol"]], on="expiry_ts", suffixes=("", "_cp"))
    z = np.log(sv["strike"] / sv["forward"]) / (sv["atm_vol_cp"] * np.sqrt(sv["tau"]))
    np.testing.assert_allclose(sv["z"], z, rtol=1e-12)


def _real(shared_data, name, **opts):
    rf = read_raw_file(shared_data / name)
    return clean_quotes(rf.frame.assign(source_file=name), options=opts).clean


# measured on these chains (see README): guards against regressions, with some margin
@pytest.mark.parametrize("name, opts, n_expiries, rate_range, min_arb_free, max_rmse, min_inside", [
    ("spxw_2019-06-26_cboe_eod_1545.csv", {"underlying": "SPX", "root": "SPXW"}, 30, (0.015, 0.035),
     0.9, 0.012, 0.3),
    ("spx_2011-01-24_1403ET_cboe_delayed.csv", {}, 16, (0.0, 0.015), 0.8, 0.015, 0.8),
    ("goog_2015-12-23_24_daily_quotes.csv", {}, 24, (-0.01, 0.015), 0.8, 0.01, 0.85),
])
def test_real_chains_build_without_error(shared_data, name, opts, n_expiries, rate_range, min_arb_free, max_rmse,
                                         min_inside):
    sb = build_surface(_real(shared_data, name, **opts))
    fw = sb.forwards
    live = fw[fw["status"] != "expired"]
    assert len(fw) >= n_expiries - 2
    assert live["forward"].notna().all() and (live["discount_factor"].between(0.9, 1.01)).all()
    month = live[(live["tau"] > 30 / 365) & (live["status"] == "ok")]
    assert month["rate"].between(*rate_range).mean() > 0.8
    cp = sb.curve_params
    assert len(cp) >= len(live) - 2
    fitted = cp[cp["model"] != "none"]
    assert fitted["arb_free"].mean() >= min_arb_free
    assert fitted["rmse_vol"].median() < max_rmse and fitted["inside_share"].median() > min_inside


def test_real_chain_settlement_times(shared_data):
    sb = build_surface(_real(shared_data, "spx_2011-01-24_1403ET_cboe_delayed.csv"))
    fw = sb.forwards
    local = pd.to_datetime(fw["expiry_ts"], utc=True).dt.tz_convert("America/New_York")
    am = fw["root"].eq("SPX")
    assert (local[am].dt.strftime("%H:%M") == "09:30").all() and am.any()
    assert (local[~am].dt.strftime("%H:%M") == "16:00").all()


def _degenerate_cases():
    q = ssvi_snapshot(seed=2).quotes
    rng = np.random.default_rng(0)
    noisy_bid = q["bid"] * rng.uniform(0.2, 1.8, len(q))
    return {
        "empty": q.head(0),
        "one row": q.head(1),
        "calls only": q[q["right"] == "C"],
        "one expiry": q[q["expiry"] == q["expiry"].iloc[0]],
        "all zero bids": q.assign(bid=0.0),
        "two strikes": q[q["strike"].isin(q["strike"].unique()[:2])],
        "no underlying price": q.assign(underlying_price=np.nan),
        "all expired": q.assign(expiry_ts=q["quote_ts"] - pd.Timedelta(hours=1)),
        "garbage prices": q.assign(bid=noisy_bid, ask=np.maximum(noisy_bid, q["ask"] * rng.uniform(0.5, 2, len(q)))),
    }


@pytest.mark.parametrize("case", list(_degenerate_cases()))
def test_degenerate_inputs_never_raise_and_keep_every_quote(case):
    quotes = _degenerate_cases()[case]
    sb = build_surface(quotes)
    assert len(sb.strike_vols) == len(quotes)            # every quote gets a row (NaN vol + status if needed)
    assert set(sb.curve_params["snapshot_id"]) <= set(quotes["snapshot_id"])
