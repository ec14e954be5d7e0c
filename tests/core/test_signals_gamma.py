"""Dealer gamma exposure: GEX against finite differences, sign conventions, flips, pins, the edge rows.

Independent references: the spot gamma is a central difference of the Black-Scholes spot delta
(``bs_delta``); the flip is a root found by ``scipy.optimize.brentq`` on a GEX curve summed option by
option with ``bs_gamma``; the vectorised paths are compared with slow per-option / per-grid-point loops.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from volmachine_core.curves import curve_vol
from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.pricing import black76_greeks, bs_delta, bs_gamma
from volmachine_core.signals import gamma as gm
from volmachine_core.signals.edges import EDGE_COLUMNS
from volmachine_core.signals.gamma import (
    ASSUMPTIONS,
    CHAIN_COLUMNS,
    GammaSpec,
    gamma_chain,
    gamma_flip,
    gamma_profile,
    gex_by_strike,
    option_gex,
    pin_strikes,
)
from volmachine_core.signals.gamma_edge import gamma_edges
from volmachine_core.surface import build_surface

STEP = GammaSpec().flip_step


def chain(strikes, call_oi, put_oi, S=100.0, tau=30 / 365, vol=0.2, r=0.0, q=0.0, trade_date="2024-03-14",
          expiry=None, mult=100.0, underlying="X") -> pd.DataFrame:
    """One snapshot, one expiry: a call and a put per strike, flat vol, ``F = S e^{(r-q) tau}``."""
    K = np.asarray(strikes, dtype=float)
    n = K.size
    td = pd.Timestamp(trade_date)
    exp = pd.Timestamp(expiry) if expiry is not None else td + pd.Timedelta(days=round(tau * 365))
    df = pd.DataFrame({
        "snapshot_id": f"{td:%Y-%m-%d}T1545", "trade_date": td, "underlying": underlying, "expiry": exp,
        "strike": np.r_[K, K], "right": ["C"] * n + ["P"] * n,
        "open_interest": np.r_[np.broadcast_to(call_oi, n), np.broadcast_to(put_oi, n)].astype(float),
        "multiplier": mult, "underlying_price": S, "tau": tau, "forward": S * np.exp((r - q) * tau),
        "discount_factor": np.exp(-r * tau), "vol": vol})
    return df[list(CHAIN_COLUMNS)]


def skewed(put_weight=1.0, call_weight=1.0, S=100.0) -> pd.DataFrame:
    """Put OI below spot, call OI above (both sides listed everywhere, some ITM OI): a flip near spot."""
    K = np.arange(80.0, 121.0)
    call = np.where(K > 100, 1000.0 * call_weight, 150.0)
    put = np.where(K < 100, 1000.0 * put_weight, 150.0)
    return chain(K * S / 100, call, put, S=S)


def reference_curve(df: pd.DataFrame, assumption: str, spots: np.ndarray) -> np.ndarray:
    """Net GEX at each spot, option by option with ``bs_gamma`` (r = q = 0 so F = S)."""
    sign = gm._signs(df, [assumption])[0]
    out = np.zeros(len(spots))
    for j, s in enumerate(spots):
        for (_, row), w in zip(df.iterrows(), sign, strict=True):
            g = bs_gamma(s, row["strike"], row["tau"], row["vol"], 0.0, row["right"] == "C")
            out[j] += w * row["open_interest"] * g * s * s * 0.01 * row["multiplier"]
    return out


# --- one option against a finite difference of the spot delta ---------------------------------------------
@pytest.mark.parametrize("right", ["C", "P"])
@pytest.mark.parametrize(("K", "tau", "vol", "r", "q"), [
    (100.0, 30 / 365, 0.20, 0.00, 0.00),   # at the money, one month
    (90.0, 0.5, 0.35, 0.05, 0.00),         # in/out of the money with carry
    (115.0, 2 / 365, 0.15, 0.04, 0.02),    # two days, dividend yield
    (60.0, 1.5, 0.60, 0.03, 0.01),         # deep wing, long dated
])
def test_option_gex_is_oi_times_fd_spot_gamma(right, K, tau, vol, r, q):
    S, oi, mult = 100.0, 1234.0, 100.0
    df = chain([K], oi, oi, S=S, tau=tau, vol=vol, r=r, q=q, mult=mult)
    df = df[df["right"] == right]
    h = 1e-5 * S  # truncation ~ (h / (S sigma sqrt tau))^2: below 1e-6 for every case
    call = right == "C"
    fd_gamma = (bs_delta(S + h, K, tau, vol, r, call, q) - bs_delta(S - h, K, tau, vol, r, call, q)) / (2 * h)
    sign = 1.0 if right == "C" else -1.0  # calls_long_puts_short
    expected = sign * oi * fd_gamma * S**2 * 0.01 * mult
    got = option_gex(df, "calls_long_puts_short")[0]
    assert got == pytest.approx(expected, rel=1e-6)
    # the grid's closed form at x = 1 equals the black76_greeks path
    assert gm._unsigned_grid(df, np.array([1.0]))[0, 0] == pytest.approx(abs(got), rel=1e-12)


@pytest.mark.parametrize(("assumption", "right", "K", "sign"), [
    ("calls_long_puts_short", "C", 90.0, 1), ("calls_long_puts_short", "C", 110.0, 1),
    ("calls_long_puts_short", "P", 90.0, -1), ("calls_long_puts_short", "P", 110.0, -1),
    ("short_all", "C", 90.0, -1), ("short_all", "C", 110.0, -1),
    ("short_all", "P", 90.0, -1), ("short_all", "P", 110.0, -1),
    ("short_puts_only", "C", 90.0, 0), ("short_puts_only", "C", 110.0, 0),
    ("short_puts_only", "P", 90.0, -1), ("short_puts_only", "P", 110.0, -1),
    ("otm_split", "C", 110.0, 1), ("otm_split", "C", 90.0, 0),    # OTM call long, ITM call flat
    ("otm_split", "P", 90.0, -1), ("otm_split", "P", 110.0, 0),   # OTM put short, ITM put flat
])
def test_sign_conventions(assumption, right, K, sign):
    df = chain([K], 500.0, 500.0)
    g = option_gex(df[df["right"] == right], assumption)[0]
    assert np.sign(g) == sign
    assert set(ASSUMPTIONS) == set(gm._SIGNS) and all(len(v) > 40 for v in ASSUMPTIONS.values())


def test_unusable_rows_are_nan_and_unknown_assumption_raises():
    df = chain([95.0, 100.0, 105.0], 100.0, 100.0)
    df.loc[0, "vol"] = np.nan
    df.loc[4, "tau"] = 0.0
    df["reason"] = "ok"
    df.loc[2, "reason"] = "no_curve"
    g = option_gex(df)
    assert np.isnan(g[[0, 2, 4]]).all() and np.isfinite(g[[1, 3, 5]]).all()
    with pytest.raises(ValueError, match="assumption"):
        option_gex(df, "dealers_long_everything")
    with pytest.raises(ValueError, match="headline"):
        GammaSpec(assumptions=("short_all",))


def test_gex_by_strike_sums_options():
    df = pd.concat([skewed(), chain(np.arange(80.0, 121.0), 40.0, 70.0, tau=90 / 365)], ignore_index=True)
    by = gex_by_strike(df, "calls_long_puts_short")
    g = option_gex(df, "calls_long_puts_short")
    assert len(by) == 41 and by["strike"].is_monotonic_increasing
    np.testing.assert_allclose(by["net_gex"], by["call_gex"] + by["put_gex"])
    assert by["net_gex"].sum() == pytest.approx(g.sum(), rel=1e-12)
    assert by["call_gex"].ge(0).all() and by["put_gex"].le(0).all()
    assert by["call_oi"].sum() == df.loc[df["right"] == "C", "open_interest"].sum()
    assert by["put_oi"].sum() == df.loc[df["right"] == "P", "open_interest"].sum()


# --- the flip ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("put_weight", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("assumption", ["calls_long_puts_short", "otm_split"])
def test_flip_matches_root_of_reference_curve(put_weight, assumption):
    df = skewed(put_weight=put_weight)
    res = gamma_flip(df, assumption).iloc[0]
    assert res["flip_reason"] == "ok"
    f = lambda s: reference_curve(df, assumption, np.array([s]))[0]  # noqa: E731
    root = brentq(f, res["flip"] - 2 * STEP * 100, res["flip"] + 2 * STEP * 100, xtol=1e-10)
    assert res["flip"] == pytest.approx(root, abs=0.1 * STEP * 100)  # a tenth of a grid step
    assert abs(res["flip_pct"]) < 0.15
    # more puts (dealers shorter below spot) push the flip up
    if put_weight > 1:
        assert res["flip"] > gamma_flip(skewed(), assumption).iloc[0]["flip"]


@pytest.mark.parametrize(("df", "assumption", "reason"), [
    (skewed(), "short_all", "no_crossing_short"),
    (skewed(), "short_puts_only", "no_crossing_short"),
    (chain(np.arange(80.0, 121.0), 100.0, 0.0), "calls_long_puts_short", "no_crossing_long"),
    # calls only above 125 against puts everywhere: the crossing lies beyond the +15% end of the grid
    (chain(np.arange(60.0, 141.0), np.where(np.arange(60.0, 141.0) > 125, 2000.0, 0.0), 500.0),
     "calls_long_puts_short", "no_crossing_short"),
    (chain([100.0], 0.0, 0.0), "calls_long_puts_short", None),
])
def test_no_crossing_gives_nan_with_reason(df, assumption, reason):
    res = gamma_flip(df, assumption)
    if reason is None:  # no open interest: no rows at all
        assert res.empty
        return
    assert np.isnan(res["flip"].iloc[0]) and res["flip_reason"].iloc[0] == reason
    assert res["n_crossings"].iloc[0] == 0


def test_flip_and_curve_equal_slow_per_grid_point_loop():
    df = skewed(put_weight=1.7)
    grid = GammaSpec().grid
    names = list(ASSUMPTIONS)
    at_spot, fast, gross = gm._gex_curves(df, names, grid)
    slow = np.zeros_like(fast)
    for j, x in enumerate(grid):  # black76_greeks at each hypothetical spot, summed per assumption
        F = df["forward"].to_numpy() * x
        g = black76_greeks(F, df["strike"].to_numpy(), df["tau"].to_numpy(), df["vol"].to_numpy(),
                           df["discount_factor"].to_numpy(), df["right"].eq("C").to_numpy())["gamma"]
        u = 0.01 * df["open_interest"].to_numpy() * df["multiplier"].to_numpy() * g * F * F
        for i, a in enumerate(names):
            slow[i, j] = sum(s * v for s, v in zip(gm._signs(df, [a])[0], u, strict=True))
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-6 * np.abs(slow).max())
    np.testing.assert_allclose(at_spot, [option_gex(df, a).sum() for a in names], rtol=1e-10)
    assert gross == pytest.approx(np.abs(option_gex(df)).sum(), rel=1e-12)
    ref = reference_curve(df, "calls_long_puts_short", 100 * grid[::20])
    np.testing.assert_allclose(fast[0, ::20], ref, rtol=1e-8, atol=1e-6 * np.abs(ref).max())


def test_band_is_ordered_and_holds_every_flip():
    df = pd.concat([skewed(put_weight=1.3), skewed(put_weight=0.6, S=100.0).assign(tau=60 / 365)],
                   ignore_index=True)
    prof = gamma_profile(df).iloc[0]
    flips = {a: prof[f"flip_{a}"] for a in ASSUMPTIONS}
    have = [v for v in flips.values() if np.isfinite(v)]
    assert prof["n_flips"] == len(have) == 2  # the two mixed-sign assumptions; one-signed ones never flip
    assert prof["flip_low"] <= prof["flip_high"]
    assert prof["flip_low"] == min(have) and prof["flip_high"] == max(have)
    assert all(prof["flip_low"] <= v <= prof["flip_high"] for v in have)
    assert prof["headline_flip"] == flips["calls_long_puts_short"] and prof["headline"] == "calls_long_puts_short"
    assert np.isnan(flips["short_all"]) and prof["flip_reason_short_all"] == "no_crossing_short"


@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.01, 100.0), seed=st.integers(0, 2**16), lam=st.floats(0.05, 50.0))
def test_scaling_oi_scales_gex_and_keeps_flip(c, seed, lam):
    rng = np.random.default_rng(seed)
    K = np.arange(80.0, 121.0)
    base = chain(K, np.where(K > 100, 1000.0, 100.0) * rng.uniform(0.5, 1.5, K.size),
                 np.where(K < 100, 1000.0, 100.0) * rng.uniform(0.5, 1.5, K.size))
    a = gamma_flip(base, list(ASSUMPTIONS))
    b = gamma_flip(base.assign(open_interest=base["open_interest"] * c), list(ASSUMPTIONS))
    np.testing.assert_allclose(b["gex"], a["gex"] * c, rtol=1e-9)
    np.testing.assert_allclose(b["flip"], a["flip"], rtol=1e-9)
    assert (a["flip_reason"] == b["flip_reason"]).all()
    # prices in other units (x lam): GEX (S^2 Gamma_S, linear in S) scales by lam, the flip by lam
    cols = ["strike", "underlying_price", "forward"]
    s = gamma_flip(base.assign(**{k: base[k] * lam for k in cols}), list(ASSUMPTIONS))
    np.testing.assert_allclose(s["gex"], a["gex"] * lam, rtol=1e-9)
    np.testing.assert_allclose(s["flip"], a["flip"] * lam, rtol=1e-9)


# --- pins and the edge ------------------------------------------------------------------------------------------
def spike(call_spike=5000.0, put_spike=1000.0, expiry="2024-03-15") -> pd.DataFrame:
    """Flat OI 100 per contract, a spike at 100 with spot 100.3, one session before expiry (Thu -> Fri)."""
    K = np.arange(90.0, 111.0)
    return chain(K, np.where(K == 100, call_spike, 100.0), np.where(K == 100, put_spike, 100.0), S=100.3,
                 tau=1.0 / 365, vol=0.2, expiry=expiry)


def test_pin_fires_on_a_spike_a_day_before_expiry():
    df = spike()
    pins = pin_strikes(df)
    top = pins.iloc[0]
    assert (top["strike"], top["sessions"], top["rank"]) == (100.0, 1, 1)
    assert top["share"] == pytest.approx(6000 / (6000 + 40 * 100))
    assert top["dist_pct"] == pytest.approx(100 / 100.3 - 1)
    assert top["dist_sd"] == pytest.approx(np.log(100 / 100.3) / (0.2 / np.sqrt(252)))
    assert pins["share"].is_monotonic_decreasing and len(pins) <= 3
    edge = gamma_edges(gamma_profile(df)).iloc[0]
    assert edge["fired"] and edge["direction"] == "pin" and edge["structure"] == "butterfly at the pin"
    assert edge["strength"] > 0.9 and "pin 100.00 holds 60% of Fri 15 Mar OI" in edge["rationale"]
    m = json.loads(edge["metrics"])
    assert m["pin_strike"] == 100.0 and m["pin_sessions"] == 1 and m["headline_gex"] > 0


def test_flat_oi_far_from_expiry_is_quiet():
    df = chain(np.arange(80.0, 121.0), 100.0, 100.0, tau=45 / 365, expiry="2024-04-26")
    assert pin_strikes(df).empty
    prof = gamma_profile(df)
    assert np.isnan(prof["pin_share"].iloc[0])
    edge = gamma_edges(prof).iloc[0]
    assert not edge["fired"] and edge["direction"] == "none" and edge["strength"] == 0.0
    assert "no pin candidate" in edge["rationale"]


def test_put_heavy_spike_is_short_gamma_not_a_pin_unless_configured():
    df = spike(call_spike=1000.0, put_spike=8000.0)
    prof = gamma_profile(df)
    assert prof["gex_sign"].iloc[0] == "short"
    edge = gamma_edges(prof).iloc[0]
    assert edge["direction"] == "short_gamma" and edge["fired"] and "moves amplified" in edge["rationale"]
    assert "top front strike 100.00 holds 69% of Fri 15 Mar OI" in edge["rationale"]
    assert "(no pin: dealers short gamma)" in edge["rationale"]
    spec = GammaSpec(pin_needs_long_gamma=False)
    assert gamma_edges(gamma_profile(df, spec), spec)["direction"].iloc[0] == "pin"
    spec = GammaSpec(pin_min_share=0.95, pin_needs_long_gamma=False)
    assert gamma_edges(gamma_profile(df, spec), spec)["direction"].iloc[0] == "short_gamma"


def test_a_group_with_nothing_usable_still_reports_what_was_left_out():
    usable = spike()
    dead = chain([100.0, 101.0], 50.0, 50.0, underlying="Y").assign(reason="no_curve")
    prof = gamma_profile(pd.concat([usable.assign(reason="ok"), dead], ignore_index=True)).set_index("underlying")
    assert (prof.loc["Y", "n_options"], prof.loc["Y", "n_left_out"]) == (0, 4)
    assert prof.loc["Y", "headline_gex"] == 0.0 and prof.loc["Y", "headline_flip_reason"] == "no_options"
    assert prof.loc["X", "n_options"] == len(usable) and prof.loc["X", "n_left_out"] == 0
    edges = gamma_edges(prof.reset_index()).set_index("underlying")
    assert not edges.loc["Y", "fired"] and "4 left out" in edges.loc["Y", "rationale"]
    assert gamma_profile(usable.iloc[:0]).empty and gamma_edges(gamma_profile(usable.iloc[:0])).empty


def test_edges_keep_the_last_snapshot_per_day_and_the_edge_columns():
    a = spike()
    b = spike(call_spike=1000.0, put_spike=8000.0).assign(snapshot_id="2024-03-14T1600")
    edges = gamma_edges(gamma_profile(pd.concat([a, b], ignore_index=True)))
    assert list(edges.columns) == list(EDGE_COLUMNS) and len(edges) == 1
    assert edges["direction"].iloc[0] == "short_gamma"
    assert json.loads(edges["metrics"].iloc[0])["snapshot_id"] == "2024-03-14T1600"


# --- from warehouse tables, on the simulated market ------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_day(surface_chain):
    market = SimMarket(SimConfig(seed=7), end="2024-03-28")
    quotes = surface_chain[0](market, [market.sessions[-1]], ["SPX"])
    return quotes, build_surface(quotes)


def test_gamma_chain_on_a_sim_day_counts_what_it_leaves_out(sim_day):
    quotes, b = sim_day
    cp, fw = b.curve_params.copy(), b.forwards.copy()
    expiries = sorted(cp["expiry"].unique())
    cp.loc[cp["expiry"] == expiries[2], "status"] = "fallback"
    cp = cp[cp["expiry"] != expiries[3]]
    fw = fw[fw["expiry"] != expiries[4]]
    ch = gamma_chain(quotes, cp, fw)
    assert len(ch) == len(quotes) and list(ch.columns) == [*CHAIN_COLUMNS, "k", "reason"]
    n_of = {e: int((quotes["expiry"] == e).sum()) for e in expiries[2:5]}
    counts = ch["reason"].value_counts()
    assert counts["curve_not_usable"] == n_of[expiries[2]]
    assert counts["no_curve"] == n_of[expiries[3]]
    assert counts["no_discount_factor"] == n_of[expiries[4]]
    ok = ch["reason"].eq("ok").to_numpy()
    assert ok.sum() == len(ch) - sum(n_of.values())
    g = option_gex(ch)
    assert np.isfinite(g[ok]).all() and np.isnan(g[~ok]).all()
    prof = gamma_profile(ch)
    assert prof["n_left_out"].iloc[0] == sum(n_of.values()) and prof["n_options"].iloc[0] == ok.sum()
    # vol is the fitted curve at k = ln(K/F), row by row
    for i in np.flatnonzero(ok)[:: max(1, ok.sum() // 25)]:
        row = cp[(cp["expiry"] == ch["expiry"].iloc[i])].iloc[0]
        assert ch["vol"].iloc[i] == pytest.approx(float(curve_vol(row, ch["k"].iloc[i])), rel=1e-12)
        assert ch["k"].iloc[i] == pytest.approx(np.log(ch["strike"].iloc[i] / row["forward"]), rel=1e-12)


def test_vectorised_gex_equals_slow_per_option_loop(sim_day):
    quotes, b = sim_day
    ch = gamma_chain(quotes, b.curve_params, b.forwards)
    ch = ch[ch["reason"] == "ok"].reset_index(drop=True)
    by = gex_by_strike(ch).set_index("strike")
    slow: dict[float, list[float]] = {}
    for r in ch.itertuples():  # reference: scalar greeks, option by option
        g = black76_greeks(r.forward, r.strike, r.tau, r.vol, r.discount_factor, r.right == "C")["gamma"]
        gs = g * (r.forward / r.underlying_price) ** 2
        v = (1 if r.right == "C" else -1) * r.open_interest * gs * r.underlying_price**2 * 0.01 * r.multiplier
        slow.setdefault(r.strike, [0.0, 0.0])[r.right == "P"] += v
    ref = pd.DataFrame(slow, index=["call_gex", "put_gex"]).T.sort_index()
    np.testing.assert_allclose(by[["call_gex", "put_gex"]].to_numpy(), ref.to_numpy(), rtol=1e-9,
                               atol=1e-9 * ref.abs().to_numpy().max())
    prof = gamma_profile(ch).iloc[0]
    assert prof["headline_gex"] == pytest.approx(ref.to_numpy().sum(), rel=1e-9)
    assert prof["gross_gex"] == pytest.approx(np.abs(ref.to_numpy()).sum(), rel=1e-9)
    # the simulator plants heavy OTM put OI on the index: dealers short gamma under the headline
    assert prof["gex_sign"] == "short" and prof["gex_ratio"] < -0.1
