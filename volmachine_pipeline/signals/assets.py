"""Signal assets, partitioned by trading date with every underlying of the universe in one partition.

``realized_vol`` (bars) and the ``vol_signals`` table that ``regime`` writes first (curve signals from the
fitted curves) are per-day measurements, one row per underlying; ``regime`` and ``edge_signals`` compare a
day with its own history, so they read the trailing windows of those small tables (never a later day) and
run a history backfill in one pass.
"""

import dagster as dg
import pandas as pd

from volmachine_core import signals as core
from volmachine_core.report import gex_by_strike as gex_by_strike_plot
from volmachine_core.report import iv_rv_history, png_markdown
from volmachine_pipeline.config import current_config, load_events
from volmachine_pipeline.metadata import md_table
from volmachine_pipeline.partitions import date_parts, day_keys, eod_parts, sessions_before, trading_days
from volmachine_pipeline.resources import MarketResource, WarehouseResource

GROUP = "signals"
_SINGLE_RUN = dg.BackfillPolicy.single_run()
_BY_DATE = ["trade_date"]


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
    bars = wh.read("underlying_bars", eod_parts(sessions_before(days[0], days[-1], window + 1)))
    rv = core.realized_vol(bars, window=window, min_obs=max(2, window // 2)) if len(bars) else bars
    rv = rv[pd.to_datetime(rv["trade_date"]).dt.strftime("%Y-%m-%d").isin(days)] if len(rv) else rv
    wh.write_partitions("realized_vol", rv, _BY_DATE, [(d,) for d in days])
    wh.ensure_views()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rv), "window_sessions": window,
        "latest": md_table(_latest(rv)[["underlying", "close", "rv_cc", "rv_parkinson", "rv_yz", "n_obs"]]
                      if len(rv) else rv)})


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
          deps=["realized_vol", "curve_params"])
def regime(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """LOW_VOL_GRIND / HIGH_VOL_PANIC / TREND_UP / TREND_DOWN / CHOP per date x underlying with confidence.

    First the day's curve signals (30/90/180-day constant-maturity ATM vols, 30-day 25-delta skew) are taken
    from the fitted curves and stored in the ``vol_signals`` table (the regime's and the vol edges' history
    reads them there; one asset instead of two keeps a history backfill's Dagster bookkeeping small). Rules
    and hysteresis in ``volmachine_core.signals.regime``; the held state continues from the stored regime of
    the session before the first date, so re-running one day gives the same answer.
    """
    wh, days = warehouse.get(), day_keys(context)
    cp = wh.read("curve_params", eod_parts(days), columns=["snapshot_id", "underlying", "expiry", "tau", "atm_vol",
                                                            "status", "params"])
    wh.write_partitions("vol_signals", core.curve_signals(cp), _BY_DATE, [(d,) for d in days])
    spec = regime_spec()
    hist = date_parts(sessions_before(days[0], days[-1], spec.pct_window))
    feats = core.regime_features(wh.read("realized_vol", hist), wh.read("vol_signals", hist), spec)
    ref = market_reference()
    reg = core.classify_regimes(feats[feats["trade_date"] >= pd.Timestamp(days[0])], spec, reference=ref,
                                initial=_stored_state(wh, days[0]))
    reg = reg.assign(features=[core.metrics_json(f) for f in reg["features"]])
    wh.write_partitions("regime", reg, _BY_DATE, [(d,) for d in days])
    wh.ensure_views()
    latest = _latest(reg)[["underlying", "regime", "confidence", "raw_regime", "pending_regime", "term", "trend_t"]]
    counts = reg["regime"].value_counts().to_dict() if len(reg) else {}
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(reg), "market_reference": ref or "own", "latest": md_table(latest),
        "days_by_regime": dg.MetadataValue.json(counts), **_regime_accuracy(wh, days, reg)})


def edge_spec() -> core.EdgeSpec:
    """Every detector's thresholds from ``settings.yaml: signals``."""
    s = current_config()[0].signals
    return core.EdgeSpec(
        vol=core.VolEdgeSpec(vrp_min_ratio=s.vrp_min_ratio, vrp_min_pct=s.vrp_min_pct, term_z=s.term_z,
                             skew_z=s.skew_z, history_window=s.history_window, min_history=s.min_history),
        gamma=core.GammaSpec(headline=s.gamma_headline, pin_max_sessions=s.gamma_pin_max_sessions,
                             pin_min_share=s.gamma_pin_min_share),
        wing_min_beyond_spread=s.wing_min_beyond_spread, event_min_premium=s.event_min_premium,
        event_lookahead_sessions=s.event_lookahead_sessions, event_min_history=s.event_min_history,
        event_max_history=s.event_max_history)


_OQ = ["snapshot_id", "trade_date", "underlying", "expiry", "strike", "right", "open_interest", "multiplier",
       "underlying_price"]
_CP = ["snapshot_id", "underlying", "expiry", "tau", "forward", "atm_vol", "status", "params"]
_TH = ["snapshot_id", "trade_date", "underlying", "expiry", "strike", "right", "z", "market_vol", "model_vol",
       "residual", "half_spread_vol", "residual_beyond_spread", "pnl_theo", "vega", "atm_hedge_ratio",
       "in_dte_range", "status"]


