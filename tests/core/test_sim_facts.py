"""SimMarket stylised facts and truth consistency: VRP, skew, term structure, forwards, bumps, arbitrage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.market.sim import SimConfig, SimMarket, durrleman_g, ssvi_total_variance
from volmachine_core.pricing import black76_price

END = "2024-12-31"


@pytest.fixture(scope="module")
def market() -> SimMarket:
    return SimMarket(SimConfig(seed=7), end=END)


@pytest.fixture(scope="module")
def surface(market) -> pd.DataFrame:
    return market.truth_surface()


def _atm_at(surface: pd.DataFrame, underlying: str, days: float) -> pd.Series:
    """ATM implied vol at a constant maturity, by linear interpolation of total variance in tau."""
    t = days / 365.0
    out = {}
    for d, g in surface[surface.underlying == underlying].groupby("trade_date"):
        out[d] = np.sqrt(np.interp(t, g["tau"], g["theta"]) / t)
    return pd.Series(out)


def _realised_20d(market: SimMarket, underlying: str) -> pd.Series:
    bars = market.bars(underlyings=underlying).set_index("trade_date")
    return np.log(bars["close"]).diff().rolling(20).std() * np.sqrt(252.0)


def test_vol_risk_premium_positive_on_average_not_always(market, surface):
    for u in ("SPX", "MSFT"):
        iv = _atm_at(surface, u, 30)
        rv = _realised_20d(market, u)
        spread = (iv - rv).dropna().iloc[:120]
        assert len(spread) == 120
        assert spread.mean() > 0.005, u
        assert 0.55 < (spread > 0).mean() < 1.0, u


def test_no_premium_market_is_less_rich(market, surface):
    flat = SimMarket(SimConfig(seed=7, vol_risk_premium=False, planted_mispricings=False), end=END)
    iv0 = _atm_at(flat.truth_surface(underlyings="SPX"), "SPX", 30)
    iv1 = _atm_at(surface, "SPX", 30)
    assert (iv1 / iv0).mean() > 1.08
    assert flat.truth_mispricings().empty


def test_index_skew_negative_single_stock_smile(surface):
    g = surface[(surface.tau > 20 / 365) & (surface.tau < 45 / 365)]
    z = 0.675  # ~25 delta
    k = z * g["atm_vol"] * np.sqrt(g["tau"])
    put = np.sqrt(ssvi_total_variance(-k, g["theta"], g["rho"], g["phi"]) / g["tau"])
    call = np.sqrt(ssvi_total_variance(k, g["theta"], g["rho"], g["phi"]) / g["tau"])
    spx = (g.underlying == "SPX").to_numpy()
    assert (put[spx] > call[spx] + 0.01).all()
    nv = (g.underlying == "NVDA").to_numpy()
    k2 = 1.5 * g["atm_vol"] * np.sqrt(g["tau"])
    call2 = np.sqrt(ssvi_total_variance(k2, g["theta"], g["rho"], g["phi"]) / g["tau"])
    assert (call2[nv] > g["atm_vol"][nv]).mean() > 0.9  # a smile: 1.5 SD calls above ATM
    rel_skew = (put - call) / g["atm_vol"]
    assert rel_skew[nv].mean() < 0.5 * rel_skew[spx].mean()


def test_backwardation_in_panic(market, surface):
    reg = market.truth_regimes(underlyings="SPX").set_index("trade_date")["regime"]
    front, back = _atm_at(surface, "SPX", 14), _atm_at(surface, "SPX", 180)
    inverted = (front > back).reindex(reg.index)
    panic, calm = inverted[reg == "HIGH_VOL_PANIC"], inverted[reg == "LOW_VOL_GRIND"]
    assert len(panic) >= 5 and len(calm) >= 20
    assert panic.mean() > 0.6 > calm.mean() + 0.3


def test_parity_forward_differs_from_spot_carry_for_dividend_payers(market):
    fw = market.truth_forwards(market.sessions[:60], ["SPX", "SPY", "NVDA"])
    naive = fw["spot"] * np.exp(fw["rate"] * fw["tau"])
    gap_bp = (fw["forward"] / naive - 1.0) * 1e4
    long_dated = fw["tau"] > 0.3
    assert (gap_bp[long_dated & (fw.underlying == "SPX")] < -30).all()  # continuous yield 1.3%
    assert (gap_bp[long_dated & (fw.underlying == "SPY")] < -20).all()  # quarterly cash dividends
    assert gap_bp[fw.underlying == "NVDA"].abs().max() < 1e-6  # no dividends
    np.testing.assert_allclose(fw["discount_factor"], np.exp(-fw["rate"] * fw["tau"]))
    assert fw["rate"].between(0.02, 0.07).all()


def test_truth_surface_is_free_of_static_arbitrage(surface):
    k = np.linspace(-3.0, 2.0, 101)
    s = surface.sort_values(["snapshot_id", "underlying", "tau"])
    w = ssvi_total_variance(
        k[None, :], s["theta"].to_numpy()[:, None], s["rho"].to_numpy()[:, None], s["phi"].to_numpy()[:, None]
    )
    same = (s["snapshot_id"].to_numpy()[1:] == s["snapshot_id"].to_numpy()[:-1]) & (
        s["underlying"].to_numpy()[1:] == s["underlying"].to_numpy()[:-1]
    )
    assert (np.diff(w, axis=0)[same] >= -1e-12).all()  # calendar
    g = durrleman_g(
        k[None, :], s["theta"].to_numpy()[:, None], s["rho"].to_numpy()[:, None], s["phi"].to_numpy()[:, None]
    )
    assert (g >= -1e-10).all()  # butterfly
    assert (s["eta"] * (1 + s["rho"].abs()) <= 2.0 + 1e-12).all()


def test_term_structure_follows_realised_vol(market, surface):
    iv, rv = _atm_at(surface, "SPX", 30), _realised_20d(market, "SPX")
    both = pd.concat([iv, rv], axis=1).dropna()
    assert both.corr().iloc[0, 1] > 0.5


def test_earnings_add_event_variance(surface):
    ms = surface[surface.underlying == "MSFT"]
    assert (ms["event_var"] > 0).any() and (ms["event_var"] == 0).any()
    j = pd.json_normalize(ms["params"].map(pd.io.json.ujson_loads))
    assert {"theta", "rho", "phi", "atm_vol", "bumps"} <= set(j.columns)


def _implied_vol(price, F, K, tau, D, is_call):
    lo, hi = np.full(len(price), 1e-4), np.full(len(price), 4.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        too_high = black76_price(F, K, tau, mid, D, is_call) > price
        hi, lo = np.where(too_high, mid, hi), np.where(too_high, lo, mid)
    return 0.5 * (lo + hi)


def test_planted_bumps_visible_in_quotes(market, surface):
    days = market.sessions[20:35]
    bumps = market.truth_mispricings(days)
    assert 15 <= len(bumps) <= 90
    assert bumps["vol_shift"].abs().between(0.015, 0.04).all()
    assert set(bumps["target_sd"].abs()) <= {1.0, 1.5, 2.0, 2.5, 3.0}
    dte = (bumps["expiry"] - bumps["trade_date"]).dt.days
    assert dte.between(7, 180).all()
    fw = market.truth_forwards(days)
    seen, agree = 0, 0
    for _, b in bumps.iterrows():
        chain = market.eod_chain(b.trade_date, b.underlying)
        sid = f"{b.trade_date:%Y-%m-%d}T1545"
        sl = surface[
            (surface.snapshot_id == sid) & (surface.underlying == b.underlying) & (surface.expiry == b.expiry)
        ].iloc[0]
        f = fw[(fw.snapshot_id == sid) & (fw.underlying == b.underlying) & (fw.expiry == b.expiry)].iloc[0]
        right = "C" if b.target_sd > 0 else "P"
        c = chain[
            (chain.expiration == f"{b.expiry:%Y-%m-%d}")
            & (chain.option_type == right)
            & (chain.bid_1545 > 0)
            & (chain.ask_1545 > chain.bid_1545)
        ].dropna(subset=["strike"])
        z = np.log(c.strike / sl.forward) / (sl.atm_vol * np.sqrt(sl.tau))
        c = c.assign(z=z).iloc[[int(np.argmin(np.abs(z - b.target_sd)))]]
        if abs(float(c.z.iloc[0]) - b.target_sd) > 0.2:
            continue
        k = np.log(c.strike.to_numpy() / sl.forward)
        base = np.sqrt(ssvi_total_variance(k, sl.theta, sl.rho, sl.phi) / sl.tau)
        mid = 0.5 * (c.bid_1545 + c.ask_1545).to_numpy()
        iv = _implied_vol(mid, sl.forward, c.strike.to_numpy(), sl.tau, f.discount_factor, right == "C")
        expected = b.vol_shift * np.exp(-0.5 * ((c.z.to_numpy() - b.target_sd) / b.width_sd) ** 2)
        vega = c.vega_1545.to_numpy() * 100.0
        tol = (c.ask_1545 - c.bid_1545).to_numpy() / (2.0 * vega) + 0.002
        seen += 1
        agree += int(abs(iv[0] - base[0] - expected[0]) <= tol[0])
    assert seen >= 10
    assert agree / seen >= 0.9
