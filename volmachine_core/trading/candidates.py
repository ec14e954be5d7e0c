"""Trade candidates from the day's edges and regime: which structure, on which strikes, and its theo.

Inputs are the warehouse's tables as frames (no I/O): ``edge_signals`` rows (metrics as JSON text or dicts),
``regime`` rows and one snapshot's ``wing_theos`` per (trade_date, underlying): every listed option with its
bid/ask, forward, discount factor, tau (ACT/365 years), market and model vol, vega (per 1.00 vol), delta,
slega, wing-model price ``theo_price``, ATM strike and hedge ratio.

Which structures (DESIGN.md's edge-to-structure map and the regimes' favourites):

=================  =============================================================================
source             structure
=================  =============================================================================
wing               the wing trade: the mispriced target-SD option as a spread (sold with a further
                   OTM option bought, or bought outright), vega-hedged with ATM options of the same
                   right at ``vega(target)/vega(ATM)`` (the sold spread's vega when covered) and
                   delta-hedged with the underlying
vrp (sell_vol)     credit spreads by regime: bull put (TREND_UP), bear call (TREND_DOWN), a wide iron
                   condor (HIGH_VOL_PANIC), an iron condor otherwise
term_structure     calendar (sell the front, buy the back) when the front is rich (``backwardation``);
                   a rich back month has no defined-risk expression and is left out
skew               bull put when puts are rich, bear call when calls are rich
event_vol          iron condor in the first expiry after the event (sell the crush)
gamma (pin)        butterfly centred on the pin strike in the pin expiry
regime             LOW_VOL_GRIND: iron condor and ATM butterfly; TREND_UP: bull put; TREND_DOWN:
                   bear call; CHOP: iron condor; HIGH_VOL_PANIC: nothing new
=================  =============================================================================

A regime structure equal to an edge's (same structure and expiry) is not proposed twice.

Theo of each leg: Black-76 at the wing model's vol plus the edge's **vol view** ``dv`` (decimals), a share
``edge_capture`` of the measured dislocation expected to come back over the holding horizon:

* vrp: ``dv = -capture * (iv30 - rv20)`` on every leg;
* term structure: the front expiry's legs move to the slope's trailing mean,
  ``dv = capture * (iv90 exp(-mean slope) - iv30)``;
* skew: the smile tilts back to its trailing mean, ``dv_i = capture * excess * z_i / (2 * 0.6745)`` with
  ``excess = (skew - mean skew) * atm_30d`` (vol points between the 25-delta put and call) and ``z_i`` the
  leg's SD moneyness (a 25-delta option sits near ``|z| = 0.6745``);
* event: the event expiry's ATM total variance loses ``capture * (event variance - realised RMS move^2)``;
* wing: the wing model's vol, with the mispriced option's vol raised by the day's median residual at its SD
  (``residual_level``: a residual every expiry shares is the model missing the smile, not a mispricing, so
  only the excess the edge fired on counts);
* gamma and regime candidates: the wing model's vol alone.

A leg's PnL theo is ``quantity * (theo - price paid)``, with bought legs paying the ask and sold legs receiving
the bid, so ``theo_ev`` is net of crossing the spread. All prices are per unit of underlying for one unit of
the structure; multiply by ``multiplier`` for currency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from volmachine_core.pricing import black76_price
from volmachine_core.trading import structures
from volmachine_core.trading.payoff import risk_from_arrays
from volmachine_core.trading.risk_model import Z25

__all__ = ["CandidateSpec", "CANDIDATE_COLUMNS", "CANDIDATE_LEG_COLUMNS", "build_candidates", "leg_theos",
           "price_candidates", "STRUCTURES"]

STRUCTURES = ("iron_condor", "bull_put", "bear_call", "butterfly", "calendar", "wing_trade")
#: One row per candidate (before sizing).
CANDIDATE_COLUMNS = ("candidate_id", "trade_date", "underlying", "snapshot_id", "source", "structure", "expiry",
                     "rationale", "multiplier", "spot", "hedge_shares", "model_id")
#: One row per leg of a candidate: the option, signed quantity per structure unit and its numbers.
CANDIDATE_LEG_COLUMNS = ("candidate_id", "underlying", "expiry", "strike", "right", "quantity", "price", "bid",
                         "ask", "mid", "forward", "discount_factor", "tau", "z", "market_vol", "model_vol", "dv",
                         "theo", "vega", "delta", "slega", "multiplier")


@dataclass(frozen=True)
class CandidateSpec:
    """How candidates are built (``settings.yaml: trading``).

    target_dte / min_dte : calendar days to the structure's expiry (nearest to the target, at least min).
    short_sd / wing_sd : SD moneyness of the short and long strikes of condors and verticals.
    panic_short_sd / panic_wing_sd : the same in HIGH_VOL_PANIC (further out, wider).
    butterfly_wing_sd : distance of a butterfly's wings in SDs.
    calendar_back_dte : days to the calendar's back expiry.
    wing_units : most target options per unit of the wing trade (a unit holds the fewest that take a whole
        number of ATM hedge options within 10%).
    wing_protect_sd : how much further out (SDs) the bought option that covers a sold wing sits.
    edge_capture : share of the measured dislocation the theo expects to earn (0..1).
    """

    target_dte: int = 30
    min_dte: int = 7
    short_sd: float = 1.0
    wing_sd: float = 2.0
    panic_short_sd: float = 1.5
    panic_wing_sd: float = 3.0
    butterfly_wing_sd: float = 1.0
    calendar_back_dte: int = 75
    wing_units: int = 10
    wing_protect_sd: float = 0.5
    edge_capture: float = 0.5
    regime_structures: dict = field(default_factory=lambda: {
        "LOW_VOL_GRIND": ("iron_condor", "butterfly"), "TREND_UP": ("bull_put",), "TREND_DOWN": ("bear_call",),
        "CHOP": ("iron_condor",), "HIGH_VOL_PANIC": ()})

    def __post_init__(self) -> None:
        if not 0 < self.min_dte <= self.target_dte < self.calendar_back_dte:
            raise ValueError("need 0 < min_dte <= target_dte < calendar_back_dte")
        if not (0 < self.short_sd < self.wing_sd and 0 < self.panic_short_sd < self.panic_wing_sd):
            raise ValueError("need 0 < short_sd < wing_sd (and the same for the panic SDs)")
        if not 0.0 <= self.edge_capture <= 1.0 or self.wing_units < 1 or self.wing_protect_sd <= 0:
            raise ValueError("edge_capture must lie in [0, 1], wing_units >= 1 and wing_protect_sd > 0")


def _metrics(m) -> dict:
    if isinstance(m, dict):
        return m
    return json.loads(m) if isinstance(m, str) and m else {}


def _nearest_expiry(exp: pd.DataFrame, days: float, min_days: float) -> pd.Timestamp | None:
    d = exp["tau"].to_numpy(float) * 365.0
    gap = np.where(d >= min_days, np.abs(d - days), np.inf)
    if not gap.size or not np.isfinite(gap.min()):
        return None
    return pd.Timestamp(exp["expiry"].to_numpy()[int(np.argmin(gap))])


def _unit(h: float, most: int) -> tuple[int, int]:
    """(wing options n, ATM options m) per unit: the smallest n <= ``most`` whose whole ``m = round(n h)``
    is within 10% of ``n h`` ATM options per wing option, else the closest."""
    n = np.arange(1, most + 1)
    m = np.floor(n * h + 0.5)
    err = np.abs(m - n * h) / (n * h)
    good = np.flatnonzero(err <= 0.10)
    k = int(good[0]) if good.size else int(np.argmin(err))
    return int(n[k]), int(m[k])


def _wing_trade(q: pd.DataFrame, book: structures.QuoteBook, top: dict, direction: str,
                spec: CandidateSpec) -> list | None:
    """Legs of the wing trade: the target option (sold with a cover further out, or bought) and the ATM vega
    hedge of the same right and expiry: ATM options per wing option ``(vega(target) - vega(cover)) /
    vega(ATM)`` when sold with a cover (the spread's vega), ``vega(target) / vega(ATM)`` when bought; a unit
    holds the fewest wing options (at most ``wing_units``) that take a whole number of ATM options."""
    side = book.side(top["expiry"], str(top["right"]))
    if side is None:
        return None
    hit = np.flatnonzero(np.isclose(side.strike, float(top["strike"])))
    atm = np.flatnonzero(np.isclose(side.strike, float(q.loc[side.label[hit[0]], "atm_strike"]))) if hit.size \
        else hit
    if not hit.size or not atm.size or int(atm[0]) == int(hit[0]):
        return None
    i, j = int(hit[0]), int(atm[0])
    vega = q.loc[side.label, "vega"].to_numpy(float)
    legs: list = []
    if direction == "sell_vol":
        out = -1.0 if side.right == "P" else 1.0  # further out of the money
        far = np.flatnonzero(out * (side.z - side.z[i]) >= spec.wing_protect_sd)
        if not far.size:
            return None
        cover = int(far[-1] if side.right == "P" else far[0])
        h, sign = (vega[i] - vega[cover]) / vega[j], 1
    else:
        h, sign = vega[i] / vega[j], -1
    if not np.isfinite(h) or h <= 0:
        return None
    n, m = _unit(float(h), spec.wing_units)
    if direction == "sell_vol":
        legs = [(side, i, -n), (side, cover, n)]
    else:
        legs, m = [(side, i, n)], min(m, n)  # sold ATM options stay covered by the bought wings
    if m > 0:
        legs.append((side, j, sign * m))
    return structures._frame(legs, raw=True)


def _proposals(edges: list, regime: str | None, expiries: pd.DataFrame, spec: CandidateSpec) -> list[dict]:
    """(source, structure, expiry, extra) proposals of one (trade_date, underlying)."""
    out: list[dict] = []
    main = _nearest_expiry(expiries, spec.target_dte, spec.min_dte)
    panic = regime == "HIGH_VOL_PANIC"
    credit = {"TREND_UP": "bull_put", "TREND_DOWN": "bear_call"}.get(regime or "", "iron_condor")
    for e in edges:  # the day's fired edges of this underlying, as records
        m = _metrics(e.metrics)
        if e.edge == "wing" and m.get("top"):
            out.append({"source": "wing", "structure": "wing_trade", "expiry": pd.Timestamp(m["top"][0]["expiry"]),
                        "top": m["top"][0], "direction": e.direction, "metrics": m, "rationale": e.rationale})
        elif e.edge == "vrp" and e.direction == "sell_vol" and main is not None:
            out.append({"source": "vrp", "structure": credit, "expiry": main, "panic": panic, "metrics": m,
                        "rationale": e.rationale})
        elif e.edge == "term_structure" and e.direction == "backwardation" and main is not None:
            back = _nearest_expiry(expiries[expiries["expiry"] > main], spec.calendar_back_dte, spec.target_dte + 1)
            if back is not None:
                out.append({"source": "term_structure", "structure": "calendar", "expiry": main, "back": back,
                            "metrics": m, "rationale": e.rationale})
        elif e.edge == "skew" and e.direction in ("puts_rich", "calls_rich") and main is not None:
            out.append({"source": "skew", "structure": "bull_put" if e.direction == "puts_rich" else "bear_call",
                        "expiry": main, "panic": panic, "metrics": m, "rationale": e.rationale})
        elif e.edge == "event_vol" and e.direction == "sell_vol" and m.get("expiry_after"):
            out.append({"source": "event_vol", "structure": "iron_condor", "expiry": pd.Timestamp(m["expiry_after"]),
                        "panic": panic, "metrics": m, "rationale": e.rationale})
        elif e.edge == "gamma" and e.direction == "pin" and m.get("pin_strike") and m.get("pin_expiry"):
            out.append({"source": "gamma", "structure": "butterfly", "expiry": pd.Timestamp(m["pin_expiry"]),
                        "center": float(m["pin_strike"]), "metrics": m, "rationale": e.rationale})
    taken = {(p["structure"], p["expiry"]) for p in out}
    for s in spec.regime_structures.get(regime or "", ()) if main is not None else ():
        if (s, main) not in taken:
            out.append({"source": "regime", "structure": s, "expiry": main, "panic": panic, "metrics": {},
                        "rationale": f"regime {regime} favours {s.replace('_', ' ')}s"})
    return out


def _build(q: pd.DataFrame, book: structures.QuoteBook, p: dict, atm: dict, spec: CandidateSpec) -> list | None:
    """Legs of one proposal as (side, position, quantity) triples (None when a strike is missing)."""
    s, exp = p["structure"], p["expiry"]
    if exp not in atm:
        return None
    short_sd, wing_sd = (spec.panic_short_sd, spec.panic_wing_sd) if p.get("panic") else (spec.short_sd, spec.wing_sd)
    if s == "wing_trade":
        return _wing_trade(q, book, p["top"], p["direction"], spec)
    if s == "iron_condor":
        return structures.iron_condor(book, exp, atm[exp], short_sd, wing_sd, raw=True)
    if s in ("bull_put", "bear_call"):
        return structures.vertical(book, exp, atm[exp], s, short_sd, wing_sd, raw=True)
    if s == "butterfly":
        return structures.butterfly(book, exp, atm[exp], spec.butterfly_wing_sd, p.get("center"), raw=True)
    if s == "calendar":
        return structures.calendar(book, exp, p["back"], atm[exp], raw=True)
    raise ValueError(f"unknown structure {s!r}")


def _view_params(p: dict, spec: CandidateSpec) -> dict:
    """The candidate's vol view as numbers (module docstring): a parallel shift, a shift of the legs in the
    candidate's own expiry, a smile tilt per SD and a cut of that expiry's ATM total variance."""
    k, m, src = spec.edge_capture, p["metrics"], p["source"]

    def num(key: str) -> float:
        v = m.get(key)
        return float(v) if v is not None else np.nan

    out = {"view_parallel": 0.0, "view_front": 0.0, "view_tilt": 0.0, "view_var_cut": 0.0,
           "view_strike": np.nan, "view_strike_dv": 0.0}
    if src == "wing":
        # the edge is the residual beyond the day's level at that SD: the shared level is not mispricing
        top = m["top"][0]
        out["view_strike"] = float(top["strike"])
        out["view_strike_dv"] = float(top.get("residual_level") or 0.0)
    elif src == "vrp":
        out["view_parallel"] = -k * max(num("iv_30d") - num("rv_20d"), 0.0)
    elif src == "term_structure":
        out["view_front"] = k * min(num("iv_90d") * np.exp(-num("mean")) - num("iv_30d"), 0.0)
    elif src == "skew":
        with np.errstate(divide="ignore", invalid="ignore"):  # the 30-day ATM vol the skew was scaled by
            atm = np.divide(num("skew_pts"), num("skew_over_atm"))
        out["view_tilt"] = k * (num("skew_over_atm") - num("mean")) * atm / (2 * Z25)
    elif src == "event_vol":
        out["view_var_cut"] = k * max(num("event_var") - num("realised_rms") ** 2, 0.0)
    return {key: (v if key == "view_strike" else float(np.nan_to_num(v, nan=0.0))) for key, v in out.items()}


def _leg_views(legs: pd.DataFrame, view: pd.DataFrame) -> np.ndarray:
    """``dv`` per leg from its candidate's view parameters (aligned by candidate_id)."""
    v = view.set_index("candidate_id").loc[legs["candidate_id"]]
    own = (legs["expiry"].to_numpy() == v["expiry"].to_numpy())
    atm, tau = legs["atm_vol"].to_numpy(float), legs["tau"].to_numpy(float)
    cut = v["view_var_cut"].to_numpy(float)
    event = np.where(own & (cut > 0), np.sqrt(np.maximum(atm ** 2 * tau - cut, 1e-8) / tau) - atm, 0.0)
    target = own & np.isclose(legs["strike"].to_numpy(float), v["view_strike"].to_numpy(float))
    return (v["view_parallel"].to_numpy(float) + own * v["view_front"].to_numpy(float)
            + v["view_tilt"].to_numpy(float) * legs["z"].to_numpy(float) + event
            + target * v["view_strike_dv"].to_numpy(float))


_Q = ["expiry", "strike", "right", "bid", "ask", "mid", "forward", "discount_factor", "tau", "z", "market_vol",
      "model_vol", "atm_vol", "vega", "delta", "slega", "multiplier", "atm_strike", "atm_hedge_ratio", "model_id"]


def build_candidates(edges: pd.DataFrame, regimes: pd.DataFrame, theos: pd.DataFrame,
                     spec: CandidateSpec = CandidateSpec()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates and their legs for every (trade_date, underlying) in ``theos`` (module docstring).

    Parameters
    ----------
    edges : DataFrame
        ``edge_signals`` rows: trade_date, underlying, edge, fired, direction, rationale, metrics.
    regimes : DataFrame
        trade_date, underlying, regime.
    theos : DataFrame
        ``wing_theos`` rows (status 'ok') of one snapshot per (trade_date, underlying).

    Returns
    -------
    candidates : DataFrame with :data:`CANDIDATE_COLUMNS` and the view's parameters (``view_*``)
    legs : DataFrame with :data:`CANDIDATE_LEG_COLUMNS` (``price`` is the side's bid or ask; ``theo`` the
        leg's value under the candidate's view; ``dv`` the view's vol shift).
    """
    need = {"trade_date", "underlying", "snapshot_id", *_Q}
    missing = sorted(need - set(theos.columns))
    if missing:
        raise ValueError(f"theos lack column(s) {missing}")
    th = theos[["trade_date", "underlying", "snapshot_id", *_Q]].reset_index(drop=True)
    th = th.assign(trade_date=pd.to_datetime(th["trade_date"]), expiry=pd.to_datetime(th["expiry"]),
                   right=th["right"].astype(str))
    last = th.groupby(["trade_date", "underlying"])["snapshot_id"].transform("max")
    th = th[th["snapshot_id"] == last]
    ed_groups: dict[tuple, list] = {}
    if len(edges):
        fired = edges[edges["fired"].astype(bool)]
        for e in fired.assign(trade_date=pd.to_datetime(fired["trade_date"])).itertuples(index=False):
            ed_groups.setdefault((e.trade_date, e.underlying), []).append(e)
    reg = {(pd.Timestamp(r.trade_date), r.underlying): r.regime for r in regimes.itertuples(index=False)}
    exp_all = th.groupby(["trade_date", "underlying", "expiry"], as_index=False, sort=True).agg(
        tau=("tau", "first"), atm_vol=("atm_vol", "first"))
    exp_groups = dict(tuple(exp_all.groupby(["trade_date", "underlying"], sort=False)))
    books = structures.QuoteBook.by_group(th, ["trade_date", "underlying"])
    snaps = th.groupby(["trade_date", "underlying"])["snapshot_id"].first()
    cands, legs_out = [], []
    for (day, und), book in sorted(books.items()):  # one chain per day x underlying
        expiries = exp_groups[(day, und)]
        atm = dict(zip(expiries["expiry"], expiries["atm_vol"], strict=True))
        for p in _proposals(ed_groups.get((day, und), []), reg.get((day, und)), expiries, spec):
            legs = _build(th, book, p, atm, spec)
            if legs is None:
                continue
            cid = f"{day:%Y%m%d}-{und}-{p['source']}-{p['structure']}-{pd.Timestamp(p['expiry']):%Y%m%d}"
            legs_out.extend((cid, sd.label[i], qty, float(sd.ask[i] if qty > 0 else sd.bid[i])) for sd, i, qty in legs)
            cands.append({"candidate_id": cid, "trade_date": day, "underlying": und,
                          "snapshot_id": str(snaps[(day, und)]), "source": p["source"],
                          "structure": p["structure"], "expiry": pd.Timestamp(p["expiry"]),
                          "rationale": p["rationale"], **_view_params(p, spec)})
    if not cands:
        return (pd.DataFrame(columns=list(CANDIDATE_COLUMNS)),
                pd.DataFrame(columns=[*CANDIDATE_LEG_COLUMNS, "atm_vol"]))
    cand = pd.DataFrame(cands)
    picked = pd.DataFrame(legs_out, columns=["candidate_id", "row", "quantity", "price"])
    legs = th.loc[picked["row"].to_numpy(), _Q].reset_index(drop=True).assign(
        candidate_id=picked["candidate_id"].to_numpy(), underlying=th.loc[picked["row"].to_numpy(),
                                                                          "underlying"].to_numpy(),
        quantity=picked["quantity"].to_numpy(int), price=picked["price"].to_numpy(float))
    legs["dv"] = _leg_views(legs, cand)
    legs["theo"] = black76_price(legs["forward"].to_numpy(float), legs["strike"].to_numpy(float),
                                 legs["tau"].to_numpy(float),
                                 np.maximum(legs["model_vol"].to_numpy(float) + legs["dv"].to_numpy(), 1e-4),
                                 legs["discount_factor"].to_numpy(float), legs["right"].eq("C").to_numpy())
    # the wing trade is flat delta at entry: its hedge trades the underlying (not a leg of the payoff)
    qd = (legs["quantity"] * legs["delta"]).groupby(legs["candidate_id"], sort=False).sum()
    cand["hedge_shares"] = np.where(cand["structure"] == "wing_trade", -cand["candidate_id"].map(qd), 0.0)
    first = legs.groupby("candidate_id", sort=False).agg(multiplier=("multiplier", "first"),
                                                          model_id=("model_id", "first"),
                                                          forward=("forward", "first"), D=("discount_factor", "first"))
    cand["multiplier"] = cand["candidate_id"].map(first["multiplier"]).to_numpy(float)
    cand["spot"] = cand["candidate_id"].map(first["forward"] * first["D"]).to_numpy(float)
    cand["model_id"] = cand["candidate_id"].map(first["model_id"])
    view_cols = ["view_parallel", "view_front", "view_tilt", "view_var_cut", "view_strike", "view_strike_dv"]
    return cand[[*CANDIDATE_COLUMNS, *view_cols]], legs[[*CANDIDATE_LEG_COLUMNS, "atm_vol"]]


def leg_theos(legs: pd.DataFrame) -> pd.DataFrame:
    """Per candidate: ``theo_ev`` (sum of quantity x (theo - price), per unit of underlying), structure
    ``bid``/``ask``/``mid``/``theo`` as values (sum of quantity x price; > 0 a debit), ``delta`` (per unit of
    underlying, options only) and the crossing cost ``cost`` (what the bid/ask side costs against mid)."""
    q = legs["quantity"].to_numpy(float)
    buy = q > 0
    f = pd.DataFrame({
        "candidate_id": legs["candidate_id"].to_numpy(),
        "theo_ev": q * (legs["theo"].to_numpy(float) - legs["price"].to_numpy(float)),
        "bid": q * np.where(buy, legs["bid"], legs["ask"]), "ask": q * np.where(buy, legs["ask"], legs["bid"]),
        "mid": q * legs["mid"].to_numpy(float), "theo": q * legs["theo"].to_numpy(float),
        "delta": q * legs["delta"].to_numpy(float),
        "cost": q * (legs["price"].to_numpy(float) - legs["mid"].to_numpy(float)),
    })
    return f.groupby("candidate_id", sort=False).sum().reset_index()


def price_candidates(candidates: pd.DataFrame, legs: pd.DataFrame) -> pd.DataFrame:
    """Candidates with their theo numbers (:func:`leg_theos`) and payoff risk per structure unit: max_loss,
    max_profit, breakevens, net_premium, defined_risk and risk_reason (``payoff.structure_risk``)."""
    if candidates.empty:
        cols = ["theo_ev", "bid", "ask", "mid", "theo", "delta", "cost", "max_loss", "max_profit", "breakevens",
                "net_premium", "defined_risk", "risk_reason"]
        return candidates.assign(**{c: pd.Series(dtype=float) for c in cols})
    risk = []
    legs = legs.iloc[np.argsort(pd.factorize(legs["candidate_id"])[0], kind="stable")]  # each structure contiguous
    ids = legs["candidate_id"].to_numpy()
    call, K, q = legs["right"].eq("C").to_numpy(), legs["strike"].to_numpy(float), legs["quantity"].to_numpy(float)
    px, exp = legs["price"].to_numpy(float), pd.to_datetime(legs["expiry"]).to_numpy("datetime64[ns]")
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(ids)], strict=True):  # one payoff grid per structure
        cid = ids[a]
        r = risk_from_arrays(call[a:b], K[a:b], q[a:b], px[a:b], exp[a:b])
        risk.append({"candidate_id": cid, "max_loss": r.max_loss, "max_profit": r.max_profit,
                     "breakevens": list(r.breakevens), "net_premium": r.net_premium,
                     "defined_risk": r.defined_risk, "risk_reason": r.reason})
    return candidates.merge(leg_theos(legs), on="candidate_id", how="left").merge(
        pd.DataFrame(risk), on="candidate_id", how="left")
