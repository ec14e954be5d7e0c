"""Group-wise array helpers: dense group ids, first rows, sums, medians, ranks and a many-to-one row match.

What pandas ``groupby``/``merge`` do, on integer codes from one ``pd.factorize`` per key column, so a
snapshot of tens of thousands of quotes costs array operations and no per-group Python work. Groups
are numbered ``0 .. n - 1``; missing keys form their own group, as ``dropna=False`` would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numba import njit

__all__ = ["group_first_rows", "group_ids", "group_median", "group_rank_first", "group_sum", "match_rows"]


def group_ids(frame: pd.DataFrame | Mapping[str, object], keys: Sequence[str]) -> tuple[np.ndarray, int]:
    """Dense group ids of ``frame`` rows by ``keys``, numbered in sorted key order.

    The same numbering as ``frame.groupby(keys, sort=True, dropna=False).ngroup()`` (missing keys form
    their own group, sorted last within a level), from one ``pd.factorize`` per key column and integer
    arithmetic on the codes (no per-group Python work).

    Parameters
    ----------
    frame : DataFrame or mapping of column name to 1-d array
        Rows to group.
    keys : sequence of str
        Key columns, most significant first.

    Returns
    -------
    gid : ndarray of int64, shape ``(len(frame),)``
        Group of each row, ``0 .. n_groups - 1``.
    n_groups : int
        Number of groups (0 for an empty frame).
    """
    n_rows = len(frame[keys[0]])
    if not n_rows:
        return np.zeros(0, dtype=np.int64), 0
    code = np.zeros(n_rows, dtype=np.int64)
    size = 1
    for c in keys:
        cc, uniq = pd.factorize(frame[c], sort=True, use_na_sentinel=False)
        if size * len(uniq) >= 2**62:  # re-densify before the combined code could overflow
            code, levels = pd.factorize(code, sort=True)
            size = len(levels)
        code = code * len(uniq) + cc
        size *= len(uniq)
    gid, levels = pd.factorize(code, sort=True)
    return gid.astype(np.int64, copy=False), len(levels)


def group_first_rows(gid: np.ndarray, n: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Row index of the first row (optionally the first ``valid`` row) of each group; -1 where none.

    Parameters
    ----------
    gid : ndarray of int
        Group of each row, ``0 .. n - 1``.
    n : int
        Number of groups.
    valid : ndarray of bool, optional
        Rows allowed to be picked (e.g. non-missing values).
    """
    rows = np.arange(gid.size) if valid is None else np.flatnonzero(valid)
    order = rows[np.argsort(gid[rows], kind="stable")]
    gs = gid[order]
    start = np.searchsorted(gs, np.arange(n), side="left")
    have = start < gs.size
    have[have] = gs[start[have]] == np.arange(n)[have]
    out = np.full(n, -1, dtype=np.int64)
    out[have] = order[start[have]]
    return out


def group_sum(g: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Per-group sum of ``v``; groups are 0..n-1."""
    return np.bincount(g, weights=v, minlength=n)


@njit(cache=True, nogil=True)
def _gmedian_kernel(g, v, n):  # pragma: no cover - compiled
    """Per-group median of the non-NaN ``v`` (counting sort into segments, then quickselect medians)."""
    start = np.zeros(n + 1, dtype=np.int64)
    for i in range(g.size):
        if not np.isnan(v[i]):
            start[g[i] + 1] += 1
    for j in range(n):
        start[j + 1] += start[j]
    buf = np.empty(start[n])
    pos = start[:n].copy()
    for i in range(g.size):
        if not np.isnan(v[i]):
            buf[pos[g[i]]] = v[i]
            pos[g[i]] += 1
    out = np.full(n, np.nan)
    for j in range(n):
        if start[j + 1] > start[j]:
            out[j] = np.median(buf[start[j]:start[j + 1]])
    return out


def group_median(g: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Per-group median of ``v`` skipping NaN (NaN for empty groups); groups are 0..n-1."""
    return _gmedian_kernel(np.asarray(g, dtype=np.int64), np.asarray(v, dtype=float), int(n))


def group_rank_first(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rank of ``v`` within its group, 1-based, ties in row order; NaN for NaN values.

    Equals ``pd.Series(v).groupby(g).rank(method="first")``: a stable lexsort by (group, value) puts
    NaN last in each group, so the ranks of the other values are unaffected.
    """
    order = np.lexsort((v, g))
    gs = g[order]
    rank = np.empty(v.size)
    rank[order] = np.arange(v.size) - np.searchsorted(gs, gs, side="left") + 1.0
    rank[np.isnan(v)] = np.nan
    return rank


def match_rows(left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, bool]:
    """Row of ``right`` matching each row of ``left`` on ``keys``: a many-to-one left join's row index.

    Parameters
    ----------
    left, right : DataFrame
        Frames holding the ``keys`` columns; ``right`` keys are cast to ``left``'s dtypes first (as a
        merge on mixed dtypes would need). Missing keys match missing keys, as in ``DataFrame.merge``.
    keys : sequence of str
        Join columns.

    Returns
    -------
    rows : ndarray of int64, shape ``(len(left),)``
        Position in ``right`` of each left row's match, -1 where there is none.
    unique : bool
        Whether ``right`` has at most one row per key (when False, ``rows`` points at one of them).

    Notes
    -----
    One ``pd.factorize`` of each key column on both sides and a hash lookup of the (few) left levels
    in the right ones; the per-column codes combine into one integer key, matched by binary search.
    """
    lcode = np.zeros(len(left), dtype=np.int64)
    rcode = np.zeros(len(right), dtype=np.int64)
    missing = np.zeros(len(left), dtype=bool)
    size = 1  # codes are < size on both sides
    for c in keys:
        rc, levels = pd.factorize(right[c].astype(left[c].dtype), use_na_sentinel=False)
        lcodes, llevels = pd.factorize(left[c], use_na_sentinel=False)
        lc = pd.Index(levels).get_indexer(llevels)[lcodes]
        missing |= lc < 0
        n_levels = max(len(levels), 1)
        if size * n_levels >= 2**62:  # re-densify before the combined codes could overflow
            both, uniq = pd.factorize(np.concatenate([rcode, lcode]))
            rcode, lcode, size = both[:len(right)].astype(np.int64), both[len(right):].astype(np.int64), len(uniq)
        rcode = rcode * n_levels + rc
        lcode = lcode * n_levels + np.maximum(lc, 0)
        size *= n_levels
    order = np.argsort(rcode, kind="stable")
    rs = rcode[order]
    unique = bool(rs.size < 2 or np.all(rs[1:] != rs[:-1]))
    pos = np.minimum(np.searchsorted(rs, lcode), max(rs.size - 1, 0))
    found = ~missing & (rs.size > 0)
    if rs.size:
        found &= rs[pos] == lcode
    return np.where(found, order[pos] if rs.size else -1, -1).astype(np.int64), unique
