"""From priced candidates to sized ones with verdicts and orders: the desk's daily decision, per trade date.

For each day, against the book held that day:

1. **Risk per unit**: exposures ``e`` (``risk_model.exposures``) of one unit of each candidate and of the
   book ``E``; covariance ``Sigma`` of the factors over ``horizon_sessions`` (the book's horizon is the same);
   ``mu`` = the candidate's ``theo_ev x multiplier`` (currency, net of crossing costs); ``sd = sqrt(e' Sigma e)``.
2. **Greedy sizing by marginal utility** (``sizing.marginal_utility``): among candidates with ``mu > 0`` and
   defined risk, take the one whose best addition to the current book gains the most utility, size it
   at ``floor(min(k*, per-trade cap, remaining open-risk budget, max_contracts))`` whole contracts (the caps
   from the risk limits and the candidate's max loss per contract), add it to the book, and repeat. A candidate whose
   gain is gone (it only adds to risk already held) or whose size rounds to 0 gets 0 contracts.
3. **Stress**: book plus each candidate (at its size, underlying hedge included) revalued on the stress grid
   by full Black-76 repricing (``stress.stress_grid``); the worst loss is a rule.
4. **Verdicts** (``rules.evaluate_rules``) in the greedy order, with blocked underlyings from failed
   data-quality checks.
5. **Orders** for every candidate (``orders.limit_price`` from mid toward theo; the delta peg's per-point
   move and cap; the wing trade's underlying hedge through ``orders.hedge_order``).

Money columns of the output follow the warehouse contract: ``limit_price``, ``max_loss`` and ``theo_ev`` per
unit of underlying for one structure unit (multiply by ``multiplier`` for one contract); ``*_total`` columns,
``utility`` and ``marginal_utility`` in currency for the sized contracts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from volmachine_core.trading.orders import hedge_order, limit_price
from volmachine_core.trading.risk_model import RiskModel, RiskModelSpec, exposures
from volmachine_core.trading.rules import BookState, RiskLimits, evaluate_rules
from volmachine_core.trading.stress import stress_by_group

__all__ = ["DeskSpec", "SIZED_COLUMNS", "decide"]

SIZED_COLUMNS = ("candidate_id", "trade_date", "underlying", "structure", "source", "legs", "side", "limit_price",
                 "max_loss", "theo_ev", "contracts", "utility", "marginal_utility", "verdict", "verdict_reasons",
                 "rules", "lineage", "order", "rank", "k_star", "sd_unit", "mu_unit", "max_loss_total",
                 "theo_ev_total", "stress_loss", "multiplier", "rationale")


@dataclass(frozen=True)
class DeskSpec:
    """Sizing and order settings (``settings.yaml: trading``).

    horizon_sessions : holding horizon of the PnL SD (sessions).
    aggression : how far from mid toward theo the limit goes, [0, 1).
    peg_max_adverse : the delta peg's total adverse move as a share of the limit price.
    hedge_min_delta : the delta hedger trades only beyond this many units of underlying.
    hedge_slippage : hedge price beyond bid/ask as a fraction (0.0005 = 5 bp).
    max_contracts : the largest order, in structure units (a desk's order-size limit: a cheap far wing must
        not turn a small edge into thousands of contracts).
    stress_spot_moves / stress_vol_moves : the stress grid (relative spot, vol in decimals).
    """

    horizon_sessions: float = 10.0
    aggression: float = 0.5
    peg_max_adverse: float = 0.25
    hedge_min_delta: float = 10.0
    hedge_slippage: float = 0.0005
    max_contracts: float = 100.0
    stress_spot_moves: tuple[float, ...] = (-0.05, -0.025, 0.0, 0.025, 0.05)
    stress_vol_moves: tuple[float, ...] = (-0.05, 0.0, 0.05)


def _greedy(mu: np.ndarray, e: np.ndarray, book: np.ndarray, cov: np.ndarray, c: float, loss: np.ndarray,
            cap_trade: float, budget: float, max_contracts: float = np.inf
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """(contracts, k*, marginal utility at the size, order chosen) for one day's candidates."""
    n = len(mu)
    contracts, kstar, gain = np.zeros(n), np.zeros(n), np.zeros(n)
    es = e @ cov
    var = np.einsum("ij,ij->i", es, e)
    live = (mu > 0) & (var > 0) & np.isfinite(loss)
    order: list[int] = []
    book = book.copy()
    while live.any():  # sequential by nature: each pick changes the book the next is measured against
        edge = mu - 2.0 * c * (es @ book)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(live & (edge > 0), edge / (2.0 * c * var), 0.0)
            best_gain = np.where(k > 0, edge * edge / (4.0 * c * var), -np.inf)
        i = int(np.argmax(best_gain))
        if not np.isfinite(best_gain[i]):
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            cap = min(cap_trade / loss[i], budget / loss[i]) if loss[i] > 0 else np.inf
        size = float(np.floor(min(k[i], cap, max_contracts)))
        kstar[i], contracts[i] = k[i], max(size, 0.0)
        gain[i] = contracts[i] * edge[i] - c * contracts[i] ** 2 * var[i]
        budget -= contracts[i] * loss[i]
        book += contracts[i] * e[i]
        live[i] = False
        order.append(i)
    rest = [i for i in np.argsort(-mu, kind="stable") if i not in order]
    return contracts, kstar, gain, order + rest


