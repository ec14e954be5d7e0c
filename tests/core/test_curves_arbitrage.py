"""Butterfly and calendar arbitrage: detection, repair, and Durrleman's g against call-price convexity.

Sources: Gatheral and Jacquier (2014) Lemma 2.1 (calendar: w non-decreasing in T) and Lemma 2.2 /
Durrleman (2010) (density ``p(K) = d2C/dK2 = g(k) exp(-d_-^2/2) / (K sqrt(2 pi w))``). The butterfly slice
is Axel Vogt's raw-SVI example quoted in Gatheral and Jacquier (2014), section 5.1
(a = -0.0410, b = 0.1331, rho = 0.3060, m = 0.3586, sigma = 0.4153, T = 1), whose g is negative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from volmachine_core.curves import fit_curves, min_calendar_gap, min_durrleman_g, svi_durrleman_g
from volmachine_core.curves.svi import svi_total_variance
from volmachine_core.pricing import black76_price

VOGT = (-0.0410, 0.1331, 0.3060, 0.3586, 0.4153)


def svi_quotes(params, tau, k, expiry_ts, half_spread=0.002, snapshot="2024-03-15T16:00:00", seed=0):
    """A strike_vols frame of OTM quotes on an exact SVI slice, mids jittered inside a fixed vol spread."""
    rng = np.random.default_rng(seed)
    vol = np.sqrt(svi_total_variance(k, *params) / tau)
    mid = vol + rng.uniform(-0.3, 0.3, k.size) * half_spread
    return pd.DataFrame({
        "snapshot_id": snapshot, "underlying": "TST", "expiry_ts": pd.Timestamp(expiry_ts, tz="UTC"),
        "tau": tau, "forward": 100.0, "k": k, "strike": 100.0 * np.exp(k), "right": np.where(k >= 0, "C", "P"),
        "iv_bid": mid - half_spread, "iv_mid": mid, "iv_ask": mid + half_spread, "iv_status": "ok", "otm": True,
        "spread_vol": 2 * half_spread,
    })


def test_vogt_slice_has_negative_g():
    k = np.linspace(-1.5, 1.5, 301)
    assert svi_durrleman_g(k, *VOGT).min() < -1e-3


def test_butterfly_arbitrage_is_flagged_and_repaired():
    k = np.linspace(-1.5, 1.5, 121)
    res = fit_curves(svi_quotes(VOGT, 1.0, k, "2025-03-15 20:00"))
    row = res.curve_params.iloc[0]
    assert row["butterfly_repaired"] and row["arb_in_data"] and row["status"] == "repaired"
    assert row["butterfly_ok"] and row["arb_free"]
    assert row["min_g"] >= -1e-6
    assert "butterfly_repair" in row["reason"]
    # the repaired smile still fits the data reasonably (the arbitrage-free fit must move a little)
    assert row["rmse_vol"] < 0.02


def test_calendar_crossing_within_the_spread_is_repaired():
    k = np.linspace(-0.6, 0.6, 61)
    early = (0.02, 0.10, -0.5, 0.0, 0.1)     # tau 0.25: w(0) = 0.03
    late = (0.0195, 0.10, -0.5, 0.0, 0.1)    # tau 0.5: w(0) = 0.0295, 0.2 vol points too low near the money
    sv = pd.concat([svi_quotes(early, 0.25, k, "2024-06-14 20:00"),
                    svi_quotes(late, 0.5, k, "2024-09-13 20:00", seed=1)], ignore_index=True)
    cp = fit_curves(sv).curve_params.sort_values("tau")
    first, second = cp.iloc[0], cp.iloc[1]
    assert first["status"] == "ok" and not first["calendar_repaired"]
    assert second["calendar_repaired"] and second["arb_in_data"] and second["status"] == "repaired"
    assert second["calendar_ok"] and second["arb_free"]
    gk = np.linspace(-0.6, 0.6, 201)
    assert min_calendar_gap(second["params"], first["params"], gk) >= -1e-6


def test_calendar_crossing_far_outside_the_quotes_is_flagged_not_forced():
    """Quotes that cross by 2+ vol points: a repair would leave the market, so the fit stays and is flagged."""
    k = np.linspace(-0.6, 0.6, 61)
    early = (0.02, 0.10, -0.5, 0.0, 0.1)     # tau 0.25: w(0) = 0.03
    late = (0.012, 0.10, -0.5, 0.0, 0.1)     # tau 0.5: w(0) = 0.022 < 0.03: crosses everywhere near the money
    sv = pd.concat([svi_quotes(early, 0.25, k, "2024-06-14 20:00"),
                    svi_quotes(late, 0.5, k, "2024-09-13 20:00", seed=1)], ignore_index=True)
    cp = fit_curves(sv).curve_params.sort_values("tau")
    second = cp.iloc[1]
    assert not second["calendar_repaired"] and not second["calendar_ok"] and not second["arb_free"]
    assert second["status"] == "arbitrage" and "calendar_unrepaired" in second["reason"]
    assert second["rmse_vol"] < 0.005        # still the market's curve


def test_calendar_check_passes_ordered_slices():
    k = np.linspace(-0.6, 0.6, 61)
    sv = pd.concat([svi_quotes((0.01, 0.1, -0.5, 0.0, 0.1), 0.25, k, "2024-06-14 20:00"),
                    svi_quotes((0.02, 0.12, -0.5, 0.0, 0.1), 0.5, k, "2024-09-13 20:00")], ignore_index=True)
    cp = fit_curves(sv).curve_params
    assert not cp["calendar_repaired"].any() and cp["arb_free"].all() and (cp["status"] == "ok").all()


def test_min_durrleman_g_of_a_clean_slice_is_positive():
    assert min_durrleman_g({"model": "svi", "a": 0.01, "b": 0.1, "rho": -0.5, "m": 0.0, "sigma": 0.1},
                           np.linspace(-1, 1, 200)) > 0


svi_params = st.tuples(
    st.floats(0.0, 0.08),  # a
    st.floats(0.02, 0.8),  # b
    st.floats(-0.9, 0.9),  # rho
    st.floats(-0.3, 0.3),  # m
    st.floats(0.02, 0.5),  # sigma
)


@settings(max_examples=60, deadline=None)
@given(p=svi_params, k=st.floats(-0.8, 0.8))
def test_durrleman_g_matches_call_price_convexity(p, k):
    a, b, rho, m, sig = p
    assume(b * (1 + abs(rho)) <= 2.0)
    assume(a + b * sig * np.sqrt(1 - rho * rho) > 0.005)
    F, K = 1.0, float(np.exp(k))
    w = float(svi_total_variance(k, *p))
    g = float(svi_durrleman_g(k, *p))
    h = min(1e-3, sig / 200) * K  # the smile bends on the scale sigma: the step must resolve it
    Ks = np.array([K - h, K, K + h])
    vols = np.sqrt(svi_total_variance(np.log(Ks / F), *p))  # tau = 1
    c = black76_price(F, Ks, 1.0, vols, 1.0, True)
    fd = (c[0] - 2 * c[1] + c[2]) / h**2
    dm = -k / np.sqrt(w) - 0.5 * np.sqrt(w)
    density = g * np.exp(-0.5 * dm * dm) / (K * np.sqrt(2 * np.pi * w))
    assert fd == pytest.approx(density, abs=2e-5 + 1e-2 * abs(density))  # FD error on sharp smiles
    if abs(density) > 1e-4:
        assert np.sign(fd) == np.sign(g)


@settings(max_examples=40, deadline=None)
@given(p=svi_params, tau=st.floats(0.01, 3.0))
def test_curve_vol_is_consistent_with_total_variance(p, tau):
    from volmachine_core.curves import curve_vol

    a, b, rho, m, sig = p
    k = np.linspace(-1, 1, 9)
    d = dict(zip(("a", "b", "rho", "m", "sigma"), p, strict=True)) | {"model": "svi"}
    v = curve_vol(d, k, tau=tau)
    np.testing.assert_allclose(v * v * tau, svi_total_variance(k, *p), rtol=1e-12)
