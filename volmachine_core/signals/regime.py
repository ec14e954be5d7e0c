"""Market regime per (trade_date, underlying): five states from transparent rules with hysteresis.

States (the seed's VolMachine): ``LOW_VOL_GRIND`` (low vol, steady drift), ``HIGH_VOL_PANIC`` (elevated
vol, sharp moves), ``TREND_UP``, ``TREND_DOWN``, ``CHOP`` (sideways, vol near its norm).

Features (point-in-time, each row uses its session and earlier ones):

* ``term = ln(iv_30d / iv_180d)``: how far 30-day constant-maturity ATM vol stands above the 180-day
  one. Long-dated vol sits near the underlying's long-run level, so ``term`` measures the current vol
  state against its norm without needing a long history (about -0.1 in calm markets, above +0.1 in panic);
* ``trend_t = ln(C_t / C_{t-20}) / (rv sqrt(20/252))``: the 20-session return in units of its own
  realised standard deviation (a t-statistic of the drift);
* context shown with the regime: realised vol (Yang-Zhang, 20 sessions) and its percentile over the
  trailing year, 30-day ATM vol and its percentile, 5-session momentum.

Rules, first match wins (thresholds in ``settings.yaml: signals``):

1. ``term >= panic_term`` -> HIGH_VOL_PANIC;
2. ``term >= down_term`` -> TREND_DOWN (vol well above its norm and the curve flattening or inverted);
3. ``term > calm_term`` -> CHOP (vol near its norm);
4. ``trend_t >= up_trend_t`` -> TREND_UP, else LOW_VOL_GRIND (vol below its norm).

Hysteresis: the held regime changes only after ``confirm_days`` consecutive sessions agree on the same
new state (``panic_confirm_days`` for entering panic, so a crash is recognised at once). Confidence is
``0.5 + 0.5 (1 - exp(-margin / scale))`` with ``margin`` the deciding feature's distance from its nearest
threshold (scale ``term_scale`` for term, ``trend_scale`` for trend_t) when the day's raw state agrees
with the held one, and one minus that when it disagrees (the held state is under review).

By default every underlying takes the regime of the market reference (the universe's index): the
simulated market, like the real one, has one market-wide regime, and the index's features measure it
with the least idiosyncratic noise. Each row's ``features`` keep the underlying's own numbers as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from volmachine_core.signals.history import trailing_percentile

__all__ = ["REGIMES", "REGIME_STRUCTURES", "RegimeSpec", "regime_features", "classify_raw", "apply_hysteresis",
           "classify_regimes", "REGIME_COLUMNS", "confusion_matrix"]

REGIMES = ("LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TREND_UP", "TREND_DOWN", "CHOP")
#: Structure families each regime favours (DESIGN.md, from the seed's VolMachine).
REGIME_STRUCTURES = {
    "LOW_VOL_GRIND": "iron condors and butterflies",
    "HIGH_VOL_PANIC": "reduced exposure, wide defined-risk spreads only",
    "TREND_UP": "bull put spreads",
    "TREND_DOWN": "bear call spreads",
    "CHOP": "neutral spreads (iron condors)",
}
REGIME_COLUMNS = ("trade_date", "underlying", "regime", "confidence", "raw_regime", "pending_regime",
                  "pending_days", "reference", "term", "trend_t", "features")
FEATURE_COLUMNS = ("rv", "rv_pct", "iv_30d", "iv_180d", "iv30_pct", "term", "ret20", "trend_t", "mom_5")


@dataclass(frozen=True)
class RegimeSpec:
    """Regime thresholds (units in the module docstring) and hysteresis."""

    panic_term: float = 0.11
    down_term: float = 0.06
    calm_term: float = -0.05
    up_trend_t: float = 2.0
    confirm_days: int = 3
    panic_confirm_days: int = 1
    term_scale: float = 0.05
    trend_scale: float = 1.0
    trend_days: int = 20
    pct_window: int = 252
    pct_min_obs: int = 20

    def __post_init__(self) -> None:
        if not self.calm_term < self.down_term < self.panic_term:
            raise ValueError(f"regime thresholds must satisfy calm_term < down_term < panic_term, got "
                             f"{self.calm_term}, {self.down_term}, {self.panic_term}")
        if self.confirm_days < 1 or self.panic_confirm_days < 1:
            raise ValueError("confirm_days and panic_confirm_days must be >= 1")
        if self.term_scale <= 0 or self.trend_scale <= 0 or self.trend_days < 2:
            raise ValueError("term_scale and trend_scale must be > 0 and trend_days >= 2")


def regime_features(rv: pd.DataFrame, cm: pd.DataFrame, spec: RegimeSpec = RegimeSpec()) -> pd.DataFrame:
    """Regime features per (trade_date, underlying) from realised vols and constant-maturity ATM vols.

    Parameters
    ----------
    rv : DataFrame
        ``realized_vol`` output: trade_date, underlying, close, rv_yz (annual, decimal).
    cm : DataFrame
        ``cm_atm_vols`` output with tenors 30 and 180 days: trade_date, underlying, iv_30d, iv_180d.

    Returns
    -------
    DataFrame
        trade_date, underlying and :data:`FEATURE_COLUMNS`, sorted by underlying and date; rows where
        either input is missing carry NaN in the features that need it.
    """
    for name, df, cols in (("rv", rv, ("trade_date", "underlying", "close", "rv_yz")),
                           ("cm", cm, ("trade_date", "underlying", "iv_30d", "iv_180d"))):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"regime_features: {name} lacks column(s) {missing}")
    left = rv[["trade_date", "underlying", "close", "rv_yz"]].assign(trade_date=lambda d: pd.to_datetime(d.trade_date))
    right = cm[["trade_date", "underlying", "iv_30d", "iv_180d"]].assign(
        trade_date=lambda d: pd.to_datetime(d.trade_date))
    f = left.merge(right, on=["trade_date", "underlying"], how="outer").sort_values(["underlying", "trade_date"])
    f = f.reset_index(drop=True).rename(columns={"rv_yz": "rv"})
    g = f.groupby("underlying", sort=False)["close"]
    n = spec.trend_days
    f["ret20"] = np.log(f["close"] / g.shift(n))
    f["mom_5"] = np.log(f["close"] / g.shift(5))
    with np.errstate(divide="ignore", invalid="ignore"):
        f["trend_t"] = f["ret20"] / (f["rv"] * np.sqrt(n / 252.0))
        f["term"] = np.log(f["iv_30d"] / f["iv_180d"])
    f["rv_pct"] = trailing_percentile(f, "rv", spec.pct_window, spec.pct_min_obs)
    f["iv30_pct"] = trailing_percentile(f, "iv_30d", spec.pct_window, spec.pct_min_obs)
    return f[["trade_date", "underlying", *FEATURE_COLUMNS]]


def classify_raw(term, trend_t, spec: RegimeSpec = RegimeSpec()) -> tuple[np.ndarray, np.ndarray]:
    """The day's state by the rules alone, and its confidence (module docstring).

    Missing ``term`` gives ``""`` (no state); missing ``trend_t`` counts as no trend.
    """
    term = np.asarray(term, dtype=float)
    t = np.nan_to_num(np.asarray(trend_t, dtype=float), nan=0.0)
    raw = np.select([term >= spec.panic_term, term >= spec.down_term, term > spec.calm_term, t >= spec.up_trend_t],
                    ["HIGH_VOL_PANIC", "TREND_DOWN", "CHOP", "TREND_UP"], "LOW_VOL_GRIND").astype(object)
    raw[~np.isfinite(term)] = ""
    edges = np.array([spec.calm_term, spec.down_term, spec.panic_term])
    term_margin = np.min(np.abs(np.nan_to_num(term)[:, None] - edges[None, :]), axis=1) / spec.term_scale
    low = term <= spec.calm_term
    trend_margin = np.abs(t - spec.up_trend_t) / spec.trend_scale
    margin = np.where(low, np.minimum(term_margin, trend_margin), term_margin)
    conf = 0.5 + 0.5 * (1.0 - np.exp(-margin))
    return raw, np.where(raw == "", np.nan, conf)


def apply_hysteresis(underlying, raw, raw_conf, spec: RegimeSpec = RegimeSpec(),
                     initial: dict[str, tuple[str, str, int]] | None = None) -> pd.DataFrame:
    """Held regime per row from raw states in date order per underlying.

    Parameters
    ----------
    underlying, raw, raw_conf : array_like
        One entry per row, rows in date order within each underlying.
    initial : dict, optional
        ``underlying -> (regime, pending_regime, pending_days)`` held before the first row (the stored
        state of the previous session, so a re-run of one day continues the same chain).

    Returns
    -------
    DataFrame with regime, confidence, pending_regime, pending_days aligned with the input rows. A row
    with no raw state keeps the held regime; before any state is known the first raw state is taken.
    """
    und = np.asarray(underlying, dtype=object)
    raw = np.asarray(raw, dtype=object)
    conf = np.asarray(raw_conf, dtype=float)
    n = len(raw)
    regime = np.empty(n, dtype=object)
    pending = np.empty(n, dtype=object)
    days = np.zeros(n, dtype=int)
    out_conf = np.full(n, np.nan)
    state = dict(initial or {})
    for i in range(n):  # sequential by nature: one step per session and underlying
        held, cand, k = state.get(und[i], ("", "", 0))
        r = raw[i]
        if r and not held:
            held, cand, k = r, "", 0
        elif r and r != held:
            k = k + 1 if r == cand else 1
            cand = r
            need = spec.panic_confirm_days if r == "HIGH_VOL_PANIC" else spec.confirm_days
            if k >= need:
                held, cand, k = r, "", 0
        elif r:
            cand, k = "", 0
        state[und[i]] = (held, cand, k)
        regime[i], pending[i], days[i] = held, cand, k
        if r:
            out_conf[i] = conf[i] if r == held else 1.0 - conf[i]
    return pd.DataFrame({"regime": regime, "confidence": out_conf, "pending_regime": pending, "pending_days": days})


def classify_regimes(features: pd.DataFrame, spec: RegimeSpec = RegimeSpec(), reference: str | None = None,
                     initial: dict[str, tuple[str, str, int]] | None = None) -> pd.DataFrame:
    """Regime per (trade_date, underlying) with confidence and the features used.

    Parameters
    ----------
    features : DataFrame
        :func:`regime_features` output.
    reference : str, optional
        Underlying whose ``term`` and ``trend_t`` decide every underlying's regime (the market
        reference); None classifies each underlying on its own features. Dates where the reference has
        no features fall back to the underlying's own.
    initial : dict, optional
        Held state before the first date (see :func:`apply_hysteresis`).

    Returns
    -------
    DataFrame with :data:`REGIME_COLUMNS`; ``features`` is a dict per row (own features, the reference's
    deciding features and the thresholds), ``term``/``trend_t`` are the deciding values.
    """
    f = features.sort_values(["underlying", "trade_date"]).reset_index(drop=True)
    term, trend = f["term"].to_numpy(float), f["trend_t"].to_numpy(float)
    ref_name = np.full(len(f), "own", dtype=object)
    if reference is not None:
        ref = f[f["underlying"] == reference].set_index("trade_date")[["term", "trend_t"]]
        rt = ref["term"].reindex(f["trade_date"]).to_numpy(float)
        rr = ref["trend_t"].reindex(f["trade_date"]).to_numpy(float)
        use = np.isfinite(rt)
        term, trend = np.where(use, rt, term), np.where(use, rr, trend)
        ref_name[use] = reference
    raw, conf = classify_raw(term, trend, spec)
    held = apply_hysteresis(f["underlying"].to_numpy(), raw, conf, spec, initial)
    thresholds = {"panic_term": spec.panic_term, "down_term": spec.down_term, "calm_term": spec.calm_term,
                  "up_trend_t": spec.up_trend_t, "confirm_days": spec.confirm_days}
    own = f[list(FEATURE_COLUMNS)].to_dict("records")
    feats = [{**o, "decided_by": r, "decision_term": t, "decision_trend_t": tr, "thresholds": thresholds}
             for o, r, t, tr in zip(own, ref_name, term, trend, strict=True)]
    out = pd.DataFrame({"trade_date": f["trade_date"], "underlying": f["underlying"], "regime": held["regime"],
                        "confidence": held["confidence"], "raw_regime": raw, "pending_regime": held["pending_regime"],
                        "pending_days": held["pending_days"], "reference": ref_name, "term": term, "trend_t": trend,
                        "features": feats})
    return out[out["regime"] != ""].reset_index(drop=True)[list(REGIME_COLUMNS)]


def confusion_matrix(predicted: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Confusion matrix (rows: true regime, columns: predicted) and the share of days that agree.

    Both frames carry trade_date, underlying, regime; rows are matched on (trade_date, underlying).
    """
    m = predicted[["trade_date", "underlying", "regime"]].merge(
        truth[["trade_date", "underlying", "regime"]], on=["trade_date", "underlying"], suffixes=("", "_true"))
    cm = pd.crosstab(pd.Categorical(m["regime_true"], REGIMES), pd.Categorical(m["regime"], REGIMES),
                     rownames=["true"], colnames=["predicted"], dropna=False)
    return cm, float((m["regime"] == m["regime_true"]).mean()) if len(m) else float("nan")
