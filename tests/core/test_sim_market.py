"""SimMarket: determinism, vendor layouts, listings, quotes and bad-quote injection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.conventions import trading_sessions
from volmachine_core.market.schema import ReasonCode
from volmachine_core.market.sim import (
    BAD_KINDS,
    EOD_COLUMNS,
    INTRADAY_COLUMNS,
    REGIMES,
    SimConfig,
    SimMarket,
    default_universe,
    list_expiries,
)
from volmachine_core.market.sim import __all__ as sim_all
from volmachine_core.market.sim.chains import tick_of

DAY = "2024-03-28"  # Thursday before Good Friday 2024-03-29 (an XNYS holiday)


@pytest.fixture(scope="module")
def market() -> SimMarket:
    return SimMarket(SimConfig(seed=7), end="2024-04-30")


@pytest.fixture(scope="module")
def eod_days(market) -> pd.DataFrame:
    return market.eod_chains(market.sessions[55:61])


def test_public_names_have_docstrings():
    import volmachine_core.market.sim as sim

    for name in sim_all:
        obj = getattr(sim, name)
        if callable(obj):
            assert obj.__doc__, name


def test_same_seed_same_frames_and_other_seed_differs(market):
    other = SimMarket(SimConfig(seed=7), end="2024-04-30")
    pd.testing.assert_frame_equal(market.eod_chain(DAY, "MSFT"), other.eod_chain(DAY, "MSFT"))
    pd.testing.assert_frame_equal(market.bars(), other.bars())
    diff = SimMarket(SimConfig(seed=8), end="2024-04-30")
    assert not market.bars()["close"].equals(diff.bars()["close"])


def test_day_alone_equals_day_inside_a_range(market):
    short = SimMarket(SimConfig(seed=7), end=DAY)
    long_ = SimMarket(SimConfig(seed=7), end="2024-12-31")
    long_.eod_chains(long_.sessions[50:58], ["SPY"])  # warm caches in another order
    for u in ("SPX", "SPY", "NVDA"):
        pd.testing.assert_frame_equal(short.eod_chain(DAY, u), long_.eod_chain(DAY, u))
    pd.testing.assert_frame_equal(short.truth_forwards(DAY), long_.truth_forwards(DAY))
    pd.testing.assert_frame_equal(short.truth_surface(DAY), long_.truth_surface(DAY))
    pd.testing.assert_frame_equal(short.truth_mispricings(), long_.truth_mispricings(short.sessions))
    pd.testing.assert_frame_equal(short.truth_bad_quotes(DAY), long_.truth_bad_quotes(DAY))
    t = short.intraday_times(DAY)[3]
    pd.testing.assert_frame_equal(short.intraday_chain(DAY, "QQQ", t), long_.intraday_chain(DAY, "QQQ", t))


def test_eod_layout_and_types(market):
    df = market.eod_chain(DAY, "SPX")
    assert tuple(df.columns) == EOD_COLUMNS
    assert set(df["quote_date"]) == {DAY}
    assert set(df["root"]) == {"SPXW"}
    assert set(df["option_type"]) == {"C", "P"}
    exp = df["expiration"].dropna()
    assert exp.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert df["trade_volume"].dtype == np.int64 and df["open_interest"].dtype == np.int64
    n_total = sum(len(market.eod_chain(DAY, u)) for u in market.underlyings)
    assert 7000 <= n_total <= 14000, n_total


def test_intraday_layout_and_times(market):
    times = market.intraday_times(DAY)
    assert [t.strftime("%H:%M") for t in times][:2] == ["10:00", "10:30"] and len(times) == 12
    assert str(times[0].tz) == "America/New_York"
    df = market.intraday_chain(DAY, "NVDA", times[5])
    assert tuple(df.columns) == INTRADAY_COLUMNS
    assert set(df["quote_datetime"]) == {f"{DAY} 12:30:00"}
    half_day = SimMarket(SimConfig(seed=7), end="2024-07-05").intraday_times("2024-07-03")  # closes 13:00
    assert half_day[-1].strftime("%H:%M") == "12:30"


def test_spot_lies_on_bars(market):
    bars = market.bars(underlyings="SPY").set_index("trade_date")
    assert (bars["source"] == "sim").all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1) + 1e-9).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1) - 1e-9).all()
    for d in market.sessions[40:44]:
        eod = market.eod_chain(d, "SPY")
        s = eod["active_underlying_price_1545"].iloc[0]
        assert bars.loc[d, "low"] - 1e-9 <= s <= bars.loc[d, "high"] + 1e-9
        assert eod["underlying_bid_eod"].iloc[0] == pytest.approx(bars.loc[d, "close"], abs=0.011)


def test_listings_follow_exchange_rules():
    spx = default_universe()[0]
    exp = list_expiries(spx, DAY)
    assert np.datetime64("2024-03-29") not in exp  # Good Friday holiday ...
    assert np.datetime64("2024-04-19") in exp  # third Friday of April
    assert np.datetime64("2024-03-28") not in exp  # no same-day expiry
    sessions = trading_sessions("2024-01-01", "2027-12-31").values.astype("datetime64[D]")
    assert np.isin(exp, sessions).all()
    horizon = (exp.max() - np.datetime64(DAY)).astype(int) / 365.25
    assert 1.7 <= horizon <= 2.2
    assert pd.Timestamp(exp.max()).month == 1
    weekly = list_expiries(default_universe()[1], "2024-03-26")
    assert np.datetime64("2024-03-28") in weekly  # Good Friday weekly moved to Thursday
    assert (pd.DatetimeIndex(exp[exp > np.datetime64("2024-05-10")]).day_of_week.isin([0, 1, 2, 3, 4])).all()


def _clean_rows(market, df, date, underlying):
    bad = market.truth_bad_quotes(date, underlying)
    key = df["expiration"].astype(str) + df["strike"].astype(str) + df["option_type"]
    bad_key = bad["expiry"].dt.strftime("%Y-%m-%d") + bad["strike"].astype(str) + bad["right"]
    return df[~key.isin(set(bad_key)) & df["strike"].notna() & df["expiration"].notna()]


@pytest.mark.parametrize("underlying", ["SPX", "MSFT"])
def test_quotes_ticked_and_ordered(market, underlying):
    spec = market.config.spec(underlying)
    df = _clean_rows(market, market.eod_chain(DAY, underlying), DAY, underlying)
    assert (df["bid_1545"] <= df["ask_1545"]).all()
    assert (df["bid_1545"] >= 0).all() and (df["ask_1545"] > 0).all()
    for col in ("bid_1545", "ask_1545"):
        cents = np.rint(df[col].to_numpy() * 100).astype(int)
        tick = np.rint(tick_of(df[col].to_numpy(), spec) * 100).astype(int)
        assert (cents % tick == 0).all(), col
    assert (df["bid_1545"] == 0).any()  # zero bids far out
    spread = df["ask_1545"] - df["bid_1545"]
    atm = (df["strike"] / df["active_underlying_price_1545"] - 1).abs()
    assert spread[atm > 0.1].mean() >= 0 and (df["open_interest"] > 0).mean() > 0.5


def test_open_interest_pattern(market):
    df = market.eod_chain(DAY, "SPX")
    s = df["active_underlying_price_1545"].iloc[0]
    puts_below = df[(df.option_type == "P") & (df.strike < s)]["open_interest"].sum()
    calls_above = df[(df.option_type == "C") & (df.strike > s)]["open_interest"].sum()
    assert puts_below > 1.5 * calls_above
    nv = market.eod_chain(DAY, "NVDA")
    s = nv["active_underlying_price_1545"].iloc[0]
    assert (
        nv[(nv.option_type == "C") & (nv.strike > s)]["open_interest"].sum()
        > nv[(nv.option_type == "P") & (nv.strike < s)]["open_interest"].sum()
    )


def test_bad_quotes_every_kind_and_visible(market, eod_days):
    bad = market.truth_bad_quotes(market.sessions[55:61])
    assert set(bad["kind"]) == set(BAD_KINDS)
    assert set(bad["reason"]) <= {r.value for r in ReasonCode}
    rate = len(bad) / (len(eod_days) - (bad["kind"] == "duplicate").sum())
    assert 0.003 < rate < 0.008
    assert (bad["snapshot_id"].str.endswith("T1545")).all()
    df = eod_days.assign(trade_date=pd.to_datetime(eod_days["quote_date"]))
    key_cols = ["trade_date", "underlying_symbol", "expiration", "strike", "option_type"]
    b = bad.assign(
        expiration=bad["expiry"].dt.strftime("%Y-%m-%d"),
        underlying_symbol=bad["underlying"],
        option_type=bad["right"],
    )
    m = b.merge(df, on=key_cols, how="left")
    crossed = m[m.kind == "crossed"]
    assert (crossed.bid_1545 > crossed.ask_1545).all()
    assert (m[m.kind == "negative_ask"].ask_1545 < 0).all()
    za = m[m.kind == "zero_ask"]
    assert ((za.ask_1545 == 0) & (za.bid_1545 > 0)).all()
    assert m[m.kind == "missing_bid"].bid_1545.isna().all()
    bi = m[m.kind == "below_intrinsic"]
    s = bi.active_underlying_price_1545
    intrinsic = np.where(bi.option_type == "C", s - bi.strike, bi.strike - s)
    assert (intrinsic >= 0.02 * s).all() and (bi.ask_1545 <= 0.7 * intrinsic).all()
    dups = df.dropna(subset=["strike", "expiration"]).duplicated(subset=key_cols).sum()
    assert dups == (bad.kind == "duplicate").sum()
    assert df["strike"].isna().sum() == (bad.kind == "missing_strike").sum()
    assert df["expiration"].isna().sum() == (bad.kind == "missing_expiration").sum()


def test_stale_quotes_copy_previous_session(market, eod_days):
    bad = market.truth_bad_quotes(market.sessions[55:61])
    stale = bad[bad.kind == "stale"]
    assert len(stale) > 0
    for _, row in stale.head(5).iterrows():
        prev_day = market.sessions[market.sessions.get_loc(row.trade_date) - 1]
        prev = market.eod_chain(prev_day, row.underlying)
        today = market.eod_chain(row.trade_date, row.underlying)
        sel = dict(expiration=row.expiry.strftime("%Y-%m-%d"), strike=row.strike, option_type=row.right)
        q = today[(today[list(sel)] == pd.Series(sel)).all(axis=1)].iloc[0]
        p = prev[(prev[list(sel)] == pd.Series(sel)).all(axis=1)].iloc[0]
        assert (q.bid_1545, q.ask_1545) == (p.bid_1545, p.ask_1545)
        move = q.active_underlying_price_1545 / p.active_underlying_price_1545 - 1
        assert abs(move) >= 0.005


def test_intraday_bad_quotes_recorded(market):
    bad = market.truth_bad_quotes(DAY, "SPX", intraday=True)
    assert bad["snapshot_id"].str.match(r"2024-03-28T\d{4}").all()
    assert bad["snapshot_id"].nunique() > 5


def test_regimes_and_events(market):
    reg = market.truth_regimes()
    assert set(reg["regime"]) <= set(REGIMES)
    assert reg.groupby("trade_date")["regime"].nunique().max() == 1
    ev = SimMarket(SimConfig(seed=7), end="2024-12-31").truth_events()
    earn = ev[ev.kind == "earnings"]
    assert set(earn["underlying"]) == {"MSFT", "NVDA"}
    assert earn.groupby("underlying").size().min() == 4
    divs = ev[ev.kind == "dividend"]
    assert {"SPY", "QQQ"} <= set(divs["underlying"]) and "NVDA" not in set(divs["underlying"])
    assert (divs["move"] > 0).all()


def test_config_validation():
    with pytest.raises(ValueError, match="bad_quote_rate"):
        SimConfig(bad_quote_rate=0.5)
    with pytest.raises(KeyError, match="unknown underlying"):
        SimMarket(SimConfig(), end="2024-01-10").eod_chain("2024-01-05", "AAPL")
    with pytest.raises(ValueError, match="not a simulated session"):
        SimMarket(SimConfig(), end="2024-01-10").eod_chain("2024-01-06", "SPX")


def test_scheduled_events_cover_realised_earnings_and_run_past_the_end(market):
    sched = market.scheduled_events()
    assert list(sched.columns) == ["underlying", "event_date", "kind"] and (sched["kind"] == "earnings").all()
    earn = market.truth_events().query("kind == 'earnings'")
    realised = set(zip(earn["underlying"], earn["event_date"], strict=True))
    assert realised and realised <= set(zip(sched["underlying"], sched["event_date"], strict=True))
    after = sched[sched["event_date"] > market.sessions[-1]]
    assert set(after["underlying"]) == {"MSFT", "NVDA"} and after["event_date"].max() > pd.Timestamp("2026-01-01")
    nvda = market.scheduled_events("NVDA", start="2024-05-01", end="2024-12-31")
    assert list(nvda["event_date"].dt.strftime("%Y-%m-%d")) == ["2024-05-22", "2024-08-22", "2024-11-22"]
