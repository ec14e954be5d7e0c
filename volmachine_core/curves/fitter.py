"""``fit_curves``: per-expiry smile fits for a ``strike_vols`` frame, arbitrage repair, SD-space outputs.

One loop over slices (``(snapshot_id, underlying, expiry_ts)``); everything per quote is vectorised and
each SVI fit is a compiled quasi-explicit calibration (``volmachine_core.curves.fit``). No exception
escapes for a bad slice: it falls back (previous snapshot's SVI, else a total-variance spline) and the
``model``, ``status`` and ``reason`` columns say what happened.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from volmachine_core.conventions import business_days
from volmachine_core.curves.arbitrage import (
    G_TOL,
    N_GRID,
    W_TOL,
    check_grid,
    min_calendar_gap,
    min_durrleman_g,
    repair_butterfly,
    repair_calendar,
)
from volmachine_core.curves.fit import (
    MIN_POINTS,
    SliceData,
    fit_spline_slice,
    fit_svi_slice,
    prepare_slice,
    scale_previous,
)
from volmachine_core.curves.sd_space import SVI_MODELS, TARGET_SDS, atm_vol_slope, curve_vol, sd_to_k, total_variance
from volmachine_core.curves.svi import durrleman_g, svi_derivatives, svi_total_variance
from volmachine_core.groups import group_first_rows, group_ids

__all__ = ["CurveFits", "fit_curves", "REQUIRED_COLUMNS", "CURVE_PARAMS_COLUMNS", "CURVE_POINTS_COLUMNS"]

REQUIRED_COLUMNS = ("snapshot_id", "underlying", "expiry_ts", "tau", "forward", "k", "iv_mid", "iv_status", "otm")
_KEYS = ["snapshot_id", "underlying", "expiry_ts"]
#: Per-slice columns taken from the first quote of each slice.
_HEAD_COLUMNS = ("snapshot_id", "underlying", "expiry", "expiry_ts", "tau", "forward")
CURVE_PARAMS_COLUMNS = (
    "snapshot_id", "underlying", "expiry", "expiry_ts", "tau", "bdays", "forward", "atm_vol", "atm_slope",
    "rmse_vol", "wrmse_vol", "inside_share", "n_points", "n_trimmed", "arb_free", "butterfly_ok", "calendar_ok",
    "butterfly_repaired", "calendar_repaired", "arb_in_data", "min_g", "min_calendar_gap", "model", "status", "reason",
    "a", "b", "rho", "m", "sigma", "params",
)
CURVE_POINTS_COLUMNS = ("snapshot_id", "underlying", "expiry", "expiry_ts", "target_sd", "k", "strike", "vol")


@dataclass(frozen=True)
class CurveFits:
    """Result of ``fit_curves``.

    Attributes
    ----------
    curve_params : pandas.DataFrame
        One row per (snapshot_id, underlying, expiry_ts); columns ``CURVE_PARAMS_COLUMNS``.
    curve_points : pandas.DataFrame
        One row per (snapshot_id, underlying, expiry_ts, target_sd); columns ``CURVE_POINTS_COLUMNS``.
    seconds : float
        Wall time of the fit.
    """

    curve_params: pd.DataFrame
    curve_points: pd.DataFrame
    seconds: float = field(default=0.0)

    def summary(self) -> dict:
        """Counts and quality figures for asset metadata (plain Python types)."""
        cp = self.curve_params
        return {
            "n_slices": int(len(cp)),
            "n_svi": int((cp["model"] == "svi").sum()),
            "n_fallback": int(cp["model"].isin(["svi_previous", "spline"]).sum()),
            "n_no_model": int((cp["model"] == "none").sum()),
            "n_repaired": int((cp["butterfly_repaired"] | cp["calendar_repaired"]).sum()),
            "n_not_arb_free": int((~cp["arb_free"]).sum()),
            "median_rmse_vol": float(cp["rmse_vol"].median()) if len(cp) else float("nan"),
            "median_inside_share": float(cp["inside_share"].median()) if len(cp) else float("nan"),
            "seconds": float(self.seconds),
        }


def _usable(sv: pd.DataFrame) -> np.ndarray:
    """OTM, status ok, finite positive mid vol (< 10), finite k, positive tau."""
    with np.errstate(invalid="ignore"):
        iv = sv["iv_mid"].to_numpy(dtype=float)
        codes, levels = pd.factorize(sv["iv_status"])  # few distinct values: test their text only
        ok = np.isin(codes, np.flatnonzero(pd.Index(levels).astype(str).str.lower().isin(["ok", "0"])))
        return (
            ok & sv["otm"].fillna(False).to_numpy(dtype=bool) & np.isfinite(iv) & (iv > 0) & (iv < 10.0)
            & np.isfinite(sv["k"].to_numpy(dtype=float)) & (sv["tau"].to_numpy(dtype=float) > 0)
        )


def _col(sv: pd.DataFrame, name: str) -> np.ndarray:
    return sv[name].to_numpy(dtype=float) if name in sv.columns else np.full(len(sv), np.nan)


def _previous_lookup(previous: pd.DataFrame | None) -> dict:
    if previous is None or len(previous) == 0:
        return {}
    prev = previous.sort_values("snapshot_id") if "snapshot_id" in previous.columns else previous
    out = {}
    for und, ts, tau, params in zip(prev["underlying"], pd.to_datetime(prev["expiry_ts"], utc=True), prev["tau"],
                                    prev["params"], strict=True):
        try:
            out[(und, ts)] = (json.loads(params), float(tau))
        except (TypeError, ValueError):
            continue
    return out


def _fallback(d: SliceData, prev: tuple | None, reason: str) -> tuple[dict | None, str]:
    if prev is not None:
        p = scale_previous(prev[0], prev[1], d.tau)
        if p is not None:
            return p, reason
    try:
        return fit_spline_slice(d), reason
    except (ValueError, np.linalg.LinAlgError) as exc:  # scipy refuses degenerate data
        return None, f"{reason}; spline_failed:{exc}"


def _slice_stats(params: dict | None, d: SliceData, kept: np.ndarray) -> tuple[float, float, float]:
    """Unweighted and weighted vol RMSE and share inside [bid, ask] on the kept points."""
    if params is None or d.n == 0 or not kept.any():
        return np.nan, np.nan, np.nan
    mv = curve_vol(params, d.k[kept], tau=d.tau)
    r = mv - d.vol[kept]
    wv = (d.om * (2.0 * d.vol * d.tau) ** 2)[kept]
    bid = np.where(np.isfinite(d.bid[kept]), d.bid[kept], 0.0)
    ask = np.where(np.isfinite(d.ask[kept]), d.ask[kept], np.inf)
    with np.errstate(invalid="ignore"):
        inside = (mv >= bid - 1e-12) & (mv <= ask + 1e-12)
        return (float(np.sqrt(np.nanmean(r * r))), float(np.sqrt(np.nansum(wv * r * r) / np.sum(wv))),
                float(np.mean(inside)))


_SVI_NAMES = ("a", "b", "rho", "m", "sigma")


def _svi_rows(params: list[dict | None]) -> tuple[np.ndarray, np.ndarray]:
    """Raw SVI parameters as an ``(N, 5)`` matrix (NaN rows for non-SVI entries) and the SVI mask."""
    mat = np.full((len(params), 5), np.nan)
    is_svi = np.zeros(len(params), dtype=bool)
    for i, p in enumerate(params):
        if p is not None and p.get("model") in SVI_MODELS:
            mat[i] = [float(p[name]) for name in _SVI_NAMES]
            is_svi[i] = True
    return mat, is_svi


def _cols(mat: np.ndarray) -> tuple[np.ndarray, ...]:
    """The five SVI parameter columns of ``mat`` shaped ``(N, 1)`` to broadcast against ``(N, n)`` grids."""
    return tuple(mat[:, j][:, None] for j in range(5))


def _atm_batch(results: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """``atm_vol_slope`` of every slice at its ``d.tau`` (NaN without parameters), SVI slices in one pass.

    The same formulas as ``sd_space.atm_vol_slope``: ``atm_vol = sqrt(w(0) / tau)``,
    ``atm_slope = w'(0) / (2 sqrt(tau))``, NaN unless ``w(0) > 0`` and ``tau > 0``.
    """
    n = len(results)
    av, sl = np.full(n, np.nan), np.full(n, np.nan)
    mat, svi = _svi_rows([r["params"] for r in results])
    if svi.any():
        tau = np.array([r["d"].tau for r in results], dtype=float)[svi]
        w0, w1, _ = svi_derivatives(0.0, *(mat[svi, j] for j in range(5)))
        ok = (w0 > 0.0) & (tau > 0.0)
        t = np.where(ok, tau, 1.0)
        av[svi] = np.where(ok, np.sqrt(np.where(ok, w0, 1.0) / t), np.nan)
        sl[svi] = np.where(ok, w1 / (2.0 * np.sqrt(t)), np.nan)
    for i in np.flatnonzero(~svi):
        if results[i]["params"] is not None:
            av[i], sl[i] = atm_vol_slope(results[i]["params"], results[i]["d"].tau)
    return av, sl


def _min_g_batch(params: list[dict | None], grids: list[np.ndarray | None]) -> np.ndarray:
    """``min_durrleman_g(params[i], grids[i])`` for every slice (NaN without parameters).

    SVI slices whose grids share a length are evaluated as one ``(N, n)`` array; others one by one.
    """
    out = np.full(len(params), np.nan)
    mat, svi = _svi_rows(params)
    sizes = np.array([g.size if g is not None else -1 for g in grids])
    batch = svi & (sizes == N_GRID)
    if batch.any():
        gk = np.stack([grids[i] for i in np.flatnonzero(batch)])
        w, w1, w2 = svi_derivatives(gk, *_cols(mat[batch]))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            g = durrleman_g(gk, w, w1, w2)
        out[batch] = np.min(np.where(np.isnan(g), -np.inf, g), axis=1)
    for i in np.flatnonzero(~batch):
        if params[i] is not None:
            out[i] = min_durrleman_g(params[i], grids[i])
    return out


def _stats_batch(results: list[dict]) -> np.ndarray:
    """``_slice_stats`` of every slice as an ``(N, 3)`` array; SVI slices from one concatenated pass.

    Per-slice sums are ``np.bincount`` segment sums over the concatenated kept quotes (the same
    formulas, summed in another order: equal to ``_slice_stats`` up to rounding).
    """
    n = len(results)
    out = np.full((n, 3), np.nan)
    mat, svi = _svi_rows([r["params"] for r in results])
    idx = [i for i in np.flatnonzero(svi) if results[i]["d"].n and results[i]["kept"].any()]
    for i in range(n):
        if not svi[i]:
            r = results[i]
            out[i] = _slice_stats(r["params"], r["d"], r["kept"])
    if not idx:
        return out
    ds = [results[i]["d"] for i in idx]
    kp = [results[i]["kept"] for i in idx]
    counts = np.array([int(m.sum()) for m in kp])
    seg = np.repeat(np.arange(len(idx)), counts)
    k = np.concatenate([d.k[m] for d, m in zip(ds, kp, strict=True)])
    vol = np.concatenate([d.vol[m] for d, m in zip(ds, kp, strict=True)])
    wv = np.concatenate([(d.om * (2.0 * d.vol * d.tau) ** 2)[m] for d, m in zip(ds, kp, strict=True)])
    bid = np.concatenate([d.bid[m] for d, m in zip(ds, kp, strict=True)])
    ask = np.concatenate([d.ask[m] for d, m in zip(ds, kp, strict=True)])
    tau = np.array([d.tau for d in ds], dtype=float)[seg]
    w = svi_total_variance(k, *(mat[idx, j][seg] for j in range(5)))
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (w > 0.0) & (tau > 0.0)  # curve_vol
        mv = np.where(ok, np.sqrt(np.where(ok, w, 1.0) / np.where(tau > 0.0, tau, 1.0)), np.nan)
        r = mv - vol
        rr = r * r
        wrr = wv * r * r
        n_fin = np.bincount(seg, weights=~np.isnan(rr), minlength=len(idx))  # np.nanmean's count
        rmse = np.sqrt(np.bincount(seg, weights=np.where(np.isnan(rr), 0.0, rr), minlength=len(idx)) / n_fin)
        wrmse = np.sqrt(np.bincount(seg, weights=np.where(np.isnan(wrr), 0.0, wrr), minlength=len(idx))
                        / np.bincount(seg, weights=wv, minlength=len(idx)))
        bid = np.where(np.isfinite(bid), bid, 0.0)
        ask = np.where(np.isfinite(ask), ask, np.inf)
        inside = (mv >= bid - 1e-12) & (mv <= ask + 1e-12)
    out[idx, 0] = np.where(n_fin > 0, rmse, np.nan)
    out[idx, 1] = wrmse
    out[idx, 2] = np.bincount(seg, weights=inside, minlength=len(idx)) / counts
    return out


def _pair_gaps(results: list[dict], pairs: list[tuple[int, int]],
               grids: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``min_calendar_gap`` of each (later, earlier) pair on its (data, wide) grids: an ``(M, 2)`` array.

    Pairs of two SVI slices whose grids have the full 100 points are evaluated in one pass; the
    rest one by one.
    """
    out = np.full((len(pairs), 2), np.nan)
    if not pairs:
        return out
    late, late_svi = _svi_rows([results[s]["params"] for s, _ in pairs])
    early, early_svi = _svi_rows([results[e]["params"] for _, e in pairs])
    full = np.array([g.size == 100 and wd.size == 100 for g, wd in grids], dtype=bool)
    batch = late_svi & early_svi & full
    if batch.any():
        for j, pick in enumerate((0, 1)):
            gk = np.stack([grids[i][pick] for i in np.flatnonzero(batch)])
            out[batch, j] = np.min(svi_total_variance(gk, *_cols(late[batch]))
                                   - svi_total_variance(gk, *_cols(early[batch])), axis=1)
    for i in np.flatnonzero(~batch):
        s, e = pairs[i]
        for j in (0, 1):
            out[i, j] = min_calendar_gap(results[s]["params"], results[e]["params"], grids[i][j])
    return out


