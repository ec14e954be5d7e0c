"""Order prices: limit toward theo never through it, the seed's delta peg, the hedger's band."""

import numpy as np
import pytest

from volmachine_core.trading.orders import delta_peg, hedge_order, limit_price


def test_seed_delta_peg_3_40_to_2_50():
    """A bought 30-delta spread bid at 3.40: the underlying drops 3, the bid becomes 2.50."""
    assert delta_peg(3.40, 0.30, -3.0, side=1) == pytest.approx(2.50)


def test_peg_caps_the_adverse_move_only():
    # the underlying rallies 10: the fair value rises 3.00 but the bid may rise 1.00 at most
    assert delta_peg(3.40, 0.30, 10.0, side=1, max_adverse=1.0) == pytest.approx(4.40)
    assert delta_peg(3.40, 0.30, -10.0, side=1, max_adverse=1.0) == pytest.approx(0.40)  # favourable: uncapped
    # a sold call spread (delta -0.30 held) offered at 1.45: a rally makes the spread dearer, the offer rises
    # with it (favourable, uncapped); a fall cheapens it and the offer drops, capped at 0.25
    assert delta_peg(1.45, -0.30, 2.0, side=-1, max_adverse=0.25) == pytest.approx(2.05)
    assert delta_peg(1.45, -0.30, -2.0, side=-1, max_adverse=0.25) == pytest.approx(1.20)
    with pytest.raises(ValueError, match="side"):
        delta_peg(1.0, 0.3, 1.0, side=0)


def test_limit_never_beyond_the_far_side():
    lim, _ = limit_price([1.0, 1.0], [2.0, 2.0], [9.0, -5.0], [1, -1], aggression=0.9)
    assert lim.tolist() == [2.0, 1.0]  # theo far above the ask: pay the ask; far below the bid: hit the bid


@pytest.mark.parametrize(("bid", "ask", "theo", "side", "want", "edge"), [
    (1.30, 1.70, 1.80, 1, 1.65, True),     # buy: mid 1.50, half way up to theo
    (1.30, 1.60, 1.20, -1, 1.325, True),   # sell: mid 1.45, half way down to theo
    (1.30, 1.60, 1.40, 1, 1.40, False),    # buy with theo under mid: no edge, never above theo
    (1.30, 1.60, 1.50, -1, 1.50, False),   # sell with theo over mid: never below theo
])
def test_limit_from_mid_toward_theo_never_through(bid, ask, theo, side, want, edge):
    lim, has_edge = limit_price(bid, ask, theo, side, aggression=0.5)
    assert lim == pytest.approx(want) and bool(has_edge) is edge
    assert (lim <= theo) if side == 1 else (lim >= theo)


def test_limit_is_vectorised_and_checks_aggression():
    lim, edge = limit_price([1.0, 2.0], [1.2, 2.2], [1.5, 1.9], [1, -1], aggression=0.0)
    np.testing.assert_allclose(lim, [1.1, 2.1])
    assert edge.tolist() == [True, True]
    with pytest.raises(ValueError, match="aggression"):
        limit_price(1.0, 1.2, 1.5, 1, aggression=1.0)


def test_hedger_trades_only_beyond_the_band_at_bid_ask_plus_slippage():
    qty, px = hedge_order([12.0, -3.0, 40.0, -40.0], bid=99.9, ask=100.1, min_delta=10.0, slippage=0.001)
    assert qty.tolist() == [-12.0, 0.0, -40.0, 40.0]
    assert px[0] == pytest.approx(99.9 * 0.999) and np.isnan(px[1]) and px[3] == pytest.approx(100.1 * 1.001)
