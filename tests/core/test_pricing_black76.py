"""Black-76 prices and greeks against QuantLib (blackFormula, BlackCalculator), finite
differences, put-call parity and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813 (the conventional alias)
from hypothesis import given, settings
from hypothesis import strategies as st

import volmachine_core.pricing as pricing
from volmachine_core.pricing import (
    GREEK_NAMES,
    black76_greeks,
    black76_price,
    black76_vega_delta,
    spot_delta_from_forward,
)

SEED = 20240604


def random_domain(n: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """Issue-4 domain: tau 1h..3y, vol 3%..200%, ln(K/F) within +-4 sd (clipped to 0.08F..12F),
    rates -1%..8%, calls and puts."""
    rng = np.random.default_rng(seed)
    F = 100.0 * np.exp(rng.uniform(-1.0, 1.0, n))
    tau = np.exp(rng.uniform(np.log(1.0 / 8760.0), np.log(3.0), n))
    sigma = np.exp(rng.uniform(np.log(0.03), np.log(2.0), n))
    z = rng.uniform(-4.0, 4.0, n)
    K = F * np.clip(np.exp(z * sigma * np.sqrt(tau)), 0.08, 12.0)
    D = np.exp(-rng.uniform(-0.01, 0.08, n) * tau)
    is_call = rng.random(n) < 0.5
    return {"F": F, "K": K, "tau": tau, "sigma": sigma, "D": D, "is_call": is_call}


def ql_price(F, K, tau, sigma, D, is_call) -> float:
    kind = ql.Option.Call if is_call else ql.Option.Put
    return ql.blackFormula(kind, float(K), float(F), float(sigma * np.sqrt(tau)), float(D))


def test_price_matches_quantlib_black_formula_on_wide_domain():
    d = random_domain(4000)
    ours = black76_price(d["F"], d["K"], d["tau"], d["sigma"], d["D"], d["is_call"])
    ref = np.array(
        [
            ql_price(*row)
            for row in zip(d["F"], d["K"], d["tau"], d["sigma"], d["D"], d["is_call"], strict=False)
        ]
    )
    err = np.abs(ours - ref) / np.maximum(d["F"], d["K"])
    assert err.max() < 1e-10


@pytest.mark.parametrize(
    ("F", "K", "tau", "sigma", "D", "is_call", "expected"),
    [
        # 100 (2 N(0.1) - 1), closed form at the money
        (100.0, 100.0, 1.0, 0.2, 1.0, True, 7.965567455405798),
        (100.0, 100.0, 1.0, 0.2, 1.0, False, 7.965567455405798),
        # QuantLib blackFormula(Call, K=110, F=100, stdDev=0.2*sqrt(0.5), D=0.98)
        (
            100.0,
            110.0,
            0.5,
            0.2,
            0.98,
            True,
            ql.blackFormula(ql.Option.Call, 110.0, 100.0, 0.2 * 0.5**0.5, 0.98),
        ),
        (100.0, 90.0, 2.0, 0.5, 0.9, False, ql.blackFormula(ql.Option.Put, 90.0, 100.0, 0.5 * 2.0**0.5, 0.9)),
    ],
)
def test_price_reference_values(F, K, tau, sigma, D, is_call, expected):
    assert black76_price(F, K, tau, sigma, D, is_call) == pytest.approx(expected, rel=1e-13, abs=1e-13)


def test_scalars_give_floats_and_arrays_broadcast():
    assert isinstance(black76_price(100.0, 100.0, 1.0, 0.2, 1.0, True), float)
    out = black76_price(100.0, np.array([[90.0], [110.0]]), 1.0, np.array([0.1, 0.2, 0.3]), 1.0, True)
    assert out.shape == (2, 3)
    assert out[0, 1] == pytest.approx(black76_price(100.0, 90.0, 1.0, 0.2, 1.0, True), rel=1e-15)


def test_put_call_parity():
    d = random_domain(5000, seed=1)
    args = (d["F"], d["K"], d["tau"], d["sigma"], d["D"])
    lhs = black76_price(*args, True) - black76_price(*args, False)
    rhs = d["D"] * (d["F"] - d["K"])
    assert np.max(np.abs(lhs - rhs) / np.maximum(d["F"], d["K"])) < 1e-14


@pytest.mark.parametrize("sigma", [0.0, 0.2])
@pytest.mark.parametrize("tau", [0.0, -1.0])
def test_expired_or_zero_vol_is_discounted_intrinsic(tau, sigma):
    t = 1.0 if sigma == 0.0 else tau
    assert black76_price(100.0, 90.0, t if sigma == 0.0 else tau, sigma, 0.9, True) == pytest.approx(9.0)
    assert black76_price(100.0, 90.0, t if sigma == 0.0 else tau, sigma, 0.9, False) == 0.0


@pytest.mark.parametrize(("F", "K", "sigma"), [(-1.0, 100.0, 0.2), (100.0, 0.0, 0.2), (100.0, 100.0, -0.1)])
def test_invalid_inputs_give_nan_silently(F, K, sigma):
    assert np.isnan(black76_price(F, K, 1.0, sigma, 1.0, True))
    assert all(np.isnan(v) for v in black76_greeks(F, K, 1.0, sigma, 1.0, True).values())


def test_side_must_be_boolean():
    with pytest.raises(TypeError, match="is_call must be boolean"):
        black76_price(100.0, 100.0, 1.0, 0.2, 1.0, "C")


@pytest.mark.parametrize("is_call", [True, False])
def test_deep_wings_keep_relative_precision(is_call):
    # OTM wing 12 sd out: the ITM counterpart (by parity) and QuantLib agree in absolute terms, and the
    # OTM price is positive and matches the erfc-based closed form to relative 1e-12.
    F, tau, sigma = 100.0, 1.0, 0.1
    K = 350.0 if is_call else 28.0
    ours = black76_price(F, K, tau, sigma, 1.0, is_call)
    ref = ql_price(F, K, tau, sigma, 1.0, is_call)
    assert ours > 0.0
    assert ours == pytest.approx(ref, rel=1e-9)


# ----------------------------------------------------------------------------------------- greeks


def ql_greeks(F, K, tau, sigma, D, is_call) -> dict[str, float]:
    kind = ql.Option.Call if is_call else ql.Option.Put
    calc = ql.BlackCalculator(
        ql.PlainVanillaPayoff(kind, float(K)), float(F), float(sigma * np.sqrt(tau)), float(D)
    )
    return {
        "delta": calc.deltaForward(),
        "gamma": calc.gammaForward(),
        "vega": calc.vega(tau),
        # BlackCalculator.theta(spot, t) with spot = F: Black-76 theta at fixed F and r = -ln D / tau
        "theta": calc.theta(float(F), tau),
        # spot rho (F moves with r): our futures rho plus tau F delta_F
        "rho_spot": calc.rho(tau),
    }


@pytest.mark.parametrize("case", range(40))
def test_greeks_match_quantlib_black_calculator(case):
    d = random_domain(40, seed=7)
    row = [d[k][case] for k in ("F", "K", "tau", "sigma", "D", "is_call")]
    ours = black76_greeks(*row)
    ref = ql_greeks(*row)
    F, tau = row[0], row[2]
    scale = max(row[0], row[1])
    assert ours["delta"] == pytest.approx(ref["delta"], abs=1e-12)
    assert ours["gamma"] * F == pytest.approx(ref["gamma"] * F, rel=1e-9, abs=1e-12)
    assert ours["vega"] == pytest.approx(ref["vega"], rel=1e-9, abs=1e-10 * scale)
    assert ours["theta"] == pytest.approx(ref["theta"], rel=1e-9, abs=1e-10 * scale)
    assert ours["rho"] + tau * F * ours["delta"] == pytest.approx(
        ref["rho_spot"], rel=1e-9, abs=1e-10 * scale
    )


def _bumped(name, d, h):
    F, K, tau, sigma, D, c = d
    if name == "F":
        return (F + h, K, tau, sigma, D, c)
    if name == "sigma":
        return (F, K, tau, sigma + h, D, c)
    raise ValueError(name)


FD_CASES = [
    (100.0, 100.0, 0.5, 0.25, 0.97, True),
    (100.0, 120.0, 1.5, 0.40, 0.90, True),
    (100.0, 80.0, 0.1, 0.30, 0.995, False),
    (50.0, 40.0, 2.0, 0.15, 0.95, True),
    (50.0, 70.0, 0.02, 0.8, 1.0, False),
]


@pytest.mark.parametrize("args", FD_CASES)
def test_greeks_against_central_finite_differences(args):
    F, K, tau, sigma, D, c = args
    g = black76_greeks(*args)

    def price(F_=F, s_=sigma, t_=tau, D_=D):
        return black76_price(F_, K, t_, s_, D_, c)

    hF, hs, ht = 1e-3 * F, 1e-4, 1e-5
    r = -np.log(D) / tau
    hd = 1e-5 * F
    assert g["delta"] == pytest.approx((price(F_=F + hd) - price(F_=F - hd)) / (2 * hd), rel=1e-7, abs=1e-9)
    gamma_fd = (price(F_=F + hF) - 2 * price() + price(F_=F - hF)) / hF**2
    assert g["gamma"] == pytest.approx(gamma_fd, rel=1e-4, abs=1e-8)
    assert g["vega"] == pytest.approx((price(s_=sigma + hs) - price(s_=sigma - hs)) / (2 * hs), rel=1e-6)
    volga_fd = (price(s_=sigma + hs) - 2 * price() + price(s_=sigma - hs)) / hs**2
    assert g["volga"] == pytest.approx(volga_fd, rel=1e-3, abs=1e-3)
    vanna_fd = (
        price(F_=F + hF, s_=sigma + hs)
        - price(F_=F + hF, s_=sigma - hs)
        - price(F_=F - hF, s_=sigma + hs)
        + price(F_=F - hF, s_=sigma - hs)
    ) / (4 * hF * hs)
    assert g["vanna"] == pytest.approx(vanna_fd, rel=1e-4, abs=1e-6)
    # theta: -dV/dtau at fixed F and r (D moves with tau)
    theta_fd = -(
        price(t_=tau + ht, D_=np.exp(-r * (tau + ht))) - price(t_=tau - ht, D_=np.exp(-r * (tau - ht)))
    )
    assert g["theta"] == pytest.approx(theta_fd / (2 * ht), rel=1e-5, abs=1e-7)
    # rho: dV/dr at fixed F
    hr = 1e-5
    rho_fd = (price(D_=np.exp(-(r + hr) * tau)) - price(D_=np.exp(-(r - hr) * tau))) / (2 * hr)
    assert g["rho"] == pytest.approx(rho_fd, rel=1e-6, abs=1e-9)


def test_greeks_shapes_names_and_vectorised_equals_scalar():
    d = random_domain(200, seed=3)
    args = [d[k] for k in ("F", "K", "tau", "sigma", "D", "is_call")]
    g = black76_greeks(*args)
    assert tuple(g) == GREEK_NAMES
    for i in (0, 57, 199):
        gi = black76_greeks(*[a[i] for a in args])
        for name in GREEK_NAMES:
            assert isinstance(gi[name], float)
            assert gi[name] == pytest.approx(g[name][i], rel=1e-14, abs=1e-300)


def test_greeks_put_call_relations():
    d = random_domain(3000, seed=4)
    args = [d[k] for k in ("F", "K", "tau", "sigma", "D")]
    c, p = black76_greeks(*args, True), black76_greeks(*args, False)
    assert np.allclose(c["delta"] - p["delta"], d["D"], rtol=0, atol=1e-14)
    for name in ("gamma", "vega", "vanna", "volga"):
        np.testing.assert_allclose(c[name], p[name], rtol=1e-13, atol=1e-300)


def test_greeks_at_expiry_limits():
    g = black76_greeks(np.array([90.0, 100.0, 110.0]), 100.0, 0.0, 0.2, 1.0, True)
    np.testing.assert_array_equal(g["delta"], [0.0, 0.5, 1.0])
    for name in ("gamma", "vega", "vanna", "volga", "theta", "rho"):
        np.testing.assert_array_equal(g[name], 0.0)


def test_spot_delta_from_forward():
    # BSM call delta e^{-q tau} N(d1) = D N(d1) e^{(r - q) tau}
    S, K, tau, sigma, r, q = 100.0, 105.0, 0.75, 0.3, 0.05, 0.02
    F, D = S * np.exp((r - q) * tau), np.exp(-r * tau)
    g = black76_greeks(F, K, tau, sigma, D, True)
    spot = spot_delta_from_forward(g["delta"], tau, r - q)
    bump = 1e-4 * S
    fd = (
        black76_price((S + bump) * np.exp((r - q) * tau), K, tau, sigma, D, True)
        - black76_price((S - bump) * np.exp((r - q) * tau), K, tau, sigma, D, True)
    ) / (2 * bump)
    assert spot == pytest.approx(fd, rel=1e-8)


# ------------------------------------------------------------------------------------ properties

finite = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    F=st.floats(1.0, 1000.0, **finite),
    m=st.floats(-3.0, 3.0, **finite),
    tau=st.floats(1e-3, 3.0, **finite),
    s1=st.floats(0.03, 2.0, **finite),
    s2=st.floats(0.03, 2.0, **finite),
    is_call=st.booleans(),
)
def test_price_monotone_in_vol_and_within_bounds(F, m, tau, s1, s2, is_call):
    K = F * np.exp(m * 0.3)
    lo, hi = sorted((s1, s2))
    p_lo = black76_price(F, K, tau, lo, 0.95, is_call)
    p_hi = black76_price(F, K, tau, hi, 0.95, is_call)
    intrinsic = 0.95 * max((F - K) if is_call else (K - F), 0.0)
    cap = 0.95 * (F if is_call else K)
    assert intrinsic - 1e-12 * F <= p_lo <= p_hi + 1e-12 * max(F, K) <= cap + 2e-12 * max(F, K)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    F=st.floats(1.0, 1000.0, **finite),
    m=st.floats(-3.0, 3.0, **finite),
    tau=st.floats(1e-3, 3.0, **finite),
    sigma=st.floats(0.03, 2.0, **finite),
)
def test_call_put_symmetry_under_strike_inversion(F, m, tau, sigma):
    # C(F, K) / sqrt(F K) = P(K, F) / sqrt(F K): the normalised call at x equals the put at -x
    K = F * np.exp(m * 0.3)
    c = black76_price(F, K, tau, sigma, 1.0, True)
    p = black76_price(K, F, tau, sigma, 1.0, False)
    assert c == pytest.approx(p, rel=1e-12, abs=1e-14 * max(F, K))


def test_public_api_names_import_and_have_docstrings():
    for name in pricing.__all__:
        obj = getattr(pricing, name)
        if callable(obj):
            assert obj.__doc__, name


def test_vega_delta_fast_path_matches_the_full_greeks():
    rng = np.random.default_rng(3)
    n = 500
    F, K = rng.uniform(50, 150, n), rng.uniform(40, 160, n)
    tau, sigma, D = rng.uniform(0.01, 3, n), rng.uniform(0.05, 1.5, n), rng.uniform(0.8, 1.0, n)
    call = rng.uniform(size=n) < 0.5
    vega, delta = black76_vega_delta(F, K, tau, sigma, D, call)
    full = black76_greeks(F, K, tau, sigma, D, call)
    np.testing.assert_allclose(vega, full["vega"], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(delta, full["delta"], rtol=1e-13, atol=1e-13)
