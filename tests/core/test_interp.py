"""Row-wise PCHIP (``pchip_slopes``, ``hermite_eval``) against scipy's ``PchipInterpolator``.

Reference: ``scipy.interpolate.PchipInterpolator`` (Fritsch and Carlson 1980, the same end-slope rule),
evaluated per row on the same knots. Beyond the end knots ``hermite_eval`` is flat by contract (scipy
extrapolates the end cubics instead), so the comparison uses points inside ``[x[0], x[-1]]``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import PchipInterpolator

from volmachine_core.interp import hermite_eval, pchip_slopes


@pytest.fixture(scope="module")
def random_curves():
    """60 curves on 9 shared, unevenly spaced knots, with sign changes, flat runs and monotone rows."""
    rng = np.random.default_rng(11)
    x = np.cumsum(rng.uniform(0.2, 1.5, 9)) - 3.0
    y = rng.normal(0.0, 1.0, (60, 9))
    y[:10] = np.cumsum(np.abs(y[:10]), axis=1)  # increasing rows
    y[10:15, 3:5] = 0.7  # a flat run (zero secant)
    y[15:20] = -np.cumsum(np.abs(y[15:20]), axis=1)  # decreasing rows
    return x, y


def _queries(x, n_rows, n, rng):
    rows = rng.integers(0, n_rows, n)
    xq = rng.uniform(x[0], x[-1], n)
    return rows, xq


def test_slopes_match_scipy(random_curves):
    x, y = random_curves
    d = pchip_slopes(x, y)
    for r in range(len(y)):
        ref = PchipInterpolator(x, y[r]).derivative()(x)
        np.testing.assert_allclose(d[r], ref, rtol=1e-12, atol=1e-12)


def test_slopes_with_per_row_knots_match_scipy():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.uniform(0.1, 1.0, (5, 6)), axis=1)
    y = rng.normal(size=(5, 6))
    d = pchip_slopes(x, y)
    for r in range(5):
        np.testing.assert_allclose(d[r], PchipInterpolator(x[r], y[r]).derivative()(x[r]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("nu", [0, 1, 2])
def test_values_and_derivatives_match_scipy(random_curves, nu):
    x, y = random_curves
    d = pchip_slopes(x, y)
    rows, xq = _queries(x, len(y), 5000, np.random.default_rng(nu))
    got = hermite_eval(x, y, d, rows, xq, nu=nu)
    ref = np.empty_like(xq)
    for r in np.unique(rows):
        m = rows == r
        ref[m] = PchipInterpolator(x, y[r])(xq[m], nu=nu)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_passes_through_knots(random_curves):
    x, y = random_curves
    d = pchip_slopes(x, y)
    rows = np.repeat(np.arange(len(y)), len(x))
    xq = np.tile(x, len(y))
    np.testing.assert_allclose(hermite_eval(x, y, d, rows, xq), y.reshape(-1), rtol=0, atol=1e-13)
    np.testing.assert_allclose(hermite_eval(x, y, d, rows, xq, nu=1), d.reshape(-1), rtol=1e-12, atol=1e-12)


def test_flat_beyond_end_knots(random_curves):
    x, y = random_curves
    d = pchip_slopes(x, y)
    rows = np.arange(len(y))
    for xq, col in ((np.full(len(y), x[0] - 2.5), 0), (np.full(len(y), x[-1] + 0.1), -1),
                    (np.full(len(y), x[-1] + 1e6), -1)):
        np.testing.assert_array_equal(hermite_eval(x, y, d, rows, xq), y[:, col])
        np.testing.assert_array_equal(hermite_eval(x, y, d, rows, xq, nu=1), 0.0)
        np.testing.assert_array_equal(hermite_eval(x, y, d, rows, xq, nu=2), 0.0)


@pytest.mark.parametrize("nu", [0, 1, 2])
def test_nan_query_gives_nan(random_curves, nu):
    x, y = random_curves
    d = pchip_slopes(x, y)
    xq = np.array([np.nan, 0.0, np.nan])
    out = hermite_eval(x, y, d, np.array([0, 1, 2]), xq, nu=nu)
    assert np.isnan(out[0]) and np.isnan(out[2]) and np.isfinite(out[1])


def test_bad_derivative_order_raises(random_curves):
    x, y = random_curves
    with pytest.raises(ValueError, match="nu must be 0, 1 or 2"):
        hermite_eval(x, y, pchip_slopes(x, y), np.array([0]), np.array([0.0]), nu=3)


def test_two_knots_is_linear():
    x = np.array([-1.0, 2.0])
    y = np.array([[1.0, 4.0], [3.0, -3.0]])
    d = pchip_slopes(x, y)
    np.testing.assert_allclose(d, [[1.0, 1.0], [-2.0, -2.0]])
    xq = np.array([-1.0, 0.5, 2.0, 1.0])
    rows = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(hermite_eval(x, y, d, rows, xq), [1.0, 2.5, -3.0, -1.0], atol=1e-14)
    np.testing.assert_allclose(hermite_eval(x, y, d, rows, xq, nu=1), [1.0, 1.0, -2.0, -2.0], atol=1e-14)
    np.testing.assert_allclose(hermite_eval(x, y, d, rows, xq, nu=2), 0.0, atol=1e-12)
    for r in range(2):
        np.testing.assert_allclose(hermite_eval(x, y, d, np.full(4, r), xq),
                                   PchipInterpolator(x, y[r])(xq), atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=9),
    steps=st.lists(st.floats(0.0, 5.0), min_size=10, max_size=10),
    start=st.floats(-5.0, 5.0),
    increasing=st.booleans(),
)
def test_monotone_data_gives_monotone_interpolant(gaps, steps, start, increasing):
    x = np.concatenate([[0.0], np.cumsum(gaps)])
    sign = 1.0 if increasing else -1.0
    y = (start + sign * np.concatenate([[0.0], np.cumsum(steps[: len(gaps)])]))[None, :]
    d = pchip_slopes(x, y)
    xq = np.linspace(x[0] - 1.0, x[-1] + 1.0, 2001)
    v = hermite_eval(x, y, d, np.zeros(xq.size, dtype=np.int64), xq)
    tol = 1e-12 * (1.0 + np.abs(y).max())
    assert (sign * np.diff(v) >= -tol).all()
    assert v.min() >= y.min() - tol and v.max() <= y.max() + tol
