"""Book vol risk: modified vega, forward-vol buckets (finite differences), correlation shrinkage, one-SD PnL."""

import numpy as np
import pandas as pd
import pytest

from volmachine_core.trading.vega import (
    bucket_vegas,
    forward_vols,
    modified_vega,
    vol_change_correlation,
    vol_pnl_sd,
)

EDGES = np.array([30, 60, 90, 180, 365]) / 365


def test_modified_vega_weights_short_dated_vega_up():
    assert modified_vega([100.0], [90 / 365]) == pytest.approx(100.0)
    assert modified_vega([100.0, 100.0], [22.5 / 365, 360 / 365]) == pytest.approx(100 * 2 + 100 * 0.5)
    with pytest.raises(ValueError, match="> 0"):
        modified_vega([1.0], [0.0])


def test_forward_vols_reproduce_the_term_structure():
    tau = np.array([30, 60, 90, 180, 365]) / 365
    vol = np.array([0.25, 0.22, 0.21, 0.20, 0.20])
    s = forward_vols(tau, vol, EDGES)
    w = np.cumsum(s ** 2 * np.diff(np.r_[0.0, EDGES]))
    np.testing.assert_allclose(np.sqrt(w / EDGES), vol, rtol=1e-12)
    # sigma(t1, t2) = sqrt((s2^2 t2 - s1^2 t1) / (t2 - t1)) as DESIGN.md states
    assert s[1] == pytest.approx(np.sqrt((0.22 ** 2 * 60 - 0.25 ** 2 * 30) / 30))
    with pytest.raises(ValueError, match="calendar arbitrage"):
        forward_vols(tau, np.array([0.40, 0.20, 0.20, 0.20, 0.20]), EDGES)


def test_bucket_vegas_match_finite_differences_and_sum_to_the_parallel_move():
    tau_opt = np.array([20, 45, 75, 120, 300, 500]) / 365
    vega = np.array([10.0, -20.0, 15.0, 30.0, -5.0, 8.0])
    s = forward_vols(np.array([30, 60, 90, 180, 365]) / 365, np.array([0.25, 0.22, 0.21, 0.20, 0.20]), EDGES)
    bv = bucket_vegas(vega, tau_opt, EDGES, s)

    def sigma(fwd):  # option vols from the forward vols (last bucket runs on)
        lo, hi = np.r_[0.0, EDGES[:-1]], np.r_[EDGES[:-1], np.inf]
        o = np.clip(np.minimum(tau_opt[:, None], hi) - lo, 0, None)
        return np.sqrt(o @ fwd ** 2 / tau_opt)

    h = 1e-6
    for j in range(len(s)):
        up, dn = s.copy(), s.copy()
        up[j] += h
        dn[j] -= h
        fd = vega * (sigma(up) - sigma(dn)) / (2 * h)
        np.testing.assert_allclose(bv[:, j], fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(bv.sum(axis=1), vega * (sigma(s + h) - sigma(s - h)) / (2 * h), rtol=1e-6)
    flat = bucket_vegas(vega, tau_opt, EDGES, np.full(len(s), 0.2))
    np.testing.assert_allclose(flat.sum(axis=1), vega, rtol=1e-12)


def test_correlation_shrinks_toward_the_tenor_structure():
    rng = np.random.default_rng(0)
    common = rng.normal(size=300)
    hist = pd.DataFrame({f"iv_{n}d": 0.2 + np.cumsum(0.01 * (common + 0.3 * rng.normal(size=300)))
                         for n in (30, 90, 180)})
    m0 = vol_change_correlation(hist, (30, 90, 180), shrink=0.0)
    m1 = vol_change_correlation(hist, (30, 90, 180), shrink=1.0)
    assert np.allclose(np.diag(m0), 1.0) and (m0[0, 1] > 0.8)
    assert m1[0, 1] == pytest.approx(0.8 ** np.log(3))
    mid = vol_change_correlation(hist, (30, 90, 180), shrink=0.5)
    np.testing.assert_allclose(mid, 0.5 * (m0 + m1))
    assert np.all(np.linalg.eigvalsh(mid) > 0)
    assert np.array_equal(vol_change_correlation(hist.iloc[:2], (30, 90, 180)), m1)  # too short: the target


def test_vol_pnl_sd():
    assert vol_pnl_sd([3.0, 4.0], np.eye(2)) == pytest.approx(5.0)
    assert vol_pnl_sd([3.0, -3.0], np.ones((2, 2))) == pytest.approx(0.0)  # perfectly hedged across buckets
