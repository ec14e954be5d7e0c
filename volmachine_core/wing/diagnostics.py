"""How good is the wing model? Out-of-sample errors against a naive baseline, and planted-bump recovery.

* :func:`out_of_sample`: one-step-ahead errors. For every feature row of a date ``d`` with a model
  fitted for ``d`` (data strictly before ``d``), the model's predicted vol at the target SD against
  the curve's; the baseline predicts yesterday's ratio ``ln(vol/atm_vol)`` of the expiry nearest in
  DTE (usually the same expiry one day older) times today's ATM vol. Errors in vol points.
* :func:`detection_scores`: recall and precision of the mispricing flag against known bumps (the
  simulator's ``sim_truth_mispricings``), on cells (date, underlying, expiry, target SD) whose
  residual is the median over two-sided out-of-the-money options within ``half_width`` SD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from volmachine_core.wing.model import predict_at

__all__ = ["out_of_sample", "oos_summary", "detection_cells", "detection_scores"]

_CELL = ["trade_date", "underlying", "expiry", "target_sd"]


def out_of_sample(features: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """One-step-ahead model and baseline errors per usable feature row that has a model fitted for its date.

    Returns
    -------
    DataFrame
        trade_date, underlying, expiry, target_sd, dte, vol, model_vol, baseline_vol, err_model, err_baseline
        (errors in decimals of vol, ``prediction - curve``; baseline NaN on a first day).
    """
    use = features[features["usable"]].reset_index(drop=True)
    fitted = models[models["status"] == "ok"]
    use = use[use["trade_date"].isin(fitted["fit_date"].unique())].reset_index(drop=True)
    cols = ["trade_date", "underlying", "expiry", "target_sd", "dte", "vol", "atm_vol"]
    if use.empty:
        return pd.DataFrame(columns=[*cols, "model_vol", "baseline_vol", "err_model", "err_baseline"])
    sds = sorted(use["target_sd"].unique())
    yhat, fit_date, _ = predict_at(fitted, use, sds)
    yhat = yhat[np.arange(len(use)), np.searchsorted(sds, use["target_sd"].to_numpy())]
    same_day = fit_date == use["trade_date"].to_numpy("datetime64[ns]")
    out = use[cols].copy()
    out["model_vol"] = np.where(same_day, use["atm_vol"].to_numpy() * np.exp(yhat), np.nan)
    out["baseline_vol"] = use["atm_vol"].to_numpy() * np.exp(_yesterday_ratio(features, use))
    out["err_model"] = out["model_vol"] - out["vol"]
    out["err_baseline"] = out["baseline_vol"] - out["vol"]
    return out[np.isfinite(out["err_model"].to_numpy())].drop(columns="atm_vol").reset_index(drop=True)


def _yesterday_ratio(features: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """``y`` of the previous trade date's expiry nearest in DTE, per row (same underlying and target SD)."""
    feats = features[features["usable"]]
    days = np.sort(feats["trade_date"].unique())
    pos = np.searchsorted(days, rows["trade_date"].to_numpy(), side="left")
    prev = np.where(pos > 0, days[np.maximum(pos - 1, 0)], np.datetime64("NaT"))
    left = rows[["underlying", "target_sd", "dte"]].assign(prev_date=prev, _i=np.arange(len(rows)),
                                                            _dte=rows["dte"].astype(float) + 0.0)
    right = feats[["underlying", "target_sd", "trade_date", "dte", "y"]].rename(columns={"trade_date": "prev_date"})
    right = right.assign(_dte=right["dte"].astype(float)).drop(columns="dte")
    left = left.dropna(subset=["prev_date"]).sort_values("_dte")
    right = right.sort_values("_dte")
    for f in (left, right):
        f["underlying"] = f["underlying"].astype(str).astype(object)
    m = pd.merge_asof(left, right, on="_dte", by=["underlying", "target_sd", "prev_date"], direction="nearest")
    out = np.full(len(rows), np.nan)
    out[m["_i"].to_numpy()] = m["y"].to_numpy(float)
    return out


def oos_summary(oos: pd.DataFrame) -> pd.DataFrame:
    """RMSE in vol points of model and baseline per target SD (rows with both), with their ratio."""
    both = oos.dropna(subset=["err_model", "err_baseline"])
    g = both.groupby("target_sd")
    out = pd.DataFrame({
        "n": g.size(),
        "rmse_model_vp": 100 * np.sqrt(g["err_model"].apply(lambda e: np.mean(e**2))),
        "rmse_baseline_vp": 100 * np.sqrt(g["err_baseline"].apply(lambda e: np.mean(e**2))),
    })
    out["model_over_baseline"] = out["rmse_model_vp"] / out["rmse_baseline_vp"]
    return out.reset_index()