def fit_curves(strike_vols: pd.DataFrame, previous: pd.DataFrame | None = None,
               target_sds=TARGET_SDS) -> CurveFits:
    """Fit one smile per (snapshot, underlying, expiry) and evaluate it in SD space.

    Parameters
    ----------
    strike_vols : pandas.DataFrame
        One row per option with at least ``REQUIRED_COLUMNS`` (``k = ln(K/F)``, ``tau`` ACT/365 years,
        vols as decimals, ``otm`` the preferred side); optional ``expiry``, ``iv_bid``, ``iv_ask``,
        ``spread_vol``. Fitted quotes: ``otm & iv_status == 'ok' & finite iv_mid``; quotes without a bid
        (``iv_bid`` NaN or 0) are left out when the slice has at least ``MIN_POINTS`` two-sided quotes, since
        their mid (half the ask) is biased high and carries no fair-value information.
    previous : pandas.DataFrame, optional
        An earlier ``curve_params`` frame; a slice that cannot be SVI-fitted reuses its SVI parameters for the
        same (underlying, expiry_ts), rescaled to keep vol per ``k`` (``model = 'svi_previous'``).
    target_sds : sequence of float
        SD moneyness points ``z`` for ``curve_points`` (default -3 to 3 in 0.5 steps).

    Returns
    -------
    CurveFits
        ``curve_params`` and ``curve_points`` frames (see ``CurveFits``).

    Raises
    ------
    ValueError
        If a required column is missing (bad data inside a slice never raises).

    Notes
    -----
    Raw SVI per slice (Gatheral and Jacquier 2014) fitted by the Zeliade (2009) quasi-explicit method;
    Durrleman's ``g >= 0`` checked on 200 points over ``+-max(3 SD, data range)`` and repaired by penalised
    refit; calendar ``w(k, T2) >= w(k, T1)`` checked on consecutive slices and repaired on the later one.
    ``arb_free = butterfly_ok & calendar_ok`` describes the final curve; ``butterfly_repaired`` and
    ``calendar_repaired`` say the fitted curve was changed to remove arbitrage anywhere on the check grid;
    ``arb_in_data`` (and ``status == 'repaired'``) flags arbitrage found inside the quoted strike range, i.e.
    in the market data rather than in extrapolation (where repairs only regularise the wings).
    """
    t0 = time.perf_counter()
    missing = [c for c in REQUIRED_COLUMNS if c not in strike_vols.columns]
    if missing:
        raise ValueError(f"strike_vols: missing required columns {missing}")
    sv = strike_vols.reset_index(drop=True)
    expiry_ts = pd.to_datetime(sv["expiry_ts"], utc=True)
    gid, n_slices = group_ids({"snapshot_id": sv["snapshot_id"], "underlying": sv["underlying"],
                               "expiry_ts": expiry_ts}, _KEYS)
    first = group_first_rows(gid, n_slices)
    head = pd.DataFrame({c: (expiry_ts if c == "expiry_ts" else sv[c]).array.take(first)
                         for c in _HEAD_COLUMNS if c in sv.columns})
    use = _usable(sv)
    rows = np.flatnonzero(use)
    rows = rows[np.argsort(gid[rows], kind="stable")]
    offsets = np.searchsorted(gid[rows], np.arange(n_slices + 1))
    k_all, vol_all = sv["k"].to_numpy(float)[rows], sv["iv_mid"].to_numpy(float)[rows]
    bid_all, ask_all, spr_all = (_col(sv, c)[rows] for c in ("iv_bid", "iv_ask", "spread_vol"))
    tau_s = head["tau"].to_numpy(float)
    prev_lookup = _previous_lookup(previous)
    prev_keys = list(zip(head["underlying"].tolist(), head["expiry_ts"].tolist(), strict=True)) if prev_lookup else []

    results = []
    for s in range(n_slices):
        sl = slice(offsets[s], offsets[s + 1])
        tau = tau_s[s] if np.isfinite(tau_s[s]) and tau_s[s] > 0 else np.nan
        two_sided = np.isfinite(bid_all[sl]) & (bid_all[sl] > 0)
        sel = two_sided if two_sided.sum() >= MIN_POINTS else np.ones(two_sided.size, dtype=bool)
        d = prepare_slice(k_all[sl][sel], vol_all[sl][sel], bid_all[sl][sel], ask_all[sl][sel], spr_all[sl][sel],
                          tau if tau > 0 else 1.0)
        prev = prev_lookup.get(prev_keys[s]) if prev_lookup else None
        kept = np.ones(d.n, dtype=bool)
        if not tau > 0:
            params, reason = None, "invalid_tau"
        else:
            try:
                fit = fit_svi_slice(d)
            except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
                fit = None
                reason = f"fit_error:{exc}"
            if fit is not None and fit.ok:
                params = {"model": "svi", **dict(zip(("a", "b", "rho", "m", "sigma"), map(float, fit.params),
                                                     strict=True))}
                kept, reason = fit.kept, ""
            else:
                params, reason = _fallback(d, prev, fit.reason if fit is not None else reason)
        results.append({"d": d, "params": params, "kept": kept, "reason": reason, "bf_rep": False,
                        "cal_rep": False, "min_g": np.nan, "gap": np.nan, "gk": None, "in_data": False})

    _butterfly_pass(results)
    _calendar_pass(results, head)
    cp = _params_frame(head, results)
    pts = _points_frame(cp, target_sds)
    return CurveFits(cp, pts, time.perf_counter() - t0)


