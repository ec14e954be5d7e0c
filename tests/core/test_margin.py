"""Initial margin: CBOE strategy-based rules (CBOE Margin Manual examples), vectorised."""

from __future__ import annotations

import numpy as np
import pytest

from volmachine_core.margin import (
    BROAD_INDEX_RATES,
    EQUITY_RATES,
    MarginRates,
    alternative_minimum,
    defined_risk_margin,
    long_option_margin,
    naked_short_margin,
    out_of_the_money_amount,
    vertical_spread_margin,
)


@pytest.mark.parametrize(
    ("S", "K", "is_call", "expected"),
    [
        (100.0, 110.0, True, 10.0),
        (100.0, 90.0, True, 0.0),
        (100.0, 90.0, False, 10.0),
        (100.0, 110.0, False, 0.0),
    ],
)
def test_out_of_the_money_amount(S, K, is_call, expected):
    assert out_of_the_money_amount(S, K, is_call) == expected


@pytest.mark.parametrize(
    ("premium", "S", "K", "is_call", "rates", "expected"),
    [
        # equity call ITM: 3 + 20% * 100 - 0 = 23 per share -> 2300 per contract
        (3.0, 100.0, 95.0, True, EQUITY_RATES, 2300.0),
        # equity put 10 OTM: 2 + 20 - 10 = 12 vs minimum 2 + 10% * 90 = 11 -> 12
        (2.0, 100.0, 90.0, False, EQUITY_RATES, 1200.0),
        # far OTM equity call: 0.5 + 20 - 30 < 0.5 + 10 -> minimum 10.5
        (0.5, 100.0, 130.0, True, EQUITY_RATES, 1050.0),
        # far OTM put: minimum uses the strike: 0.2 + 10% * 60 = 6.2
        (0.2, 100.0, 60.0, False, EQUITY_RATES, 620.0),
        # broad index call: 40 + 15% * 4000 - 100 = 540 vs 40 + 400 -> 540
        (40.0, 4000.0, 4100.0, True, BROAD_INDEX_RATES, 54000.0),
        # broad index put far OTM: 5 + 600 - 600 = 5 vs 5 + 10% * 3400 = 345
        (5.0, 4000.0, 3400.0, False, BROAD_INDEX_RATES, 34500.0),
    ],
)
def test_naked_short_margin_examples(premium, S, K, is_call, rates, expected):
    assert naked_short_margin(premium, S, K, is_call, rates, multiplier=100.0) == pytest.approx(expected)


def test_naked_short_is_vectorised_and_at_least_alternative_minimum():
    rng = np.random.default_rng(0)
    S = rng.uniform(50, 150, 1000)
    K = rng.uniform(50, 150, 1000)
    prem = rng.uniform(0, 20, 1000)
    call = rng.random(1000) < 0.5
    m = naked_short_margin(prem, S, K, call, EQUITY_RATES)
    assert m.shape == (1000,)
    assert np.all(m >= alternative_minimum(prem, S, K, call, EQUITY_RATES) - 1e-12)
    assert np.all(m >= naked_short_margin(prem, S, K, call, BROAD_INDEX_RATES) - 1e-12)


def test_rates_validated():
    with pytest.raises(ValueError, match="margin rates must satisfy"):
        MarginRates(underlying_pct=0.1, minimum_pct=0.2)


def test_long_option_is_premium():
    np.testing.assert_allclose(long_option_margin(np.array([1.5, 2.0]), multiplier=100.0), [150.0, 200.0])


@pytest.mark.parametrize(
    ("K_long", "K_short", "p_long", "p_short", "is_call", "expected"),
    [
        (100.0, 110.0, 5.0, 2.0, True, 3.0),  # bull call debit spread: the debit
        (110.0, 100.0, 2.0, 5.0, True, 7.0),  # bear call credit spread: width 10 - credit 3
        (90.0, 100.0, 1.0, 4.0, False, 7.0),  # bull put credit spread
        (100.0, 90.0, 4.0, 1.0, False, 3.0),  # bear put debit spread
    ],
)
def test_vertical_spread_is_max_loss(K_long, K_short, p_long, p_short, is_call, expected):
    assert vertical_spread_margin(K_long, K_short, p_long, p_short, is_call) == pytest.approx(expected)
    legs = defined_risk_margin([K_long, K_short], [1.0, -1.0], [is_call, is_call], [p_long, p_short])
    assert legs == pytest.approx(expected)


def test_iron_condor_and_unbounded_structures():
    # short 95/105 strangle inside long 90/110 wings, net credit 2: max loss 5 - 2 = 3
    strikes = np.array([[90.0, 95.0, 105.0, 110.0], [100.0, 110.0, 110.0, 110.0]])
    qty = np.array([[1.0, -1.0, -1.0, 1.0], [1.0, -2.0, 0.0, 0.0]])  # second: 1x2 call ratio, naked
    call = np.array([[False, False, True, True], [True, True, True, True]])
    prem = np.array([[0.5, 1.5, 1.5, 0.5], [5.0, 2.0, 0.0, 0.0]])
    out = defined_risk_margin(strikes, qty, call, prem, multiplier=100.0)
    assert out[0] == pytest.approx(300.0)
    assert np.isinf(out[1])
