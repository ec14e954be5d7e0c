"""Black-76 pricing on the forward: prices, greeks, implied vol, and spot-model wrappers.

Argument order everywhere: ``(F, K, tau, sigma_or_price, D, is_call)``; vol as a decimal, tau in
ACT/365 years, ``D`` the discount factor to expiry. Margin lives in ``volmachine_core.margin``.
"""

from volmachine_core.pricing.black76 import (
    GREEK_NAMES,
    black76_greeks,
    black76_price,
    black76_vega_delta,
    spot_delta_from_forward,
)
from volmachine_core.pricing.black_scholes import (
    bs_delta,
    bs_gamma,
    bs_implied_vol,
    bs_price,
    bs_rho,
    bs_theta,
    bs_to_forward,
    bs_vega,
)
from volmachine_core.pricing.implied_vol import (
    THREADS_ENV_VAR,
    implied_vol,
    implied_vol_with_status,
    resolve_num_threads,
)
from volmachine_core.pricing.status import IVStatus

__all__ = [
    "GREEK_NAMES",
    "IVStatus",
    "THREADS_ENV_VAR",
    "black76_greeks",
    "black76_price",
    "black76_vega_delta",
    "bs_delta",
    "bs_gamma",
    "bs_implied_vol",
    "bs_price",
    "bs_rho",
    "bs_theta",
    "bs_to_forward",
    "bs_vega",
    "implied_vol",
    "implied_vol_with_status",
    "resolve_num_threads",
    "spot_delta_from_forward",
]