def _legs_json(legs: pd.DataFrame, hedge: pd.Series) -> dict[str, str]:
    """Legs JSON per candidate (the options, then the underlying hedge when there is one)."""
    cols = zip(legs["candidate_id"], legs["expiry"].dt.strftime("%Y-%m-%d"), legs["strike"].astype(float),
               legs["right"], legs["quantity"].astype(int), legs["price"].round(4), legs["bid"].astype(float),
               legs["ask"].astype(float), legs["theo"].round(4), legs["market_vol"].round(6), strict=True)
    out: dict[str, list] = {}
    for cid, exp, k, r, q, px, bid, ask, theo, vol in cols:
        out.setdefault(cid, []).append({"expiry": exp, "strike": k, "right": r, "quantity": q, "price": px,
                                        "bid": bid, "ask": ask, "theo": theo, "vol": vol})
    for cid, h in hedge.items():
        if h and cid in out:
            out[cid].append({"instrument": "underlying", "quantity": round(float(h), 4),
                             "note": "delta hedge per structure unit, units of underlying; re-hedged by the "
                                     "delta hedger"})
    return {cid: json.dumps(v, separators=(",", ":")) for cid, v in out.items()}


def _finite(rules: list[dict]) -> list[dict]:
    """Rule records with non-finite numbers as null (JSON has no Infinity; an unbounded loss says so in detail)."""
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()} for r in rules]


def _stress_legs(lg: pd.DataFrame, contracts) -> pd.DataFrame:
    return pd.DataFrame({"forward": lg["forward"].to_numpy(float), "strike": lg["strike"].to_numpy(float),
                         "tau": lg["tau"].to_numpy(float), "vol": lg["vol" if "vol" in lg else "market_vol"]
                         .to_numpy(float), "discount_factor": lg["discount_factor"].to_numpy(float),
                         "right": lg["right"].to_numpy(), "quantity": lg["quantity"].to_numpy(float) * contracts,
                         "multiplier": lg["multiplier"].to_numpy(float)})


