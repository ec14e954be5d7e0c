"""Order prices: the limit from mid toward theo, the seed's delta peg, and the delta hedger's trigger.

Prices are per unit of underlying for one unit of the structure. ``side`` is +1 to buy (pay a debit, bid)
and -1 to sell (receive a credit, offer); a structure's ``delta`` is per unit of underlying as held after
the fill (a bought 30-delta call spread has delta +0.30).

* **Limit**: ``mid + aggression * (theo - mid)``, moving from mid toward the theo and never through it (a
  buyer never bids above theo, a seller never offers below it); when the theo is on the wrong side of mid
  there is no edge at mid and the limit is the theo itself (``edge_at_mid`` False); a limit beyond the far
  side of the market (theo far through it) is the far side: crossing the spread, not paying more.
* **Delta peg** (the seed's): as the underlying moves by ``dS`` the price of the structure as quoted moves by
  about ``side * delta * dS`` (``delta`` as held after the fill: a sold spread's quoted price moves against
  the seller's delta), so the limit follows. The move that makes the order dearer for us (a buyer raising
  the bid, a seller lowering the offer) is capped at ``max_adverse`` in total. Seed example: a bought
  30-delta spread bid at 3.40 becomes 2.50 after the underlying drops 3.
* **Delta hedger**: trade the underlying only when ``|net delta|`` exceeds ``min_delta``, buying at the ask
  plus ``slippage`` (a fraction) or selling at the bid minus it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["limit_price", "delta_peg", "hedge_order"]


def _side(side) -> np.ndarray:
    s = np.asarray(side, dtype=float)
    if not np.isin(s, (-1.0, 1.0)).all():
        raise ValueError("side must be +1 (buy) or -1 (sell)")
    return s


def limit_price(bid, ask, theo, side, aggression: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(limit, edge_at_mid) from the structure's bid/ask and theo, vectorised (module docstring).

    ``aggression`` in [0, 1): 0 leaves the order at mid, values toward 1 give up more of the edge.
    """
    if not 0.0 <= aggression < 1.0:
        raise ValueError(f"aggression must be within [0, 1), got {aggression}")
    bid, ask, theo, s = (np.asarray(x, dtype=float) for x in (bid, ask, theo, side))
    s = _side(s)
    mid = 0.5 * (bid + ask)
    edge = s * (theo - mid) > 0  # buying below theo / selling above it
    lim = np.where(edge, mid + aggression * (theo - mid), theo)
    # never worse than crossing the spread: a bid above the ask is the ask
    lim = np.where(s > 0, np.minimum(lim, ask), np.maximum(lim, bid))
    return lim, edge


def delta_peg(limit, delta, d_spot, side, max_adverse=np.inf) -> np.ndarray:
    """Limit after the underlying moved by ``d_spot``: ``limit + side * delta * d_spot`` (``delta`` as held),
    adverse move capped.

    ``max_adverse`` (>= 0, price units) caps how far the limit may move against us in total: up for a buyer,
    down for a seller. Vectorised.
    """
    limit, delta, d_spot, s = (np.asarray(x, dtype=float) for x in (limit, delta, d_spot, side))
    s = _side(s)
    if np.any(np.asarray(max_adverse, dtype=float) < 0):
        raise ValueError("max_adverse must be >= 0")
    move = s * delta * d_spot  # the quoted price's move
    adverse = s * move  # > 0: the order gets dearer for us
    move = np.where(adverse > max_adverse, s * max_adverse, move)
    return limit + move


def hedge_order(net_delta, bid, ask, min_delta: float, slippage: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(quantity of underlying to trade, price) to flatten ``net_delta``; zero quantity inside the band.

    ``net_delta`` in units of underlying; buys pay ``ask * (1 + slippage)``, sells get ``bid * (1 - slippage)``.
    """
    if min_delta < 0 or slippage < 0:
        raise ValueError("min_delta and slippage must be >= 0")
    d, bid, ask = (np.asarray(x, dtype=float) for x in (net_delta, bid, ask))
    qty = np.where(np.abs(d) > min_delta, -d, 0.0)
    price = np.where(qty > 0, ask * (1 + slippage), np.where(qty < 0, bid * (1 - slippage), np.nan))
    return qty, price
