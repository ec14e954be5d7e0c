"""Defined-risk structures from one snapshot's quotes: strikes from target SDs, legs priced at bid/ask.

Quotes are ``strike_vols``-shaped rows of one (snapshot, underlying): expiry, strike, right, bid, ask,
forward, tau (ACT/365 years), and a vol per row (``iv_mid``). The strike for a target SD ``z`` of an
expiry is the listed strike nearest ``F exp(z atm_vol sqrt(tau))`` among those quoted with a bid and an
ask for the right asked (``atm_vol`` is the ATM vol of that expiry, from the caller's curves).

Each builder returns the legs (``LEG_COLUMNS`` of ``payoff`` plus expiry and the side's price): bought legs
priced at the ask, sold legs at the bid, so a structure's ``net_premium`` is what crossing the spread costs.
Structures (one unit; quantities in contracts):

* ``iron_condor``: sell the ``short_sd`` put and call, buy the ``wing_sd`` put and call (credit);
* ``vertical``: ``bull_put`` sells the ``short_sd`` put and buys the ``wing_sd`` put; ``bear_call`` the calls;
* ``butterfly``: sell two calls at ``center`` (e.g. the pin; ATM when None), buy the wings at equal listed
  distances below and above, nearest ``wing_sd`` SDs;
* ``calendar``: sell the front expiry's ATM call, buy the same strike in the back expiry (debit).

A builder returns None when a needed strike is missing or two legs collapse onto one strike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["sd_strike", "iron_condor", "vertical", "butterfly", "calendar"]

_NEED = ("expiry", "strike", "right", "bid", "ask", "forward", "tau")


def _check(quotes: pd.DataFrame) -> None:
    missing = [c for c in _NEED if c not in quotes.columns]
    if missing:
        raise ValueError(f"quotes lack column(s) {missing}")


def _tradeable(quotes: pd.DataFrame, expiry, right: str) -> pd.DataFrame:
    q = quotes[(pd.to_datetime(quotes["expiry"]) == pd.Timestamp(expiry)) & (quotes["right"] == right)]
    return q[(q["bid"] > 0) & (q["ask"] >= q["bid"])].sort_values("strike")


def sd_strike(quotes: pd.DataFrame, expiry, right: str, target_sd: float, atm_vol: float) -> pd.Series | None:
    """The tradeable quote row whose strike is nearest ``F exp(target_sd atm_vol sqrt(tau))`` (None if none)."""
    _check(quotes)
    q = _tradeable(quotes, expiry, right)
    if q.empty:
        return None
    F, tau = float(q["forward"].iloc[0]), float(q["tau"].iloc[0])
    target = F * np.exp(target_sd * atm_vol * np.sqrt(tau))
    return q.iloc[int(np.argmin(np.abs(q["strike"].to_numpy(float) - target)))]


def _leg(row: pd.Series, quantity: int) -> dict:
    return {"right": row["right"], "strike": float(row["strike"]), "expiry": pd.Timestamp(row["expiry"]),
            "quantity": quantity, "price": float(row["ask"] if quantity > 0 else row["bid"])}


def _legs(rows: list[tuple[pd.Series | None, int]]) -> pd.DataFrame | None:
    if any(r is None for r, _ in rows):
        return None
    keys = [(r["right"], float(r["strike"]), pd.Timestamp(r["expiry"])) for r, _ in rows]
    if len(set(keys)) < len(keys):
        return None
    return pd.DataFrame([_leg(r, q) for r, q in rows])


def iron_condor(quotes: pd.DataFrame, expiry, atm_vol: float, short_sd: float = 1.0,
                wing_sd: float = 2.0) -> pd.DataFrame | None:
    """Sell the ``-short_sd`` put and ``+short_sd`` call, buy the ``-wing_sd`` put and ``+wing_sd`` call."""
    if not 0 < short_sd < wing_sd:
        raise ValueError("need 0 < short_sd < wing_sd")
    return _legs([(sd_strike(quotes, expiry, "P", -wing_sd, atm_vol), 1),
                  (sd_strike(quotes, expiry, "P", -short_sd, atm_vol), -1),
                  (sd_strike(quotes, expiry, "C", short_sd, atm_vol), -1),
                  (sd_strike(quotes, expiry, "C", wing_sd, atm_vol), 1)])


def vertical(quotes: pd.DataFrame, expiry, atm_vol: float, kind: str, short_sd: float = 1.0,
             wing_sd: float = 2.0) -> pd.DataFrame | None:
    """``bull_put`` (sell the ``-short_sd`` put, buy the ``-wing_sd`` put) or ``bear_call`` (the calls)."""
    if kind not in ("bull_put", "bear_call") or not 0 < short_sd < wing_sd:
        raise ValueError("kind must be 'bull_put' or 'bear_call' and 0 < short_sd < wing_sd")
    right, sign = ("P", -1.0) if kind == "bull_put" else ("C", 1.0)
    return _legs([(sd_strike(quotes, expiry, right, sign * short_sd, atm_vol), -1),
                  (sd_strike(quotes, expiry, right, sign * wing_sd, atm_vol), 1)])


def butterfly(quotes: pd.DataFrame, expiry, atm_vol: float, wing_sd: float = 1.0,
              center: float | None = None) -> pd.DataFrame | None:
    """Long call butterfly: sell two calls at ``center`` (nearest listed strike; ATM if None) and buy the wings
    an equal distance below and above, the listed distance nearest ``wing_sd`` SDs (equal wings keep the loss
    to the debit; None when no listed pair is symmetric)."""
    q = _tradeable(quotes, expiry, "C")
    if q.empty:
        return None
    F, tau = float(q["forward"].iloc[0]), float(q["tau"].iloc[0])
    c_sd = 0.0 if center is None else float(np.log(center / F) / (atm_vol * np.sqrt(tau)))
    mid = sd_strike(quotes, expiry, "C", c_sd, atm_vol)
    k = q["strike"].to_numpy(float)
    k2 = float(mid["strike"])
    d = k2 - k[k < k2]
    d = d[np.isin(np.round(k2 + d, 6), np.round(k, 6))]  # distances listed on both sides
    if not d.size:
        return None
    want = k2 * (np.exp(wing_sd * atm_vol * np.sqrt(tau)) - 1.0)
    dist = float(d[np.argmin(np.abs(d - want))])
    lo, hi = (q[np.isclose(k, k2 + s * dist)].iloc[0] for s in (-1.0, 1.0))
    return _legs([(lo, 1), (mid, -2), (hi, 1)])


def calendar(quotes: pd.DataFrame, front, back, atm_vol_front: float) -> pd.DataFrame | None:
    """Sell the front expiry's ATM call, buy the back expiry's call at the same strike (None if not listed)."""
    short = sd_strike(quotes, front, "C", 0.0, atm_vol_front)
    if short is None:
        return None
    q = _tradeable(quotes, back, "C")
    long_ = q[q["strike"] == short["strike"]]
    return _legs([(short, -1), (long_.iloc[0] if len(long_) else None, 1)])