def _sd_k(params: dict | None, tau: float) -> float:
    av, _ = atm_vol_slope(params, tau) if params is not None and tau > 0 else (np.nan, np.nan)
    return av * np.sqrt(tau) if np.isfinite(av) else 0.1


def _butterfly_pass(results: list[dict]) -> None:
    av, _ = _atm_batch(results)
    for i, r in enumerate(results):
        if r["params"] is not None:
            r["gk"] = check_grid(r["d"].k, av[i] * np.sqrt(r["d"].tau) if np.isfinite(av[i]) else 0.1)
    min_g = _min_g_batch([r["params"] for r in results], [r["gk"] for r in results])
    for i, r in enumerate(results):
        p, d = r["params"], r["d"]
        if p is None:
            continue
        r["min_g"] = float(min_g[i])
        if r["min_g"] < -G_TOL and p["model"] == "svi":
            p2, method = repair_butterfly(d, r["kept"], p, r["gk"])
            r["bf_rep"] = True
            r["in_data"] = d.n > 1 and min_durrleman_g(p, np.linspace(d.k[0], d.k[-1], 100)) < -G_TOL
            where = "data" if r["in_data"] else "extrapolation"
            r["reason"] = ";".join(x for x in (r["reason"], f"butterfly_repair:{method}:{where}") if x)
            r["params"] = p2
            r["gk"] = check_grid(d.k, _sd_k(p2, d.tau))
            r["min_g"] = min_durrleman_g(p2, r["gk"])


