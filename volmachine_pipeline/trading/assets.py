"""Trading assets: the book (``positions``, ``book_risk``), ``trade_candidates`` and ``sized_candidates``.

``positions`` reads ``config/<trading.positions_file>`` (CSV, or Parquet for a table exported from another
warehouse; a missing file is an empty book: a normal case) and
validates it (bad rows go to ``position_rejects`` with a reason code). The date-partitioned assets hold every
underlying in one partition and run a history backfill in one pass, like the signal assets.
"""

import json

import dagster as dg
import pandas as pd

from volmachine_core import trading as core
from volmachine_core.trading import (
    CandidateSpec,
    DeskSpec,
    RiskModelSpec,
    book_history,
    build_candidates,
    daily_pnl,
    decide,
    factor_history,
    open_on,
    open_risk,
    price_candidates,
    risk_model,
)
from volmachine_pipeline.config import config_dir, current_config
from volmachine_pipeline.metadata import md_table
from volmachine_pipeline.partitions import date_parts, day_keys, eod_parts, sessions_before, trading_days
from volmachine_pipeline.resources import WarehouseResource
from volmachine_pipeline.trading.quality import blocking_check_keys, failed_blocking_checks

GROUP = "trading"
_SINGLE_RUN = dg.BackfillPolicy.single_run()
_BY_DATE = ["trade_date"]
#: Upstream assets whose blocking checks gate candidates (``data_quality``).
QUALITY_ASSETS = ("option_quotes", "curve_params", "wing_theos")


def _book_frame() -> tuple[pd.DataFrame, pd.DataFrame, str]:
    settings, uni = current_config()
    path = config_dir() / settings.trading.positions_file
    if not path.exists():
        raw = pd.DataFrame()
    elif path.suffix == ".parquet":  # e.g. a table exported from the desk's own warehouse
        raw = pd.read_parquet(path)
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    pos, rej = core.validate_positions(raw, source=str(path), universe=uni.symbols,
                                       multipliers={u.symbol: u.multiplier for u in uni.underlyings},
                                       root_to_underlying={u.root: u.symbol for u in uni.underlyings})
    return pos, rej, str(path) if path.exists() else f"{path} (missing: empty book)"


