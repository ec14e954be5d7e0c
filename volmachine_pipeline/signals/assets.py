"""Signal assets, partitioned by trading date with every underlying of the universe in one partition.

``realized_vol`` and ``vol_signals`` are per-day measurements (bars and fitted curves in, one row per
underlying out); ``regime`` and ``edge_signals`` compare a day with its own history, so they read the
trailing windows of those small tables (never a later day) and run a history backfill in one pass.
"""

import dagster as dg
import pandas as pd

from volmachine_core import signals as core
from volmachine_pipeline.config import current_config
from volmachine_pipeline.partitions import trading_days
from volmachine_pipeline.resources import WarehouseResource
from volmachine_pipeline.wing.assets import day_keys, sessions_before

GROUP = "signals"
_SINGLE_RUN = dg.BackfillPolicy.single_run()
_BY_DATE = ["trade_date"]


def _eod_parts(days: list[str]) -> list[dict]:
    return [{"trade_date": d, "underlying": u} for d in days for u in current_config()[1].symbols]


def _date_parts(days: list[str]) -> list[dict]:
    return [{"trade_date": d} for d in days]


def _md(frame: pd.DataFrame, floatfmt: str = ".4g") -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=floatfmt) if len(frame) else "(none)")


def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["trade_date"] == frame["trade_date"].max()] if len(frame) else frame


def market_reference() -> str | None:
    """The underlying whose features decide the regime (settings ``signals.market_reference``)."""
    settings, uni = current_config()
    ref = settings.signals.market_reference
    if ref == "own":
        return None
    if ref == "auto":
        index = [u.symbol for u in uni.underlyings if u.kind == "index"]
        return index[0] if index else None
    if ref not in uni.symbols:
        raise dg.Failure(f"settings.yaml: signals.market_reference {ref!r} is not in the universe "
                         f"({', '.join(uni.symbols)})")
    return ref


def regime_spec() -> core.RegimeSpec:
    s = current_config()[0].signals
    return core.RegimeSpec(panic_term=s.regime_panic_term, down_term=s.regime_down_term,
                           calm_term=s.regime_calm_term, up_trend_t=s.regime_up_trend_t,
                           confirm_days=s.regime_confirm_days, panic_confirm_days=s.regime_panic_confirm_days,
                           trend_days=s.rv_window, pct_window=s.percentile_window,
                           pct_min_obs=min(s.min_history, s.percentile_window))


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=["underlying_bars"])
def realized_vol(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Close-to-close, Parkinson and Yang-Zhang realised vol (annualised, decimals) per date x underlying.

    Trailing ``signals.rv_window`` sessions; at the start of a history the estimate uses at least half
    the window (``n_obs`` says how many returns).
    """
    wh, days = warehouse.get(), day_keys(context)
    window = current_config()[0].signals.rv_window
    bars = wh.read("underlying_bars", _eod_parts(sessions_before(days[0], days[-1], window + 1)))
    rv = core.realized_vol(bars, window=window, min_obs=max(2, window // 2)) if len(bars) else bars
    rv = rv[pd.to_datetime(rv["trade_date"]).dt.strftime("%Y-%m-%d").isin(days)] if len(rv) else rv
    wh.write_partitions("realized_vol", rv, _BY_DATE, [(d,) for d in days])
    wh.refresh_catalog(attempts=20, strict=False)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rv), "window_sessions": window,
        "latest": _md(_latest(rv)[["underlying", "close", "rv_cc", "rv_parkinson", "rv_yz", "n_obs"]]
                      if len(rv) else rv)})


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=["curve_params"])
def vol_signals(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """30/90/180-day constant-maturity ATM vols and the 30-day 25-delta skew per date x underlying."""
    wh, days = warehouse.get(), day_keys(context)
    cp = wh.read("curve_params", _eod_parts(days), columns=["snapshot_id", "underlying", "expiry", "tau", "atm_vol",
                                                            "status", "params"])
    vs = core.curve_signals(cp)
    wh.write_partitions("vol_signals", vs, _BY_DATE, [(d,) for d in days])
    wh.refresh_catalog(attempts=20, strict=False)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(vs),
        "latest": _md(_latest(vs)[["underlying", "iv_30d", "iv_90d", "iv_180d", "put_vol", "call_vol", "skew"]])})


def _stored_state(wh, day: str) -> dict[str, tuple[str, str, int]]:
    """Held regime state of the session before ``day`` (empty when it was never materialised)."""
    prev = sessions_before(day, day, 1)[0]
    if prev == day:
        return {}
    rows = wh.read("regime", [{"trade_date": prev}])
    return {r.underlying: (r.regime, r.pending_regime or "", int(r.pending_days)) for r in rows.itertuples()}


def _regime_accuracy(wh, days: list[str], reg: pd.DataFrame) -> dict:
    """On the simulated market: agreement with the simulator's regimes and the confusion matrix."""
    if current_config()[0].data.source != "sim" or reg.empty:
        return {}
    truth = wh.read("sim_truth_regimes", [{"partition_date": d, "underlying": u} for d in days
                                          for u in current_config()[1].symbols])
    if truth.empty:
        return {}
    matrix, acc = core.confusion_matrix(reg, truth)
    return {"agreement_with_simulator": float(acc),
            "confusion_matrix_vs_simulator": dg.MetadataValue.md(matrix.to_markdown())}


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=[dg.AssetDep("realized_vol"), dg.AssetDep("vol_signals")])
def regime(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """LOW_VOL_GRIND / HIGH_VOL_PANIC / TREND_UP / TREND_DOWN / CHOP per date x underlying with confidence.

    Rules and hysteresis in ``volmachine_core.signals.regime``; the held state continues from the stored
    regime of the session before the first date, so re-running one day gives the same answer.
    """
    wh, days = warehouse.get(), day_keys(context)
    spec = regime_spec()
    hist = _date_parts(sessions_before(days[0], days[-1], spec.pct_window))
    feats = core.regime_features(wh.read("realized_vol", hist), wh.read("vol_signals", hist), spec)
    ref = market_reference()
    reg = core.classify_regimes(feats[feats["trade_date"] >= pd.Timestamp(days[0])], spec, reference=ref,
                                initial=_stored_state(wh, days[0]))
    reg = reg.assign(features=[core.metrics_json(f) for f in reg["features"]])
    wh.write_partitions("regime", reg, _BY_DATE, [(d,) for d in days])
    wh.refresh_catalog(attempts=20, strict=False)
    latest = _latest(reg)[["underlying", "regime", "confidence", "raw_regime", "pending_regime", "term", "trend_t"]]
    counts = reg["regime"].value_counts().to_dict() if len(reg) else {}
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(reg), "market_reference": ref or "own", "latest": _md(latest),
        "days_by_regime": dg.MetadataValue.json(counts), **_regime_accuracy(wh, days, reg)})