def _calendar_pass(results: list[dict], head: pd.DataFrame) -> None:
    order = np.lexsort((head["tau"].to_numpy(float), head["underlying"].astype(str).to_numpy(),
                        head["snapshot_id"].astype(str).to_numpy()))
    curve_keys = list(zip(head["snapshot_id"].tolist(), head["underlying"].tolist(), strict=True))
    # consecutive (later, earlier) slices with parameters per (snapshot, underlying), in tau order
    pairs: list[tuple[int, int]] = []
    prev_key, early = None, None
    for s in order:
        key = curve_keys[s]
        if key != prev_key:
            prev_key, early = key, None
        if results[s]["params"] is None:
            continue
        if early is not None:
            pairs.append((int(s), early))
        early = int(s)
    # Calendar arbitrage is judged where both slices are quoted (a calendar spread trades at listed
    # strikes); a crossing only in extrapolated wings is noted in `reason`, not repaired.
    grids = [(_calendar_grid(results[s], results[e]), _overlap(results[s]["gk"], results[e]["gk"])) for s, e in pairs]
    gaps = _pair_gaps(results, pairs, grids)  # with the parameters before any calendar repair
    repaired: set[int] = set()
    for (s, e), (gk, wide), (gap, gap_wide) in zip(pairs, grids, gaps, strict=True):
        r, early = results[s], results[e]
        if e in repaired:  # the earlier slice changed since the batch evaluation
            gap = min_calendar_gap(r["params"], early["params"], gk)
            gap_wide = min_calendar_gap(r["params"], early["params"], wide)
        if gap_wide < -W_TOL <= gap:
            r["reason"] = ";".join(x for x in (r["reason"], "calendar_crossing_in_extrapolation") if x)
        if gap < -W_TOL:
            lo = max(r["d"].k[0], early["d"].k[0]) if min(r["d"].n, early["d"].n) else 0.0
            hi = min(r["d"].k[-1], early["d"].k[-1]) if min(r["d"].n, early["d"].n) else 0.0
            in_data = hi > lo and min_calendar_gap(r["params"], early["params"], np.linspace(lo, hi, 100)) < -W_TOL
            r["in_data"] = r["in_data"] or in_data
            p2, method = repair_calendar(r["d"], r["kept"], r["params"], early["params"], gk, r["gk"])
            where = "data" if in_data else "extrapolation"
            if _repair_keeps_fit(r, p2):
                r["cal_rep"] = True
                r["reason"] = ";".join(x for x in (r["reason"], f"calendar_repair:{method}:{where}") if x)
                r["params"] = p2
                r["min_g"] = min_durrleman_g(p2, r["gk"])
                gap = min_calendar_gap(p2, early["params"], gk)
                repaired.add(s)
            else:  # the repair would move the slice off its own quotes: keep the fit, flag the arbitrage
                r["reason"] = ";".join(x for x in (r["reason"], f"calendar_unrepaired:{where}") if x)
        r["gap"] = float(gap)


