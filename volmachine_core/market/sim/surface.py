"""The simulated implied-vol surface: SSVI slices, ATM term structure, calendar repair, bumps.

Each expiry slice is SSVI (Gatheral and Jacquier 2014, "Arbitrage-free SVI volatility surfaces"):

``w(k) = theta/2 * (1 + rho*phi*k + sqrt((phi*k + rho)^2 + 1 - rho^2))``, ``k = ln(K/F)``,

with the power-law ``phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma))``, ``gamma`` in
(0, 1/2]. The slice has no butterfly arbitrage when ``eta (1 + |rho|) <= 2`` (their Remark 4.4);
``eta`` is capped accordingly. With one ``(rho, eta)`` for all expiries and ``theta`` increasing in
``tau`` the surface is also free of calendar arbitrage (their Theorem 4.1). Here ``rho`` and
``eta`` vary smoothly with ``ln(atm_vol)`` and ``sqrt(bdays)`` (so a wing regression on those
features is well specified), so calendar freedom is verified on a k-grid and repaired by carrying
the previous slice's ``(rho, eta)`` forward where slices would cross.

ATM total variance ``theta(tau) = v(tau) tau + event_var(tau)`` with the mean-reverting average
variance ``v(tau) = v_inf + (v0 - v_inf)(1 - exp(-kappa tau))/(kappa tau)``: contango when the
current implied variance ``v0`` is below the long-run ``v_inf`` (calm), backwardation in panic.
"""

from __future__ import annotations

import numpy as np

from volmachine_core.market.sim.config import UnderlyingSpec

__all__ = [
    "ssvi_total_variance",
    "power_law_phi",
    "durrleman_g",
    "average_variance",
    "slice_parameters",
    "enforce_calendar",
    "bump_vol",
    "K_GRID",
    "TERM_KAPPA",
]

#: Log-moneyness grid on which calendar monotonicity is verified.
K_GRID = np.linspace(-2.5, 1.5, 81)
#: Mean-reversion speed (per year) of the implied ATM variance term structure.
TERM_KAPPA = 3.0


def power_law_phi(theta, eta, gamma):
    """SSVI power-law ``phi(theta) = eta / (theta^gamma (1+theta)^(1-gamma))`` (theta > 0)."""
    theta = np.asarray(theta, dtype=float)
    return eta / (theta**gamma * (1.0 + theta) ** (1.0 - gamma))


def ssvi_total_variance(k, theta, rho, phi):
    """SSVI total implied variance ``w(k)`` (broadcasting; k = ln(K/F), theta ATM total variance)."""
    pk = phi * k
    return 0.5 * theta * (1.0 + rho * pk + np.sqrt((pk + rho) ** 2 + 1.0 - rho**2))


def durrleman_g(k, theta, rho, phi):
    """Durrleman's butterfly density condition ``g(k)``; the slice is arbitrage-free iff g >= 0.

    ``g = (1 - k w'/(2w))^2 - w'^2/4 (1/w + 1/4) + w''/2`` with the analytic SSVI derivatives.
    """
    pk = phi * k
    R = np.sqrt((pk + rho) ** 2 + 1.0 - rho**2)
    w = 0.5 * theta * (1.0 + rho * pk + R)
    w1 = 0.5 * theta * phi * (rho + (pk + rho) / R)
    w2 = 0.5 * theta * phi**2 * (1.0 - rho**2) / R**3
    return (1.0 - k * w1 / (2.0 * w)) ** 2 - 0.25 * w1**2 * (1.0 / w + 0.25) + 0.5 * w2


def average_variance(tau, v0, v_inf, kappa: float = TERM_KAPPA):
    """Expected average variance over ``tau`` years of a variance reverting from v0 to v_inf."""
    tau = np.maximum(np.asarray(tau, dtype=float), 1e-10)
    kt = kappa * tau
    return v_inf + (v0 - v_inf) * (-np.expm1(-kt) / kt)


