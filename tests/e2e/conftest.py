"""Simulated histories through the production chain, shared by the end-to-end detection tests."""

from __future__ import annotations

import pandas as pd
import pytest

from volmachine_core import signals as sig
from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.signals.event_vol import implied_event_variance, realised_event_moves
from volmachine_core.signals.gamma import gamma_chain, gamma_profile
from volmachine_core.wing import WingModelSpec, fit_wing_models, wing_features, wing_theos

SDS = [s / 2 for s in range(-6, 7)]


def _chain(surface_chain, end: str, n_days: int, underlyings: list[str] | None = None) -> dict:
    """quotes -> build_surface -> wing features -> point-in-time models -> theos, plus the simulator's truth."""
    sim_quotes, build_surfaces = surface_chain
    market = SimMarket(SimConfig(seed=7), end=end)
    days = market.sessions[-n_days:]
    unds = underlyings or market.underlyings
    quotes = sim_quotes(market, days, unds)
    cp, pt, sv = build_surfaces(quotes)
    feats = wing_features(cp, pt, dte_min=7, dte_max=180, target_sds=SDS)
    models = fit_wing_models(feats, days, WingModelSpec(window_days=60, min_obs=30, min_days=10))
    theos = wing_theos(sv, cp, models, target_sds=SDS, dte_range=(7, 180))
    theos = theos[theos["status"] == "ok"]
    return {"market": market, "days": days, "underlyings": unds, "quotes": quotes, "curve_params": cp,
            "strike_vols": sv, "feats": feats, "models": models, "theos": theos,
            "planted": market.truth_mispricings(list(days), unds), "truth": market.truth_surface(list(days), unds)}


@pytest.fixture(scope="session")
def history(surface_chain):
    """Forty sessions to 2024-05-31, seed 7, all five underlyings (the wing detection study)."""
    return _chain(surface_chain, "2024-05-31", 40)


@pytest.fixture(scope="session")
def demo_window(surface_chain):
    """The last forty sessions of the demo's window (to 2026-11-20, seed 7) for SPX (the regime reference,
    short dealer gamma), MSFT (earnings 2026-10-26) and NVDA (earnings 2026-11-23, the session after)."""
    return _chain(surface_chain, "2026-11-20", 40, ["SPX", "MSFT", "NVDA"])


@pytest.fixture(scope="session")
def edges(demo_window):
    """The six edges and the regime over ``demo_window`` through the production chain (no Dagster): bars start
    25 sessions earlier for realised vol and trend, the history-based detectors get a 10-session minimum
    history, past earnings moves come from the simulator's event table since its origin."""
    history = demo_window
    market, days, cp = history["market"], history["days"], history["curve_params"]
    unds = history["underlyings"]
    bars = market.bars(market.sessions[-(len(days) + 25):], unds)
    rv = sig.realized_vol(bars, min_obs=10)
    curve = sig.curve_signals(cp)
    spec = sig.VolEdgeSpec(min_history=10)
    hist = sig.vol_signal_history(rv, curve, spec)
    feats = sig.regime_features(rv, curve)
    regimes = sig.classify_regimes(feats[feats["trade_date"] >= pd.Timestamp(days[0])], reference="SPX")
    sv = history["strike_vols"]
    forwards = sv[["snapshot_id", "underlying", "expiry", "discount_factor"]].drop_duplicates(
        ["snapshot_id", "underlying", "expiry"])
    quotes = history["quotes"].assign(trade_date=lambda d: pd.to_datetime(d["snapshot_id"].str.slice(0, 10)))
    profile = gamma_profile(gamma_chain(quotes, cp, forwards))
    schedule = market.scheduled_events(unds, days[0], pd.Timestamp(days[-1]) + pd.Timedelta(days=60))
    past = market.truth_events(unds, None, days[-1])
    implied = implied_event_variance(cp.assign(trade_date=pd.to_datetime(cp["snapshot_id"].str.slice(0, 10))),
                                     schedule)
    moves = realised_event_moves(past[past["kind"] == "earnings"])
    table = sig.detect_edges(hist, history["theos"], profile, implied, moves, schedule, regimes,
                             sig.EdgeSpec(vol=spec))
    return {"table": table, "schedule": schedule, "regimes": regimes, "profile": profile}
