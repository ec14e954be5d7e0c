"""Status codes and error texts shared by the pricing routines (one place, so tests can match them)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["IVStatus", "ERR_SIDE", "ERR_NUM_THREADS"]


class IVStatus(IntEnum):
    """Per-element outcome of an implied-volatility inversion.

    The integer values are stable (they are stored in the warehouse as ``int8``).

    Attributes
    ----------
    OK : 0
        A vol exists and was found.
    BELOW_INTRINSIC : 1
        Undiscounted price below intrinsic ``max(theta (F - K), 0)``: no vol exists (the vol is NaN).
    ABOVE_UPPER_BOUND : 2
        Undiscounted price at or above the no-arbitrage cap (``F`` for a call, ``K`` for a put): the
        vol would be infinite (NaN returned).
    NO_TIME_VALUE : 3
        Price equal to intrinsic within rounding (a few ulps of ``max(F, K)``): the vol is
        indeterminate (NaN returned).
    INVALID_INPUT : 4
        A non-finite input, ``F <= 0``, ``K <= 0``, ``tau <= 0`` or ``D <= 0``.
    """

    OK = 0
    BELOW_INTRINSIC = 1
    ABOVE_UPPER_BOUND = 2
    NO_TIME_VALUE = 3
    INVALID_INPUT = 4


ERR_SIDE = (
    "is_call must be boolean (True for a call, False for a put) or an integer 0/1 array; got dtype {dtype}. "
    "Convert 'C'/'P' strings with `side == 'C'` at the edge."
)
ERR_NUM_THREADS = "num_threads must be a positive integer, got {value!r}"