def _overlap(a: np.ndarray, b: np.ndarray, n: int = 100) -> np.ndarray:
    lo, hi = max(a[0], b[0]), min(a[-1], b[-1])
    return np.linspace(lo, hi, n) if hi > lo else np.zeros(1)


def _calendar_grid(r: dict, early: dict) -> np.ndarray:
    """k grid of the calendar check: the overlap of both slices' quoted ranges.

    A slice without quotes (fallback) contributes its +-3 SD check grid instead.
    """
    ranges = []
    for x in (r, early):
        d = x["d"]
        ranges.append(np.array([d.k[0], d.k[-1]]) if d is not None and d.n >= 2 else x["gk"][[0, -1]])
    return _overlap(ranges[0], ranges[1])


#: A repair may raise the fit's RMSE to at most this multiple of the original (plus a small floor).
MAX_REPAIR_RMSE_RATIO = 1.5
REPAIR_RMSE_FLOOR = 0.0025


def _repair_keeps_fit(r: dict, new_params: dict) -> bool:
    """Whether repaired parameters still fit the slice's quotes about as well as the original fit.

    A calendar repair that has to lift a slice well away from its market (because an earlier slice
    is itself off, or the data really cross) is refused: the fitted curve stays and the slice is
    reported with ``calendar_ok = False`` rather than replaced by a curve no quote supports.
    """
    d, kept = r["d"], r["kept"]
    if d is None or kept is None or not d.n or not np.any(kept):
        return True
    k, vol = d.k[kept], d.vol[kept]
    with np.errstate(invalid="ignore", divide="ignore"):
        old = np.sqrt(np.maximum(total_variance(r["params"], k), 0.0) / d.tau)
        new = np.sqrt(np.maximum(total_variance(new_params, k), 0.0) / d.tau)
    rmse_old = float(np.sqrt(np.nanmean((old - vol) ** 2)))
    rmse_new = float(np.sqrt(np.nanmean((new - vol) ** 2)))
    return rmse_new <= MAX_REPAIR_RMSE_RATIO * rmse_old + REPAIR_RMSE_FLOOR