def _events(wh, market: MarketResource, days: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(schedule, past realised moves): ``config/events.yaml`` plus, on the simulated market, its schedule and
    the moves of its events up to the last day (for a given day only earlier events are used). A configured
    past event without a move gets it from the bars (the event session's return)."""
    configured = load_events()
    symbols = current_config()[1].symbols
    configured = configured[configured["underlying"].isin(symbols)]
    past = configured[configured["event_date"] <= pd.Timestamp(days[-1])]
    if market.source() == "sim":
        sim = market.sim(days[-1])
        scheduled = sim.scheduled_events(symbols, days[0], pd.Timestamp(days[-1]) + pd.Timedelta(days=60))
        realised = sim.truth_events(symbols, None, days[-1])
        configured = pd.concat([configured, scheduled], ignore_index=True)
        past = pd.concat([past, realised[realised["kind"] == "earnings"]], ignore_index=True)
    schedule = configured.drop_duplicates(["underlying", "event_date"])
    past = past.drop_duplicates(["underlying", "event_date"])
    bars = None
    if past["move"].isna().any():
        first = f"{past.loc[past['move'].isna(), 'event_date'].min():%Y-%m-%d}"
        bars = wh.read("underlying_bars", eod_parts(sessions_before(first, days[-1], 25)))
    return schedule, core.realised_event_moves(past, bars)


#: Runs over more days than this (history backfills) carry the tables without plots, so the event log
#: does not hold a copy of every picture for each historical partition.
PLOT_MAX_DAYS = 5


def _edge_metadata(table: pd.DataFrame, hist: pd.DataFrame, profile: pd.DataFrame, chain: pd.DataFrame,
                   plots: bool) -> dict:
    """Per underlying of the latest day: the signals table, and with ``plots`` IV vs RV history and GEX by
    strike."""
    if table.empty:
        return {}
    day = table["trade_date"].max()
    latest = table[table["trade_date"] == day]
    md: dict = {"latest_signals": md_table(latest[["underlying", "edge", "fired", "strength", "direction",
                                              "rationale"]], ".2f")}
    fired = table[table["fired"]].groupby("edge").size().reindex(list(core.EDGES), fill_value=0)
    md["days_fired_by_edge"] = dg.MetadataValue.json({k: int(v) for k, v in fired.items()})
    gp = profile[profile["trade_date"] == day].set_index("underlying") if len(profile) else profile
    for und in sorted(latest["underlying"].unique()) if plots else []:
        parts = [png_markdown(iv_rv_history(hist[hist["underlying"] == und],
                                            f"{und}: 30d implied vs 20d realised"), f"{und} IV vs RV")]
        if und in getattr(gp, "index", []):
            p = gp.loc[und]
            c = chain[(chain["underlying"] == und) & (chain["trade_date"] == day)]
            band = (float(p["flip_low"]), float(p["flip_high"]))
            parts.append(png_markdown(gex_by_strike_plot(
                core.gex_by_strike(c, p["headline"]), float(p["spot"]),
                f"{und} {day:%Y-%m-%d}: dealer GEX ({p['headline']})", band, float(p["headline_flip"]), 0.1),
                f"{und} GEX by strike"))
        md[f"{und}_signals"] = dg.MetadataValue.md(
            latest[latest["underlying"] == und][["edge", "fired", "strength", "direction", "rationale"]]
            .to_markdown(index=False, floatfmt=".2f") + "\n\n" + "\n\n".join(parts))
    return md


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=["regime", "realized_vol", "wing_theos", "option_quotes", "curve_params",
                "forwards", "underlying_bars"])
def edge_signals(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 market: MarketResource) -> dg.MaterializeResult:
    """The six edges per date x underlying (wing, vrp, term_structure, skew, event_vol, gamma), fired or not,
    with strength, direction, a rationale in numbers naming the structure, and every metric as JSON."""
    wh, days = warehouse.get(), day_keys(context)
    spec = edge_spec()
    hist_days = date_parts(sessions_before(days[0], days[-1], current_config()[0].signals.percentile_window))
    full = core.vol_signal_history(wh.read("realized_vol", hist_days), wh.read("vol_signals", hist_days), spec.vol)
    parts = eod_parts(days)
    cp = wh.read("curve_params", parts, columns=_CP)
    chain = core.gamma_chain(wh.read("option_quotes", parts, columns=_OQ), cp,
                             wh.read("forwards", parts, columns=["snapshot_id", "underlying", "expiry",
                                                                 "discount_factor"]))
    profile = core.gamma_profile(chain, spec.gamma)
    schedule, moves = _events(wh, market, days)
    implied = core.implied_event_variance(
        cp.assign(trade_date=pd.to_datetime(cp["snapshot_id"].str.slice(0, 10))), schedule)
    table = core.detect_edges(full[full["trade_date"] >= pd.Timestamp(days[0])],
                              wh.read("wing_theos", date_parts(days), columns=_TH), profile, implied, moves,
                              schedule, wh.read("regime", date_parts(days)), spec)
    wh.write_partitions("edge_signals", table, _BY_DATE, [(d,) for d in days])
    wh.ensure_views()
    return dg.MaterializeResult(metadata={"dagster/row_count": len(table),
                                          "fired": int(table["fired"].sum()) if len(table) else 0,
                                          **_edge_metadata(table, full, profile, chain, len(days) <= PLOT_MAX_DAYS)})
