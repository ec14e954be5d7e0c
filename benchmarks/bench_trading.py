"""Trading speed: candidates over a demo-sized history, and the desk's sizing, stress and verdicts.

Run: .venv/bin/python benchmarks/bench_trading.py
Data: one simulated end-of-day snapshot per underlying (SPX, QQQ; ``build_surface``), its strike vols standing
in for the wing theos (model vol = market vol), repeated over 120 trading dates, with a wing, a vrp and a
skew edge fired every day and the regime LOW_VOL_GRIND: about 5 structures per date and underlying.
Candidates: ``build_candidates`` + ``price_candidates`` (one ``QuoteBook`` split of all 240 chains, payoff risk
from arrays). Reference in the same run: the public per-structure path on pandas frames for the iron condors
alone (``iron_condor`` on each chain's frame, then ``structure_risk``), what the module did before it was
vectorised. Desk: ``decide`` (risk model exposures, greedy sizing, stress, rules, orders, JSON) against the
least pricing work its stress grid needs: every leg repriced once per grid point in one Black-76 call.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from _timing import best_of

from volmachine_core.market.sim import SimConfig, SimMarket
from volmachine_core.market.vendor import normalise
from volmachine_core.pricing import black76_price
from volmachine_core.surface import build_surface
from volmachine_core.trading import (
    BookState,
    build_candidates,
    decide,
    iron_condor,
    price_candidates,
    risk_aversion,
    risk_model,
    structure_risk,
)

DAYS = 120
UNDS = ["SPX", "QQQ"]


def _chains() -> pd.DataFrame:
    market = SimMarket(SimConfig(seed=7), end="2025-03-14")
    day = market.sessions[-1]
    frames = [market.eod_chain(day, u) for u in UNDS]
    quotes = pd.concat([normalise(f.assign(source_row=range(1, len(f) + 1)), source_file="sim", source="sim").clean
                        for f in frames], ignore_index=True)
    sv = build_surface(quotes).strike_vols
    sv = sv[np.isfinite(sv["iv_mid"]) & np.isfinite(sv["z"]) & (sv["tau"] > 2 / 365)].copy()
    sv["market_vol"] = sv["model_vol"] = sv["iv_mid"]
    key = ["underlying", "expiry"]
    atm = sv.loc[sv.groupby(key)["z"].transform(lambda z: z.abs() == z.abs().min())].drop_duplicates(key)
    sv = sv.merge(atm[[*key, "strike", "vega"]].rename(columns={"strike": "atm_strike", "vega": "atm_vega"}), on=key)
    sv["atm_hedge_ratio"] = sv["vega"] / sv["atm_vega"]
    sv["slega"], sv["model_id"], sv["status"] = 0.01 * sv["z"] * sv["vega"], "bench", "ok"
    dates = pd.bdate_range(end="2025-03-14", periods=DAYS)
    return pd.concat([sv.assign(trade_date=d, snapshot_id=f"{d:%Y-%m-%d}T1545") for d in dates], ignore_index=True)


def _edges(theos: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, regimes = [], []
    for (day, und), g in theos.groupby(["trade_date", "underlying"]):
        p = g[(g["right"] == "P") & (g["z"].between(-2.2, -1.8))]
        p = p.iloc[(p["tau"] - 40 / 365).abs().argsort()[:1]]
        top = [{"expiry": f"{p['expiry'].iloc[0]:%Y-%m-%d}", "strike": float(p["strike"].iloc[0]), "right": "P"}]
        base = {"trade_date": day, "underlying": und, "fired": True, "strength": 0.5, "rationale": "bench"}
        rows += [{**base, "edge": "wing", "direction": "sell_vol", "metrics": json.dumps({"top": top})},
                 {**base, "edge": "vrp", "direction": "sell_vol",
                  "metrics": json.dumps({"iv_30d": 0.2, "rv_20d": 0.15})},
                 {**base, "edge": "skew", "direction": "puts_rich",
                  "metrics": json.dumps({"skew_pts": 0.05, "skew_over_atm": 0.25, "mean": 0.18})}]
        regimes.append({"trade_date": day, "underlying": und, "regime": "LOW_VOL_GRIND"})
    return pd.DataFrame(rows), pd.DataFrame(regimes)


def _reference_condors(theos: pd.DataFrame) -> int:
    n = 0
    for _, g in theos.groupby(["trade_date", "underlying"]):  # the per-structure pandas path
        exp = g.iloc[(g["tau"] - 30 / 365).abs().argsort()[:1]]
        legs = iron_condor(g, exp["expiry"].iloc[0], float(exp["atm_vol"].iloc[0]))
        if legs is not None:
            structure_risk(legs)
            n += 1
    return n


def main() -> None:
    theos = _chains()
    edges, regimes = _edges(theos)
    cand, legs = build_candidates(edges, regimes, theos)
    t_cand = best_of(lambda: price_candidates(*build_candidates(edges, regimes, theos)), repeat=3)
    n_ref = _reference_condors(theos)
    t_ref = best_of(lambda: _reference_condors(theos), repeat=2)

    priced = price_candidates(cand, legs)
    term = theos.groupby(["trade_date", "underlying", "expiry"], as_index=False).agg(tau=("tau", "first"),
                                                                                   atm_vol=("atm_vol", "first"))
    model = risk_model(pd.DataFrame(), UNDS)
    state = BookState(10e6, 10e6, 0.0, 0.0, 0.0)
    c = risk_aversion(250_000, 3.0)
    t_desk = best_of(lambda: decide(priced, legs, pd.DataFrame(), term, model, state, c), repeat=2)
    F, K, tau, vol, D = (legs[x].to_numpy(float) for x in ("forward", "strike", "tau", "market_vol",
                                                            "discount_factor"))
    call = legs["right"].eq("C").to_numpy()
    grid = [(s, v) for s in (-0.05, -0.025, 0.0, 0.025, 0.05) for v in (-0.05, 0.0, 0.05)]
    t_px = best_of(lambda: black76_price(np.concatenate([F * (1 + s) for s, _ in grid]), np.tile(K, len(grid)),
                                         np.tile(tau, len(grid)), np.concatenate([vol + v for _, v in grid]),
                                         np.tile(D, len(grid)), np.tile(call, len(grid))), repeat=5)

    n_c = len(cand)
    print(f"trading benchmark: {DAYS} dates x {len(UNDS)} underlyings, {n_c:,} candidates, {len(legs):,} legs")
    print(f"{'task':56s} {'seconds':>8s} {'rate':>18s} {'x reference':>12s}")
    ref_rate = n_ref / t_ref
    print(f"{'build_candidates + price_candidates (all structures)':56s} {t_cand:8.3f} {n_c / t_cand:12,.0f} cand/s "
          f"{(n_c / t_cand) / ref_rate:12.2f}")
    print(f"{'  reference: iron_condor + structure_risk per chain':56s} {t_ref:8.3f} {ref_rate:12,.0f} cand/s "
          f"{1.0:12.2f}")
    print(f"{'decide (exposures, greedy sizing, stress, rules, orders)':56s} {t_desk:8.3f} {n_c / t_desk:12,.0f} "
          f"cand/s {t_desk / t_px:12.1f}")
    print(f"{'  reference: one Black-76 call, all legs x 15 grid points':56s} {t_px:8.4f} "
          f"{len(legs) * len(grid) / t_px:10,.0f} prices/s {1.0:12.1f}")
    print("rates: cand/s higher is better; 'x reference' for candidates is the speed-up over the per-structure "
          "path, for decide the time over the bare stress pricing")


if __name__ == "__main__":
    main()
