"""Risk rules: a verdict per candidate with every rule's numbers (an auditable list, not one string).

Rules (defaults from the seed, all configurable through :class:`RiskLimits`; money in account currency):

* ``max_loss_per_trade``: the candidate's max loss (contracts x max loss per contract) <= 1% of equity;
* ``total_open_risk``: open risk of the book plus the candidates allowed before it plus this one <= 10%;
* ``daily_loss_limit`` / ``weekly_loss_limit``: the book's loss today / over the last 5 sessions below 3% / 5%
  of equity (from its daily marks), else nothing new is allowed;
* ``drawdown_kill_switch``: equity below its peak by 15% or more blocks everything;
* ``data_quality``: a failed blocking check upstream (bad curves, stale data) blocks that underlying;
* ``defined_risk``: a structure whose loss is unbounded or whose shorts are naked is refused;
* ``stress_loss`` (when the candidates carry it): the worst PnL of book plus candidate over the stress grid
  (full repricing, ``stress.stress_grid``) must not lose more than 10% of equity.

Candidates are evaluated in the order given (the caller ranks them), so the open-risk budget goes to the
best first. Each verdict lists every rule as ``{"rule", "passed", "value", "limit", "detail"}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RiskLimits", "BookState", "book_state", "evaluate_rules"]


@dataclass(frozen=True)
class RiskLimits:
    """Limits as shares of equity (0.01 = 1%)."""

    max_loss_per_trade: float = 0.01
    max_total_open_risk: float = 0.10
    daily_loss_limit: float = 0.03
    weekly_loss_limit: float = 0.05
    drawdown_kill_switch: float = 0.15
    max_stress_loss: float = 0.10


@dataclass(frozen=True)
class BookState:
    """Equity now and at its peak, today's and the week's PnL, and the open book's max loss (currency)."""

    equity: float
    peak_equity: float
    pnl_today: float
    pnl_week: float
    open_risk: float


def book_state(marks: pd.DataFrame, equity0: float, open_risk: float = 0.0) -> BookState:
    """The state from daily marks (``trade_date``, ``pnl``: the book's PnL per session) and starting equity.

    An empty history is a fresh account: equity ``equity0``, no losses, no drawdown.
    """
    pnl = marks.sort_values("trade_date")["pnl"].to_numpy(float) if len(marks) else np.zeros(0)
    curve = equity0 + np.cumsum(pnl)
    equity = float(curve[-1]) if pnl.size else float(equity0)
    peak = float(max(equity0, curve.max())) if pnl.size else float(equity0)
    return BookState(equity=equity, peak_equity=peak, pnl_today=float(pnl[-1]) if pnl.size else 0.0,
                     pnl_week=float(pnl[-5:].sum()), open_risk=float(open_risk))


def _rule(name: str, passed: bool, value: float, limit: float, detail: str) -> dict:
    return {"rule": name, "passed": bool(passed), "value": float(value), "limit": float(limit), "detail": detail}


def evaluate_rules(candidates: pd.DataFrame, state: BookState, limits: RiskLimits = RiskLimits(),
                   blocked_underlyings: Iterable[str] | dict = ()) -> pd.DataFrame:
    """Verdict per candidate: ``allowed`` or ``blocked``, the failed rules' names and every rule's record.

    Parameters
    ----------
    candidates : DataFrame
        candidate_id, underlying, contracts (>= 0), max_loss (currency for all contracts, >= 0; inf when
        unbounded), defined_risk (bool); ranked best first. Optional ``stress_loss`` (currency >= 0): the
        worst loss of book plus this candidate over the stress grid, checked against ``max_stress_loss``.
    state : BookState
    blocked_underlyings : iterable of str or dict
        Underlyings with a failed blocking data check (a dict maps each to the failed checks' names).

    Returns
    -------
    DataFrame
        candidate_id, verdict, verdict_reasons (failed rule names, comma-separated; '' when allowed),
        rules (list of dicts), open_risk_after (book open risk after the allowed ones so far).
    """
    need = ("candidate_id", "underlying", "contracts", "max_loss", "defined_risk")
    missing = [c for c in need if c not in candidates.columns]
    if missing:
        raise ValueError(f"candidates lack column(s) {missing}")
    if state.equity <= 0:
        raise ValueError("equity must be > 0")
    blocked = dict(blocked_underlyings) if isinstance(blocked_underlyings, dict) else \
        {u: ["blocking check failed"] for u in blocked_underlyings}
    eq = state.equity
    drawdown = 1.0 - state.equity / state.peak_equity if state.peak_equity > 0 else 0.0
    book_rules = [
        _rule("drawdown_kill_switch", drawdown < limits.drawdown_kill_switch, drawdown, limits.drawdown_kill_switch,
              f"equity {eq:,.0f} is {drawdown:.1%} below its peak {state.peak_equity:,.0f}"),
        _rule("daily_loss_limit", -state.pnl_today < limits.daily_loss_limit * eq, -state.pnl_today / eq,
              limits.daily_loss_limit, f"today's PnL {state.pnl_today:,.0f}"),
        _rule("weekly_loss_limit", -state.pnl_week < limits.weekly_loss_limit * eq, -state.pnl_week / eq,
              limits.weekly_loss_limit, f"PnL over 5 sessions {state.pnl_week:,.0f}"),
    ]
    open_risk = state.open_risk
    stress = candidates["stress_loss"] if "stress_loss" in candidates.columns else None
    rows = []
    cols = list(need) + (["stress_loss"] if stress is not None else [])
    for c in candidates[cols].itertuples(index=False):  # sequential by nature: the risk budget is shared
        loss = float(c.max_loss)
        checks = [
            _rule("defined_risk", bool(c.defined_risk) and np.isfinite(loss), 1.0 if c.defined_risk else 0.0, 1.0,
                  "bounded loss, every short covered" if c.defined_risk else "unbounded loss or a naked short"),
            _rule("data_quality", c.underlying not in blocked, float(c.underlying in blocked), 0.0,
                  "; ".join(blocked.get(c.underlying, [])) or "upstream checks passed"),
            _rule("max_loss_per_trade", loss <= limits.max_loss_per_trade * eq, loss / eq, limits.max_loss_per_trade,
                  f"{c.contracts:g} contracts, max loss {loss:,.0f}"),
            _rule("total_open_risk", open_risk + loss <= limits.max_total_open_risk * eq, (open_risk + loss) / eq,
                  limits.max_total_open_risk, f"open risk {open_risk:,.0f} + {loss:,.0f}"),
            *book_rules,
        ]
        if stress is not None:
            worst = float(c.stress_loss)
            checks.append(_rule("stress_loss", worst <= limits.max_stress_loss * eq, worst / eq,
                                limits.max_stress_loss, f"worst stress loss of book + candidate {worst:,.0f}"))
        failed = [r["rule"] for r in checks if not r["passed"]]
        allowed = not failed and c.contracts > 0
        if c.contracts <= 0:
            failed.append("no_size")
        if allowed:
            open_risk += loss
        rows.append({"candidate_id": c.candidate_id, "verdict": "allowed" if allowed else "blocked",
                     "verdict_reasons": ",".join(failed), "rules": checks, "open_risk_after": open_risk})
    return pd.DataFrame(rows, columns=["candidate_id", "verdict", "verdict_reasons", "rules", "open_risk_after"])

