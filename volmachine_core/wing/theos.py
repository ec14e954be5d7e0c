"""Wing theos: model vol, residual, PnL theo, ATM vega hedge and slega of every option in a snapshot.

Conventions (per option; vols decimals, money per unit of underlying unless named per contract):

* ``model_vol = atm_vol * exp(yhat(z))``: ``yhat`` is the wing model's predicted ``ln(vol/atm_vol)``
  at the target SDs, interpolated monotonically (PCHIP) in SD moneyness ``z`` (see
  :func:`model_ratio` beyond the outer target SDs); ``atm_vol`` and ``z`` are the snapshot's market
  curve's.
* ``residual = market_vol - model_vol`` with ``market_vol`` the mid implied vol. Positive: the option
  is rich against the model.
* ``half_spread_vol = (iv_ask - iv_bid) / 2`` (or the half price spread over vega when there is no
  bid vol); ``residual_beyond_spread = sign(residual) * max(|residual| - half_spread_vol, 0)``.
* ``pnl_theo = -vega * residual * multiplier``: expected PnL per contract for a **buyer** when the
  vol returns to the model (a vol 0.02 too high is worth ``vega * 0.02`` to a seller, i.e. a negative
  theo for the buyer). ``theo_price`` is the Black-76 price at the model vol.
* ATM vega hedge: per (snapshot, underlying, expiry, right) of an expiry with a fitted curve, the
  listed strike nearest the forward with a positive vega is the ATM option; ``atm_hedge_ratio =
  vega / atm_vega`` ATM options are sold per option bought, so the pair is exposed only to the
  wing-minus-ATM vol spread; ``hedge_delta =
  -atm_hedge_ratio * atm_delta`` is that hedge's delta, and ``net_delta = delta + hedge_delta`` is
  what the underlying hedge offsets. Deltas are discounted forward deltas ``dV/dF``.
* ``slega``: value change per +1 vol point per SD of ``atm_slope`` (bump the market vol to
  ``vol +- 0.01 z`` and revalue, central difference), per unit of underlying.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.groups import match_rows
from volmachine_core.interp import hermite_eval, pchip_slopes
from volmachine_core.pricing import black76_price
from volmachine_core.wing.model import predict_at

__all__ = ["WING_THEO_COLUMNS", "SLEGA_BUMP", "model_ratio", "slice_index", "slice_predictions", "wing_theos"]

#: Slope bump of ``slega``: one vol point per SD.
SLEGA_BUMP = 0.01
_SLICE = ["snapshot_id", "underlying", "expiry"]
#: Columns copied from ``strike_vols`` as they are (text and tz-aware timestamps).
_PASS_THROUGH = ("snapshot_id", "underlying", "expiry_ts", "right")
WING_THEO_COLUMNS: tuple[str, ...] = (
    "snapshot_id", "trade_date", "underlying", "expiry", "expiry_ts", "strike", "right", "multiplier", "tau",
    "forward", "discount_factor", "z", "bid", "ask", "mid", "iv_bid", "iv_ask", "market_vol", "atm_vol",
    "model_vol", "residual", "half_spread_vol", "residual_beyond_spread", "vega", "delta", "pnl_theo",
    "theo_price", "atm_strike", "atm_vega", "atm_hedge_ratio", "hedge_delta", "net_delta", "slega",
    "in_dte_range", "fit_date", "model_id", "status",
)


def _slices(curve_params: pd.DataFrame) -> pd.DataFrame:
    s = curve_params[[*_SLICE, "tau", "bdays", "atm_vol", "atm_slope", "forward"]]
    s = s.assign(expiry=pd.to_datetime(s["expiry"]).dt.normalize(), trade_date=_trade_dates(s["snapshot_id"]))
    dup = s.duplicated(_SLICE).to_numpy()
    return s[~dup].reset_index(drop=True) if dup.any() else s.reset_index(drop=True)


def slice_predictions(curve_params: pd.DataFrame, models: pd.DataFrame, target_sds) -> tuple[pd.DataFrame, np.ndarray]:
    """Slices of ``curve_params`` with their latest model and predicted ln-ratios at ``target_sds``.

    Returns the slice frame (``snapshot_id, underlying, expiry, tau, bdays, atm_vol, atm_slope,
    forward, trade_date, fit_date, model_id``) and the ``(n_slices, len(target_sds))`` prediction matrix (NaN
    rows where no model exists at or before the slice's trade date).
    """
    sl = _slices(curve_params)
    yhat, fit, ids = predict_at(models, sl, target_sds)
    return sl.assign(fit_date=fit, model_id=ids), yhat


def model_ratio(sds: np.ndarray, yhat: np.ndarray, rows: np.ndarray, z: np.ndarray, nu: int = 0) -> np.ndarray:
    """Model ``ln(vol / atm_vol)`` (or its ``nu``-th derivative in ``z``) of slice ``rows[i]`` at ``z[i]``.

    PCHIP through the predicted ratios at the target SDs ``sds`` (rows of ``yhat``). Beyond the outer
    target SDs the ratio continues linearly with the end slope when that slope rises outward (the
    wings keep their steepness) and flat otherwise, so the extrapolated vol never falls outward.
    """
    d = pchip_slopes(sds, yhat)
    out = hermite_eval(sds, yhat, d, rows, z, nu=nu)
    left_slope, right_slope = np.minimum(d[rows, 0], 0.0), np.maximum(d[rows, -1], 0.0)
    left, right = z < sds[0], z > sds[-1]
    if nu == 0:
        return out + np.where(left, left_slope * (z - sds[0]), 0.0) + np.where(right, right_slope * (z - sds[-1]), 0.0)
    if nu == 1:
        return out + np.where(left, left_slope, 0.0) + np.where(right, right_slope, 0.0)
    return out


def wing_theos(strike_vols: pd.DataFrame, curve_params: pd.DataFrame, models: pd.DataFrame, *,
               target_sds, dte_range: tuple[int, int] | None = None) -> pd.DataFrame:
    """Theos of every option with a market vol in ``strike_vols``.

    Parameters
    ----------
    strike_vols : DataFrame
        ``strike_vols`` rows with ``z`` (snapshot_id, underlying, expiry, expiry_ts, strike, right,
        multiplier, tau, forward, discount_factor, bid, ask, mid, iv_bid, iv_mid, iv_ask, vega, delta, z).
    curve_params : DataFrame
        The same snapshots' ``curve_params`` (bdays, atm_vol, atm_slope per slice).
    models : DataFrame
        ``wing_model`` rows; each snapshot uses the latest fit dated at or before its trade date.
    target_sds : sequence of float
        Knots of the model curve (must include 0).
    dte_range : (int, int), optional
        The model's calendar-DTE range; ``in_dte_range`` flags options inside it (outside it the
        model extrapolates in ``sqrt(bdays)``).

    Returns
    -------
    DataFrame
        ``WING_THEO_COLUMNS``, one row per option with a finite mid vol; ``status`` is 'ok',
        'no_model' (no fit yet for the underlying) or 'no_curve' (the expiry has no fitted curve).
    """
    sds = np.asarray(sorted(float(s) for s in target_sds))
    if 0.0 not in sds:
        raise ValueError("target_sds must include 0 (the ATM anchor)")
    need = ["snapshot_id", "underlying", "expiry", "expiry_ts", "strike", "right", "multiplier", "tau", "forward",
            "discount_factor", "bid", "ask", "iv_bid", "iv_mid", "iv_ask", "vega", "delta", "z"]
    missing = [c for c in need if c not in strike_vols.columns]
    if missing:
        raise ValueError(f"strike_vols lacks column(s) {missing}")
    sv = strike_vols[np.isfinite(strike_vols["iv_mid"].to_numpy(float))]
    if sv.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in WING_THEO_COLUMNS})
    sl, yhat = slice_predictions(curve_params, models, sds)
    text = sv[list(_PASS_THROUGH)].reset_index(drop=True)          # kept as pandas columns (strings, tz-aware)
    o = {c: sv[c].to_numpy(dtype=float) for c in need if c not in _PASS_THROUGH and c != "expiry"}
    o["expiry"] = pd.to_datetime(sv["expiry"]).dt.normalize().to_numpy("datetime64[ns]")
    o["trade_date"] = _trade_dates(text["snapshot_id"])
    o["is_call"] = (text["right"] == "C").to_numpy(dtype=bool)
    o["mid"] = 0.5 * (o["bid"] + o["ask"])
    slice_no = slice_index(sl, text["snapshot_id"], text["underlying"], o["expiry"])
    if sl.empty:  # no fitted curve at all: one NaN slice every option points at
        sl = pd.DataFrame({"atm_vol": [np.nan], "fit_date": [np.datetime64("NaT", "ns")], "model_id": [None]})
        yhat = np.full((1, len(sds)), np.nan)
    has_curve = slice_no >= 0
    row = np.maximum(slice_no, 0)
    o["atm_vol"] = np.where(has_curve, sl["atm_vol"].to_numpy(float)[row], np.nan)
    o["fit_date"] = np.where(has_curve, sl["fit_date"].to_numpy("datetime64[ns]")[row], np.datetime64("NaT"))
    o["model_id"] = np.where(has_curve, sl["model_id"].to_numpy(object)[row], None)
    yq = model_ratio(sds, np.nan_to_num(yhat, nan=0.0), row, o["z"])
    modelled = has_curve & np.isfinite(yhat[row]).all(axis=1)
    o["model_vol"] = np.where(modelled, o["atm_vol"] * np.exp(yq), np.nan)
    o["status"] = np.where(~has_curve, "no_curve", np.where(modelled, "ok", "no_model"))
    _add_values(o)
    _add_hedges(o, slice_no)
    dte = (o["expiry"] - o["trade_date"]).astype("timedelta64[D]").astype(np.int64)
    lo, hi = dte_range if dte_range is not None else (-np.inf, np.inf)
    o["in_dte_range"] = (dte >= lo) & (dte <= hi)
    o["market_vol"] = o.pop("iv_mid")
    out = pd.concat([text, pd.DataFrame({c: o[c] for c in WING_THEO_COLUMNS if c not in _PASS_THROUGH})], axis=1)
    return out[list(WING_THEO_COLUMNS)]


def _trade_dates(snapshot_id: pd.Series) -> np.ndarray:
    """Trade date (datetime64[ns]) of each snapshot id 'YYYY-MM-DDTHHMM', parsed once per distinct id."""
    codes, uniq = pd.factorize(snapshot_id)
    days = pd.to_datetime(pd.Index(uniq).astype(str).str.slice(0, 10)).to_numpy("datetime64[ns]")
    return days[codes]


def slice_index(sl: pd.DataFrame, snapshot_id: pd.Series, underlying: pd.Series, expiry: np.ndarray) -> np.ndarray:
    """Row of ``sl`` (frame with snapshot_id, underlying, expiry) of each option; -1 when absent."""
    left = pd.DataFrame({"snapshot_id": pd.Series(snapshot_id).reset_index(drop=True),
                         "underlying": pd.Series(underlying).reset_index(drop=True),
                         "expiry": np.asarray(expiry, dtype="datetime64[ns]")})
    right = sl[_SLICE].assign(expiry=pd.to_datetime(sl["expiry"]).to_numpy("datetime64[ns]"))
    return match_rows(left, right, _SLICE)[0]


def _add_values(o: dict) -> None:
    """Residuals, spread in vol, PnL theo, theo price and slega (added to ``o``)."""
    F, K, tau, D = o["forward"], o["strike"], o["tau"], o["discount_factor"]
    call = o["is_call"]
    mkt, mdl, vega, z = o["iv_mid"], o["model_vol"], o["vega"], o["z"]
    res = mkt - mdl
    with np.errstate(divide="ignore", invalid="ignore"):
        by_vol = 0.5 * (o["iv_ask"] - o["iv_bid"])
        by_price = 0.5 * (o["ask"] - o["bid"]) / np.where(vega > 0, vega, np.nan)
    half = np.where(np.isfinite(by_vol), by_vol, by_price)
    o["residual"] = res
    o["half_spread_vol"] = half
    o["residual_beyond_spread"] = np.sign(res) * np.maximum(np.abs(res) - half, 0.0)
    o["pnl_theo"] = -vega * res * o["multiplier"]
    ok = np.isfinite(mdl) & (mdl > 0)
    o["theo_price"] = np.where(ok, black76_price(F, K, tau, np.where(ok, mdl, 0.2), D, call), np.nan)
    up = np.maximum(mkt + SLEGA_BUMP * z, 1e-4)
    dn = np.maximum(mkt - SLEGA_BUMP * z, 1e-4)
    o["slega"] = 0.5 * (black76_price(F, K, tau, up, D, call) - black76_price(F, K, tau, dn, D, call))


def _add_hedges(o: dict, slice_row: np.ndarray) -> None:
    """ATM option per (slice, right), vega hedge ratio and hedge delta (added to ``o``).

    ``slice_row`` is each option's slice number (-1 without a curve); the ATM option of a (slice,
    right) is the one with a positive vega whose strike is nearest the forward in log terms.
    """
    vega, delta = o["vega"], o["delta"]
    group = slice_row * 2 + o["is_call"]
    eligible = (slice_row >= 0) & np.isfinite(vega) & (vega > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.abs(np.log(o["strike"] / o["forward"]))
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((dist[idx], group[idx]))]
    groups, first = np.unique(group[order], return_index=True)
    atm = np.full(len(vega), -1)
    if len(groups):
        pos = np.minimum(np.searchsorted(groups, group), len(groups) - 1)
        atm = np.where(groups[pos] == group, order[first][pos], -1)
    has, a = atm >= 0, np.maximum(atm, 0)
    o["atm_strike"] = np.where(has, o["strike"][a], np.nan)
    o["atm_vega"] = np.where(has, vega[a], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = vega / o["atm_vega"]
    o["atm_hedge_ratio"] = ratio
    o["hedge_delta"] = -ratio * np.where(has, delta[a], np.nan)
    o["net_delta"] = delta + o["hedge_delta"]
