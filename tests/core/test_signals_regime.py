"""Regime classifier: features, rules, hysteresis and the confusion matrix against the simulator's regimes."""

import numpy as np
import pandas as pd
import pytest

from volmachine_core.signals import realized_vol
from volmachine_core.signals.history import trailing_percentile, trailing_zscore
from volmachine_core.signals.regime import (
    REGIMES,
    RegimeSpec,
    apply_hysteresis,
    classify_raw,
    classify_regimes,
    confusion_matrix,
    regime_features,
)


def _history(values, und="X"):
    d = pd.bdate_range("2025-01-01", periods=len(values))
    return pd.DataFrame({"trade_date": d, "underlying": und, "v": values})


def test_trailing_percentile_matches_a_slow_reference():
    rng = np.random.default_rng(3)
    f = pd.concat([_history(rng.normal(size=60), "A"), _history(rng.normal(size=40), "B")], ignore_index=True)
    f = f.sample(frac=1.0, random_state=1)  # any row order
    got = trailing_percentile(f, "v", window=10, min_obs=5)
    for i, row in f.iterrows():
        hist = f[(f.underlying == row.underlying) & (f.trade_date <= row.trade_date)].sort_values("trade_date")
        w = hist["v"].to_numpy()[-10:]
        want = np.nan if len(w) < 5 else pd.Series(w).rank(pct=True).iloc[-1]
        assert got[i] == pytest.approx(want, nan_ok=True)


def test_trailing_zscore_uses_only_earlier_sessions():
    v = np.r_[np.arange(30.0), 100.0]
    z = trailing_zscore(_history(v), "v", window=20, min_obs=5).to_numpy()
    prior = v[10:30]
    assert z[-1] == pytest.approx((100.0 - prior.mean()) / prior.std(ddof=1))
    assert np.isnan(z[:5]).all() and np.isfinite(z[5])
    # changing a later value never changes an earlier score
    v2 = v.copy()
    v2[-1] = -5.0
    z2 = trailing_zscore(_history(v2), "v", window=20, min_obs=5).to_numpy()
    np.testing.assert_array_equal(z[:-1], z2[:-1])


@pytest.mark.parametrize(("term", "trend", "want"), [
    (0.15, 0.0, "HIGH_VOL_PANIC"), (0.08, 0.0, "TREND_DOWN"), (0.0, 0.0, "CHOP"), (0.0, 3.0, "CHOP"),
    (-0.12, 0.5, "LOW_VOL_GRIND"), (-0.12, 2.5, "TREND_UP"), (np.nan, 1.0, ""),
])
def test_rules_pick_one_state(term, trend, want):
    raw, conf = classify_raw([term], [trend])
    assert raw[0] == want
    assert (np.isnan(conf[0]) if want == "" else 0.5 <= conf[0] <= 1.0)


def test_confidence_grows_with_the_distance_from_a_threshold():
    _, conf = classify_raw([0.115, 0.2, -0.3], [0.0, 0.0, 0.0])
    assert conf[0] < 0.6 < conf[1]
    assert conf[2] > 0.9


def test_hysteresis_needs_consecutive_confirmations_but_panic_enters_at_once():
    spec = RegimeSpec(confirm_days=3, panic_confirm_days=1)
    raw = ["CHOP", "CHOP", "TREND_UP", "TREND_UP", "CHOP", "TREND_UP", "TREND_UP", "TREND_UP", "HIGH_VOL_PANIC"]
    out = apply_hysteresis(["X"] * len(raw), raw, np.full(len(raw), 0.8), spec)
    assert list(out["regime"]) == ["CHOP"] * 7 + ["TREND_UP", "HIGH_VOL_PANIC"]
    assert list(out["pending_days"][:4]) == [0, 0, 1, 2]
    # while a switch is pending, the held state's confidence is the complement of the day's
    assert out["confidence"][2] == pytest.approx(0.2)


def test_hysteresis_continues_from_a_stored_state():
    spec = RegimeSpec(confirm_days=3)
    raw = ["TREND_UP"] * 4
    full = apply_hysteresis(["X"] * 4, raw, np.full(4, 0.8), spec, initial={"X": ("CHOP", "", 0)})
    first = apply_hysteresis(["X"] * 2, raw[:2], np.full(2, 0.8), spec, initial={"X": ("CHOP", "", 0)})
    last = first.iloc[-1]
    rest = apply_hysteresis(["X"] * 2, raw[2:], np.full(2, 0.8), spec,
                            initial={"X": (last.regime, last.pending_regime, int(last.pending_days))})
    assert list(full["regime"]) == list(first["regime"]) + list(rest["regime"])
    assert list(full["regime"]) == ["CHOP", "CHOP", "TREND_UP", "TREND_UP"]


