"""Row-level and cross-snapshot quality checks (volmachine_core.market.quality)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.market.quality import (
    ROW_CHECK_PRIORITY,
    VALUE_CHECKS,
    duplicate_of,
    first_reason,
    flag_duplicates,
    flag_stale,
    intrinsic_lower_bound,
    join_details,
    row_checks,
    row_details,
    row_flags,
    split_quarantine,
)
from volmachine_core.market.schema import QUARANTINE_COLUMNS, ReasonCode

QTS = pd.Timestamp("2019-06-26 19:45", tz="UTC")


def typed(**over) -> pd.DataFrame:
    """One good typed quote (a 2900 call two days out, SPX 2918.1), with overrides (lists allowed)."""
    base = {
        "snapshot_id": "2019-06-26T1545", "quote_ts": QTS, "trade_date": pd.Timestamp("2019-06-26"),
        "underlying": "SPX", "expiry": pd.Timestamp("2019-06-28"),
        "expiry_ts": pd.Timestamp("2019-06-28 20:00", tz="UTC"), "strike": 2900.0, "right": "C",
        "bid": 25.0, "ask": 26.0, "underlying_price": 2918.1, "source_row": 1, "source_file": "f.csv",
    }
    base.update(over)
    n = max((len(v) for v in base.values() if isinstance(v, list)), default=1)
    return pd.DataFrame({k: (v if isinstance(v, list) else [v] * n) for k, v in base.items()})


@pytest.mark.parametrize(("over", "reason"), [
    ({}, None),
    ({"bid": 26.0}, None),                                   # locked market is fine
    ({"bid": 0.0, "ask": 0.05, "strike": 4000.0}, None),     # far OTM zero bid is fine
    ({"strike": np.nan}, "missing_field"),
    ({"right": None}, "missing_field"),
    ({"right": "X"}, "bad_right"),
    ({"strike": 0.0}, "nonpositive_strike"),
    ({"strike": -5.0}, "nonpositive_strike"),
    ({"expiry": pd.Timestamp("2019-06-25"), "expiry_ts": pd.Timestamp("2019-06-25 20:00", tz="UTC")},
     "expired"),
    # AM-settled on its settlement day, quoted after the open: already settled
    ({"expiry": pd.Timestamp("2019-06-26"), "expiry_ts": pd.Timestamp("2019-06-26 13:30", tz="UTC")},
     "expired"),
    ({"bid": -0.1}, "negative_price"),
    ({"ask": -0.1, "bid": 0.0}, "negative_price"),
    ({"ask": 0.0, "bid": 0.0}, "zero_ask"),
    ({"bid": 26.5}, "crossed"),
    ({"strike": 2800.0, "bid": 100.0, "ask": 110.0}, "below_intrinsic"),   # call worth >= ~118
    ({"right": "P", "strike": 3100.0, "bid": 170.0, "ask": 175.0}, "below_intrinsic"),
    ({"underlying_price": np.nan}, "bad_underlying_price"),
    ({"underlying_price": 0.0}, "bad_underlying_price"),
])
def test_row_checks_single(over, reason):
    got = row_checks(typed(**over)).iloc[0]
    assert (got is pd.NA and reason is None) or got == reason


def test_priority_and_all_details():
    t = typed(strike=-1.0, bid=-3.0, ask=0.0, underlying_price=-1.0)
    flags = row_flags(t)
    assert list(flags.columns) == [r.value for r in ROW_CHECK_PRIORITY]
    assert first_reason(flags).iloc[0] == "nonpositive_strike"
    detail = join_details(row_details(t, flags)).iloc[0]
    for part in ("nonpositive_strike: strike -1 <= 0", "negative_price", "zero_ask", "bad_underlying_price"):
        assert part in detail
    assert detail.index("nonpositive_strike") < detail.index("negative_price") < detail.index("zero_ask")


def test_value_checks_subset_and_unparseable_false():
    t = typed(strike=np.nan)
    f = row_flags(t, checks=VALUE_CHECKS)
    assert list(f.columns) == [r.value for r in VALUE_CHECKS]
    assert not f.to_numpy().any()                      # NaN compares False: parse problems decide
    assert not row_flags(t)["unparseable"].any()


def test_vectorised_matches_rowwise():
    rng = np.random.default_rng(7)
    n = 400
    t = typed(strike=list(rng.choice([-1.0, 0.0, 2500.0, 2900.0, 3300.0, np.nan], n)),
              right=list(rng.choice(["C", "P", "X"], n)),
              bid=list(rng.choice([-1.0, 0.0, 5.0, 30.0, 500.0], n)),
              ask=list(rng.choice([0.0, 1.0, 30.0, 450.0, 800.0], n)),
              underlying_price=list(rng.choice([np.nan, 0.0, 2918.1], n)))
    whole = row_checks(t)
    single = pd.concat([row_checks(t.iloc[[i]]) for i in range(n)])
    pd.testing.assert_series_equal(whole, single)


@pytest.mark.parametrize(("S", "K", "tau", "call", "expected"), [
    # closed forms of the bound with q_max = 0.10, r_min = -0.02, r_max = 0.10
    (100.0, 90.0, 1.0, True, 100 * np.exp(-0.10) - 90 * np.exp(0.02)),
    (100.0, 110.0, 1.0, False, 110 * np.exp(-0.10) - 100),
    (100.0, 90.0, 0.0, True, 10.0),
    (100.0, 90.0, -0.1, True, 10.0),   # tau < 0 treated as 0
])
def test_intrinsic_lower_bound(S, K, tau, call, expected):
    assert intrinsic_lower_bound(S, K, tau, call) == pytest.approx(expected, rel=1e-12)


def test_european_put_below_intrinsic_is_not_flagged():
    # a deep ITM European put with r = 5%, one year: K e^{-rT} - S = 1000*0.9512 - 800 = 151.2 < 200 intrinsic
    t = typed(right="P", strike=1000.0, underlying_price=800.0, bid=150.5, ask=151.5,
              expiry=pd.Timestamp("2020-06-26"), expiry_ts=pd.Timestamp("2020-06-26 20:00", tz="UTC"))
    assert row_checks(t).isna().all()


def test_duplicates_keep_lowest_source_row():
    t = typed(source_row=[5, 3, 9, 1], strike=[2900.0, 2900.0, 2950.0, 2900.0])
    np.testing.assert_array_equal(flag_duplicates(t).to_numpy(), [True, True, False, False])
    assert duplicate_of(t).tolist() == [1, 1, pd.NA, pd.NA]
    assert len(flag_duplicates(t.head(0))) == 0


def test_duplicates_different_right_or_snapshot_are_distinct():
    t = typed(source_row=[1, 2, 3], right=["C", "P", "C"], snapshot_id=["a", "a", "b"])
    assert not flag_duplicates(t).any()


def stale_frames(cur_bid, cur_ask, cur_S, prev_bid=25.0, prev_ask=26.0, prev_S=2918.1):
    """A three-strike call chain (2890/2900/2910, |dC/dK| = 0.5); the middle quote is under test."""
    strikes = [2890.0, 2900.0, 2910.0]
    prev = typed(strike=strikes, bid=[prev_bid + 5, prev_bid, prev_bid - 5],
                 ask=[prev_ask + 5, prev_ask, prev_ask - 5], underlying_price=prev_S,
                 quote_ts=QTS - pd.Timedelta(minutes=15), snapshot_id="2019-06-26T1530")
    cur = typed(strike=strikes, bid=[cur_bid + 5.3, cur_bid, cur_bid - 4.7],
                ask=[cur_ask + 5.3, cur_ask, cur_ask - 4.7], underlying_price=cur_S)
    return cur, prev


@pytest.mark.parametrize(("cur", "expected"), [
    ((25.0, 26.0, 2918.1 * 1.006), True),    # unchanged while spot +0.6% (should move ~8.8 > spread 1)
    ((25.0, 26.0, 2918.1 * 0.994), True),    # and -0.6%
    ((25.0, 26.0, 2918.1 * 1.004), False),   # spot moved less than 0.5%
    ((25.1, 26.0, 2918.1 * 1.006), False),   # bid moved
    ((25.0, 26.1, 2918.1 * 1.006), False),   # ask moved
])
def test_flag_stale(cur, expected):
    c, p = stale_frames(*cur)
    assert flag_stale(c, p).tolist()[1] == expected


def test_flag_stale_ignores_quotes_that_should_not_have_moved():
    """A cheap far out-of-the-money quote (|dP/dK| tiny) may legitimately repeat while spot moves 1%."""
    strikes = [4000.0, 4010.0, 4020.0]
    prev = typed(strike=strikes, bid=[0.10, 0.10, 0.05], ask=[0.30, 0.25, 0.25], underlying_price=2918.1,
                 quote_ts=QTS - pd.Timedelta(days=1), snapshot_id="2019-06-25T1545")
    cur = prev.assign(underlying_price=2918.1 * 1.01, quote_ts=QTS, snapshot_id="2019-06-26T1545")
    assert not flag_stale(cur, prev).any()


def test_flag_stale_checks_a_multi_snapshot_batch_in_one_pass():
    c1, p = stale_frames(25.0, 26.0, 2918.1 * 1.006)
    c2 = c1.assign(quote_ts=QTS + pd.Timedelta(days=1), snapshot_id="2019-06-27T1545",
                   underlying_price=2918.1 * 1.006 * 1.01)       # day 2 repeats day 1 while spot +1%
    batch = pd.concat([c1, c2], ignore_index=True)
    flags = flag_stale(batch, p).tolist()
    assert flags[1] and flags[4] and not flags[0] and not flags[2]


def test_flag_stale_zero_bid_no_previous_and_later_previous():
    c, p = stale_frames(0.0, 0.05, 2918.1 * 1.01, prev_bid=0.0, prev_ask=0.05)
    assert not flag_stale(c, p).tolist()[1]           # only bid > 0 can be stale
    c, p = stale_frames(25.0, 26.0, 2918.1 * 1.01)
    assert flag_stale(c, p).tolist()[1]
    assert not flag_stale(c, None).any()
    assert not flag_stale(c, p.assign(strike=p["strike"] + 1000)).any()   # no previous quote of the contract
    later = p.assign(quote_ts=QTS + pd.Timedelta(minutes=1))
    assert not flag_stale(c, later).any()
    assert not flag_stale(c, p, min_underlying_move=0.02).any()


def test_flag_stale_keeps_index_alignment():
    c, p = stale_frames(25.0, 26.0, 2918.1 * 1.01)
    c.index = [42, 7, 99]
    out = flag_stale(c, p)
    assert out.index.tolist() == [42, 7, 99] and out.tolist() == [False, True, False]


def test_split_quarantine_conserves_rows():
    t = typed(source_row=[1, 2, 3], strike=[2900.0, 2950.0, 3000.0])
    kept, q = split_quarantine(t, np.array([False, True, True]), ReasonCode.STALE,
                               pd.Series(["x", "stale: 1", "stale: 2"], index=t.index))
    assert kept["source_row"].tolist() == [1]
    assert list(q.columns) == list(QUARANTINE_COLUMNS)
    assert q["source_row"].tolist() == [2, 3] and (q["reason"] == "stale").all()
    assert q["detail"].tolist() == ["stale: 1", "stale: 2"]
    _, q2 = split_quarantine(t, [True, False, False], "duplicate")
    assert q2["detail"].tolist() == ["duplicate"]
    with pytest.raises(ValueError, match="mask has shape"):
        split_quarantine(t, [True], "stale")
