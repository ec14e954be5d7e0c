"""What the daily desk report says, assembled from one day's warehouse rows (the pipeline reads and writes).

Order of the report: the trading status, regime per underlying, edges fired with their rationale, candidates
(legs, price, max loss, contracts, EV, marginal utility, verdict and the failed rules' numbers), book risk
(greeks, modified and bucketed vega, the stress grid), then the pictures the caller rendered.
"""

from __future__ import annotations

import json

import pandas as pd

from volmachine_core.report.document import Section, trading_status

__all__ = ["legs_summary", "failed_rules", "desk_report"]


def legs_summary(legs_json: str) -> str:
    """``-5 P 7100 2027-03-19, +5 P 6800 2027-03-19, hedge +0.14`` from a candidate's legs JSON."""
    out = []
    for leg in json.loads(legs_json) if legs_json else []:
        if "strike" in leg:
            out.append(f"{leg['quantity']:+d} {leg['right']} {leg['strike']:g} {leg['expiry']}")
        else:
            out.append(f"hedge {leg['quantity']:+g}")
    return ", ".join(out)


def failed_rules(rules_json: str) -> str:
    """``max_loss_per_trade 1.2% > 1.0%; data_quality (curve_params:fit_rmse ...)`` for a blocked candidate."""
    parts = []
    for r in json.loads(rules_json) if rules_json else []:
        if r["passed"]:
            continue
        if r["rule"] in ("data_quality", "defined_risk"):
            parts.append(f"{r['rule']} ({r['detail']})")
        else:
            v, lim = r.get("value"), r.get("limit")
            nums = f" {v:.1%} > {lim:.1%}" if isinstance(v, float) and isinstance(lim, float) else ""
            parts.append(f"{r['rule']}{nums}")
    return "; ".join(parts)


def desk_report(day, underlyings, regime: pd.DataFrame, edges: pd.DataFrame, sized: pd.DataFrame,
                book_totals: pd.DataFrame, vol_risk: pd.DataFrame, stress: pd.DataFrame | None = None,
                pictures: list[tuple[str, bytes, str]] | None = None) -> tuple[str, tuple[str, list[str]],
                                                                               list[Section]]:
    """(title, status, sections) of one day's report; render with ``render_markdown`` / ``render_html``.

    Parameters
    ----------
    regime, edges, sized : DataFrame
        The day's ``regime``, ``edge_signals`` and ``sized_candidates`` rows.
    book_totals, vol_risk : DataFrame
        ``trading.book_totals`` and ``trading.book_vol_risk`` of the day (empty for an empty book).
    stress : DataFrame, optional
        The book's stress grid (vol moves x spot moves, currency).
    pictures : list of (section title, png bytes, caption), optional
        Rendered plots, placed in the sections named (new sections are added in order).
    """
    title = f"volmachine desk report {pd.Timestamp(day):%Y-%m-%d}"
    status = trading_status(sized, underlyings)
    reg = regime[["underlying", "regime", "confidence"]].sort_values("underlying") if len(regime) else regime
    fired = edges[edges["fired"].astype(bool)] if len(edges) else edges
    ed = fired[["underlying", "edge", "strength", "direction", "rationale"]].sort_values(
        ["underlying", "strength"], ascending=[True, False]) if len(fired) else pd.DataFrame()
    if len(sized):
        s = sized.sort_values("rank") if "rank" in sized.columns else sized
        cand = pd.DataFrame({
            "candidate": s["candidate_id"], "legs": [legs_summary(x) for x in s["legs"]], "side": s["side"],
            "contracts": s["contracts"].astype(int), "limit": s["limit_price"], "max loss": s["max_loss"],
            "EV": s["theo_ev"], "marginal utility": s["marginal_utility"], "verdict": s["verdict"],
            "why": [failed_rules(r) if v == "blocked" else "" for r, v in zip(s["rules"], s["verdict"],
                                                                               strict=True)]})
        allowed = int((s["verdict"] == "allowed").sum())
        summary = (f"{len(s)} candidates, {allowed} allowed; max loss of the allowed "
                   f"{float(s.loc[s['verdict'] == 'allowed', 'max_loss_total'].sum()):,.0f}"
                   if "max_loss_total" in s.columns else f"{len(s)} candidates, {allowed} allowed")
    else:
        cand, summary = pd.DataFrame(), "no candidates today"
    book = [book_totals if len(book_totals) else "empty book"]
    if len(vol_risk):
        book += ["Vega by forward-vol bucket and the one-SD vol-move PnL sqrt(E' M E):", vol_risk]
    if stress is not None and len(stress):
        table = stress.copy()
        table.index = [f"vol {100 * v:+.0f} pts" for v in stress.index.astype(float)]
        table.columns = [f"spot {100 * x:+.1f}%" for x in stress.columns.astype(float)]
        book += ["Stress (full repricing):", table.reset_index(names="")]
    sections = [Section("Regime", [reg]), Section("Edges", [ed]), Section("Candidates", [summary, cand]),
                Section("Book risk", book)]
    for where, png, caption in pictures or []:
        target = next((x for x in sections if x.title == where), None)
        if target is None:
            target = Section(where)
            sections.append(target)
        target.blocks.append((png, caption))
    return title, status, sections
