"""Point-in-time wing regression per (underlying, target_sd), and its predictions.

``ln(vol(target_sd) / atm_vol) = b0 + b1 sqrt(bdays) + b2 ln(atm_vol) + b3 atm_slope + e``

fitted with statsmodels on the feature rows of a trailing window of exchange sessions that ends
strictly before the fit date, so a model with ``fit_date = d`` uses nothing from ``d`` or later and
may price any snapshot of ``d``. The estimator is OLS by default (``estimator='ols'``); Huber's
robust M-estimator (``'rlm'``) is available. See the README for why OLS: the features are fitted
curves whose bad slices are screened out before the regression (``usable``), the errors are
close to symmetric, and on the simulated market RLM's out-of-sample RMSE was no better at about ten
times the fitting cost.

The SD ``0`` point needs no model: its ratio is 1 by definition (``y = 0``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from volmachine_core.conventions import trading_sessions
from volmachine_core.wing.features import REGRESSORS, design_matrix

__all__ = ["MODEL_VERSION", "COEFFICIENTS", "WING_MODEL_COLUMNS", "WingModelSpec", "fit_wing_models",
           "predict_at"]

MODEL_VERSION = "wing/1"
#: Coefficient names, in design-matrix order.
COEFFICIENTS: tuple[str, ...] = ("const", *REGRESSORS)
WING_MODEL_COLUMNS: tuple[str, ...] = (
    "fit_date", "underlying", "target_sd", "model_id", "model_version", "estimator",
    *(f"b_{c}" for c in COEFFICIENTS), *(f"se_{c}" for c in COEFFICIENTS),
    "r2", "resid_sd", "n_obs", "n_days", "window_start", "window_end", "status",
)


@dataclass(frozen=True)
class WingModelSpec:
    """How the wing model is fitted.

    Attributes
    ----------
    window_days : int
        Trailing window in exchange sessions, ending the session before the fit date.
    min_obs : int
        Minimum usable feature rows in the window for a fit.
    min_days : int
        Minimum distinct trade dates in the window (a few days of curves cannot separate
        ``ln(atm_vol)`` from the constant).
    estimator : str
        'ols' (ordinary least squares) or 'rlm' (Huber M-estimator).
    """

    window_days: int = 60
    min_obs: int = 30
    min_days: int = 10
    estimator: str = "ols"

    def __post_init__(self) -> None:
        if self.estimator not in ("ols", "rlm"):
            raise ValueError(f"estimator must be 'ols' or 'rlm', got {self.estimator!r}")
        if self.window_days < 1 or self.min_obs < len(COEFFICIENTS) + 1 or self.min_days < 1:
            raise ValueError(f"window_days >= 1, min_obs >= {len(COEFFICIENTS) + 1}, min_days >= 1 required: {self}")


def _fit_one(y: np.ndarray, x: np.ndarray, estimator: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Coefficients, standard errors, R^2 and residual SD of one regression."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if estimator == "ols":
            res = sm.OLS(y, x).fit()
            return res.params, res.bse, float(res.rsquared), float(np.sqrt(res.scale))
        res = sm.RLM(y, x, M=sm.robust.norms.HuberT()).fit()
        resid = y - x @ res.params
        r2 = 1.0 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
        return res.params, res.bse, r2, float(res.scale)


def _windows(fit_dates: pd.DatetimeIndex, window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last session of each fit date's trailing window (the last one before the fit date)."""
    lo = fit_dates.min() - pd.Timedelta(days=int(window_days * 1.6) + 15)
    sessions = trading_sessions(lo, fit_dates.max())
    idx = np.searchsorted(sessions.values, fit_dates.values, side="left")
    end = sessions.values[np.maximum(idx - 1, 0)]
    start = sessions.values[np.maximum(idx - window_days, 0)]
    return start, end


