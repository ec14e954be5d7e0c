"""Compile the numba kernels once so later processes load them from numba's on-disk cache.

``python -m volmachine_core.warmup`` (run by the Makefile after installing) builds a small synthetic
surface, which compiles the implied-vol, grouped-median and SVI-fit kernels, and sums a tiny dealer-gamma
grid (about 25 s cold on one core, under a second once cached). Parallel workers then load compiled code
instead of each compiling the same kernels at the same time.
"""

from __future__ import annotations

import time


def warm() -> float:
    """Build a 4-expiry synthetic surface and sum a tiny dealer-gamma grid; returns the seconds it took."""
    import numpy as np

    from volmachine_core.market.synthetic import ssvi_snapshot
    from volmachine_core.signals.gamma import _grid_sums
    from volmachine_core.surface import build_surface

    t0 = time.perf_counter()
    build_surface(ssvi_snapshot(seed=0, n_expiries=4, strikes_per_expiry=40).quotes)
    one = np.ones(2)
    _grid_sums(0.1 * one, 0.2 * one, one, np.zeros(2, dtype=np.int64), np.array([0.9, 1.0, 1.1]), np.zeros((1, 3)))
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(f"volmachine: numba kernels ready ({warm():.1f} s)")
