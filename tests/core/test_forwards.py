"""fit_forwards: accuracy against the simulator's truth, robustness, rate-curve fallback, real chains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import volmachine_core.forwards as fwd_mod
from volmachine_core.forwards import FORWARD_COLUMNS, ForwardFitOptions, ForwardStatus, fit_forwards
from volmachine_core.market.clean import clean_quotes
from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.market.vendor import normalise
from volmachine_pipeline.ingest_io import read_raw_file

SIM_DAYS = ("2024-03-27", "2024-03-28")
SPXW = "spxw_2019-06-26_cboe_eod_1545.csv"
SPX2011 = "spx_2011-01-24_1403ET_cboe_delayed.csv"
GOOG = "goog_2015-12-23_24_daily_quotes.csv"
KEYS = ["snapshot_id", "underlying", "expiry"]
WEEK, MONTH = 7 / 365, 30 / 365


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def market() -> SimMarket:
    return SimMarket(SimConfig(seed=7), end=SIM_DAYS[-1])


def _sim_clean(market: SimMarket, day: str, underlying: str) -> pd.DataFrame:
    f = market.eod_chain(day, underlying)
    return normalise(f.assign(source_row=range(1, len(f) + 1)), source_file="sim", source="sim").clean


@pytest.fixture(scope="module")
def sim_quotes(market) -> pd.DataFrame:
    frames = [_sim_clean(market, d, u) for d in SIM_DAYS for u in market.underlyings]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def sim_truth(market) -> pd.DataFrame:
    return market.truth_forwards(list(SIM_DAYS))


@pytest.fixture(scope="module")
def sim_fit(sim_quotes, sim_truth) -> pd.DataFrame:
    fw = fit_forwards(sim_quotes)
    cols = [*KEYS, "forward", "discount_factor", "rate", "spot", "pv_dividends"]
    out = fw.merge(sim_truth[cols], on=KEYS, suffixes=("", "_true"), validate="one_to_one")
    out["err_bp"] = 1e4 * (out["forward"] / out["forward_true"] - 1.0)
    out["d_err"] = out["discount_factor"] - out["discount_factor_true"]
    return out


def _real(shared_data, name: str, **options) -> pd.DataFrame:
    rf = read_raw_file(shared_data / name)
    return clean_quotes(rf.frame.assign(source_file="x"), options=options or None).clean


@pytest.fixture(scope="module")
def spxw(shared_data) -> pd.DataFrame:
    return _real(shared_data, SPXW, underlying="SPX", root="SPXW")


@pytest.fixture(scope="module")
def spx2011(shared_data) -> pd.DataFrame:
    return _real(shared_data, SPX2011)


@pytest.fixture(scope="module")
def goog(shared_data) -> pd.DataFrame:
    return _real(shared_data, GOOG)


# --------------------------------------------------------------------------- API shape
def test_public_names_have_docstrings():
    for name in fwd_mod.__all__:
        assert getattr(fwd_mod, name).__doc__, name


def test_one_row_per_expiry_with_contract_columns(sim_quotes, sim_fit):
    fw = fit_forwards(sim_quotes)
    assert list(fw.columns) == list(FORWARD_COLUMNS)
    n_expiries = sim_quotes.groupby(["snapshot_id", "underlying", "expiry_ts"]).ngroups
    assert len(fw) == n_expiries and not fw.duplicated(["snapshot_id", "underlying", "expiry_ts"]).any()
    assert set(fw["status"]) <= {s.value for s in ForwardStatus}
    # the warehouse contract's columns (DESIGN.md, forwards view)
    for col in ("snapshot_id", "underlying", "expiry", "tau", "forward", "discount_factor", "rate",
                "underlying_price", "n_pairs", "fit_rmse"):
        assert col in fw.columns
    np.testing.assert_allclose(fw["rate"], -np.log(fw["discount_factor"]) / fw["tau"], rtol=1e-12)
    carry = fw["rate"] - np.log(fw["forward"] / fw["underlying_price"]) / fw["tau"]
    np.testing.assert_allclose(fw["carry"], carry, rtol=1e-12)


def test_unknown_or_bad_option_fails_loudly(sim_quotes):
    with pytest.raises(TypeError, match="min_pair"):
        fit_forwards(sim_quotes, min_pair=3)
    with pytest.raises(ValueError, match="min_pairs"):
        fit_forwards(sim_quotes, min_pairs=1)
    with pytest.raises(ValueError, match="strike"):
        fit_forwards(sim_quotes.drop(columns="strike"))


def test_empty_input_gives_empty_frame(sim_quotes):
    fw = fit_forwards(sim_quotes.iloc[:0])
    assert fw.empty and list(fw.columns) == list(FORWARD_COLUMNS)


def test_options_round_trip():
    opts = ForwardFitOptions(n_sd=2.0)
    assert ForwardFitOptions.from_mapping(opts.as_dict()) == opts


# --------------------------------------------------------------------------- accuracy on the simulator
@pytest.mark.parametrize("underlying, worst_bp", [("SPX", 5.0), ("SPY", 5.0), ("QQQ", 5.0),
                                                  # single stocks: 10-dollar strikes and ~30 bp of
                                                  # parity noise per pair leave ~5-7 bp at 1-2 years
                                                  ("MSFT", 8.0), ("NVDA", 10.0)])
def test_forwards_match_truth_beyond_a_week(sim_fit, underlying, worst_bp):
    sel = sim_fit[(sim_fit["underlying"] == underlying) & (sim_fit["tau"] > WEEK)]
    assert len(sel) >= 8
    err = sel["err_bp"].abs()
    assert err.median() < 1.0, sel[[*KEYS, "err_bp"]]
    assert err.max() < worst_bp, sel[[*KEYS, "err_bp"]]


def test_forwards_all_underlyings_median_under_1bp(sim_fit):
    assert sim_fit.loc[sim_fit["tau"] > WEEK, "err_bp"].abs().median() < 1.0
    # short expiries take D from the curve and are accurate too
    assert sim_fit.loc[sim_fit["tau"] <= WEEK, "err_bp"].abs().max() < 2.0


def test_discount_factors_match_truth_beyond_a_month(sim_fit):
    sel = sim_fit[sim_fit["tau"] > MONTH]
    assert sel["d_err"].abs().max() < 1e-3, sel.loc[sel["d_err"].abs().idxmax()]
    assert (sim_fit["status"].isin([ForwardStatus.OK, ForwardStatus.RATE_FROM_CURVE])).all()
    # the curve itself is close to the true rates everywhere
    assert (sim_fit["curve_rate"] - sim_fit["rate_true"]).abs().median() < 5e-4


def test_dividend_payer_forward_differs_from_rate_only_forward(sim_fit):
    spy = sim_fit[(sim_fit["underlying"] == "SPY") & (sim_fit["pv_dividends"] > 1.0)]
    assert len(spy) >= 6
    rate_only = spy["underlying_price"] * np.exp(spy["rate"] * spy["tau"])
    fitted_gap = spy["forward"] - rate_only
    true_gap = spy["forward_true"] - spy["spot"] * np.exp(spy["rate_true"] * spy["tau"])
    assert (fitted_gap < -0.5).all()  # dividends pull the forward measurably below S e^{r tau}
    np.testing.assert_allclose(fitted_gap, true_gap, atol=0.002 * spy["forward_true"].max())
    # implied dividend yield is positive for SPY, ~0 for NVDA (no dividends in the simulator)
    assert (spy["carry"] > 0.003).all()
    nvda = sim_fit[(sim_fit["underlying"] == "NVDA") & (sim_fit["tau"] > 0.2)]
    assert nvda["carry"].abs().max() < 0.003


# --------------------------------------------------------------------------- robustness and fallbacks
def _slice(quotes: pd.DataFrame, underlying: str, min_tau: float, max_tau: float):
    q = quotes[(quotes["underlying"] == underlying) & (quotes["snapshot_id"] == quotes["snapshot_id"].max())]
    tau = (q["expiry_ts"] - q["quote_ts"]).dt.total_seconds() / (365 * 86400)
    expiry = q.loc[(tau > min_tau) & (tau < max_tau), "expiry"].min()
    return q.reset_index(drop=True), expiry


def _corrupted_slice(sim_quotes, sim_fit, underlying: str, seed: int):
    """A 0.15-0.4y slice with 10% of its near-money quotes moved by 50-150% of their price.

    Calls move up and puts down, so every error pushes C - P the same way (stale or fat-fingered
    markets; the worst case for a non-robust fit).
    """
    q, expiry = _slice(sim_quotes, underlying, 0.15, 0.4)
    truth = sim_fit[(sim_fit["snapshot_id"] == q["snapshot_id"].iloc[0]) & (sim_fit["underlying"] == underlying)
                    & (sim_fit["expiry"] == expiry)]["forward_true"].iloc[0]
    near = (q["expiry"] == expiry) & (np.abs(np.log(q["strike"] / truth)) < 0.08) & (q["bid"] > 0)
    rng = np.random.default_rng(seed)
    idx = rng.choice(np.flatnonzero(near), size=max(3, int(round(0.1 * near.sum()))), replace=False)
    bad = q.copy()
    sign = np.where(bad.loc[idx, "right"] == "C", 1.0, -1.0)
    shift = sign * rng.uniform(0.5, 1.5, size=len(idx)) * bad.loc[idx, "ask"]
    bad.loc[idx, "bid"] = np.maximum(bad.loc[idx, "bid"] + shift, 0.05)
    bad.loc[idx, "ask"] = bad.loc[idx, "bid"] + (q.loc[idx, "ask"] - q.loc[idx, "bid"])
    return q, bad, expiry, truth, len(idx)


@pytest.mark.parametrize("underlying", ["SPX", "SPY", "NVDA"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_robust_to_ten_percent_corrupted_near_money_quotes(sim_quotes, sim_fit, underlying, seed):
    q, bad, expiry, truth, n_bad = _corrupted_slice(sim_quotes, sim_fit, underlying, seed)
    clean_row = fit_forwards(q).set_index("expiry").loc[expiry]
    row = fit_forwards(bad).set_index("expiry").loc[expiry]
    assert row["status"] == ForwardStatus.OK
    assert abs(row["forward"] / truth - 1.0) * 1e4 < 3.0
    assert abs(row["forward"] / clean_row["forward"] - 1.0) * 1e4 < 1.0
    assert row["discount_factor"] == pytest.approx(clean_row["discount_factor"], abs=3e-4)
    assert row["n_outliers"] >= n_bad // 2


def _plain_parity_forward(q: pd.DataFrame, near: float) -> float:
    """Reference: non-robust weighted least squares of C - P on K (np.polyfit), strikes within 10%."""
    two = q[(q["bid"] > 0) & (q["ask"] >= q["bid"])].assign(mid=lambda d: 0.5 * (d["bid"] + d["ask"]),
                                                            spread=lambda d: d["ask"] - d["bid"])
    p = two[two["right"] == "C"].merge(two[two["right"] == "P"], on="strike", suffixes=("_c", "_p"))
    p = p[np.abs(np.log(p["strike"] / near)) < 0.1]
    w = 1.0 / (p["spread_c"] ** 2 + p["spread_p"] ** 2)
    slope, intercept = np.polyfit(p["strike"], p["mid_c"] - p["mid_p"], 1, w=np.sqrt(w))
    return intercept / -slope


@pytest.mark.parametrize("underlying", ["SPX", "QQQ", "NVDA"])
def test_corruption_hurts_a_non_robust_fit(sim_quotes, sim_fit, underlying):
    # the calls of the 3 strikes nearest the money quoted at twice their price
    q, expiry = _slice(sim_quotes, underlying, 0.15, 0.4)
    clean = fit_forwards(q).set_index("expiry").loc[expiry, "forward"]
    calls = q[(q["expiry"] == expiry) & (q["right"] == "C")]
    idx = calls.index[np.argsort(np.abs(calls["strike"].to_numpy() - clean))[:3]]
    bad = q.copy()
    bad.loc[idx, ["bid", "ask"]] = bad.loc[idx, ["bid", "ask"]] + bad.loc[idx, "ask"].to_numpy()[:, None]
    plain = _plain_parity_forward(bad[bad["expiry"] == expiry], clean)
    robust = fit_forwards(bad).set_index("expiry").loc[expiry]
    assert abs(plain / clean - 1.0) * 1e4 > 5.0
    assert abs(robust["forward"] / clean - 1.0) * 1e4 < 0.5
    assert robust["n_outliers"] == 3


def test_expiry_with_one_pair_takes_rate_from_curve(sim_quotes, sim_fit):
    q, expiry = _slice(sim_quotes, "SPX", 0.03, 0.1)
    truth_row = sim_fit[(sim_fit["snapshot_id"] == q["snapshot_id"].iloc[0]) & (sim_fit["underlying"] == "SPX")
                        & (sim_fit["expiry"] == expiry)].iloc[0]
    in_slice = q["expiry"] == expiry
    strikes = q.loc[in_slice & (q["bid"] > 0), "strike"]
    atm = strikes.iloc[np.argmin(np.abs(strikes.to_numpy() - truth_row["forward_true"]))]
    thin = q[~in_slice | (q["strike"] == atm)]
    fw = fit_forwards(thin)
    row = fw[fw["expiry"] == expiry].iloc[0]
    assert row["n_pairs"] == 1
    assert row["status"] == ForwardStatus.RATE_FROM_CURVE
    assert row["rate"] == pytest.approx(row["curve_rate"], abs=1e-14)
    assert row["discount_factor"] == pytest.approx(truth_row["discount_factor_true"], abs=2e-4)
    assert abs(row["forward"] / truth_row["forward_true"] - 1.0) * 1e4 < 5.0
    # other expiries are unaffected
    others = fw[fw["expiry"] != expiry].merge(fit_forwards(q), on=KEYS, suffixes=("", "_full"))
    np.testing.assert_allclose(others["forward"], others["forward_full"], rtol=2e-5)


def test_expiry_without_pairs_and_expired_expiry(sim_quotes):
    q, expiry = _slice(sim_quotes, "SPY", 0.05, 0.3)
    calls_only = q[(q["expiry"] != expiry) | (q["right"] == "C")]
    # an expiry settling before the quote time
    gone = q[q["expiry"] == q["expiry"].max()].assign(
        expiry_ts=q["quote_ts"].iloc[0] - pd.Timedelta(minutes=1))
    fw = fit_forwards(pd.concat([calls_only, gone], ignore_index=True))
    nopairs = fw[fw["expiry"] == expiry].iloc[0]
    assert nopairs["status"] == ForwardStatus.NO_PAIRS and nopairs["n_pairs"] == 0
    assert np.isnan(nopairs["forward"]) and nopairs["rate"] == pytest.approx(nopairs["curve_rate"])
    expired = fw[fw["tau"] <= 0].iloc[0]
    assert expired["status"] == ForwardStatus.EXPIRED and np.isnan(expired["forward"])


def test_no_usable_rate_anywhere_uses_fallback_rate(sim_quotes):
    q, expiry = _slice(sim_quotes, "QQQ", 0.05, 0.3)
    one = q[q["expiry"] == expiry]
    strike = one.loc[one["bid"] > 0, "strike"].median()
    one = one[one["strike"].isin(one["strike"].unique()[np.argsort(np.abs(one["strike"].unique() - strike))[:2]])]
    fw = fit_forwards(one, fallback_rate=0.03)
    row = fw.iloc[0]
    assert row["status"] == ForwardStatus.RATE_DEFAULT
    assert row["rate"] == pytest.approx(0.03)


def test_batch_equals_one_snapshot_at_a_time(sim_quotes):
    whole = fit_forwards(sim_quotes)
    parts = pd.concat([fit_forwards(g) for _, g in sim_quotes.groupby("snapshot_id")], ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)


def test_input_order_does_not_matter(sim_quotes):
    shuffled = sim_quotes.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(fit_forwards(sim_quotes), fit_forwards(shuffled), check_exact=False, rtol=1e-9)


# --------------------------------------------------------------------------- real chains
def test_spxw_2019_every_expiry_has_forward_and_discount(spxw):
    fw = fit_forwards(spxw)
    assert len(fw) == 30
    assert fw["forward"].notna().all() and fw["discount_factor"].notna().all()
    assert set(fw["status"]) <= {ForwardStatus.OK, ForwardStatus.RATE_FROM_CURVE}
    # the same-day expiry settles 15 minutes after the 15:45 snapshot: tau > 0, still gets a forward
    zero_dte = fw.iloc[0]
    assert 0 < zero_dte["tau"] < 1e-4 and np.isfinite(zero_dte["forward"])
    by_day = fw.set_index(fw["expiry"].dt.strftime("%Y-%m-%d"))["forward"]
    assert by_day["2019-06-28"] == pytest.approx(2918.5, abs=1.0)
    assert by_day["2020-06-30"] == pytest.approx(2924.7, abs=2.0)
    assert (fw["forward"].between(2917.5, 2926.5)).all()
    assert np.abs(np.diff(fw["forward"])).max() < 2.0  # smooth: no jumps between neighbouring expiries
    longer = fw[fw["tau"] > MONTH]
    assert longer["rate"].between(0.015, 0.03).all()  # USD rates mid-2019: ~2.2-2.4%
    assert fw.loc[fw["tau"] > 0.15, "carry"].between(0.015, 0.022).all()  # SPX dividend yield ~1.9%


def test_spx_2011_am_and_pm_roots_are_separate_rows(spx2011):
    fw = fit_forwards(spx2011)
    assert len(fw) == 15
    assert set(fw["root"]) == {"SPX", "SPXW", "SPXPM"}
    am = fw[fw["root"] == "SPX"]
    assert (am["expiry_ts"].dt.tz_convert("America/New_York").dt.strftime("%H:%M") == "09:30").all()
    assert fw["forward"].notna().all()
    assert fw.loc[fw["tau"] > MONTH, "rate"].between(0.0, 0.015).all()
    assert fw.loc[fw["tau"].between(MONTH, 1.0), "rate"].between(0.0, 0.01).all()
    assert fw.loc[fw["tau"] > 0.1, "carry"].between(0.015, 0.025).all()
    # an AM monthly and a PM contract on the same date: two rows, two settlement moments
    march = spx2011[spx2011["expiry"] == pd.Timestamp("2011-03-18")]
    pm = march.assign(root="SPXW", settlement="PM",
                      expiry_ts=pd.Timestamp("2011-03-18 20:00", tz="UTC").as_unit("us"))
    both = fit_forwards(pd.concat([march, pm], ignore_index=True))
    assert len(both) == 2 and both["expiry"].nunique() == 1
    assert list(both["root"]) == ["SPX", "SPXW"]
    assert both["tau"].iloc[1] > both["tau"].iloc[0]


def test_goog_2015_american_forwards_near_spot(goog):
    fw = fit_forwards(goog, n_sd=1.5)
    live = fw[fw["status"] != ForwardStatus.EXPIRED]
    assert len(fw) - len(live) == 1  # 2015-12-24 expiry seen from the 2015-12-24 13:00 close
    assert live["forward"].notna().all()
    short = live[live["tau"] < 0.1]
    assert (short["forward"] - short["underlying_price"]).abs().max() < 2.0
    assert live["rate"].between(-0.02, 0.03).all()