def fit_wing_models(features: pd.DataFrame, fit_dates, spec: WingModelSpec = WingModelSpec()) -> pd.DataFrame:
    """Fit the wing regression of every (underlying, target_sd) for every fit date.

    Parameters
    ----------
    features : DataFrame
        ``wing_features`` output (only ``usable`` rows are used; rows on or after a fit date never
        enter its fit).
    fit_dates : sequence of date-like
        Dates the models will predict. Each model's window is ``spec.window_days`` exchange
        sessions ending on the session before the fit date.
    spec : WingModelSpec
        Window, minimum sample and estimator.

    Returns
    -------
    DataFrame
        ``WING_MODEL_COLUMNS``: one row per fit date x underlying x non-zero target SD present in
        ``features``. ``status`` is 'ok', or 'insufficient_data' / 'failed' with NaN coefficients.
        ``model_id`` names the fit (version, estimator, underlying, fit date, window);
        ``window_start``/``window_end`` are the window's first/last session (``window_end < fit_date``).
    """
    fit_dates = pd.DatetimeIndex(pd.to_datetime(list(fit_dates))).normalize().unique().sort_values()
    use = features[features["usable"]]
    if len(fit_dates) == 0 or use.empty:
        return _empty()
    w_start, w_end = _windows(fit_dates, spec.window_days)
    rows = []
    for (und, sd), g in use.groupby(["underlying", "target_sd"], sort=True):
        g = g.sort_values("trade_date", kind="stable")
        days = g["trade_date"].to_numpy(dtype="datetime64[ns]")
        y, x = g["y"].to_numpy(float), design_matrix(g)
        lo = np.searchsorted(days, w_start, side="left")
        hi = np.searchsorted(days, w_end, side="right")
        for j, d in enumerate(fit_dates):
            rows.append(_fit_row(und, float(sd), d, w_start[j], w_end[j], y[lo[j]:hi[j]], x[lo[j]:hi[j]],
                                 days[lo[j]:hi[j]], spec))
    out = pd.DataFrame(rows)
    return out[list(WING_MODEL_COLUMNS)].sort_values(["fit_date", "underlying", "target_sd"]).reset_index(drop=True)


def _fit_row(und: str, sd: float, fit_date: pd.Timestamp, ws, we, y, x, days, spec: WingModelSpec) -> dict:
    n, n_days = len(y), len(np.unique(days))
    row = {"fit_date": fit_date, "underlying": und, "target_sd": sd, "model_version": MODEL_VERSION,
           "estimator": spec.estimator, "n_obs": n, "n_days": n_days, "window_start": pd.Timestamp(ws),
           "window_end": pd.Timestamp(we),
           "model_id": f"{MODEL_VERSION}:{spec.estimator}:{und}:{fit_date:%Y-%m-%d}:{spec.window_days}d"}
    nan = dict.fromkeys([*(f"b_{c}" for c in COEFFICIENTS), *(f"se_{c}" for c in COEFFICIENTS)], np.nan)
    if n < spec.min_obs or n_days < spec.min_days:
        return row | nan | {"r2": np.nan, "resid_sd": np.nan, "status": "insufficient_data"}
    try:
        b, se, r2, resid_sd = _fit_one(y, x, spec.estimator)
    except (np.linalg.LinAlgError, ValueError):
        return row | nan | {"r2": np.nan, "resid_sd": np.nan, "status": "failed"}
    if not np.all(np.isfinite(b)):
        return row | nan | {"r2": np.nan, "resid_sd": np.nan, "status": "failed"}
    coef = {f"b_{c}": float(v) for c, v in zip(COEFFICIENTS, b, strict=True)}
    ses = {f"se_{c}": float(v) for c, v in zip(COEFFICIENTS, se, strict=True)}
    return row | coef | ses | {"r2": r2, "resid_sd": resid_sd, "status": "ok"}


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in WING_MODEL_COLUMNS})
    for c in ("fit_date", "window_start", "window_end"):
        out[c] = pd.Series(dtype="datetime64[ns]")
    for c in ("underlying", "model_id", "model_version", "estimator", "status"):
        out[c] = pd.Series(dtype="object")
    for c in ("n_obs", "n_days"):
        out[c] = pd.Series(dtype="int64")
    return out