def _status(r: dict) -> str:
    p = r["params"]
    if p is None:
        return "no_data"
    if p["model"] != "svi":
        return "fallback"
    if not (r["min_g"] >= -G_TOL and not (r["gap"] < -W_TOL)):
        return "arbitrage"
    return "repaired" if r["in_data"] else "ok"


def _params_frame(head: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """``curve_params`` from the per-slice heads and fit results (columns ``CURVE_PARAMS_COLUMNS``)."""
    n = len(results)
    if "expiry" in head.columns:
        expiry = head["expiry"].to_numpy()
    else:
        expiry = head["expiry_ts"].dt.tz_convert("America/New_York").dt.date.to_numpy()
    quote = pd.to_datetime(head["snapshot_id"].astype(str).str[:10], errors="coerce")
    exp_d = pd.to_datetime(pd.Series(expiry).astype(str), errors="coerce")
    valid = (quote.notna() & exp_d.notna()).to_numpy()
    bd = pd.array([pd.NA] * n, dtype="Int64")
    if valid.any():
        bd[valid] = business_days(quote[valid].to_numpy(), exp_d[valid].to_numpy())
    av, sl = _atm_batch(results)
    rm, wrm, ins = _stats_batch(results).T
    min_g = np.array([r["min_g"] for r in results], dtype=float)
    gap = np.array([r["gap"] for r in results], dtype=float)
    has = np.array([r["params"] is not None for r in results], dtype=bool)
    butterfly_ok = has & (min_g >= -G_TOL)
    calendar_ok = has & ~(gap < -W_TOL)
    svi = [r["params"] if r["params"] is not None and r["params"]["model"] in SVI_MODELS else None for r in results]
    cols = {
        "snapshot_id": head["snapshot_id"].array,
        "underlying": head["underlying"].array,
        "expiry": expiry,
        "expiry_ts": head["expiry_ts"].array,
        "tau": head["tau"].to_numpy(),
        "bdays": bd,
        "forward": head["forward"].to_numpy(),
        "atm_vol": av, "atm_slope": sl, "rmse_vol": rm, "wrmse_vol": wrm, "inside_share": ins,
        "n_points": np.array([int(r["kept"].sum()) for r in results], dtype=np.int64),
        "n_trimmed": np.array([int((~r["kept"]).sum()) for r in results], dtype=np.int64),
        "arb_free": butterfly_ok & calendar_ok,
        "butterfly_ok": butterfly_ok,
        "calendar_ok": calendar_ok,
        "butterfly_repaired": np.array([r["bf_rep"] for r in results], dtype=bool),
        "calendar_repaired": np.array([r["cal_rep"] for r in results], dtype=bool),
        "arb_in_data": np.array([r["in_data"] for r in results], dtype=bool),
        "min_g": min_g,
        "min_calendar_gap": gap,
        "model": [r["params"]["model"] if r["params"] is not None else "none" for r in results],
        "status": [_status(r) for r in results],
        "reason": [r["reason"] for r in results],
        **{name: np.array([float(p[name]) if p is not None else np.nan for p in svi], dtype=float)
           for name in ("a", "b", "rho", "m", "sigma")},
        "params": [json.dumps(r["params"] if r["params"] is not None else {"model": "none"}) for r in results],
    }
    return pd.DataFrame(cols)


def _points_frame(cp: pd.DataFrame, target_sds) -> pd.DataFrame:
    z = np.asarray(target_sds, dtype=float)
    n, m = len(cp), z.size
    tau = cp["tau"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        k = sd_to_k(z[None, :], cp["atm_vol"].to_numpy(float)[:, None], tau[:, None])
        vol = curve_vol(cp, np.where(np.isfinite(k), k, 0.0), tau=np.where(tau > 0, tau, np.nan))
    vol = np.where(np.isfinite(k), vol, np.nan)
    rep = np.repeat(np.arange(n), m)
    pts = {c: cp[c].array.take(rep) for c in ("snapshot_id", "underlying", "expiry", "expiry_ts")}
    pts["target_sd"] = np.tile(z, n)
    pts["k"] = k.reshape(-1)
    pts["strike"] = (cp["forward"].to_numpy(float)[:, None] * np.exp(k)).reshape(-1)
    pts["vol"] = vol.reshape(-1)
    return pd.DataFrame(pts)  # CURVE_POINTS_COLUMNS order
