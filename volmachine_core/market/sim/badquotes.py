"""Bad-quote injection: corrupt a configurable fraction of a clean chain and record the truth.

Kinds (each maps to the :class:`~volmachine_core.market.schema.ReasonCode` an ingest should give):

========================  =========================================================  ================
kind                      what is written                                            reason
========================  =========================================================  ================
``crossed``               bid = ask + 1..3 ticks                                     crossed
``negative_ask``          ask = -(ask)                                               negative_price
``zero_ask``              ask = 0 with a positive bid                                zero_ask
``stale``                 bid/ask of the previous snapshot while spot moved >= 0.5%  stale
``below_intrinsic``       ITM, intrinsic (on spot) >= 2% of spot; ask <= 0.6 x intr. below_intrinsic
``missing_bid``           bid empty                                                  missing_field
``missing_strike``        strike empty                                               missing_field
``missing_expiration``    expiration empty                                           missing_field
``duplicate``             the contract row repeated (the copy appended at the end)   duplicate
========================  =========================================================  ================

Selection is a per-contract keyed uniform, so it does not depend on the requested range. A row's
kind is drawn uniformly; rows not eligible for their kind (e.g. stale on a quiet day) stay clean and
eligible rows are chosen with a correspondingly higher probability, keeping each kind near
``rate / 9`` of the rows whenever it has eligible rows.
"""

from __future__ import annotations

import numpy as np

from volmachine_core.market.schema import ReasonCode
from volmachine_core.market.sim import rng
from volmachine_core.market.sim.chains import floor_tick
from volmachine_core.market.sim.config import UnderlyingSpec

__all__ = ["BAD_KINDS", "BAD_REASONS", "inject_bad_quotes"]

BAD_KINDS: tuple[str, ...] = (
    "crossed",
    "negative_ask",
    "zero_ask",
    "stale",
    "below_intrinsic",
    "missing_bid",
    "missing_strike",
    "missing_expiration",
    "duplicate",
)
BAD_REASONS: dict[str, str] = {
    "crossed": ReasonCode.CROSSED.value,
    "negative_ask": ReasonCode.NEGATIVE_PRICE.value,
    "zero_ask": ReasonCode.ZERO_ASK.value,
    "stale": ReasonCode.STALE.value,
    "below_intrinsic": ReasonCode.BELOW_INTRINSIC.value,
    "missing_bid": ReasonCode.MISSING_FIELD.value,
    "missing_strike": ReasonCode.MISSING_FIELD.value,
    "missing_expiration": ReasonCode.MISSING_FIELD.value,
    "duplicate": ReasonCode.DUPLICATE.value,
}
_STREAM_BAD = rng.name_key("bad_quotes")


def inject_bad_quotes(
    chain: dict[str, np.ndarray],
    spec: UnderlyingSpec,
    seed: int,
    date_key: int,
    time_key: int,
    rate: float,
    spot: float,
    prev: tuple[np.ndarray, np.ndarray, float] | None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Corrupt rows of ``chain`` (a copy is returned) and say which.

    Parameters
    ----------
    chain : dict of ndarray
        Clean chain from :func:`~volmachine_core.market.sim.chains.build_chain`.
    spec : UnderlyingSpec
    seed, date_key, time_key : int
        Keys of the snapshot.
    rate : float
        Target fraction of bad rows.
    spot : float
        Underlying price at the snapshot (intrinsic values use it).
    prev : (ckey, bid_ask, spot) or None
        Previous snapshot's clean quotes (sorted contract keys, (n, 2) bid/ask) and its spot, for
        stale quotes; None on the first snapshot of the path.

    Returns
    -------
    chain : dict of ndarray
        Corrupted chain, with ``missing_strike``/``missing_expiration`` boolean masks and duplicate
        rows appended at the end.
    bad_idx : ndarray of int
        Row positions (in the clean chain) of the corrupted contracts.
    bad_kind : ndarray of str
        Their kinds.
    """
    out = {k: v.copy() for k, v in chain.items()}
    n = len(out["strike"])
    out["missing_strike"] = np.zeros(n, dtype=bool)
    out["missing_expiration"] = np.zeros(n, dtype=bool)
    if rate <= 0 or n == 0:
        return out, np.array([], dtype=np.int64), np.array([], dtype=object)
    hc = rng.hash_keys(chain["ckey"]).view(np.int64)
    u = rng.uniform(hc[:, None], seed, _STREAM_BAD, date_key, time_key, np.arange(3)[None, :])
    kind = np.minimum((u[:, 0] * len(BAD_KINDS)).astype(int), len(BAD_KINDS) - 1)
    bid, ask, K, is_call = out["bid"], out["ask"], out["strike"], out["is_call"]
    intrinsic = np.where(is_call, spot - K, K - spot)
    prev_bid = np.full(n, np.nan)
    prev_ask = np.full(n, np.nan)
    moved = False
    if prev is not None:
        pk, pba, pspot = prev
        moved = abs(spot / pspot - 1.0) >= 0.005
        j = np.searchsorted(pk, chain["ckey"])
        j = np.minimum(j, len(pk) - 1)
        hit = pk[j] == chain["ckey"]
        prev_bid = np.where(hit, pba[j, 0], np.nan)
        prev_ask = np.where(hit, pba[j, 1], np.nan)
    eligible = {
        "crossed": ask > 0,
        "negative_ask": ask > 0,
        "zero_ask": ask > 0,
        "stale": moved & np.isfinite(prev_ask) & ((prev_bid != bid) | (prev_ask != ask)),
        "below_intrinsic": intrinsic >= 0.02 * spot,
        "missing_bid": np.ones(n, dtype=bool),
        "missing_strike": np.ones(n, dtype=bool),
        "missing_expiration": np.ones(n, dtype=bool),
        "duplicate": np.ones(n, dtype=bool),
    }
    chosen = np.zeros(n, dtype=bool)
    for ki, name in enumerate(BAD_KINDS):
        elig = eligible[name]
        frac = elig.mean()
        if frac <= 0:
            continue
        chosen |= (kind == ki) & elig & (u[:, 1] < min(rate / frac, 1.0))
    idx = np.flatnonzero(chosen)
    names = np.asarray(BAD_KINDS, dtype=object)[kind[idx]]
    ticks = 1.0 + np.floor(3.0 * u[:, 2])
    for name in BAD_KINDS:
        m = idx[names == name]
        if len(m) == 0:
            continue
        if name == "crossed":
            bid[m] = np.round(ask[m] + ticks[m] * spec.tick_large, 2)
        elif name == "negative_ask":
            ask[m] = -ask[m]
        elif name == "zero_ask":
            bid[m] = np.maximum(bid[m], spec.tick_small)
            ask[m] = 0.0
        elif name == "stale":
            bid[m], ask[m] = prev_bid[m], prev_ask[m]
        elif name == "below_intrinsic":
            ask[m] = floor_tick(0.6 * intrinsic[m], spec)
            bid[m] = floor_tick(np.maximum(ask[m] - 2.0 * spec.tick_large, 0.0), spec)
        elif name == "missing_bid":
            bid[m] = np.nan
        elif name == "missing_strike":
            out["missing_strike"][m] = True
        elif name == "missing_expiration":
            out["missing_expiration"][m] = True
    dup = idx[names == "duplicate"]
    if len(dup):
        out = {k: np.concatenate([v, v[dup]]) for k, v in out.items()}
    return out, idx, names