@dg.asset(group_name=GROUP, kinds={"parquet"})
def positions(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The book held: ``config/positions.csv`` (legs or OCC symbols), validated; rejected rows with a reason
    code in ``position_rejects``. A missing or empty file is an empty book."""
    wh = warehouse.get()
    pos, rej, src = _book_frame()
    wh.write_partition("positions", {}, pos)
    wh.write_partition("position_rejects", {}, rej)
    wh.ensure_views()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(pos), "source": src, "rejected": len(rej),
        "book": md_table(pos[["position_id", "underlying", "expiry", "strike", "right", "quantity", "entry_price",
                              "open_date"]]) if len(pos) else "empty book",
        "rejected_rows": md_table(rej) if len(rej) else "-"})


_GREEKS = ["trade_date", "position_id", "underlying", "expiry", "strike", "right", "quantity", "multiplier",
           "forward", "discount_factor", "spot", "tau", "vol", "price", "mark", "pnl", "delta", "gamma", "vega",
           "theta", "slega", "modified_vega", "status"]


_CURVE_COLS = ["snapshot_id", "underlying", "expiry", "tau", "forward", "atm_vol", "status", "params"]


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(trade_date=pd.to_datetime(frame["snapshot_id"].str.slice(0, 10)))


def _curve_params(wh, days: list[str], columns: list[str] = _CURVE_COLS) -> pd.DataFrame:
    """The days' end-of-day curve_params (``columns``) with trade_date."""
    return _dated(wh.read("curve_params", eod_parts(days), columns=columns))


def _curves(wh, days: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The days' curve_params and forwards' discount factors (what position greeks need), with trade_date."""
    fw = wh.read("forwards", eod_parts(days), columns=["snapshot_id", "underlying", "expiry", "discount_factor"])
    return _curve_params(wh, days), _dated(fw)


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=["positions", "curve_params", "forwards", "underlying_bars"])
def book_risk(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Greeks, mark and daily PnL of every open position per date (the daily slega history per position):
    spot delta and gamma, vega per 1.00, theta per day, slega, modified vega (T_ref ``trading.t_ref_days``),
    all in currency, from that day's fitted curves. The metadata shows the latest day's totals and its vol
    risk per underlying: vega by forward-vol bucket and the one-SD vol-move PnL ``sqrt(E' M E)``."""
    wh, days = warehouse.get(), day_keys(context)
    pos = wh.read("positions")
    t = current_config()[0].trading
    t_ref = t.t_ref_days / 365.0
    vol_risk = pd.DataFrame()
    if pos.empty:
        hist = pd.DataFrame(columns=_GREEKS)
    else:
        cp, fw = _curves(wh, days)
        bars = wh.read("underlying_bars", eod_parts(days), columns=["trade_date", "underlying", "close"])
        hist = book_history(pos, cp, fw, bars, days, t_ref)
        prev_day = sessions_before(days[0], days[0], 1)[0]
        prev = wh.read("book_risk", date_parts([prev_day])) if prev_day != days[0] else None
        hist["pnl"] = daily_pnl(hist, pos, prev).to_numpy(float)
        hist = hist[_GREEKS]
        if len(hist):  # the latest day's bucketed vega and one-SD vol PnL, on its own past
            day = hist["trade_date"].max()
            past = date_parts(sessions_before(f"{day:%Y-%m-%d}", f"{day:%Y-%m-%d}", t.risk_history_sessions)[:-1])
            vol_risk = core.book_vol_risk(hist[hist["trade_date"] == day], cp[cp["trade_date"] == day],
                                          wh.read("vol_signals", past), tuple(t.vega_bucket_days), t.corr_shrink,
                                          t.corr_rho)
    wh.write_partitions("book_risk", hist, _BY_DATE, [(d,) for d in days])
    wh.ensure_views()
    latest = hist[hist["trade_date"] == hist["trade_date"].max()] if len(hist) else hist
    totals = core.book_totals(latest) if len(latest) else pd.DataFrame()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(hist), "positions": len(pos),
        "book_totals_latest": md_table(totals) if len(totals) else "empty book",
        "vol_risk_latest": md_table(vol_risk) if len(vol_risk) else "empty book",
        "pnl_latest_day": float(latest["pnl"].sum()) if len(latest) else 0.0})


def candidate_spec() -> CandidateSpec:
    t = current_config()[0].trading
    return CandidateSpec(target_dte=t.target_dte, min_dte=t.min_dte, short_sd=t.short_sd, wing_sd=t.wing_sd,
                         panic_short_sd=t.panic_short_sd, panic_wing_sd=t.panic_wing_sd,
                         butterfly_wing_sd=t.butterfly_wing_sd, calendar_back_dte=t.calendar_back_dte,
                         wing_units=t.wing_units, wing_protect_sd=t.wing_protect_sd, edge_capture=t.edge_capture)


_TH = ["snapshot_id", "trade_date", "underlying", "expiry", "strike", "right", "bid", "ask", "mid", "forward",
       "discount_factor", "tau", "z", "market_vol", "model_vol", "atm_vol", "vega", "delta", "slega", "multiplier",
       "atm_strike", "atm_hedge_ratio", "model_id", "status"]