def slice_parameters(
    spec: UnderlyingSpec,
    tau,
    bdays,
    sigma: float,
    vrp: float,
    vrp_mean: float,
    jump_var: float,
    rho_noise: float,
    eta_noise: float,
    event_var,
) -> dict[str, np.ndarray]:
    """SSVI parameters of each expiry slice of one snapshot.

    Parameters
    ----------
    spec : UnderlyingSpec
        Surface shape parameters (``rho0, rho_lnvol, rho_sqrtb, eta, eta_lnvol, gamma, base_vol``).
    tau : ndarray
        ACT/365 years to each expiry (> 0), ascending.
    bdays : ndarray
        Business days to each expiry.
    sigma : float
        Current stochastic vol (annual decimal) of the underlying.
    vrp, vrp_mean : float
        Today's and the long-run relative vol risk premium (implied = (1 + vrp) x expected).
    jump_var : float
        Expected annual jump variance of the current regime.
    rho_noise, eta_noise : float
        Day-level shifts of rho and ln(eta).
    event_var : ndarray
        Event (earnings) total variance ahead of each expiry.

    Returns
    -------
    dict of ndarray
        ``theta`` (ATM total variance), ``rho``, ``eta``, ``phi``, ``atm_vol`` (sqrt(theta/tau)),
        ``repaired`` (bool: rho/eta carried forward to keep calendar freedom).
    """
    tau = np.asarray(tau, dtype=float)
    bdays = np.asarray(bdays, dtype=float)
    v0 = (1.0 + vrp) ** 2 * (sigma**2 + jump_var)
    v_inf = (1.0 + vrp_mean) ** 2 * (spec.base_vol**2 + jump_var * 0.25)
    theta = average_variance(tau, v0, v_inf) * tau + np.asarray(event_var, dtype=float)
    atm = np.sqrt(theta / tau)
    lnv = np.log(atm / spec.base_vol)
    rho = (
        spec.rho0 + spec.rho_lnvol * lnv + spec.rho_sqrtb * (np.sqrt(np.maximum(bdays, 1.0)) - np.sqrt(21.0))
    )
    rho = np.clip(rho + rho_noise, -0.95, 0.4)
    eta = spec.eta * np.exp(spec.eta_lnvol * lnv + eta_noise)
    eta = np.minimum(eta, 0.98 * 2.0 / (1.0 + np.abs(rho)))
    rho, eta, repaired = enforce_calendar(theta, rho, eta, spec.gamma)
    phi = power_law_phi(theta, eta, spec.gamma)
    return {
        "theta": theta,
        "rho": rho,
        "eta": eta,
        "phi": phi,
        "atm_vol": np.sqrt(theta / tau),
        "repaired": repaired,
    }


def enforce_calendar(theta, rho, eta, gamma: float, k_grid: np.ndarray = K_GRID):
    """Make total variance non-decreasing in expiry at every k of ``k_grid``.

    Slices must be sorted by expiry with ``theta`` non-decreasing. Where slice i would fall below
    slice i-1 anywhere on the grid, slice i takes slice i-1's ``(rho, eta)``; with a common
    ``(rho, eta)`` the power-law SSVI is calendar-arbitrage free (Gatheral-Jacquier Thm 4.1).

    Returns
    -------
    rho, eta : ndarray
        Repaired parameters.
    repaired : ndarray of bool
        Which slices were changed.
    """
    rho, eta = np.array(rho, dtype=float), np.array(eta, dtype=float)
    theta = np.asarray(theta, dtype=float)
    repaired = np.zeros(len(theta), dtype=bool)
    if len(theta) < 2:
        return rho, eta, repaired
    phi = power_law_phi(theta, eta, gamma)
    w = ssvi_total_variance(k_grid[None, :], theta[:, None], rho[:, None], phi[:, None])
    tol = 1e-12
    if np.all(np.diff(w, axis=0) >= -tol):
        return rho, eta, repaired
    for i in range(1, len(theta)):
        wi = ssvi_total_variance(k_grid, theta[i], rho[i], power_law_phi(theta[i], eta[i], gamma))
        wp = ssvi_total_variance(
            k_grid, theta[i - 1], rho[i - 1], power_law_phi(theta[i - 1], eta[i - 1], gamma)
        )
        if np.any(wi < wp - tol):
            rho[i], eta[i] = rho[i - 1], eta[i - 1]
            repaired[i] = True
    return rho, eta, repaired


def bump_vol(z, target_sd, vol_shift, width_sd: float):
    """A planted vol bump ``vol_shift * exp(-((z - target_sd)/width_sd)^2 / 2)`` (decimal vol)."""
    return vol_shift * np.exp(-0.5 * ((np.asarray(z) - target_sd) / width_sd) ** 2)
