"""The synthetic SSVI truth snapshot: schema, arbitrage freedom, quotes around the truth, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import volmachine_core.market.synthetic as synmod
from volmachine_core.conventions import expiry_timestamp, is_session, year_fraction
from volmachine_core.curves.svi import svi_total_variance as raw_svi_total_variance
from volmachine_core.market.schema import CLEAN_QUOTE_COLUMNS, conform
from volmachine_core.market.sim.surface import durrleman_g, ssvi_total_variance
from volmachine_core.market.synthetic import (
    SSVITruth,
    ceil_tick,
    floor_tick,
    ssvi_snapshot,
    synthetic_expiries,
    synthetic_strikes,
)
from volmachine_core.pricing import black76_price, implied_vol

K_GRID = np.linspace(-4.0, 2.0, 1201)


@pytest.fixture(scope="module")
def snap():
    return ssvi_snapshot(seed=0)


def test_public_names_have_docstrings():
    for name in synmod.__all__:
        obj = getattr(synmod, name)
        if not isinstance(obj, (str, pd.Timestamp)):
            assert obj.__doc__, name


def test_quotes_have_exactly_the_clean_schema(snap):
    q = snap.quotes
    assert list(q.columns) == list(CLEAN_QUOTE_COLUMNS)
    assert {c: str(t) for c, t in q.dtypes.items()} == CLEAN_QUOTE_COLUMNS
    pd.testing.assert_frame_equal(conform(q, CLEAN_QUOTE_COLUMNS), q)
    assert q.notna().all().all()
    assert (q["snapshot_id"] == "2025-06-02T1545").all()
    assert (q["trade_date"] == pd.Timestamp("2025-06-02")).all()
    assert (q["settlement"] == "PM").all() and (q["root"] == "SPXW").all() and (q["underlying"] == "SPX").all()
    assert set(q["right"]) == {"C", "P"}
    assert not q.duplicated(["expiry", "strike", "right"]).any()
    np.testing.assert_array_equal(q["source_row"], np.arange(1, len(q) + 1))


def test_expiry_timestamps_and_tau_follow_conventions(snap):
    q, f = snap.quotes, snap.forwards
    np.testing.assert_array_equal(
        q["expiry_ts"].to_numpy(), expiry_timestamp(q["expiry"], "PM").astype("datetime64[us, UTC]").to_numpy()
    )
    np.testing.assert_allclose(f["tau"], year_fraction(pd.Series([snap.quote_ts] * len(f)), f["expiry_ts"]))
    np.testing.assert_allclose(snap.quote_truth["tau"], year_fraction(q["quote_ts"], q["expiry_ts"]))
    # PM close of a regular session: 16:00 New York
    local = f["expiry_ts"].dt.tz_convert("America/New_York")
    assert ((local.dt.hour == 16) | (local.dt.hour == 13)).all()


def test_expiries_are_listed_pm_dates(snap):
    exp = snap.forwards["expiry"]
    assert len(exp) == 44 and exp.is_monotonic_increasing and exp.is_unique
    assert is_session(exp).all()
    friday = exp.dt.day_of_week == 4
    next_session_month = (exp + pd.offsets.BDay(1)).dt.month != exp.dt.month  # a month's last business day
    holiday_thursday = exp.dt.day_of_week == 3  # Friday holiday rolled back (e.g. 2026-04-03 Good Friday)
    assert (friday | next_session_month | holiday_thursday).all()
    assert snap.forwards["tau"].iloc[-1] > 4.0  # out to about five years, like SPX


def test_synthetic_expiries_validation():
    with pytest.raises(ValueError, match="n_expiries"):
        synthetic_expiries("2025-06-02", 1)
    assert len(synthetic_expiries("2025-06-02", 10)) == 10


def test_row_count_about_24k(snap):
    n = len(snap.quotes)
    assert n == 2 * 44 * 272 and 23_000 <= n <= 25_000
    assert len(snap.quote_truth) == n


def test_strikes_listed_on_increments_dense_near_the_money(snap):
    q = snap.quotes[snap.quotes["right"] == "C"]
    for _, g in q.groupby("expiry"):
        k = g["strike"].to_numpy()
        assert np.all(np.diff(k) > 0) and np.all(np.mod(k, 5.0) == 0.0)
    z = snap.quote_truth["z"].to_numpy()
    zc = z[snap.quotes["right"].to_numpy() == "C"]
    assert np.mean(np.abs(zc) < 1.0) > 0.3  # a third of strikes within 1 SD
    long = snap.quote_truth["tau"].to_numpy() > 0.1
    assert np.abs(z[long]).max() < 4.5 and np.abs(z[long]).max() > 3.5


def test_synthetic_strikes_unique_even_when_crowded():
    k = synthetic_strikes([6000.0], [0.005], 200)
    assert k.shape == (1, 200) and np.all(np.diff(k) == 5.0)


def test_forwards_rates_dividends(snap):
    f = snap.forwards
    tau, r = f["tau"].to_numpy(), f["rate"].to_numpy()
    np.testing.assert_allclose(f["discount_factor"], np.exp(-r * tau), rtol=1e-15)
    np.testing.assert_allclose(f["forward"], 6000.0 * np.exp((r - 0.014) * tau), rtol=1e-15)
    assert np.all(np.diff(r) < 0) and 0.039 < r.min() and r.max() < 0.043


def test_truth_surface_raw_svi_equals_ssvi(snap):
    s = snap.surface
    w_ssvi = ssvi_total_variance(K_GRID[None, :], s["theta"].to_numpy()[:, None], s["rho"].to_numpy()[:, None],
                                 s["phi"].to_numpy()[:, None])
    p = {c: s[c].to_numpy()[:, None] for c in ("a", "b", "rho", "m", "sigma")}
    np.testing.assert_allclose(raw_svi_total_variance(K_GRID[None, :], **p), w_ssvi, rtol=1e-12)
    np.testing.assert_allclose(s["atm_vol"], np.sqrt(s["theta"] / s["tau"]), rtol=1e-15)
    np.testing.assert_allclose(snap.truth_vol(K_GRID[None, :], s["tau"].to_numpy()[:, None]),
                               np.sqrt(w_ssvi / s["tau"].to_numpy()[:, None]), rtol=1e-14)


def test_truth_free_of_butterfly_arbitrage(snap):
    s = snap.surface
    g = durrleman_g(K_GRID[None, :], s["theta"].to_numpy()[:, None], s["rho"].to_numpy()[:, None],
                    s["phi"].to_numpy()[:, None])
    assert g.min() >= 0.0
    assert (snap.truth.eta * (1 + abs(snap.truth.rho))) <= 2.0


def test_truth_free_of_calendar_arbitrage(snap):
    tau = np.concatenate([np.linspace(1e-3, 6.0, 400), snap.surface["tau"].to_numpy()])
    tau.sort()
    w = snap.truth.total_variance(K_GRID[None, :], tau[:, None])
    assert np.all(np.diff(w, axis=0) >= 0.0)
    assert np.all(np.diff(snap.surface["atm_vol"]) > 0)  # ATM term structure 0.14 -> 0.20 rising


def test_bid_true_ask_and_ticks(snap):
    q, tr = snap.quotes, snap.quote_truth
    bid, ask, price = q["bid"].to_numpy(), q["ask"].to_numpy(), tr["price"].to_numpy()
    assert np.all(bid <= price) and np.all(price <= ask)
    assert np.all(ask >= 0.05) and np.all(bid >= 0.0) and np.all(bid < ask)
    assert np.all(bid[price < 0.05] == 0.0)
    assert 0.0 < np.mean(bid == 0.0) < 0.2
    for x in (bid, ask):
        cents = np.round(x * 100).astype(np.int64)
        np.testing.assert_allclose(x * 100, cents, atol=1e-6)
        assert np.all(np.where(x < 3.0, cents % 5, cents % 10) == 0)


def test_spreads_wider_in_wings_and_front(snap):
    tr = snap.quote_truth
    vol_spread = (snap.quotes["ask"] - snap.quotes["bid"]) / tr["vega"]
    ok = snap.quotes["bid"].to_numpy() > 1.0
    near, wing = ok & (np.abs(tr["z"]) < 0.5), ok & (np.abs(tr["z"]) > 2.0) & (np.abs(tr["z"]) < 3.0)
    assert vol_spread[wing].median() > vol_spread[near].median()
    front, back = near & (tr["tau"] < 0.05), near & (tr["tau"] > 1.0)
    assert vol_spread[front].median() > vol_spread[back].median()


def test_put_call_parity_of_true_prices(snap):
    q, tr = snap.quotes, snap.quote_truth
    df = pd.concat([q[["expiry", "strike", "right"]], tr[["price", "forward", "discount_factor"]]], axis=1)
    wide = df.pivot_table(index=["expiry", "strike"], columns="right", values="price")
    meta = df[df["right"] == "C"].set_index(["expiry", "strike"])
    lhs = wide["C"] - wide["P"]
    rhs = meta["discount_factor"] * (meta["forward"] - meta.index.get_level_values("strike"))
    np.testing.assert_allclose(lhs.to_numpy(), rhs.reindex(lhs.index).to_numpy(), atol=1e-8)


def test_true_prices_are_black76_of_truth_vols_and_invert(snap):
    q, tr = snap.quotes, snap.quote_truth
    is_call = (q["right"] == "C").to_numpy()
    args = (tr["forward"].to_numpy(), q["strike"].to_numpy(), tr["tau"].to_numpy())
    vol = snap.truth_vol(np.log(args[1] / args[0]), args[2])
    np.testing.assert_allclose(tr["vol"], vol, rtol=1e-14)
    D = tr["discount_factor"].to_numpy()
    np.testing.assert_allclose(tr["price"], black76_price(*args, vol, D, is_call), rtol=1e-14)
    # independent inversion (Jaeckel-class implied vol) of OTM prices with a meaningful time value
    otm = np.where(is_call, args[1] >= args[0], args[1] < args[0]) & (tr["price"].to_numpy() > 0.01)
    iv = implied_vol(tr["price"].to_numpy()[otm], args[0][otm], args[1][otm], args[2][otm], D[otm], is_call[otm])
    np.testing.assert_allclose(iv, vol[otm], rtol=1e-8)


def test_sizes_open_interest_volume_plausible(snap):
    q = snap.quotes
    assert (q["ask_size"] >= 1).all() and (q["open_interest"] >= 1).all() and (q["volume"] >= 0).all()
    assert ((q["bid_size"] >= 1) == (q["bid"] > 0)).all()
    for c in ("bid_size", "ask_size", "volume", "open_interest"):
        assert np.all(q[c] == np.floor(q[c]))
    assert q["volume"].sum() > 0


def test_deterministic_by_seed(snap):
    again = ssvi_snapshot(seed=0)
    pd.testing.assert_frame_equal(again.quotes, snap.quotes)
    pd.testing.assert_frame_equal(again.quote_truth, snap.quote_truth)
    other = ssvi_snapshot(seed=1)
    pd.testing.assert_frame_equal(other.surface, snap.surface)
    pd.testing.assert_frame_equal(other.forwards, snap.forwards)
    assert not np.array_equal(other.quotes["bid"], snap.quotes["bid"])


def test_small_snapshot_parameters():
    s = ssvi_snapshot(seed=4, n_expiries=5, strikes_per_expiry=30, spot=450.0, underlying="SPY", root="SPY",
                      quote_ts="2024-03-28 19:45")
    assert len(s.quotes) == 300 and (s.quotes["underlying"] == "SPY").all()
    assert s.quotes["snapshot_id"].iloc[0] == "2024-03-28T1545"
    assert pd.Timestamp("2024-03-29") not in set(s.forwards["expiry"])  # Good Friday: rolled back
    assert np.all(s.quotes["bid"].to_numpy() <= s.quote_truth["price"].to_numpy())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"eta": 1.5}, "eta"), ({"rho": -1.0}, "rho"), ({"gamma": 0.8}, "gamma"), ({"kappa": 0.0}, "kappa")],
)
def test_truth_parameter_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SSVITruth(**kwargs)


@pytest.mark.parametrize(
    ("x", "floor", "ceil"),
    [
        (0.0, 0.0, 0.05),
        (0.01, 0.0, 0.05),
        (0.07, 0.05, 0.10),
        (2.97, 2.95, 3.00),
        (3.00, 3.00, 3.00),
        (3.04, 3.00, 3.10),
        (12.34, 12.30, 12.40),
        (-1.0, 0.0, 0.05),
    ],
)
def test_tick_rounding(x, floor, ceil):
    assert floor_tick(x) == pytest.approx(floor, abs=1e-12)
    assert ceil_tick(x) == pytest.approx(ceil, abs=1e-12)