def decide(candidates: pd.DataFrame, legs: pd.DataFrame, book_legs: pd.DataFrame, term: pd.DataFrame,
           model: RiskModel | Mapping[str, RiskModel], state: BookState | Mapping[str, BookState], c: float,
           limits: RiskLimits | None = None, spec: DeskSpec | None = None,
           model_spec: RiskModelSpec | None = None, blocked: dict | None = None,
           lineage: dict | None = None, c_equity: float | None = None) -> pd.DataFrame:
    """Sized candidates with verdicts and orders for the days in ``candidates`` (module docstring).

    Parameters
    ----------
    candidates : DataFrame
        ``candidates.price_candidates`` output.
    legs : DataFrame
        ``candidates.build_candidates`` legs.
    book_legs : DataFrame
        The book held on each day, one row per position: trade_date, underlying, strike, right, quantity
        (contracts), multiplier, forward, tau, vol, discount_factor, spot, and the position's greeks in
        currency (``greeks.position_greeks``): delta (units of underlying), vega (per 1.00), slega (per 0.01
        vol per SD). May be empty.
    term : DataFrame
        trade_date, underlying, tau, atm_vol (each day's ATM term structure).
    state : BookState or mapping of trade date (YYYY-MM-DD) to BookState
        Equity, peak, today's and the week's PnL and the open risk (max loss) of the book held that day.
    c : float
        Risk aversion (``sizing.risk_aversion``) at equity ``c_equity``; each day uses ``c x c_equity /
        equity`` (a larger account takes proportionally larger positions). Without ``c_equity``, ``c`` as is.
    blocked : dict, optional
        (trade_date as YYYY-MM-DD, underlying) -> failed blocking checks.
    lineage : dict, optional
        candidate_id -> dict of where the candidate came from; merged into each row's lineage JSON.
    """
    limits, spec, model_spec = limits or RiskLimits(), spec or DeskSpec(), model_spec or RiskModelSpec()
    if candidates.empty:
        return pd.DataFrame(columns=list(SIZED_COLUMNS))
    lg_all = legs.drop(columns=["trade_date", "spot", "hedge_shares"], errors="ignore").merge(
        candidates[["candidate_id", "trade_date", "spot", "hedge_shares"]], on="candidate_id", how="left")
    first = ~lg_all["candidate_id"].duplicated()
    lg_all["hedge_shares"] = np.where(first, lg_all["hedge_shares"], 0.0)
    by_day = {k: g for k, g in lg_all.groupby("trade_date", sort=False)}
    terms = {k: g for k, g in term.groupby(pd.to_datetime(term["trade_date"]), sort=False)}
    books = {k: g for k, g in book_legs.groupby(pd.to_datetime(book_legs["trade_date"]), sort=False)} \
        if len(book_legs) else {}
    out = []
    for day, cd in candidates.groupby("trade_date", sort=True):  # one decision per day, against that day's book
        cd = cd.reset_index(drop=True)
        day_key = f"{pd.Timestamp(day):%Y-%m-%d}"
        m = model if isinstance(model, RiskModel) else model[day_key]
        cov = m.cov(spec.horizon_sessions)
        term_d = terms.get(pd.Timestamp(day), term.iloc[:0])
        cl = by_day[day]
        keys, e = exposures(cl, term_d, m, model_spec)
        e = pd.DataFrame(e, index=keys).reindex(cd["candidate_id"]).fillna(0.0).to_numpy()
        bl = books.get(pd.Timestamp(day), book_legs.iloc[:0])
        st = state if isinstance(state, BookState) else state.get(day_key, BookState(
            next(iter(state.values())).equity if state else 1.0, 0.0, 0.0, 0.0, 0.0))
        if isinstance(st, BookState) and st.peak_equity <= 0:
            raise ValueError(f"no book state for {day_key}")
        open_risk = st.open_risk
        book_e = np.zeros(len(m.factors))
        if len(bl):  # greeks already in currency: unit size, no hedge
            _, be = exposures(bl.assign(book="book", quantity=1.0, multiplier=1.0), term_d, m, model_spec,
                              group="book")
            book_e = be[0]
        mult = cd["multiplier"].to_numpy(float)
        mu = cd["theo_ev"].to_numpy(float) * mult
        loss = cd["max_loss"].to_numpy(float) * mult
        eq = st.equity
        blk = {u: v for (d, u), v in (blocked or {}).items() if d == day_key}
        # nothing is sized that a rule refuses whatever its size: not defined risk, a failed data check, or a
        # book-level stop (kill switch, daily or weekly loss); they keep 0 contracts and use no risk budget
        halt = (st.peak_equity > 0 and 1.0 - eq / st.peak_equity >= limits.drawdown_kill_switch) \
            or -st.pnl_today >= limits.daily_loss_limit * eq or -st.pnl_week >= limits.weekly_loss_limit * eq
        ok = cd["defined_risk"].to_numpy(bool) & ~cd["underlying"].isin(list(blk)).to_numpy() & (not halt)
        c_day = c * c_equity / eq if c_equity else c
        contracts, kstar, gain, order = _greedy(
            np.where(ok, mu, 0.0), e, book_e, cov, c_day, loss, limits.max_loss_per_trade * eq,
            max(limits.max_total_open_risk * eq - open_risk, 0.0), spec.max_contracts)
        sd = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", e, cov, e), 0.0))
        cd = cd.assign(contracts=contracts, k_star=kstar, marginal_utility=gain, mu_unit=mu, sd_unit=sd,
                       utility=contracts * mu - c_day * (contracts * sd) ** 2, max_loss_total=contracts * loss,
                       theo_ev_total=contracts * mu).iloc[order].reset_index(drop=True)
        cd["rank"] = np.arange(1, len(cd) + 1)
        # stress: book plus each candidate at its size (full repricing), hedge shares linear in spot
        moves = np.asarray(spec.stress_spot_moves, float)
        book_grid = stress_by_group(_stress_legs(bl, 1.0), np.zeros(len(bl), int), 1, moves,
                                    spec.stress_vol_moves)[0] if len(bl) else 0.0
        pos = pd.Series(np.arange(len(cd)), index=cd["candidate_id"])[cl["candidate_id"]].to_numpy()
        grids = stress_by_group(_stress_legs(cl, cd["contracts"].to_numpy(float)[pos]), pos, len(cd), moves,
                                spec.stress_vol_moves)
        hedge = (cd["hedge_shares"] * cd["contracts"] * cd["multiplier"] * cd["spot"]).to_numpy(float)
        total = grids + book_grid + hedge[:, None, None] * moves[None, None, :]
        worst = np.maximum(-total.reshape(len(cd), -1).min(axis=1), 0.0)
        cd["stress_loss"] = worst
        verdict = evaluate_rules(cd.assign(max_loss=cd["max_loss_total"]), st, limits, blk)
        cd = cd.merge(verdict, on="candidate_id", how="left")
        out.append(cd)
    sized = pd.concat(out, ignore_index=True)
    return _finish(sized, legs, spec, lineage or {})


