"""Simulated histories through the production chain, shared by the end-to-end detection tests."""

from __future__ import annotations

import pytest

from volmachine_core.market.sim import SimConfig, SimMarket
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
