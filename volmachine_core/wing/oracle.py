"""The simulator's recorded truth as a reference for the wing model (tests, benchmarks, diagnostics).

``sim_truth_surface`` stores each simulated slice as SSVI parameters (``theta, rho, phi``) without the
planted bumps. :func:`truth_curves` turns them into ``curve_params``/``curve_points``-shaped frames
(raw SVI via Gatheral-Jacquier's Lemma 3.3), so the wing model can be fitted on exact curves, and
:func:`truth_vols` gives the unbumped truth vol of any option, the ideal model vol: residuals against it
contain only quote noise and the planted bumps.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from volmachine_core.curves.sd_space import curve_vol
from volmachine_core.curves.svi import svi_from_ssvi, svi_total_variance

__all__ = ["truth_curves", "truth_vols"]

_SLICE = ["snapshot_id", "underlying", "expiry"]


def _svi_frame(truth_surface: pd.DataFrame) -> pd.DataFrame:
    t = truth_surface.copy()
    t["expiry"] = pd.to_datetime(t["expiry"]).dt.normalize()
    a, b, rho, m, sigma = svi_from_ssvi(t["theta"], t["rho"], t["phi"])
    return t.assign(a=a, b=b, rho=rho, m=m, sigma=sigma)


def truth_curves(truth_surface: pd.DataFrame, target_sds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``curve_params`` and ``curve_points`` frames of the simulator's truth slices.

    Parameters
    ----------
    truth_surface : DataFrame
        ``sim_truth_surface`` rows (snapshot_id, underlying, expiry, tau, bdays, forward, atm_vol,
        theta, rho, phi).
    target_sds : sequence of float
        SD moneyness of the curve points.

    Returns
    -------
    (DataFrame, DataFrame)
        curve_params with tau, bdays, forward, atm_vol, ``atm_slope = theta rho phi / (2 sqrt(tau))``,
        rmse_vol 0, arb_free True, status 'ok', model 'svi', params JSON; curve_points with target_sd,
        k, strike and vol.
    """
    t = _svi_frame(truth_surface)
    tau = t["tau"].to_numpy(float)
    cp = t[[*_SLICE, "tau", "bdays", "forward", "atm_vol", "a", "b", "rho", "m", "sigma"]].copy()
    cp["atm_slope"] = (t["theta"] * t["rho"] * t["phi"]).to_numpy(float) / (2.0 * np.sqrt(tau))
    cp = cp.assign(rmse_vol=0.0, arb_free=True, status="ok", model="svi")
    cp["params"] = [json.dumps({"model": "svi", "a": r.a, "b": r.b, "rho": r.rho, "m": r.m, "sigma": r.sigma})
                    for r in cp.itertuples()]
    sds = np.asarray(list(target_sds), float)
    k = sds[None, :] * (cp["atm_vol"].to_numpy(float) * np.sqrt(tau))[:, None]
    w = svi_total_variance(k, *(cp[c].to_numpy(float)[:, None] for c in ("a", "b", "rho", "m", "sigma")))
    pts = pd.DataFrame({
        "snapshot_id": np.repeat(cp["snapshot_id"].to_numpy(), len(sds)),
        "underlying": np.repeat(cp["underlying"].to_numpy(), len(sds)),
        "expiry": np.repeat(cp["expiry"].to_numpy(), len(sds)),
        "target_sd": np.tile(sds, len(cp)),
        "k": k.reshape(-1),
        "strike": (cp["forward"].to_numpy(float)[:, None] * np.exp(k)).reshape(-1),
        "vol": np.sqrt(w / tau[:, None]).reshape(-1),
    })
    return cp.reset_index(drop=True), pts


def truth_vols(truth_surface: pd.DataFrame, options: pd.DataFrame) -> np.ndarray:
    """Unbumped truth vol of each option (snapshot_id, underlying, expiry, strike, forward); NaN if no slice.

    ``k = ln(K / F)`` uses the option's own (fitted) forward, so the truth smile is read where the
    market curve puts the option.
    """
    t = _svi_frame(truth_surface).drop_duplicates(_SLICE)
    o = options[[*_SLICE, "strike", "forward"]].assign(expiry=pd.to_datetime(options["expiry"]).dt.normalize())
    pos = pd.MultiIndex.from_frame(t[_SLICE]).get_indexer(pd.MultiIndex.from_frame(o[_SLICE]))
    found = pos >= 0
    rows = t.iloc[np.where(found, pos, 0)].reset_index(drop=True)
    k = np.log(o["strike"].to_numpy(float) / o["forward"].to_numpy(float))
    vol = curve_vol(rows[["a", "b", "rho", "m", "sigma", "tau"]], k)
    return np.where(found, vol, np.nan)
