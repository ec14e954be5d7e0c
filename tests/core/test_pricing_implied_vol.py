"""Implied vol: round trips on the issue-4 domain, status codes, thread control, and the
py_vollib (Let's Be Rational) and QuantLib solvers as independent oracles."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813 (the conventional alias)
from hypothesis import given, settings
from hypothesis import strategies as st

from volmachine_core.pricing import (
    THREADS_ENV_VAR,
    IVStatus,
    black76_price,
    implied_vol,
    implied_vol_with_status,
    resolve_num_threads,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from py_vollib.black.implied_volatility import implied_volatility as vollib_black_iv

ARGS = ("F", "K", "tau", "sigma", "D", "is_call")


def random_domain(n: int, seed: int) -> dict[str, np.ndarray]:
    """Issue-4 domain (same as test_pricing_black76): tau 1h..3y, vol 3%..200%, ln(K/F) within
    +-4 sd clipped to 0.08F..12F, rates -1%..8%, calls and puts."""
    rng = np.random.default_rng(seed)
    F = 100.0 * np.exp(rng.uniform(-1.0, 1.0, n))
    tau = np.exp(rng.uniform(np.log(1.0 / 8760.0), np.log(3.0), n))
    sigma = np.exp(rng.uniform(np.log(0.03), np.log(2.0), n))
    z = rng.uniform(-4.0, 4.0, n)
    K = F * np.clip(np.exp(z * sigma * np.sqrt(tau)), 0.08, 12.0)
    D = np.exp(-rng.uniform(-0.01, 0.08, n) * tau)
    is_call = rng.random(n) < 0.5
    return {"F": F, "K": K, "tau": tau, "sigma": sigma, "D": D, "is_call": is_call}


@pytest.fixture(scope="module")
def domain():
    d = random_domain(200_000, seed=11)
    d["price"] = black76_price(*(d[k] for k in ARGS))
    intrinsic = np.maximum(np.where(d["is_call"], d["F"] - d["K"], d["K"] - d["F"]), 0.0)
    d["time_value"] = d["price"] / d["D"] - intrinsic
    d["scale"] = np.maximum(d["F"], d["K"])
    vol, status = implied_vol_with_status(d["price"], d["F"], d["K"], d["tau"], d["D"], d["is_call"])
    d["vol"], d["status"] = vol, status
    return d


def test_round_trip_reprices_within_1e12(domain):
    d = domain
    mask = d["time_value"] > 1e-9 * d["scale"]
    assert mask.mean() > 0.9
    repriced = black76_price(d["F"], d["K"], d["tau"], d["vol"], d["D"], d["is_call"])
    err = np.abs(repriced - d["price"]) / (d["scale"] * d["D"])
    assert np.max(err[mask]) < 1e-12


def test_round_trip_recovers_vol_within_1e10(domain):
    d = domain
    mask = d["time_value"] > 1e-5 * d["scale"]
    assert np.max(np.abs(d["vol"] - d["sigma"])[mask]) < 1e-10


def test_no_nan_where_a_vol_exists(domain):
    d = domain
    exists = (d["time_value"] > 0.0) & (d["price"] / d["D"] < np.where(d["is_call"], d["F"], d["K"]))
    assert np.all(d["status"][exists] == IVStatus.OK)
    assert not np.isnan(d["vol"][exists]).any()
    assert np.isnan(d["vol"][d["status"] != IVStatus.OK]).all()


@pytest.mark.parametrize(
    ("price", "F", "K", "tau", "D", "is_call", "status"),
    [
        (5.0, 100.0, 90.0, 1.0, 1.0, True, IVStatus.BELOW_INTRINSIC),  # intrinsic 10
        (-0.1, 100.0, 110.0, 1.0, 1.0, True, IVStatus.BELOW_INTRINSIC),
        (0.9 * 101.0, 100.0, 90.0, 1.0, 0.9, True, IVStatus.ABOVE_UPPER_BOUND),  # call above D F
        (0.9 * 100.0, 100.0, 90.0, 1.0, 0.9, True, IVStatus.ABOVE_UPPER_BOUND),  # call at D F: infinite vol
        (0.9 * 90.0, 100.0, 90.0, 1.0, 0.9, False, IVStatus.ABOVE_UPPER_BOUND),  # put at D K
        (0.9 * 10.0, 100.0, 90.0, 1.0, 0.9, True, IVStatus.NO_TIME_VALUE),  # exactly intrinsic
        (0.0, 100.0, 110.0, 1.0, 1.0, True, IVStatus.NO_TIME_VALUE),  # worthless OTM
        (np.nan, 100.0, 100.0, 1.0, 1.0, True, IVStatus.INVALID_INPUT),
        (5.0, np.inf, 100.0, 1.0, 1.0, True, IVStatus.INVALID_INPUT),
        (5.0, 0.0, 100.0, 1.0, 1.0, True, IVStatus.INVALID_INPUT),
        (5.0, 100.0, -1.0, 1.0, 1.0, True, IVStatus.INVALID_INPUT),
        (5.0, 100.0, 100.0, 0.0, 1.0, True, IVStatus.INVALID_INPUT),
        (5.0, 100.0, 100.0, 1.0, 0.0, True, IVStatus.INVALID_INPUT),
    ],
)
def test_status_codes_and_nan(price, F, K, tau, D, is_call, status):
    vol, st_ = implied_vol_with_status(price, F, K, tau, D, is_call)
    assert isinstance(st_, IVStatus)
    assert st_ == status
    assert np.isnan(vol)
    assert np.isnan(implied_vol(price, F, K, tau, D, is_call))


def test_scalar_returns_float_and_ok():
    p = black76_price(100.0, 110.0, 0.5, 0.25, 0.98, True)
    vol, status = implied_vol_with_status(p, 100.0, 110.0, 0.5, 0.98, True)
    assert isinstance(vol, float) and status is IVStatus.OK
    assert vol == pytest.approx(0.25, abs=1e-14)


def test_shape_and_broadcasting_preserved():
    K = np.linspace(60.0, 160.0, 12).reshape(3, 4)
    p = black76_price(100.0, K, 0.3, 0.35, 0.99, False)
    vol, status = implied_vol_with_status(p, 100.0, K, 0.3, 0.99, False)
    assert vol.shape == status.shape == (3, 4)
    assert status.dtype == np.int8
    np.testing.assert_allclose(vol, 0.35, rtol=0, atol=1e-12)
    assert implied_vol(np.array([]), 100.0, 100.0, 1.0, 1.0, True).shape == (0,)


def test_side_must_be_boolean():
    with pytest.raises(TypeError, match="is_call must be boolean"):
        implied_vol(5.0, 100.0, 100.0, 1.0, 1.0, "P")


@pytest.mark.parametrize(
    ("F", "K", "tau", "sigma"),
    [
        (100.0, 100.0, 1.0, 1e-6),  # at the money, tiny total vol (erf path)
        (100.0, 100.0, 1.0, 8.0),  # at the money, huge total vol (upper branch)
        (100.0, 1200.0, 3.0, 0.15),  # deep OTM call: price ~ 1e-60 (lower branch, log objective)
        (100.0, 8.0, 3.0, 0.12),  # deep OTM put
        (100.0, 100.0001, 1.0 / 8760.0, 0.03),  # one hour, strike a hair off the money
        (100.0, 400.0, 0.5, 3.0),  # far strike, high vol (middle branches)
    ],
)
@pytest.mark.parametrize("is_call", [True, False])
def test_edge_cases_round_trip(F, K, tau, sigma, is_call):
    D = 0.97
    p = black76_price(F, K, tau, sigma, D, is_call)
    vol, status = implied_vol_with_status(p, F, K, tau, D, is_call)
    intrinsic = max((F - K) if is_call else (K - F), 0.0)
    if p / D - intrinsic <= 4 * np.finfo(float).eps * max(F, K):
        assert status == IVStatus.NO_TIME_VALUE  # ITM side carries no resolvable time value
        return
    assert status == IVStatus.OK
    assert black76_price(F, K, tau, vol, D, is_call) == pytest.approx(p, rel=1e-12, abs=1e-15 * max(F, K))
    if p / D - intrinsic > 1e-5 * max(F, K):
        assert vol == pytest.approx(sigma, rel=1e-10)


def test_matches_py_vollib_lets_be_rational():
    # py_vollib wraps Jaeckel's reference implementation: an independent Let's-Be-Rational oracle.
    d = random_domain(300, seed=5)
    d["price"] = black76_price(*(d[k] for k in ARGS))
    ours = implied_vol(d["price"], d["F"], d["K"], d["tau"], d["D"], d["is_call"])
    r = -np.log(d["D"]) / d["tau"]
    ref = np.array(
        [
            vollib_black_iv(p, F, K, rr, t, "c" if c else "p")
            for p, F, K, rr, t, c in zip(d["price"], d["F"], d["K"], r, d["tau"], d["is_call"], strict=False)
        ]
    )
    intrinsic = np.maximum(np.where(d["is_call"], d["F"] - d["K"], d["K"] - d["F"]), 0.0)
    mask = d["price"] / d["D"] - intrinsic > 1e-5 * np.maximum(d["F"], d["K"])
    np.testing.assert_allclose(ours[mask], ref[mask], rtol=1e-9)


def test_matches_quantlib_implied_std_dev_near_the_money():
    d = random_domain(200, seed=6)
    d["price"] = black76_price(*(d[k] for k in ARGS))
    ours = implied_vol(d["price"], d["F"], d["K"], d["tau"], d["D"], d["is_call"])
    for i in range(200):
        kind = ql.Option.Call if d["is_call"][i] else ql.Option.Put
        if d["price"][i] < 1e-4 * d["F"][i]:
            continue
        sd = ql.blackFormulaImpliedStdDev(
            kind, d["K"][i], d["F"][i], d["price"][i], d["D"][i], 0.0, ql.nullDouble(), 1e-12, 200
        )
        assert ours[i] * np.sqrt(d["tau"][i]) == pytest.approx(sd, rel=1e-7)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    m=st.floats(-4.0, 4.0, allow_nan=False),
    tau=st.floats(1.0 / 8760.0, 3.0, allow_nan=False),
    sigma=st.floats(0.03, 2.0, allow_nan=False),
    D=st.floats(0.75, 1.01, allow_nan=False),
    is_call=st.booleans(),
)
def test_round_trip_property(m, tau, sigma, D, is_call):
    F = 100.0
    K = F * min(max(np.exp(m * sigma * np.sqrt(tau)), 0.08), 12.0)
    p = black76_price(F, K, tau, sigma, D, is_call)
    vol, status = implied_vol_with_status(p, F, K, tau, D, is_call)
    intrinsic = max((F - K) if is_call else (K - F), 0.0)
    tv = p / D - intrinsic
    if tv > 1e-9 * max(F, K):
        assert status == IVStatus.OK
        assert abs(black76_price(F, K, tau, vol, D, is_call) - p) <= 1e-12 * max(F, K) * D
    if tv > 1e-5 * max(F, K):
        assert vol == pytest.approx(sigma, abs=1e-10)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    m=st.floats(-2.0, 2.0, allow_nan=False),
    p1=st.floats(0.01, 0.99, allow_nan=False),
    p2=st.floats(0.01, 0.99, allow_nan=False),
)
def test_implied_vol_monotone_in_price(m, p1, p2):
    F, K = 100.0, 100.0 * np.exp(m)
    cap = F  # call upper bound, D = 1
    intrinsic = max(F - K, 0.0)
    lo, hi = sorted((p1, p2))
    prices = intrinsic + np.array([lo, hi]) * (cap - intrinsic)
    vols = implied_vol(prices, F, K, 1.0, 1.0, True)
    assert vols[0] <= vols[1]


def test_thread_count_controls(monkeypatch):
    d = random_domain(5000, seed=9)
    p = black76_price(*(d[k] for k in ARGS))
    a = implied_vol(p, d["F"], d["K"], d["tau"], d["D"], d["is_call"], num_threads=1)
    monkeypatch.setenv(THREADS_ENV_VAR, "1")
    assert resolve_num_threads() == 1
    b = implied_vol(p, d["F"], d["K"], d["tau"], d["D"], d["is_call"])
    monkeypatch.delenv(THREADS_ENV_VAR)
    c = implied_vol(p, d["F"], d["K"], d["tau"], d["D"], d["is_call"], num_threads=64)  # clipped
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match="num_threads must be a positive integer"):
        resolve_num_threads(0)
    monkeypatch.setenv(THREADS_ENV_VAR, "many")
    with pytest.raises(ValueError, match="num_threads must be a positive integer"):
        resolve_num_threads()
