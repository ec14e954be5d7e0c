"""Mean-variance sizing: the seed's risk aversion, the best size as the utility's maximum, marginal utility."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from volmachine_core.trading.sizing import best_size, marginal_utility, risk_aversion, utility


def test_seed_risk_aversion_from_250k_at_sharpe_3():
    assert risk_aversion(250_000, 3.0) == pytest.approx(1.8e-5)


def test_risk_aversion_scales_down_as_equity_grows():
    base = risk_aversion(250_000, 3.0, equity=10e6, reference_equity=10e6)
    assert risk_aversion(250_000, 3.0, equity=20e6, reference_equity=10e6) == pytest.approx(base / 2)
    with pytest.raises(ValueError, match="must be > 0"):
        risk_aversion(0.0, 3.0)


def test_best_size_reproduces_the_target():
    """Sized at k*, a trade with Sharpe S has annual mean P and sd P / S when c comes from (P, S)."""
    P, S = 250_000.0, 3.0
    c = risk_aversion(P, S)
    mu, sd = 1_000.0, 1_000.0 / S  # per unit over a year: Sharpe 3
    k = best_size(mu, sd, c)
    assert k * mu == pytest.approx(P) and k * sd == pytest.approx(P / S)


@given(st.floats(1.0, 1e4), st.floats(1.0, 1e4))
def test_best_size_maximises_utility(mu, sd):
    c = 1.8e-5
    k = float(best_size(mu, sd, c))
    u = utility(k, mu, sd, c)
    assert u >= utility(k * 0.99, mu, sd, c) and u >= utility(k * 1.01, mu, sd, c)
    assert u == pytest.approx(mu * mu / (4 * c * sd * sd))


def test_no_size_without_an_edge():
    assert best_size([-1.0, 0.0, 5.0], [1.0, 1.0, 0.0], 1e-5).tolist() == [0.0, 0.0, 0.0]


def test_marginal_utility_prefers_the_trade_that_diversifies_the_book():
    """Book long vega in bucket 1. Two candidates with the same edge and risk: one adds bucket-1 vega (doubles
    the book's risk), the other is short bucket-1 vega. The diversifying one is worth more and sized larger."""
    c = risk_aversion(250_000, 3.0)
    cov = np.array([[1.0, 0.3], [0.3, 1.0]]) * 400.0 ** 2  # PnL sd 400 per unit vega exposure per bucket
    book = np.array([50.0, 0.0])
    same = marginal_utility(2_000.0, [50.0, 0.0], book, cov, c)
    hedge = marginal_utility(2_000.0, [-50.0, 0.0], book, cov, c)
    alone = marginal_utility(2_000.0, [50.0, 0.0], np.zeros(2), cov, c)
    assert hedge[1] > alone[1] > same[1] >= 0.0
    assert hedge[0] > alone[0] > same[0]
    # with an empty book the marginal utility is the standalone optimum mu^2 / (4 c var)
    var = 50.0 ** 2 * 400.0 ** 2
    assert alone[1] == pytest.approx(2_000.0 ** 2 / (4 * c * var))


def test_marginal_utility_checks_the_variance():
    with pytest.raises(ValueError, match="must be > 0"):
        marginal_utility(1.0, [0.0], [1.0], [[1.0]], 1e-5)