def _model_table(models: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Usable fits as one row per (underlying, fit_date), sorted, with their coefficient tensor.

    Returns the key frame (underlying, fit_date, model_id), the sorted non-zero target SDs and
    ``coef[g, s, c]`` (NaN where a target SD has no usable fit on that date).
    """
    ok = models[(models["status"] == "ok").to_numpy(dtype=bool)]
    und = ok["underlying"].astype(str).to_numpy(dtype=str)
    fit = pd.to_datetime(ok["fit_date"]).to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((fit, und))
    und, fit = und[order], fit[order]
    new_group = np.ones(len(order), bool)
    new_group[1:] = (und[1:] != und[:-1]) | (fit[1:] != fit[:-1])
    codes = np.cumsum(new_group) - 1
    sds = np.unique(ok["target_sd"].to_numpy(float))
    coef = np.full((int(new_group.sum()), len(sds), len(COEFFICIENTS)), np.nan)
    b = ok[[f"b_{c}" for c in COEFFICIENTS]].to_numpy(float)[order]
    coef[codes, np.searchsorted(sds, ok["target_sd"].to_numpy(float)[order])] = b
    first = np.flatnonzero(new_group)
    table = pd.DataFrame({"underlying": und[first], "fit_date": fit[first],
                          "model_id": ok["model_id"].to_numpy(object)[order][first]})
    return table, sds, coef


def _lookup(table: pd.DataFrame, underlying: np.ndarray, trade_date: np.ndarray) -> np.ndarray:
    """Row of ``table`` (sorted by underlying, fit_date) with the latest fit at or before each date; -1 if none."""
    names = np.unique(np.concatenate([table["underlying"].to_numpy(str), underlying.astype(str)]))
    t_code = np.searchsorted(names, table["underlying"].to_numpy(str))
    q_code = np.searchsorted(names, underlying.astype(str))
    day = np.int64(86_400 * 10**9)
    t_key = t_code * np.int64(10**6) + table["fit_date"].to_numpy("datetime64[ns]").astype(np.int64) // day
    q_key = q_code * np.int64(10**6) + trade_date.astype("datetime64[ns]").astype(np.int64) // day
    pos = np.searchsorted(t_key, q_key, side="right") - 1
    ok = (pos >= 0) & (t_code[np.maximum(pos, 0)] == q_code) if len(t_key) else np.zeros(len(q_key), bool)
    return np.where(ok, pos, -1)


def predict_at(models: pd.DataFrame, slices: pd.DataFrame, target_sds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted ``ln(vol / atm_vol)`` per slice and target SD from the latest fit at or before its date.

    Parameters
    ----------
    models : DataFrame
        ``fit_wing_models`` rows.
    slices : DataFrame
        underlying, trade_date, bdays, atm_vol, atm_slope per slice.
    target_sds : sequence of float
        Columns of the result; ``0`` gives exactly 0, a target SD without a model NaN.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        ``yhat`` shape ``(n, len(target_sds))``, the fit date (datetime64, NaT when none) and the
        model id (None when none) of each slice.
    """
    table, sds, coef = _model_table(models)
    n = len(slices)
    pos = _lookup(table, slices["underlying"].to_numpy(),
                  pd.to_datetime(slices["trade_date"]).to_numpy("datetime64[ns]"))
    found, p = pos >= 0, np.maximum(pos, 0)
    out = np.full((n, len(target_sds)), np.nan)
    if len(table):
        x = design_matrix(slices)
        for j, s in enumerate(target_sds):
            i = int(np.searchsorted(sds, float(s)))
            if i < len(sds) and sds[i] == float(s):
                out[:, j] = np.where(found, np.einsum("ij,ij->i", x, coef[p, i, :]), np.nan)
        fit = np.where(found, table["fit_date"].to_numpy("datetime64[ns]")[p], np.datetime64("NaT"))
        ids = np.where(found, table["model_id"].to_numpy(object)[p], None)
    else:
        fit, ids = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"), np.full(n, None, dtype=object)
    out[:, [j for j, s in enumerate(target_sds) if float(s) == 0.0]] = 0.0
    return out, fit.astype("datetime64[ns]"), ids
