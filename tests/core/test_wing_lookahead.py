"""No look-ahead: the wing model and theos of date t do not move when every quote after t changes.

The whole chain runs from quotes: simulated end-of-day chains -> build_surface -> wing_features ->
fit_wing_models -> wing_theos. Then every quote dated after t is changed (prices scaled and spreads
widened) and the chain is rebuilt: the model fitted for t and the theos of t must be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.wing import WingModelSpec, fit_wing_models, wing_features, wing_theos

END = "2024-02-09"
N_DAYS = 12
SDS = [s / 2 for s in range(-6, 7)]
SPEC = WingModelSpec(window_days=20, min_obs=30, min_days=5)


def _chain(quotes: pd.DataFrame, t: pd.Timestamp, build_surfaces) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model fitted for t and theos of t, from quotes of any dates."""
    cp, pt, sv = build_surfaces(quotes)
    feats = wing_features(cp, pt, dte_min=7, dte_max=180, target_sds=SDS)
    days = sorted(feats["trade_date"].unique())
    models = fit_wing_models(feats, days, SPEC)
    on_t = (sv["snapshot_id"].str.slice(0, 10) == f"{t:%Y-%m-%d}").to_numpy()
    theos = wing_theos(sv[on_t], cp[(cp["snapshot_id"].str.slice(0, 10) == f"{t:%Y-%m-%d}").to_numpy()],
                       models, target_sds=SDS, dte_range=(7, 180))
    return models[models["fit_date"] == t].reset_index(drop=True), theos.reset_index(drop=True)


@pytest.fixture(scope="module")
def quotes(surface_chain) -> pd.DataFrame:
    market = SimMarket(SimConfig(seed=11), end=END)
    return surface_chain[0](market, market.sessions[-N_DAYS:], ["SPX"])


def test_model_and_theos_at_t_ignore_later_quotes(quotes, surface_chain):
    days = sorted(quotes["trade_date"].unique())
    t = pd.Timestamp(days[-4])
    model, theos = _chain(quotes, t, surface_chain[1])
    assert (model["status"] == "ok").all() and len(model) == 12
    assert (model["window_end"] < t).all()
    assert (theos["status"] == "ok").mean() > 0.99

    later = pd.to_datetime(quotes["trade_date"]) > t
    changed = quotes.copy()
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.8, 1.25, int(later.sum()))
    changed.loc[later, "bid"] = changed.loc[later, "bid"] * scale
    changed.loc[later, "ask"] = changed.loc[later, "ask"] * scale * 1.05
    assert not changed.equals(quotes)
    model2, theos2 = _chain(changed, t, surface_chain[1])
    pd.testing.assert_frame_equal(model, model2)
    pd.testing.assert_frame_equal(theos, theos2)


def test_later_quotes_do_change_later_models(quotes, surface_chain):
    """The perturbation is strong enough to matter: a model fitted after the change is different."""
    days = sorted(quotes["trade_date"].unique())
    t, last = pd.Timestamp(days[-4]), pd.Timestamp(days[-1])
    later = pd.to_datetime(quotes["trade_date"]) > t
    changed = quotes.copy()
    changed.loc[later, "ask"] = changed.loc[later, "ask"] * 1.3
    before, _ = _chain(quotes, last, surface_chain[1])
    after, _ = _chain(changed, last, surface_chain[1])
    assert not np.allclose(before["b_const"], after["b_const"])