_CAND = ["candidate_id", "trade_date", "underlying", "snapshot_id", "source", "structure", "expiry", "rationale",
         "multiplier", "spot", "hedge_shares", "model_id", "theo_ev", "bid", "ask", "mid", "theo", "delta", "cost",
         "max_loss", "max_profit", "breakevens", "net_premium", "defined_risk", "risk_reason"]


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=["edge_signals", "regime", "wing_theos"])
def trade_candidates(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Defined-risk structures per date x underlying from the fired edges and the regime, strikes from target
    SDs at listed strikes, legs at bid/ask, theo from the wing model plus the edge's vol view, and the payoff
    risk (max loss, max profit, breakevens). Legs are stored in ``candidate_legs``."""
    wh, days = warehouse.get(), day_keys(context)
    # structures live up to the universe's longest DTE (pins and event expiries may be days away)
    max_tau = (current_config()[1].dte_max + 1) / 365.0
    th = wh.read("wing_theos", date_parts(days), columns=_TH, where="status = 'ok' AND tau <= ?", params=[max_tau])
    cand, legs = build_candidates(wh.read("edge_signals", date_parts(days)), wh.read("regime", date_parts(days)),
                                  th, candidate_spec())
    priced = price_candidates(cand, legs)
    priced = priced.assign(breakevens=[json.dumps(b) for b in priced["breakevens"]])
    bad = priced[~priced["defined_risk"].astype(bool)] if len(priced) else priced
    legs = legs.merge(cand[["candidate_id", "trade_date"]], on="candidate_id") if len(legs) else \
        legs.assign(trade_date=pd.Series(dtype="datetime64[ns]"))
    wh.write_partitions("candidate_legs", legs, _BY_DATE, [(d,) for d in days])
    wh.write_partitions("trade_candidates", priced[[c for c in _CAND if c in priced.columns]], _BY_DATE,
                        [(d,) for d in days])
    wh.ensure_views()
    kinds = priced.groupby("structure").size().to_dict() if len(priced) else {}
    latest = priced[priced["trade_date"] == priced["trade_date"].max()] if len(priced) else priced
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(priced), "by_structure": dg.MetadataValue.json({k: int(v) for k, v in kinds.items()}),
        "not_defined_risk": len(bad),
        "latest": md_table(latest[["candidate_id", "theo_ev", "net_premium", "max_loss", "defined_risk"]], ".2f")
        if len(latest) else "none"})


def _book_states(wh, days: list[str], pos: pd.DataFrame) -> dict[str, core.BookState]:
    """Equity, peak, today's and the week's PnL from the book's daily marks, and open risk, per day."""
    settings = current_config()[0]
    equity0 = settings.account.equity
    marks = wh.read("book_risk", columns=["trade_date", "pnl"]) if wh.files("book_risk") else pd.DataFrame()
    daily = (marks.groupby("trade_date")["pnl"].sum().reset_index() if len(marks)
             else pd.DataFrame(columns=["trade_date", "pnl"]))
    daily["trade_date"] = pd.to_datetime(daily["trade_date"])
    risk = open_risk(open_on(pos, days)) if len(pos) else pd.DataFrame(columns=["trade_date", "open_risk"])
    risk_by_day = risk.groupby("trade_date")["open_risk"].sum() if len(risk) else pd.Series(dtype=float)
    out = {}
    for d in days:  # a few hundred days at most: cumulative marks up to each
        ts = pd.Timestamp(d)
        out[d] = core.book_state(daily[daily["trade_date"] <= ts], equity0, float(risk_by_day.get(ts, 0.0)))
    return out


@dg.asset(partitions_def=trading_days, group_name=GROUP, kinds={"parquet"}, backfill_policy=_SINGLE_RUN,
          deps=["trade_candidates", "book_risk", "positions", "regime", "edge_signals", "curve_params",
                "underlying_bars"])
def sized_candidates(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Candidates sized by marginal utility against the book (greedy, whole contracts), each with a verdict
    (every risk rule with its numbers), a suggested order (limit from mid toward theo, delta peg, hedge) and
    lineage back to the snapshot, curves, wing model and signal rows."""
    wh, days = warehouse.get(), day_keys(context)
    settings, uni = current_config()
    t, r = settings.trading, settings.risk
    cand = wh.read("trade_candidates", date_parts(days))
    legs = wh.read("candidate_legs", date_parts(days))
    pos = wh.read("positions")
    mspec = RiskModelSpec(edges_days=tuple(t.vega_bucket_days), shrink=t.corr_shrink, rho=t.corr_rho)
    hist_days = sessions_before(days[0], days[-1], t.risk_history_sessions)
    vs = wh.read("vol_signals", date_parts(hist_days))
    bars = wh.read("underlying_bars", eod_parts(hist_days), columns=["trade_date", "underlying", "close"])
    fh = factor_history(vs, bars, mspec)
    cp = _curve_params(wh, days, ["snapshot_id", "underlying", "expiry", "tau", "atm_vol", "status"])
    term = cp[cp["status"].isin(["ok", "repaired"]) & (cp["tau"] > 1 / 365)][["trade_date", "underlying", "tau",
                                                                                 "atm_vol"]]
    book = wh.read("book_risk", date_parts(days))
    book = book[book["status"] == "ok"] if len(book) else book
    states = _book_states(wh, days, pos)
    c = core.risk_aversion(settings.account.target_annual_pnl, settings.account.target_sharpe,
                           settings.account.equity, t.reference_equity)
    limits = core.RiskLimits(r.max_loss_per_trade, r.max_total_open_risk, r.daily_loss_limit, r.weekly_loss_limit,
                             r.drawdown_kill_switch, r.max_stress_loss)
    dspec = DeskSpec(horizon_sessions=t.horizon_sessions, aggression=t.aggression, peg_max_adverse=t.peg_max_adverse,
                     hedge_min_delta=t.hedge_min_delta, hedge_slippage=t.hedge_slippage, max_contracts=t.max_contracts,
                     stress_spot_moves=tuple(r.stress_spot_moves), stress_vol_moves=tuple(r.stress_vol_moves))
    from volmachine_pipeline.definitions import defs  # noqa: PLC0415 (definitions import this module)
    blocked = failed_blocking_checks(context.instance, blocking_check_keys(defs, QUALITY_ASSETS), days, uni.symbols)
    lineage = _lineage(cand, cp) if len(cand) else {}
    models = {f"{d:%Y-%m-%d}": risk_model(fh[fh.index < d].tail(t.risk_history_sessions), uni.symbols, mspec)
              for d in pd.to_datetime(cand["trade_date"]).unique()}  # each day on its own past only
    out = decide(cand, legs, book, term, models, states, c, limits, dspec, mspec, blocked, lineage,
                 c_equity=settings.account.equity) if len(cand) \
        else pd.DataFrame(columns=list(core.SIZED_COLUMNS))
    wh.write_partitions("sized_candidates", out, _BY_DATE, [(d,) for d in days])
    wh.ensure_views()
    return dg.MaterializeResult(metadata=_sized_metadata(out, states, days, c))


def _lineage(cand: pd.DataFrame, cp: pd.DataFrame) -> dict:
    """Per candidate: the curve fit of its expiry, the signal and regime rows and the candidate row it came from."""
    fits = cp.set_index(["trade_date", "underlying", "expiry"])["status"]
    fits = fits[~fits.index.duplicated()]
    key = pd.MultiIndex.from_arrays([pd.to_datetime(cand["trade_date"]), cand["underlying"],
                                     pd.to_datetime(cand["expiry"])])
    status = fits.reindex(key).to_numpy()
    out = {}
    for cid, day, und, exp, src, snap, st in zip(cand["candidate_id"], cand["trade_date"], cand["underlying"],
                                                 cand["expiry"], cand["source"], cand["snapshot_id"], status,
                                                 strict=True):
        d = f"{pd.Timestamp(day):%Y-%m-%d}"
        out[cid] = {"curve_params": [{"snapshot_id": snap, "underlying": und, "expiry": f"{pd.Timestamp(exp):%Y-%m-%d}",
                                      "status": st if isinstance(st, str) else None}],
                    "edge_signals": {"trade_date": d, "underlying": und, "edge": src} if src != "regime" else None,
                    "regime": {"trade_date": d, "underlying": und}, "trade_candidates": cid}
    return out


def _sized_metadata(out: pd.DataFrame, states: dict, days: list[str], c: float) -> dict:
    if out.empty:
        return {"dagster/row_count": 0, "risk_aversion_c": c}
    latest = out[out["trade_date"] == out["trade_date"].max()]
    allowed = out[out["verdict"] == "allowed"]
    st = states[days[-1]]
    return {
        "dagster/row_count": len(out), "risk_aversion_c": c, "allowed": len(allowed),
        "structures_allowed": dg.MetadataValue.json(allowed.groupby("structure").size().astype(int).to_dict()),
        "equity": st.equity, "drawdown": 1.0 - st.equity / st.peak_equity,
        "latest": md_table(latest[["candidate_id", "side", "contracts", "limit_price", "max_loss", "theo_ev",
                                   "marginal_utility", "verdict", "verdict_reasons"]], ".2f"),
        "blocked_reasons": dg.MetadataValue.json(
            out.loc[out["verdict"] == "blocked", "verdict_reasons"].str.split(",").explode().value_counts()
            .astype(int).to_dict())}


TRADING_ASSETS = [positions, book_risk, trade_candidates, sized_candidates]
__all__ = ["TRADING_ASSETS", "positions", "book_risk", "trade_candidates", "sized_candidates"]
