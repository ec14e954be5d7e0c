"""Realised vol estimators against known-vol paths and direct formulas; constant-maturity ATM vols."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.signals import cm_atm_vols, realized_vol


def _gbm_bars(sigma: float, n_days: int, steps: int = 78, seed: int = 0, gap_share: float = 0.2) -> pd.DataFrame:
    """Daily OHLC of a driftless GBM sampled ``steps`` times a session, with an overnight share of variance."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / 252
    on = rng.normal(0, sigma * np.sqrt(gap_share * dt), n_days)
    intr = rng.normal(0, sigma * np.sqrt((1 - gap_share) * dt / steps), (n_days, steps))
    rows, close = [], 100.0
    for d in range(n_days):
        open_ = close * np.exp(on[d])
        path = open_ * np.exp(np.cumsum(intr[d]))
        hi, lo = max(open_, path.max()), min(open_, path.min())
        close = path[-1]
        rows.append((open_, hi, lo, close))
    o, h, lo, c = np.array(rows).T
    days = pd.bdate_range("2024-01-02", periods=n_days)
    return pd.DataFrame({"trade_date": days, "underlying": "X", "open": o, "high": h, "low": lo, "close": c})


def test_estimators_recover_a_known_vol():
    # one-minute sampling: a sampled path's range is a little narrower than the true one (about 2.5% here)
    bars = _gbm_bars(0.25, 1500, seed=1, steps=390)
    rv = realized_vol(bars, window=20).dropna()
    assert rv["rv_cc"].mean() == pytest.approx(0.25, rel=0.04)
    assert rv["rv_yz"].mean() == pytest.approx(0.25, rel=0.05)
    # Parkinson sees only the session's range: 80% of the variance here
    assert rv["rv_parkinson"].mean() == pytest.approx(0.25 * np.sqrt(0.8), rel=0.05)
    # Yang-Zhang is the least noisy of the unbiased estimators
    assert rv["rv_yz"].std() < rv["rv_cc"].std()


def test_close_to_close_and_yang_zhang_match_direct_formulas():
    bars = _gbm_bars(0.4, 60, seed=2)
    n = 20
    rv = realized_vol(bars, window=n)
    last = bars.iloc[-n - 1:]
    o, h, lo, c = (last[k].to_numpy() for k in ("open", "high", "low", "close"))
    r = np.log(c[1:] / c[:-1])
    assert rv["rv_cc"].iloc[-1] == pytest.approx(np.std(r, ddof=1) * np.sqrt(252), rel=1e-12)
    on, oc = np.log(o[1:] / c[:-1]), np.log(c[1:] / o[1:])
    rs = np.log(h[1:] / c[1:]) * np.log(h[1:] / o[1:]) + np.log(lo[1:] / c[1:]) * np.log(lo[1:] / o[1:])
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    yz = np.sqrt((np.var(on, ddof=1) + k * np.var(oc, ddof=1) + (1 - k) * rs.mean()) * 252)
    assert rv["rv_yz"].iloc[-1] == pytest.approx(yz, rel=1e-12)
    pk = np.sqrt(np.mean(np.log(h[1:] / lo[1:]) ** 2) / (4 * np.log(2)) * 252)
    assert rv["rv_parkinson"].iloc[-1] == pytest.approx(pk, rel=1e-12)
    assert rv["rv_cc"].iloc[: n].isna().all() and rv["rv_cc"].iloc[n:].notna().all()
    assert (rv["n_obs"].iloc[n:] == n).all()


def test_underlyings_are_kept_apart():
    a, b = _gbm_bars(0.1, 80, seed=3), _gbm_bars(0.6, 80, seed=4).assign(underlying="Y")
    rv = realized_vol(pd.concat([b, a]))
    means = rv.groupby("underlying")["rv_cc"].mean()
    assert means["X"] == pytest.approx(0.1, rel=0.3) and means["Y"] == pytest.approx(0.6, rel=0.3)


@pytest.mark.parametrize("mutate, needle", [
    (lambda b: b.drop(columns="high"), "high"),
    (lambda b: pd.concat([b, b.iloc[[0]]]), "more than one row"),
    (lambda b: b.assign(low=b["low"].where(b.index != 5, 0.0)), "non-positive price for X on"),
])
def test_bad_bars_are_refused_with_a_clear_error(mutate, needle):
    with pytest.raises(ValueError, match=needle):
        realized_vol(mutate(_gbm_bars(0.2, 30)))


def _curves(rows):
    return pd.DataFrame(rows, columns=["snapshot_id", "underlying", "tau", "atm_vol", "status"])


def test_constant_maturity_vol_interpolates_total_variance():
    cp = _curves([("2025-01-02T1545", "X", 20 / 365, 0.20, "ok"), ("2025-01-02T1545", "X", 50 / 365, 0.30, "ok"),
                  ("2025-01-02T1545", "X", 1 / 365, 0.90, "ok"),          # too close to expiry: left out
                  ("2025-01-02T1545", "X", 40 / 365, 5.00, "fallback")])  # not a usable fit
    out = cm_atm_vols(cp, tenors_days=(10, 30, 50, 90))
    w1, w2 = 0.2**2 * 20, 0.3**2 * 50
    expect30 = np.sqrt((w1 + (w2 - w1) * (30 - 20) / 30) / 30)
    row = out.iloc[0]
    assert row["iv_30d"] == pytest.approx(expect30, rel=1e-12)
    assert row["iv_10d"] == pytest.approx(0.20) and row["iv_90d"] == pytest.approx(0.30)   # flat beyond the ends
    assert row["iv_50d"] == pytest.approx(0.30) and row["n_expiries"] == 2
    assert row["trade_date"] == pd.Timestamp("2025-01-02")


def test_flat_term_structure_stays_flat_for_every_snapshot_and_underlying():
    rows = [(s, u, t / 365, 0.25, "ok") for s in ("2025-01-02T1545", "2025-01-03T1545") for u in ("A", "B")
            for t in (7, 14, 35, 63, 120, 250)]
    out = cm_atm_vols(_curves(rows))
    assert len(out) == 4
    np.testing.assert_allclose(out[["iv_30d", "iv_90d", "iv_180d"]].to_numpy(), 0.25, rtol=1e-12)
