"""Book greeks per position from the fitted curves: delta, gamma, vega, theta, slega, modified vega.

Each position (``positions.validate_positions`` rows) is matched to its expiry's fitted slice of one
snapshot (``curve_params``: forward, tau, atm_vol, params) and the discount factor (``forwards``); its vol is
the curve's at ``k = ln(K/F)``. Greeks are Black-76 per unit of underlying times ``quantity x multiplier``
(currency), with the option's Black-76 ``price`` per unit of underlying and the position's ``mark`` (currency)
beside them: ``delta`` and ``gamma`` with respect to spot (the forward moves one for one in proportion,
``dF/dS = F/S``), ``vega`` per 1.00 of vol, ``theta`` per calendar day, and ``slega`` the value change when
the smile's slope rises by one vol point per SD (``vol + 0.01 z``, ``z = k / (atm_vol sqrt(tau))``), the
wing model's slega convention. ``modified_vega`` uses ``T_ref`` = 90 days. Positions whose expiry has no
usable slice are returned with NaN greeks and ``status = 'no_curve'`` (or 'expired'), never dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.curves import curve_vol
from volmachine_core.groups import match_rows
from volmachine_core.pricing import black76_greeks, black76_price

__all__ = ["GREEK_COLUMNS", "position_greeks", "book_totals"]

GREEK_COLUMNS = ("delta", "gamma", "vega", "theta", "slega", "modified_vega")
_GOOD = ("ok", "repaired")


def position_greeks(positions: pd.DataFrame, curve_params: pd.DataFrame, forwards: pd.DataFrame,
                    spot: pd.Series | dict, t_ref: float = 90 / 365) -> pd.DataFrame:
    """Greeks of each position (currency) on one snapshot's curves; see the module docstring.

    Parameters
    ----------
    positions : DataFrame
        position_id, underlying, expiry, strike, right, quantity, multiplier.
    curve_params : DataFrame
        One snapshot: underlying, expiry, tau, forward, atm_vol, status, params.
    forwards : DataFrame
        underlying, expiry, discount_factor.
    spot : mapping underlying -> spot price.
    """
    p = positions.reset_index(drop=True).assign(expiry=lambda d: pd.to_datetime(d["expiry"]))
    cp = curve_params.assign(expiry=lambda d: pd.to_datetime(d["expiry"])).reset_index(drop=True)
    fw = forwards.assign(expiry=lambda d: pd.to_datetime(d["expiry"])).reset_index(drop=True)
    keys = ["underlying", "expiry"]
    rc, _ = match_rows(p, cp, keys)
    rf, _ = match_rows(p, fw, keys)
    good = np.append(cp["status"].isin(_GOOD).to_numpy(), False)[rc] & (rf >= 0)
    take = np.where(good, rc, 0)
    F = np.where(good, cp["forward"].to_numpy(float)[take], np.nan)
    tau = np.where(good, cp["tau"].to_numpy(float)[take], np.nan)
    atm = np.where(good, cp["atm_vol"].to_numpy(float)[take], np.nan)
    D = np.where(good, np.append(fw["discount_factor"].to_numpy(float), np.nan)[rf], np.nan)
    K = p["strike"].to_numpy(float)
    call = p["right"].astype(str).eq("C").to_numpy()
    S = p["underlying"].map(dict(spot)).to_numpy(float)
    k = np.log(K / F)
    vol = np.full(len(p), np.nan)
    if good.any():
        vol[good] = curve_vol(cp.iloc[take[good]].reset_index(drop=True), k[good])
    g = black76_greeks(F, K, tau, vol, D, call)
    size = p["quantity"].to_numpy(float) * p["multiplier"].to_numpy(float)
    dFdS = F / S
    z = k / (atm * np.sqrt(tau))
    slega = black76_price(F, K, tau, vol + 0.01 * z, D, call) - black76_price(F, K, tau, vol, D, call)
    price = black76_price(F, K, tau, vol, D, call)
    out = p[["position_id", "underlying", "expiry", "strike", "right", "quantity"]].assign(
        multiplier=p["multiplier"].to_numpy(float), forward=F, discount_factor=D, spot=S, tau=tau, vol=vol,
        price=price, mark=size * price, delta=size * g["delta"] * dFdS, gamma=size * g["gamma"] * dFdS ** 2,
        vega=size * g["vega"], theta=size * g["theta"] / 365.0, slega=size * slega)
    out["modified_vega"] = out["vega"] * np.sqrt(t_ref / tau)
    out["status"] = np.where(good & np.isfinite(vol), "ok", np.where(rc < 0, "no_curve", "curve_not_usable"))
    return out


def book_totals(greeks: pd.DataFrame) -> pd.DataFrame:
    """Greeks summed per underlying (positions with a status other than 'ok' are counted, not summed)."""
    ok = greeks["status"].eq("ok")
    tot = greeks[list(GREEK_COLUMNS)].where(ok, 0.0).groupby(greeks["underlying"]).sum()
    tot["positions"] = greeks.groupby("underlying").size()
    tot["not_priced"] = (~ok).groupby(greeks["underlying"]).sum()
    return tot.reset_index()