def test_spec_rejects_unordered_thresholds():
    with pytest.raises(ValueError, match="calm_term < down_term < panic_term"):
        RegimeSpec(down_term=0.2)


def _constructed_market(n=80):
    """Two underlyings: a calm grind for 40 sessions, then a crash with vol doubling and the curve inverted."""
    d = pd.bdate_range("2025-01-01", periods=n)
    rng = np.random.default_rng(0)
    vol = np.where(np.arange(n) < 40, 0.10, 0.45)
    drift = np.where(np.arange(n) < 40, 0.004, -0.02)
    rows, cms = [], []
    for u in ("IDX", "STK"):
        r = drift + vol / np.sqrt(252) * rng.normal(size=n)
        c = 100 * np.exp(np.cumsum(r))
        rows.append(pd.DataFrame({"trade_date": d, "underlying": u, "open": c, "high": c * 1.002,
                                  "low": c * 0.998, "close": c}))
        iv30 = np.where(np.arange(n) < 40, 0.11, 0.40)
        cms.append(pd.DataFrame({"trade_date": d, "underlying": u, "iv_30d": iv30, "iv_180d": 0.16}))
    return pd.concat(rows, ignore_index=True), pd.concat(cms, ignore_index=True)


def test_constructed_calm_then_crash():
    bars, cm = _constructed_market()
    feats = regime_features(realized_vol(bars, min_obs=5), cm)
    reg = classify_regimes(feats, reference="IDX")
    idx = reg[reg.underlying == "IDX"].reset_index(drop=True)
    assert set(idx["regime"][25:40]) <= {"LOW_VOL_GRIND", "TREND_UP"}
    assert (idx["regime"][41:] == "HIGH_VOL_PANIC").all()
    assert (reg.groupby("trade_date")["regime"].nunique() == 1).all()  # one market-wide regime
    f = reg["features"].iloc[-1]
    for key in ("rv", "rv_pct", "iv_30d", "iv30_pct", "term", "trend_t", "mom_5", "thresholds"):
        assert key in f
    assert set(reg["regime"]) <= set(REGIMES)


def test_confusion_matrix_counts_and_agreement():
    d = pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-06"])
    pred = pd.DataFrame({"trade_date": d, "underlying": "X", "regime": ["CHOP", "CHOP", "TREND_UP"]})
    true = pd.DataFrame({"trade_date": d, "underlying": "X", "regime": ["CHOP", "TREND_UP", "TREND_UP"]})
    cm, acc = confusion_matrix(pred, true)
    assert acc == pytest.approx(2 / 3)
    assert cm.loc["TREND_UP", "CHOP"] == 1 and cm.to_numpy().sum() == 3
    assert list(cm.index) == list(REGIMES)


@pytest.mark.slow
def test_agrees_with_the_simulator_over_demo_windows():
    """Issue 7's target (>= 60% of days) over the demo's window (120 sessions to 2026-11-20) of three seeds,
    from the simulator's ATM vols and bars (the fitted-curve version is measured by the pipeline). Measured:
    seed 7 0.56, seed 11 0.68, seed 3 0.75 (mean 0.66); over whole three-year paths 0.64 / 0.59 / 0.53."""
    from volmachine_core.market.sim import SimConfig, SimMarket
    from volmachine_core.signals import cm_atm_vols

    scores = []
    for seed in (7, 11, 3):
        sim = SimMarket(SimConfig(seed=seed), end="2026-11-20")
        days = list(sim.sessions)[-160:]
        cm = cm_atm_vols(sim.truth_surface(days, ["SPX"]).assign(status="ok"), tenors_days=(30, 180))
        feats = regime_features(realized_vol(sim.bars(days, ["SPX"]), min_obs=10), cm)
        reg = classify_regimes(feats, reference="SPX")
        reg = reg[reg["trade_date"] >= pd.Timestamp(days[-120])]
        matrix, acc = confusion_matrix(reg, sim.truth_regimes(days[-120:], ["SPX"]))
        assert matrix.to_numpy().sum() == 120
        scores.append(acc)
    assert min(scores) >= 0.5
    assert np.mean(scores) >= 0.6