def detection_cells(theos: pd.DataFrame, target_sds, *, half_width: float = 0.25, min_abs_sd: float = 1.0,
                    flag_vol: float = 0.01) -> pd.DataFrame:
    """Median residual per (trade_date, underlying, expiry, target SD) and the mispricing flag.

    Options counted: status 'ok', inside the model's DTE range, two-sided (a bid vol exists) and out of
    the money, with ``|z - target_sd| <= half_width``; target SDs with ``|sd| >= min_abs_sd``. A cell
    is flagged when ``|median residual| >= flag_vol`` (decimal vol; 0.01 = 1 vol point).
    """
    call = theos["right"].to_numpy() == "C"
    k_over_f = theos["strike"].to_numpy(float) / theos["forward"].to_numpy(float)
    otm = np.where(call, k_over_f >= 1.0, k_over_f < 1.0)
    keep = ((theos["status"] == "ok").to_numpy() & theos["in_dte_range"].to_numpy(bool) & otm
            & np.isfinite(theos["iv_bid"].to_numpy(float)))
    t = theos[keep]
    sds = np.array([s for s in sorted(target_sds) if abs(s) >= min_abs_sd])
    z = t["z"].to_numpy(float)
    j = np.clip(np.searchsorted(sds, z), 1, len(sds) - 1) if len(sds) > 1 else np.zeros(len(z), int)
    near = np.where(np.abs(z - sds[j - 1]) < np.abs(z - sds[j]), j - 1, j) if len(sds) > 1 else j
    sd = sds[near]
    inside = np.abs(z - sd) <= half_width
    cells = (t[inside].assign(target_sd=sd[inside]).groupby(_CELL, observed=True)["residual"]
             .agg(residual="median", n_options="size").reset_index())
    cells["flag"] = cells["residual"].abs() >= flag_vol
    return cells


def detection_scores(cells: pd.DataFrame, planted: pd.DataFrame, *, min_shift: float = 0.015,
                     reach_sd: float = 0.5) -> dict:
    """Recall and precision of flagged cells against planted bumps.

    Parameters
    ----------
    cells : DataFrame
        :func:`detection_cells` output.
    planted : DataFrame
        trade_date, underlying, expiry, target_sd, vol_shift (decimal) of the planted bumps.
    min_shift : float
        Bumps at least this large (decimal vol) are the ones that must be found.
    reach_sd : float
        A flag counts as correct when a planted bump of the same (date, underlying, expiry) is centred
        within this many SDs with the sign the flag shows (a bump a few tenths of an SD wide moves the
        neighbouring target SD too); ``precision_strict`` requires the same target SD.

    Returns
    -------
    dict
        n_planted (bumps >= min_shift on dates and expiries with cells), n_found (flagged at their own
        cell with the bump's sign), recall; n_observable and recall_observable (only bumps whose own
        cell has options: a bump beyond the listed or two-sided strikes cannot be seen); n_flags,
        precision, precision_strict, flag_rate.
    """
    key = ["trade_date", "underlying", "expiry"]
    cells = cells.copy()
    planted = planted[planted["vol_shift"].abs() >= min_shift].copy()
    for f in (cells, planted):
        f["trade_date"] = pd.to_datetime(f["trade_date"]).astype("datetime64[ns]")
        f["expiry"] = pd.to_datetime(f["expiry"]).dt.normalize().astype("datetime64[ns]")
        f["underlying"] = f["underlying"].astype(str)
        f["target_sd"] = f["target_sd"].astype(float)
    covered = planted.merge(cells[key].drop_duplicates(), on=key, how="inner")
    hit = covered.merge(cells, on=_CELL, how="left")
    found = hit["flag"].fillna(False).astype(bool) & (np.sign(hit["residual"]) == np.sign(hit["vol_shift"]))
    flags = cells[cells["flag"]]
    near = flags.merge(planted[[*key, "target_sd", "vol_shift"]].rename(columns={"target_sd": "bump_sd"}),
                       on=key, how="left")
    same_sign = np.sign(near["vol_shift"]) == np.sign(near["residual"])
    near["strict"] = (near["bump_sd"] == near["target_sd"]) & same_sign
    near["ok"] = ((near["bump_sd"] - near["target_sd"]).abs() <= reach_sd) & same_sign
    per_flag = near.groupby(_CELL)[["strict", "ok"]].any()
    n_flags = len(flags)
    seen = hit["residual"].notna().to_numpy()
    return {
        "n_planted": len(covered), "n_found": int(found.sum()),
        "recall": float(found.mean()) if len(covered) else float("nan"),
        "n_observable": int(seen.sum()),
        "recall_observable": float(found[seen].mean()) if seen.any() else float("nan"),
        "n_flags": n_flags,
        "precision": float(per_flag["ok"].mean()) if n_flags else float("nan"),
        "precision_strict": float(per_flag["strict"].mean()) if n_flags else float("nan"),
        "flag_rate": float(cells["flag"].mean()) if len(cells) else float("nan"),
    }
