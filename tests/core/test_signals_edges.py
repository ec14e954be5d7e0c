"""Edge detectors vrp, term_structure, skew and wing: each fires on a constructed case and stays quiet on a
neutral one; the 25-delta vols solve the Black-76 delta on the fitted smile; the edge table's contract."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from volmachine_core.signals.edges import EDGE_COLUMNS, edge_frame, metrics_json, strength_from
from volmachine_core.signals.skew import cm_skew, delta_vols
from volmachine_core.signals.vol_edges import (
    VolEdgeSpec,
    skew_edges,
    term_structure_edges,
    vol_signal_history,
    vrp_edges,
)
from volmachine_core.signals.wing_edge import wing_edges


def _svi_slice(snap, und, tau, a, b, rho, m, sigma):
    params = {"model": "svi", "a": a, "b": b, "rho": rho, "m": m, "sigma": sigma}
    w0 = a + b * (-rho * m + np.sqrt(m * m + sigma * sigma))
    expiry = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(tau * 365))
    return {"snapshot_id": snap, "underlying": und, "expiry": expiry,
            "tau": tau, "atm_vol": np.sqrt(w0 / tau), "status": "ok", "params": json.dumps(params)}


def test_delta_vols_on_a_flat_smile_match_the_closed_form():
    sig, tau = 0.2, 0.25
    cp = pd.DataFrame([_svi_slice("2025-01-02T1545", "X", tau, sig * sig * tau, 0.0, 0.0, 0.0, 0.1)])
    dv = delta_vols(cp, 0.25).iloc[0]
    sw = sig * np.sqrt(tau)
    for side, p in (("call", 0.25), ("put", 0.75)):
        k_want = -norm.ppf(p) * sw + sw * sw / 2
        assert dv[f"{side}_k"] == pytest.approx(k_want, abs=1e-9)
        assert dv[f"{side}_vol"] == pytest.approx(sig, abs=1e-12)


def test_delta_vols_solve_the_delta_on_a_skewed_smile():
    from volmachine_core.curves import curve_vol

    tau = 0.1
    cp = pd.DataFrame([_svi_slice("2025-01-02T1545", "X", tau, 0.002, 0.05, -0.6, 0.01, 0.05)])
    dv = delta_vols(cp, 0.25).iloc[0]
    for side, target in (("call", 0.25), ("put", 0.75)):
        k = dv[f"{side}_k"]
        v = float(curve_vol(cp.iloc[0], np.array([k]), tau)[0])
        d1 = -k / (v * np.sqrt(tau)) + v * np.sqrt(tau) / 2
        assert norm.cdf(d1) == pytest.approx(target, abs=2e-3)  # linear interpolation on a 0.05 SD grid
    assert dv["put_vol"] > dv["atm_vol"] > dv["call_vol"]


def test_cm_skew_interpolates_between_the_expiries_around_30_days():
    rows = [_svi_slice("2025-01-02T1545", "X", t, 0.04 * t, 0.0, 0.0, 0.0, 0.1) for t in (20 / 365, 45 / 365)]
    rows[1]["params"] = json.dumps({"model": "svi", "a": 0.0, "b": 0.08 * 45 / 365 / 0.1, "rho": -0.5, "m": 0.0,
                                    "sigma": 0.1})
    cp = pd.DataFrame(rows)
    cp["atm_vol"] = [float(np.sqrt(0.04)), float(np.sqrt(0.08 * 45 / 365 / 0.1 * 0.1 / (45 / 365)))]
    dv = delta_vols(cp).set_index("tau")
    sk = cm_skew(cp).iloc[0]
    w = (30 - 20) / (45 - 20)
    pts = (dv["put_vol"] - dv["call_vol"]).to_numpy()
    want = (1 - w) * pts[0] + w * pts[1]
    assert sk["skew_pts"] == pytest.approx(want, rel=1e-9)
    assert sk["trade_date"] == pd.Timestamp("2025-01-02")


def _history(n=60, iv30=0.2, iv90=0.21, rv=0.17, skew=0.25, last=None):
    d = pd.bdate_range("2025-01-01", periods=n)
    rng = np.random.default_rng(1)
    cm = pd.DataFrame({"trade_date": d, "underlying": "X", "iv_30d": iv30 * (1 + 0.02 * rng.normal(size=n)),
                       "iv_90d": iv90 * (1 + 0.01 * rng.normal(size=n))})
    rvf = pd.DataFrame({"trade_date": d, "underlying": "X", "rv_yz": rv * (1 + 0.05 * rng.normal(size=n))})
    sk = pd.DataFrame({"trade_date": d, "underlying": "X", "put_vol": 0.23, "call_vol": 0.18,
                       "skew": skew * (1 + 0.03 * rng.normal(size=n)), "skew_pts": 0.05})
    for frame, col, value in (last or []):
        {"cm": cm, "rv": rvf, "skew": sk}[frame].loc[n - 1, col] = value
    return vol_signal_history(rvf, cm.merge(sk, on=["trade_date", "underlying"]))


def test_neutral_history_fires_nothing():
    h = _history()
    for detect in (vrp_edges, term_structure_edges, skew_edges):
        rows = detect(h)
        last = rows.iloc[-1]
        assert not last.fired and last.strength == 0 and last.direction == "none"
        assert rows["fired"].mean() <= 0.1  # noise alone crosses a 2-SD line on a few days at most
        assert (rows.loc[~rows["fired"], "strength"] == 0).all()


def test_vrp_fires_on_rich_implied_and_names_the_numbers():
    h = _history(last=[("rv", "rv_yz", 0.12)])
    row = vrp_edges(h).iloc[-1]
    assert row.fired and row.direction == "sell_vol" and row.strength > 0
    assert "vs RV20 12.0%" in row.rationale and "ratio" in row.rationale
    assert row.metrics["ratio"] == pytest.approx(h["iv_30d"].iloc[-1] / 0.12)


def test_vrp_needs_history_and_a_high_percentile():
    short = vrp_edges(_history(n=10, rv=0.10))
    assert not short["fired"].any() and "history too short" in short["rationale"].iloc[-1]
    # ratio above 1.3 every day: high in absolute terms but not for its own history -> quiet on an ordinary day
    h = _history(rv=0.14)
    assert (h["vrp_ratio"].iloc[-1] > 1.3) and not vrp_edges(h, VolEdgeSpec(vrp_min_pct=0.99))["fired"].iloc[-1]


@pytest.mark.parametrize(("iv30", "want"), [(0.30, "backwardation"), (0.12, "contango")])
def test_term_structure_fires_on_extremes(iv30, want):
    row = term_structure_edges(_history(last=[("cm", "iv_30d", iv30)])).iloc[-1]
    assert row.fired and row.direction == want
    assert abs(row.metrics["z"]) >= 2 and "calendar" in row.rationale


@pytest.mark.parametrize(("skew", "want"), [(0.40, "puts_rich"), (0.10, "calls_rich")])
def test_skew_fires_on_extremes(skew, want):
    row = skew_edges(_history(last=[("skew", "skew", skew)])).iloc[-1]
    assert row.fired and row.direction == want and row.strength > 0


def _theos(residual=0.0, half=0.004):
    z = np.array([-2.0, -1.0, 1.0, 2.0])
    n = len(z)
    res = np.full(n, 0.001)
    res[0] = residual
    beyond = np.sign(res) * np.maximum(np.abs(res) - half, 0)
    return pd.DataFrame({
        "snapshot_id": "2025-01-02T1545", "trade_date": pd.Timestamp("2025-01-02"), "underlying": "X",
        "expiry": pd.Timestamp("2025-02-21"), "strike": 100 * np.exp(0.05 * z), "right": np.where(z < 0, "P", "C"),
        "z": z, "market_vol": 0.2 + res, "model_vol": 0.2, "residual": res, "half_spread_vol": half,
        "residual_beyond_spread": beyond, "pnl_theo": -10.0 * res * 100 * 100, "vega": 10.0,
        "atm_hedge_ratio": 0.4, "in_dte_range": True, "status": "ok"})


def test_wing_fires_on_a_residual_beyond_spread_and_not_inside_it():
    rich = wing_edges(_theos(residual=0.02)).iloc[0]
    assert rich.fired and rich.direction == "sell_vol" and rich.edge == "wing"
    assert "-2.0 SD P" in rich.rationale and "1.6 beyond half-spread" in rich.rationale
    assert rich.metrics["top"][0]["residual"] == pytest.approx(0.02)
    quiet = wing_edges(_theos(residual=0.012)).iloc[0]
    assert not quiet.fired and quiet.strength == 0
    cheap = wing_edges(_theos(residual=-0.02)).iloc[0]
    assert cheap.direction == "buy_vol"


def test_wing_ignores_out_of_range_and_unmodelled_rows():
    t = _theos(residual=0.05)
    t.loc[0, "in_dte_range"] = False
    assert not wing_edges(t)["fired"].any()


def test_edge_frame_checks_its_contract():
    rows = [{"trade_date": "2025-01-02", "underlying": "X", "edge": "vrp", "fired": True, "strength": 0.4,
             "direction": "sell_vol", "rationale": "r", "structure": "s",
             "metrics": {"a": np.float64(1.5), "b": np.nan}}]
    f = edge_frame(rows)
    assert list(f.columns) == list(EDGE_COLUMNS)
    assert json.loads(f["metrics"].iloc[0]) == {"a": 1.5, "b": None}
    with pytest.raises(ValueError, match="unknown edge"):
        edge_frame([{**rows[0], "edge": "nope"}])
    with pytest.raises(ValueError, match="strength"):
        edge_frame([{**rows[0], "strength": 1.5}])
    assert metrics_json({"d": pd.Timestamp("2025-01-02")}) == '{"d":"2025-01-02"}'
    assert strength_from([-1.0, 0.0, np.nan, 1e9], 1.0).tolist() == [0.0, 0.0, 0.0, 1.0]


def test_assemble_edges_adds_the_regime_and_its_structures():
    from volmachine_core.signals.edges import assemble_edges

    h = _history(last=[("rv", "rv_yz", 0.12)])
    reg = pd.DataFrame({"trade_date": h["trade_date"], "underlying": "X", "regime": "LOW_VOL_GRIND",
                        "confidence": 0.8})
    t = assemble_edges([vrp_edges(h), term_structure_edges(h), pd.DataFrame()], reg)
    assert len(t) == 2 * len(h) and set(t["edge"]) == {"vrp", "term_structure"}
    last = t[(t["trade_date"] == h["trade_date"].max()) & (t["edge"] == "vrp")].iloc[0]
    assert last["rationale"].endswith("regime LOW_VOL_GRIND (0.80) favours iron condors and butterflies")
    assert isinstance(last["metrics"], str) and json.loads(last["metrics"])["ratio"] > 1.3
    assert assemble_edges([]).empty


def test_wing_residual_shared_by_every_expiry_is_the_model_not_a_mispricing():
    """Four expiries rich by 2.5 vol points at -2 SD: the day's level, no edge. One of them rich by 5: it fires
    on the excess over the level (2.5 points), for that expiry."""
    expiries = pd.to_datetime(["2025-02-21", "2025-03-21", "2025-04-17", "2025-05-16"])
    frames = [_theos(residual=0.025).assign(expiry=e) for e in expiries]
    assert not wing_edges(pd.concat(frames, ignore_index=True))["fired"].iloc[0]
    frames[2] = _theos(residual=0.05).assign(expiry=expiries[2])
    row = wing_edges(pd.concat(frames, ignore_index=True)).iloc[0]
    assert row.fired and row.direction == "sell_vol"
    top = row.metrics["top"][0]
    assert top["expiry"] == expiries[2] and top["excess"] == pytest.approx(0.025)
    assert top["residual_level"] == pytest.approx(0.025)
