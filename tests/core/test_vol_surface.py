"""VolSurface: node reproduction, tau/k interpolation, re-centring, update, backstops, forward vol."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import PchipInterpolator

import volmachine_core.vol_surface as vsmod
from volmachine_core.curves.svi import svi_total_variance as raw_svi_total_variance
from volmachine_core.market.synthetic import ssvi_snapshot
from volmachine_core.vol_surface import (
    DEFAULT_N_K,
    DEFAULT_Z_MAX,
    ForwardVolStatus,
    VolSurface,
    forward_vol,
    forward_vol_with_status,
)

S_FIT = 100.0


def svi_frame() -> pd.DataFrame:
    """Four raw-SVI slices, calendar-ordered (a and b grow with tau), with a 2% carry."""
    tau = np.array([0.05, 0.25, 0.5, 1.0])
    return pd.DataFrame(
        {
            "expiry_ts": pd.to_datetime(["2025-06-20", "2025-08-29", "2025-11-28", "2026-05-29"]).tz_localize("UTC"),
            "tau": tau,
            "forward": S_FIT * np.exp(0.02 * tau),
            "underlying_price": S_FIT,
            "a": 0.02 * tau,
            "b": 0.1 * np.sqrt(tau),
            "rho": -0.6,
            "m": 0.0,
            "sigma": 0.15,
            "underlying": "SPX",
            "snapshot_id": "2025-06-02T1545",
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return svi_frame()


@pytest.fixture(scope="module")
def surf(frame) -> VolSurface:
    return VolSurface.from_svi(frame)


@pytest.fixture(scope="module")
def snap():
    return ssvi_snapshot(seed=3)


def svi_vol(frame: pd.DataFrame, i: int, k) -> np.ndarray:
    r = frame.iloc[i]
    return np.sqrt(raw_svi_total_variance(k, r.a, r.b, r.rho, r.m, r.sigma) / r.tau)


def test_public_names_have_docstrings():
    for name in vsmod.__all__:
        obj = getattr(vsmod, name)
        if not isinstance(obj, (int, float)):
            assert obj.__doc__, name


def test_grid_shape_labels_and_immutability(surf, frame):
    assert surf.k_nodes.shape == (len(frame), DEFAULT_N_K)
    assert surf.underlying == "SPX" and surf.snapshot_id == "2025-06-02T1545"
    assert len(surf.expiry_ts) == len(frame)
    z = surf.grid()["z"].to_numpy().reshape(len(frame), DEFAULT_N_K)
    np.testing.assert_allclose(z, np.broadcast_to(np.linspace(-DEFAULT_Z_MAX, DEFAULT_Z_MAX, DEFAULT_N_K), z.shape))
    with pytest.raises(ValueError):
        surf.w_nodes[0, 0] = 1.0
    with pytest.raises(AttributeError):
        surf.tau = np.ones(4)  # frozen dataclass


def test_atm_vol_is_svi_at_k0(surf, frame):
    np.testing.assert_allclose(surf.atm_vol, [svi_vol(frame, i, 0.0) for i in range(len(frame))], rtol=1e-14)


@pytest.mark.parametrize("row", [0, 1, 2, 3])
def test_query_at_grid_nodes_reproduces_input_vols(surf, frame, row):
    tau = surf.tau[row]
    K = surf.forward[row] * np.exp(surf.k_nodes[row])
    got = surf.query(S_FIT, K, tau)
    np.testing.assert_allclose(got, svi_vol(frame, row, surf.k_nodes[row]), rtol=1e-12)
    np.testing.assert_allclose(got, np.sqrt(surf.w_nodes[row] / tau), rtol=1e-12)


def test_from_total_variance_nodes_exact_and_pchip_between():
    # reference: scipy's PchipInterpolator (the same Fritsch-Carlson slopes) inside one slice
    rng = np.random.default_rng(5)
    k = np.sort(rng.uniform(-0.5, 0.5, 9))
    w = 0.04 + 0.1 * k**2 + 0.01 * rng.random(9)
    s = VolSurface.from_total_variance([0.5], [100.0], 100.0, k, w[None, :])
    kq = np.linspace(k[0], k[-1], 101)
    np.testing.assert_allclose(s.total_variance(kq, 0.5), PchipInterpolator(k, w)(kq), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(s.atm_vol, np.sqrt(PchipInterpolator(k, w)(0.0) / 0.5), rtol=1e-13)


def test_from_total_variance_sorts_rows():
    k = np.linspace(-0.2, 0.2, 5)
    w = np.vstack([0.02 + 0.0 * k, 0.01 + 0.0 * k])
    s = VolSurface.from_total_variance([1.0, 0.5], [101.0, 100.5], 100.0, k, w)
    np.testing.assert_array_equal(s.tau, [0.5, 1.0])
    np.testing.assert_array_equal(s.w_nodes[:, 0], [0.01, 0.02])
    np.testing.assert_array_equal(s.forward, [100.5, 101.0])


@pytest.mark.parametrize("frac", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("k", [-0.3, -0.05, 0.0, 0.12])
def test_interpolation_between_expiries_is_linear_in_total_variance(surf, frac, k):
    i = 2
    t1, t2 = surf.tau[i], surf.tau[i + 1]
    tau = t1 + frac * (t2 - t1)
    w1, w2 = surf.total_variance(k, t1), surf.total_variance(k, t2)
    np.testing.assert_allclose(surf.total_variance(k, tau), w1 + frac * (w2 - w1), rtol=1e-13)
    np.testing.assert_allclose(surf.vol(k, tau), np.sqrt((w1 + frac * (w2 - w1)) / tau), rtol=1e-13)


def test_forward_interpolation_and_query_uses_k_from_forward(surf):
    # carry ln(F/S) = 0.02 tau is linear in tau, so the forward interpolation is exact
    tau = np.array([0.01, 0.1, 0.7, 2.0])
    np.testing.assert_allclose(surf.forward_at(tau), S_FIT * np.exp(0.02 * tau), rtol=1e-13)
    K = np.array([90.0, 100.0, 110.0, 120.0])
    np.testing.assert_allclose(surf.query(None, K, tau), surf.vol(np.log(K / (S_FIT * np.exp(0.02 * tau))), tau))


def test_recentre_shifts_strikes_by_spot_ratio(surf):
    s_new = 104.0
    K = np.array([80.0, 95.0, 100.0, 103.0, 125.0])
    tau = np.array([0.05, 0.3, 0.5, 0.75, 1.4])
    base = surf.query(S_FIT, K, tau)
    np.testing.assert_allclose(surf.query(s_new, K * s_new / S_FIT, tau), base, rtol=1e-13)
    moved = surf.recentre(s_new)
    np.testing.assert_allclose(moved.forward, surf.forward * s_new / S_FIT, rtol=1e-15)
    np.testing.assert_allclose(moved.query(None, K * s_new / S_FIT, tau), base, rtol=1e-13)
    np.testing.assert_allclose(moved.query(s_new, K, tau), surf.query(s_new, K, tau), rtol=1e-13)
    np.testing.assert_array_equal(surf.spot, S_FIT)  # the original is untouched
    with pytest.raises(ValueError, match="spot"):
        surf.recentre(-1.0)


def test_update_moves_node_toward_observation_by_one_minus_weight(surf):
    row, node = 1, 12
    tau = surf.tau[row]
    K = surf.forward[row] * np.exp(surf.k_nodes[row, node])
    old = surf.w_nodes[row, node]
    obs_vol = np.sqrt(old / tau) + 0.02
    new = surf.update(K, obs_vol, tau, weight=0.8, spot=S_FIT)
    expected = 0.8 * old + 0.2 * obs_vol**2 * tau
    assert new.w_nodes[row, node] == pytest.approx(expected, rel=1e-13)
    changed = new.w_nodes != surf.w_nodes
    assert changed.sum() == 1 and changed[row, node]
    assert surf.w_nodes[row, node] == old  # immutable: a new surface is returned
    np.testing.assert_array_equal(new.forward, surf.forward)


def test_update_weight_limits_and_averaging(surf):
    row, node = 2, 10  # node 10 is ATM
    tau = surf.tau[row]
    K = surf.forward[row]
    w_obs = np.array([0.03, 0.05]) ** 2 * tau
    full = surf.update([K, K], [0.03, 0.05], tau, weight=0.0)
    assert full.w_nodes[row, node] == pytest.approx(w_obs.mean(), rel=1e-13)
    assert full.atm_vol[row] == pytest.approx(np.sqrt(w_obs.mean() / tau), rel=1e-12)
    same = surf.update(K, 0.03, tau, weight=1.0)
    np.testing.assert_array_equal(same.w_nodes, surf.w_nodes)
    with pytest.raises(ValueError, match="weight"):
        surf.update(K, 0.03, tau, weight=1.5)


def test_update_snaps_to_nearest_row_and_ignores_far_or_bad_observations(surf):
    row = 3
    K_far = surf.forward[row] * np.exp(2.0 * surf.k_nodes[row, -1])
    tau_near = surf.tau[row] * 1.01
    new = surf.update([K_far, np.nan, 100.0], [0.3, 0.2, -0.1], [tau_near, 0.5, 0.5])
    np.testing.assert_array_equal(new.w_nodes, surf.w_nodes)
    K_atm = surf.forward_at(tau_near)
    moved = surf.update(K_atm, 0.5, tau_near, weight=0.5)
    assert np.flatnonzero((moved.w_nodes != surf.w_nodes).any(axis=1)).tolist() == [row]


@pytest.mark.parametrize("tau_kind", ["node", "between", "after"])
def test_backstop_flat_in_sd_beyond_the_edge(surf, tau_kind):
    tau = {"node": surf.tau[1], "between": 0.5 * (surf.tau[1] + surf.tau[2]), "after": 3.0}[tau_kind]
    atm = np.sqrt(surf.total_variance(0.0, tau) / tau)
    F = surf.forward_at(tau)
    # two far strikes at the same SD beyond the edge, and two at different SDs both beyond it
    z = np.array([-9.0, -6.0, 6.0, 9.0])
    K = F * np.exp(z * atm * np.sqrt(tau))
    v = surf.query(None, K, tau)
    assert v[0] == pytest.approx(v[1], rel=1e-13)
    assert v[2] == pytest.approx(v[3], rel=1e-13)
    assert v[0] != pytest.approx(v[3], rel=1e-3)  # the two sides keep their own edge vols


def test_backstop_at_a_slice_equals_edge_vol(surf, frame):
    row = 0
    tau = surf.tau[row]
    edge = svi_vol(frame, row, surf.k_nodes[row, [0, -1]])
    k_far = np.array([1.5, 3.0]) * surf.k_nodes[row, 0]
    np.testing.assert_allclose(surf.vol(k_far, tau), edge[0], rtol=1e-13)
    np.testing.assert_allclose(surf.vol(-k_far, tau), edge[1], rtol=1e-13)


def test_tau_extrapolation(surf):
    k = np.array([-0.1, 0.0, 0.05])
    first, last = surf.tau[0], surf.tau[-1]
    # before the first expiry: the first expiry's vol at the same k
    np.testing.assert_allclose(surf.vol(k, 0.25 * first), surf.vol(k, first), rtol=1e-13)
    # after the last: w/tau constant at fixed k
    np.testing.assert_allclose(surf.total_variance(k, 3.0 * last) / (3.0 * last), surf.total_variance(k, last) / last)
    assert np.all(np.isnan(surf.query(None, [100.0, 100.0], [0.0, -0.1])))
    assert np.isnan(surf.query(None, np.nan, 0.5)) and np.isnan(surf.query(None, -5.0, 0.5))


def test_query_broadcasts_shapes(surf):
    K = np.linspace(80, 120, 6).reshape(2, 3)
    assert surf.query(S_FIT, K, 0.4).shape == (2, 3)
    assert surf.query(np.array([[99.0], [101.0]]), K, np.array([0.2, 0.3, 0.4])).shape == (2, 3)
    assert surf.query(S_FIT, 100.0, 0.4).shape == ()


# --- forward vol --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s1", "t1", "s2", "t2", "expected"),
    [
        # seed 002 example: sqrt((0.22^2 0.5 - 0.20^2 0.25) / 0.25) = sqrt(0.0142 / 0.25)
        (0.20, 0.25, 0.22, 0.50, 0.238327505756),
        (0.20, 0.25, 0.20, 0.50, 0.20),  # flat term structure: forward vol = spot vol
        (0.30, 0.0, 0.25, 1.0, 0.25),  # from today: the vol itself
        # DESIGN.md formula, hand computed: sqrt((0.0324 - 0.01125) / 0.5) = sqrt(0.0423)
        (0.15, 0.5, 0.18, 1.0, 0.2056696380),
    ],
)
def test_forward_vol_formula(s1, t1, s2, t2, expected):
    assert forward_vol(s1, t1, s2, t2) == pytest.approx(expected, rel=1e-6)


def test_forward_vol_nan_with_status_and_no_warning():
    s1 = np.array([0.30, 0.20, 0.20, np.nan, 0.2])
    t1 = np.array([0.25, 0.50, 0.25, 0.25, 0.25])
    s2 = np.array([0.20, 0.22, 0.22, 0.22, -0.1])
    t2 = np.array([0.50, 0.50, 0.50, 0.50, 0.50])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vol, status = forward_vol_with_status(s1, t1, s2, t2)
    assert status.tolist() == [
        ForwardVolStatus.NEGATIVE_FORWARD_VARIANCE,
        ForwardVolStatus.BAD_TENORS,
        ForwardVolStatus.OK,
        ForwardVolStatus.INVALID_INPUT,
        ForwardVolStatus.INVALID_INPUT,
    ]
    assert np.isnan(vol[[0, 1, 3, 4]]).all() and vol[2] == pytest.approx(0.2383275, rel=1e-6)
    np.testing.assert_array_equal(forward_vol(s1, t1, s2, t2), vol)


def test_forward_vol_vectorised_matches_scalar():
    rng = np.random.default_rng(2)
    s1, s2 = rng.uniform(0.1, 0.3, 50), rng.uniform(0.1, 0.3, 50)
    t1 = rng.uniform(0.0, 1.0, 50)
    t2 = t1 + rng.uniform(0.01, 1.0, 50)
    vec = forward_vol(s1, t1, s2, t2)
    scalar = np.array([forward_vol(*a) for a in zip(s1, t1, s2, t2, strict=True)])
    np.testing.assert_array_equal(np.isnan(vec), np.isnan(scalar))
    np.testing.assert_allclose(vec, scalar, rtol=1e-15)


def test_surface_forward_vol_matches_formula(surf):
    t1, t2 = surf.tau[1], surf.tau[3]
    s1, s2 = surf.atm_vol[1], surf.atm_vol[3]
    assert surf.forward_vol(t1, t2) == pytest.approx(forward_vol(s1, t1, s2, t2), rel=1e-12)
    k = -0.1
    w1, w2 = surf.total_variance(k, t1), surf.total_variance(k, t2)
    assert surf.forward_vol(t1, t2, k=k) == pytest.approx(np.sqrt((w2 - w1) / (t2 - t1)), rel=1e-13)
    assert np.isnan(surf.forward_vol(t2, t1))


def test_surface_forward_vol_nan_on_calendar_arbitrage():
    k = np.linspace(-0.2, 0.2, 5)
    s = VolSurface.from_total_variance([0.5, 1.0], 100.0, 100.0, k, np.vstack([0.03 + 0 * k, 0.02 + 0 * k]))
    assert not s.is_calendar_free()
    assert np.isnan(s.forward_vol(0.5, 1.0))


# --- constructors and validation -----------------------------------------------------------------


def test_from_svi_params_json_and_from_callable_agree(frame, surf):
    js = frame.drop(columns=["a", "b", "rho", "m", "sigma"]).assign(
        params=[json.dumps({c: float(frame[c].iloc[i]) for c in ("a", "b", "rho", "m", "sigma")}) for i in range(4)]
    )
    np.testing.assert_array_equal(VolSurface.from_svi(js).w_nodes, surf.w_nodes)
    p = frame[["a", "b", "rho", "m", "sigma"]].to_numpy()
    via_callable = VolSurface.from_callable(frame, lambda k, i: raw_svi_total_variance(k, *p[i]))
    np.testing.assert_allclose(via_callable.w_nodes, surf.w_nodes, rtol=1e-15)


def test_from_samples_reproduces_dense_samples(frame, surf):
    k = np.linspace(-1.0, 1.0, 401)
    rows = [pd.DataFrame({"expiry_index": i, "k": k, "w": svi_vol(frame, i, k) ** 2 * frame.tau[i]}) for i in range(4)]
    s = VolSurface.from_samples(frame.drop(columns=["a", "b", "rho", "m", "sigma"]), pd.concat(rows))
    np.testing.assert_allclose(s.w_nodes, surf.w_nodes, rtol=1e-4)  # PCHIP through samples 0.005 apart
    np.testing.assert_allclose(s.atm_vol, surf.atm_vol, rtol=1e-6)
    with pytest.raises(ValueError, match="missing rows"):
        VolSurface.from_samples(frame, pd.concat(rows[:3]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"taus": [0.5, 0.5]}, "tau"),
        ({"taus": [0.5, -1.0]}, "tau"),
        ({"forwards": [100.0, -1.0]}, "forward"),
        ({"w_matrix": np.full((2, 3), -0.01)}, "total variance"),
        ({"k_grid": [0.1, 0.0, 0.2]}, "k nodes"),
        ({"w_matrix": np.full((2, 4), 0.01)}, "w_nodes"),
    ],
)
def test_from_total_variance_validation(kwargs, match):
    args = {"taus": [0.5, 1.0], "forwards": [100.0, 101.0], "spot": 100.0, "k_grid": [-0.1, 0.0, 0.1]}
    args["w_matrix"] = np.full((2, 3), 0.01)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        VolSurface.from_total_variance(**args)


def test_from_svi_missing_columns_and_bad_grid_args(frame):
    with pytest.raises(KeyError, match="sigma"):
        VolSurface.from_svi(frame.drop(columns=["sigma"]))
    with pytest.raises(KeyError, match="forward"):
        VolSurface.from_svi(frame.drop(columns=["forward"]))
    with pytest.raises(ValueError, match="n_k"):
        VolSurface.from_svi(frame, n_k=1)
    with pytest.raises(ValueError, match="z_max"):
        VolSurface.from_svi(frame, z_max=0.0)


# --- against the synthetic SSVI truth ------------------------------------------------------------


def test_from_svi_on_ssvi_truth_matches_truth_vols(snap):
    s = VolSurface.from_svi(snap.surface)
    assert s.is_calendar_free(k=np.linspace(-3.0, 1.5, 901))
    q, tr = snap.quotes, snap.quote_truth
    v = s.query(snap.spot, q["strike"].to_numpy(), tr["tau"].to_numpy())
    inside = np.abs(tr["z"].to_numpy()) < DEFAULT_Z_MAX
    err = np.abs(v - tr["vol"].to_numpy())[inside]
    assert err.max() < 1e-3 and np.median(err) < 2e-5  # PCHIP on 21 SD-spaced nodes
    rng = np.random.default_rng(0)
    tau = rng.uniform(0.02, 5.0, 4000)
    k = rng.uniform(-3.0, 3.0, 4000) * snap.truth_vol(0.0, tau) * np.sqrt(tau)
    err_t = np.abs(s.vol(k, tau) - snap.truth_vol(k, tau))
    # linear total variance at fixed k between expiries: worst in the first gap (tau 0.011 -> 0.030), where
    # the SSVI skew in k changes fastest; within 0.1 vol point from three weeks out
    assert err_t.max() < 1e-2 and np.median(err_t) < 1e-4
    assert err_t[tau > 0.05].max() < 1e-3


# --- hypothesis: the tau interpolation preserves calendar monotonicity ---------------------------

_increments = st.lists(
    st.lists(st.floats(0.0, 0.05, allow_nan=False), min_size=6, max_size=6), min_size=2, max_size=6
)


@settings(max_examples=60, deadline=None)
@given(
    inc=_increments,
    gaps=st.lists(st.floats(0.01, 1.0), min_size=6, max_size=6),
    taus_q=st.lists(st.floats(0.001, 8.0), min_size=2, max_size=30),
    k_frac=st.floats(0.0, 1.0),
)
def test_tau_interpolation_preserves_calendar_monotonicity(inc, gaps, taus_q, k_frac):
    n = len(inc)
    w = 1e-4 + np.cumsum(np.asarray(inc), axis=0)  # each column non-decreasing over expiries
    taus = np.cumsum(gaps[:n])
    k_nodes = np.linspace(-0.6, 0.4, 6)
    s = VolSurface.from_total_variance(taus, 100.0 * np.exp(0.01 * taus), 100.0, k_nodes, w)
    assert s.is_calendar_free(k=k_nodes)
    tq = np.sort(np.asarray(taus_q))
    # at any node k: total variance non-decreasing in tau, before, between and after the expiries
    w_q = s.total_variance(k_nodes[None, :], tq[:, None])
    assert np.all(np.diff(w_q, axis=0) >= -1e-15)
    # at any k: between two expiries, w lies between (and moves monotonically from) the two slices
    k = k_nodes[0] - 0.2 + k_frac * (k_nodes[-1] - k_nodes[0] + 0.4)
    i = np.clip(np.searchsorted(taus, tq, side="right") - 1, 0, n - 2)
    wi = s.total_variance(k, taus[i])
    wj = s.total_variance(k, taus[i + 1])
    wq = s.total_variance(k, tq)
    inside = (tq >= taus[0]) & (tq <= taus[-1])
    lo, hi = np.minimum(wi, wj), np.maximum(wi, wj)
    assert np.all((wq[inside] >= lo[inside] - 1e-15) & (wq[inside] <= hi[inside] + 1e-15))


def test_from_svi_curve_params_style_rows(frame, surf):
    # curve_params rows carry no underlying_price and may hold failed fits (NaN parameters)
    failed = frame.iloc[[1]].assign(a=np.nan, tau=0.3)
    cp = pd.concat([frame, failed]).drop(columns=["underlying_price"])
    s = VolSurface.from_svi(cp, spot=S_FIT)
    np.testing.assert_array_equal(s.tau, surf.tau)
    np.testing.assert_allclose(s.w_nodes, surf.w_nodes, rtol=1e-15)
    with pytest.raises(KeyError, match="underlying_price"):
        VolSurface.from_svi(cp)
    with pytest.raises(ValueError, match="no expiry"):
        VolSurface.from_svi(frame.assign(a=np.nan))
