"""Defined-risk structures from one snapshot's quotes: strikes from target SDs, legs priced at bid/ask.

Quotes are ``strike_vols``-shaped rows of one (snapshot, underlying): expiry, strike, right, bid, ask,
forward, tau (ACT/365 years), and a vol per row (``iv_mid``). The strike for a target SD ``z`` of an
expiry is the listed strike nearest ``F exp(z atm_vol sqrt(tau))`` among those quoted with a bid and an
ask for the right asked (``atm_vol`` is the ATM vol of that expiry, from the caller's curves).

Each builder returns the legs (``LEG_COLUMNS`` of ``payoff`` and ``row``, the quote's index label): bought legs
priced at the ask, sold legs at the bid, so a structure's ``net_premium`` is what crossing the spread costs.
Structures (one unit; quantities in contracts):

* ``iron_condor``: sell the ``short_sd`` put and call, buy the ``wing_sd`` put and call (credit);
* ``vertical``: ``bull_put`` sells the ``short_sd`` put and buys the ``wing_sd`` put; ``bear_call`` the calls;
* ``butterfly``: sell two calls at ``center`` (e.g. the pin; ATM when None), buy the wings at equal listed
  distances below and above, nearest ``wing_sd`` SDs;
* ``calendar``: sell the front expiry's ATM call, buy the same strike in the back expiry (debit).

A builder returns None when a needed strike is missing or two legs collapse onto one strike; with
``raw=True`` it returns the legs as (side, position, quantity) triples for bulk building.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["QuoteBook", "sd_strike", "iron_condor", "vertical", "butterfly", "calendar"]

_NEED = ("expiry", "strike", "right", "bid", "ask", "forward", "tau")


@dataclass(frozen=True)
class _Side:
    """Tradeable quotes (bid > 0, ask >= bid) of one expiry and right, ascending strikes."""

    expiry: pd.Timestamp
    right: str
    strike: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    z: np.ndarray
    label: np.ndarray  # index labels of the rows in the quotes frame
    forward: float
    tau: float

    def nearest(self, target_sd: float, atm_vol: float) -> int:
        """Position of the strike nearest ``F exp(target_sd atm_vol sqrt(tau))``."""
        target = self.forward * np.exp(target_sd * atm_vol * np.sqrt(self.tau))
        return int(np.argmin(np.abs(self.strike - target)))


class QuoteBook:
    """One snapshot's tradeable quotes split once by (expiry, right) into sorted numpy arrays.

    Every builder accepts either a quotes frame or a ``QuoteBook`` of it; building the book once per
    snapshot keeps many structures on the same chain cheap.
    """

    def __init__(self, quotes: pd.DataFrame | None = None):
        self._cols: dict[str, np.ndarray] = {}
        self._where: dict[tuple[np.int64, str], tuple[int, int]] = {}
        self._made: dict[tuple[np.int64, str], _Side] = {}
        if quotes is not None:
            one = QuoteBook._split(quotes, [])
            if one:
                self._cols, self._where = one[()]._cols, one[()]._where

    @classmethod
    def by_group(cls, quotes: pd.DataFrame, keys: list[str]) -> dict[tuple, QuoteBook]:
        """One book per group of ``keys`` (e.g. trade_date, underlying), sorted and split in one pass."""
        return cls._split(quotes, keys)

    @classmethod
    def _split(cls, quotes: pd.DataFrame, keys: list[str]) -> dict[tuple, QuoteBook]:
        missing = [c for c in _NEED if c not in quotes.columns]
        if missing:
            raise ValueError(f"quotes lack column(s) {missing}")
        ok = ((quotes["bid"] > 0) & (quotes["ask"] >= quotes["bid"])).to_numpy()
        if not ok.any():
            return {}
        sel = np.flatnonzero(ok)
        codes, uniques = zip(*(pd.factorize(quotes[k].to_numpy()[sel]) for k in keys), strict=True) \
            if keys else ((), ())
        uniques = [pd.Index(u) for u in uniques]  # keys come back as Timestamps / str, like the frame's groupby
        grp = np.ravel_multi_index(codes, [len(u) for u in uniques]) if keys else np.zeros(sel.size, int)
        exp = pd.to_datetime(quotes["expiry"]).to_numpy("datetime64[ns]")[sel].astype(np.int64)
        right = quotes["right"].astype(str).to_numpy()[sel]
        strike = quotes["strike"].to_numpy(float)[sel]
        order = np.lexsort((strike, right, exp, grp))
        cols = {c: quotes[c].to_numpy(float)[sel][order] for c in ("bid", "ask", "forward", "tau")}
        cols["z"] = quotes["z"].to_numpy(float)[sel][order] if "z" in quotes.columns else np.full(sel.size, np.nan)
        cols["strike"], cols["label"] = strike[order], quotes.index.to_numpy()[sel][order]
        codes = [c[order] for c in codes]
        grp, exp, right = grp[order], exp[order], right[order]
        side_start = np.flatnonzero(np.r_[True, (grp[1:] != grp[:-1]) | (exp[1:] != exp[:-1])
                                          | (right[1:] != right[:-1])])
        side_end = np.r_[side_start[1:], grp.size]
        g_of_side = grp[side_start]
        g_start = np.flatnonzero(np.r_[True, g_of_side[1:] != g_of_side[:-1]])
        books: dict[tuple, QuoteBook] = {}
        for a, b in zip(g_start, np.r_[g_start[1:], side_start.size], strict=True):  # one per group
            first = side_start[a]
            book = cls()
            book._cols = cols
            book._where = dict(zip(zip(exp[side_start[a:b]].tolist(), right[side_start[a:b]].tolist(), strict=True),
                                   zip(side_start[a:b].tolist(), side_end[a:b].tolist(), strict=True), strict=True))
            books[tuple(u[c[first]] for u, c in zip(uniques, codes, strict=True))] = book
        return books

    def side(self, expiry, right: str) -> _Side | None:
        key = (pd.Timestamp(expiry).value, right)
        if key not in self._made:
            if key not in self._where:
                return None
            a, b = self._where[key]
            c = self._cols
            self._made[key] = _Side(pd.Timestamp(expiry), right, c["strike"][a:b], c["bid"][a:b], c["ask"][a:b],
                                    c["z"][a:b], c["label"][a:b], float(c["forward"][a]), float(c["tau"][a]))
        return self._made[key]


def _book(quotes: pd.DataFrame | QuoteBook) -> QuoteBook:
    return quotes if isinstance(quotes, QuoteBook) else QuoteBook(quotes)


def sd_strike(quotes: pd.DataFrame, expiry, right: str, target_sd: float, atm_vol: float) -> pd.Series | None:
    """The tradeable quote row whose strike is nearest ``F exp(target_sd atm_vol sqrt(tau))`` (None if none)."""
    side = _book(quotes).side(expiry, right)
    if side is None:
        return None
    return quotes.loc[side.label[side.nearest(target_sd, atm_vol)]]


_Leg = tuple[_Side | None, int, int]  # (side, position in it, signed quantity)


def _frame(legs: list[_Leg], raw: bool = False) -> pd.DataFrame | list[_Leg] | None:
    """Legs (right, strike, expiry, quantity, price at the side's bid or ask, row = the quote's index label);
    with ``raw`` the checked (side, position, quantity) triples themselves (for building many at once)."""
    if any(s is None or i < 0 for s, i, _ in legs):
        return None
    keys = {(s.right, float(s.strike[i]), s.expiry) for s, i, _ in legs}
    if len(keys) < len(legs):
        return None
    if raw:
        return legs
    return pd.DataFrame({
        "right": [s.right for s, _, _ in legs], "strike": [float(s.strike[i]) for s, i, _ in legs],
        "expiry": [s.expiry for s, _, _ in legs], "quantity": [q for _, _, q in legs],
        "price": [float(s.ask[i] if q > 0 else s.bid[i]) for s, i, q in legs],
        "row": [s.label[i] for s, i, _ in legs]})


def _at(side: _Side | None, target_sd: float, atm_vol: float) -> tuple[_Side | None, int]:
    return (side, side.nearest(target_sd, atm_vol)) if side is not None else (None, -1)


def iron_condor(quotes: pd.DataFrame | QuoteBook, expiry, atm_vol: float, short_sd: float = 1.0,
                wing_sd: float = 2.0, *, raw: bool = False) -> pd.DataFrame | None:
    """Sell the ``-short_sd`` put and ``+short_sd`` call, buy the ``-wing_sd`` put and ``+wing_sd`` call."""
    if not 0 < short_sd < wing_sd:
        raise ValueError("need 0 < short_sd < wing_sd")
    b = _book(quotes)
    p, c = b.side(expiry, "P"), b.side(expiry, "C")
    return _frame([(*_at(p, -wing_sd, atm_vol), 1), (*_at(p, -short_sd, atm_vol), -1),
                   (*_at(c, short_sd, atm_vol), -1), (*_at(c, wing_sd, atm_vol), 1)], raw)


def vertical(quotes: pd.DataFrame | QuoteBook, expiry, atm_vol: float, kind: str, short_sd: float = 1.0,
             wing_sd: float = 2.0, *, raw: bool = False) -> pd.DataFrame | None:
    """``bull_put`` (sell the ``-short_sd`` put, buy the ``-wing_sd`` put) or ``bear_call`` (the calls)."""
    if kind not in ("bull_put", "bear_call") or not 0 < short_sd < wing_sd:
        raise ValueError("kind must be 'bull_put' or 'bear_call' and 0 < short_sd < wing_sd")
    right, sign = ("P", -1.0) if kind == "bull_put" else ("C", 1.0)
    side = _book(quotes).side(expiry, right)
    return _frame([(*_at(side, sign * short_sd, atm_vol), -1), (*_at(side, sign * wing_sd, atm_vol), 1)], raw)


def butterfly(quotes: pd.DataFrame | QuoteBook, expiry, atm_vol: float, wing_sd: float = 1.0,
              center: float | None = None, *, raw: bool = False) -> pd.DataFrame | None:
    """Long call butterfly: sell two calls at ``center`` (nearest listed strike; ATM if None) and buy the wings
    an equal distance below and above, the listed distance nearest ``wing_sd`` SDs (equal wings keep the loss
    to the debit; None when no listed pair is symmetric)."""
    side = _book(quotes).side(expiry, "C")
    if side is None:
        return None
    c_sd = 0.0 if center is None else float(np.log(center / side.forward) / (atm_vol * np.sqrt(side.tau)))
    mid = side.nearest(c_sd, atm_vol)
    k = side.strike
    k2 = float(k[mid])
    d = k2 - k[k < k2]
    d = d[np.isin(np.round(k2 + d, 6), np.round(k, 6))]  # distances listed on both sides
    if not d.size:
        return None
    want = k2 * (np.exp(wing_sd * atm_vol * np.sqrt(side.tau)) - 1.0)
    dist = float(d[np.argmin(np.abs(d - want))])
    lo, hi = (int(np.flatnonzero(np.isclose(k, k2 + s * dist))[0]) for s in (-1.0, 1.0))
    return _frame([(side, lo, 1), (side, mid, -2), (side, hi, 1)], raw)


def calendar(quotes: pd.DataFrame | QuoteBook, front, back, atm_vol_front: float, *,
             raw: bool = False) -> pd.DataFrame | None:
    """Sell the front expiry's ATM call, buy the back expiry's call at the same strike (None if not listed)."""
    b = _book(quotes)
    f, bk = b.side(front, "C"), b.side(back, "C")
    if f is None or bk is None:
        return None
    i = f.nearest(0.0, atm_vol_front)
    j = np.flatnonzero(np.isclose(bk.strike, f.strike[i]))
    return _frame([(f, i, -1), (bk, int(j[0]) if j.size else -1, 1)], raw)
