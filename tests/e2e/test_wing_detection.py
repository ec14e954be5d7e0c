"""Does the wing model find the simulator's planted mispricings, and only them?

Forty sessions of the embedded market (all five underlyings) go through the production chain:
build_surface -> wing_features -> fit_wing_models (point in time) -> wing_theos. Cells are
(date, underlying, expiry, target SD) with the median residual of two-sided OTM options within 0.25 SD;
a flag is |residual| >= 1 vol point at |target SD| >= 1 (issue 6's rule, `detection_cells`).

Two models are scored against `truth_mispricings` (bumps of 1.5-4 vol points):
* the oracle, the simulator's unbumped truth vol: shows the detection rule and the quote noise allow
  recall and precision above 0.9;
* the wing regression: finds most bumps, but its own error in the wings (the simulator's day-level smile
  noise and earnings variance are outside its regressors) flags many cells without a bump. The issue's
  0.9/0.9 target is kept as a strict xfail so the gap stays visible; the README quotes the figures.
"""

from __future__ import annotations

import pytest

from volmachine_core.wing.diagnostics import detection_cells, detection_scores, oos_summary, out_of_sample
from volmachine_core.wing.oracle import truth_vols

pytestmark = pytest.mark.slow

SDS = [s / 2 for s in range(-6, 7)]


@pytest.fixture(scope="module")
def scores(history):
    th = history["theos"]
    oracle = th.assign(model_vol=truth_vols(history["truth"], th))
    oracle["residual"] = oracle["market_vol"] - oracle["model_vol"]
    return {"model": detection_scores(detection_cells(th, SDS), history["planted"]),
            "oracle": detection_scores(detection_cells(oracle, SDS), history["planted"])}


def test_enough_planted_bumps_to_score(scores):
    assert scores["model"]["n_observable"] >= 60


def test_oracle_finds_planted_bumps_with_high_recall_and_precision(scores):
    s = scores["oracle"]
    print("oracle", s)
    assert s["recall_observable"] >= 0.9 and s["precision"] >= 0.9


def test_wing_model_finds_most_planted_bumps(scores):
    s = scores["model"]
    print("wing model", s)
    assert s["recall_observable"] >= 0.7
    assert s["flag_rate"] < 0.15


@pytest.mark.xfail(strict=True, reason="issue 6 target (recall and precision >= 0.9) not reached: the regression's "
                                       "own wing error flags cells without bumps; see README 'Wing model'")
def test_issue_target_recall_and_precision_at_least_0_9(scores):
    s = scores["model"]
    assert s["recall_observable"] >= 0.9 and s["precision"] >= 0.9


def test_model_beats_the_naive_baseline_out_of_sample(history):
    summary = oos_summary(out_of_sample(history["feats"], history["models"])).set_index("target_sd")
    print(summary.round(3))
    assert (summary["n"] > 500).all()
    inner = summary.loc[[-1.5, -1.0, -0.5, 0.5, 1.0, 1.5]]
    assert (inner["model_over_baseline"] < 1.0).all()
    assert summary["model_over_baseline"].median() < 0.95
