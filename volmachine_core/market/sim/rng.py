"""Counter-based random numbers: a splitmix64 hash of integer keys.

Every random number of the simulator is a pure function of integer keys such as
``(seed, stream, underlying, date, contract, component)``. A value therefore never depends on how
many other values were drawn before it, which makes one day's output independent of the requested
date range and of the order of computation, and lets whole chains be drawn with numpy broadcasting.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtri

__all__ = ["name_key", "date_key", "strike_key", "hash_keys", "uniform", "normal"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def name_key(name: str) -> int:
    """A stable integer key for a string (CRC32), e.g. a stream or underlying name."""
    return zlib.crc32(name.encode("utf-8"))


def date_key(dates) -> np.ndarray:
    """Integer day numbers (days since 1970-01-01) of dates (anything ``datetime64[D]`` accepts)."""
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)


def strike_key(strikes) -> np.ndarray:
    """Integer key of a strike (milli-units), stable for strikes on any listed increment."""
    return np.rint(np.asarray(strikes, dtype=float) * 1000.0).astype(np.int64)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def hash_keys(*keys) -> np.ndarray:
    """Broadcast integer keys and hash them to uint64 (splitmix64 chained over the keys)."""
    arrays = [np.atleast_1d(np.asarray(k, dtype=np.int64)).view(np.uint64) for k in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    h = np.zeros(shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for a in arrays:
            h = _mix(h ^ a)
    return h


def uniform(*keys) -> np.ndarray:
    """Uniform(0, 1) draws (open interval) keyed by integers; shape = broadcast of the keys."""
    h = hash_keys(*keys)
    return ((h >> _S11).astype(np.float64) + 0.5) * (2.0**-53)


def normal(*keys) -> np.ndarray:
    """Standard normal draws keyed by integers (inverse-CDF of :func:`uniform`)."""
    return ndtri(uniform(*keys))