def _finish(sized: pd.DataFrame, legs: pd.DataFrame, spec: DeskSpec, lineage: dict) -> pd.DataFrame:
    """Orders, legs and lineage JSON, contract columns."""
    debit = sized["mid"].to_numpy(float) > 0
    side = np.where(debit, 1.0, -1.0)
    # a credit structure is quoted as the credit received: its bid is what selling it fetches
    bid = np.where(debit, sized["bid"], -sized["ask"])
    ask = np.where(debit, sized["ask"], -sized["bid"])
    theo = np.where(debit, sized["theo"], -sized["theo"])
    lim, edge = limit_price(bid, ask, theo, side, spec.aggression)
    # the quoted price moves with the options' delta (the hedge is its own order): a credit against the delta held
    peg = side * sized["delta"].to_numpy(float)
    allowed = (sized["verdict"] == "allowed").to_numpy()
    n = np.where(allowed, sized["contracts"].to_numpy(float), 0.0)
    qty, px = hedge_order(-sized["hedge_shares"].to_numpy(float) * n * sized["multiplier"].to_numpy(float),
                          sized["spot"], sized["spot"], spec.hedge_min_delta, spec.hedge_slippage)
    legs_json = _legs_json(legs[legs["candidate_id"].isin(sized["candidate_id"])],
                           sized.set_index("candidate_id")["hedge_shares"])
    orders, lin = [], []
    quotes = legs.groupby("candidate_id", sort=False)[["expiry", "strike", "right"]]
    leg_keys = {cid: [{"expiry": f"{e:%Y-%m-%d}", "strike": float(k), "right": r}
                      for e, k, r in zip(g["expiry"], g["strike"], g["right"], strict=True)]
                for cid, g in quotes}
    for i, (cid, snap, und, model_id) in enumerate(zip(sized["candidate_id"], sized["snapshot_id"],
                                                       sized["underlying"], sized["model_id"], strict=True)):
        orders.append(json.dumps({
            "action": ("buy" if debit[i] else "sell") if n[i] > 0 else "none",
            "contracts": int(n[i]), "quoted_as": "debit" if debit[i] else "credit", "limit": round(float(lim[i]), 4),
            "bid": round(float(bid[i]), 4), "ask": round(float(ask[i]), 4), "theo": round(float(theo[i]), 4),
            "edge_at_mid": bool(edge[i]),
            "delta_peg": {"per_unit_move": round(float(peg[i]), 4),
                          "rule": "limit + per_unit_move x underlying change, adverse total capped",
                          "max_adverse": round(spec.peg_max_adverse * abs(float(lim[i])), 4)},
            "hedge": {"underlying_quantity": round(float(qty[i]), 2),
                      "price": None if not np.isfinite(px[i]) else round(float(px[i]), 4),
                      "min_delta": spec.hedge_min_delta}}, separators=(",", ":")))
        lin.append(json.dumps({"snapshot_id": snap, "wing_model": model_id,
                               "option_quotes": [{"snapshot_id": snap, "underlying": und, **k}
                                                 for k in leg_keys.get(cid, [])],
                               **lineage.get(cid, {})}, separators=(",", ":"), default=str))
    sized = sized.assign(side=np.where(debit, "buy", "sell"), limit_price=lim, order=orders,
                         legs=sized["candidate_id"].map(legs_json), lineage=lin,
                         rules=[json.dumps(_finite(x), separators=(",", ":")) for x in sized["rules"]])
    return sized[list(SIZED_COLUMNS)]
