"""Event vol: implied event variance from constructed term structures and the simulator's truth, realised
moves, the edge's firing rules, point-in-time history and the events configuration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from volmachine_core.signals.edges import EDGE_COLUMNS
from volmachine_core.signals.event_vol import (
    EVENT_COLUMNS,
    IMPLIED_EVENT_COLUMNS,
    REALISED_MOVE_COLUMNS,
    event_vol_edges,
    events_from_config,
    implied_event_variance,
    realised_event_moves,
)

DAY = pd.Timestamp("2026-11-16")  # a Monday
EVENT = pd.Timestamp("2026-11-24")  # Tuesday: 6 sessions ahead, after the 2026-11-20 weekly


def _curves(day=DAY, events=(EVENT,), event_var=0.006, vol=0.40, slope=0.0, n_weeks=26, first_friday=None):
    """ATM curve_params of weekly (Friday) expiries: diffusive ``w = vol^2 tau + slope tau^2`` plus ``event_var``
    for every event on or before the expiry. Quotes at 15:45 New York, expiries settle at 16:00."""
    fri = first_friday or day + pd.offsets.Week(weekday=4)
    exp = pd.DatetimeIndex([fri + pd.Timedelta(weeks=i) for i in range(n_weeks)])
    tau = ((exp - day).days + 0.25 / 24) / 365.0
    w = vol**2 * tau + slope * tau**2 + event_var * (exp.to_numpy()[:, None] >= np.array(events, "datetime64[ns]")
                                                     [None, :]).sum(axis=1)
    return pd.DataFrame({"snapshot_id": f"{day:%Y-%m-%d}T1545", "underlying": "NVDA", "expiry": exp, "tau": tau,
                         "atm_vol": np.sqrt(w / tau), "status": "ok"})


def _events(*dates, underlying="NVDA"):
    return pd.DataFrame({"underlying": underlying, "event_date": pd.to_datetime(list(dates)), "kind": "earnings"})


# ----------------------------------------------------------------------------------------------- implied variance
@pytest.mark.parametrize("slope, first_friday", [
    (0.0, None),                             # flat diffusive vol, one weekly before the event
    (0.05, None),                            # contango: forward variance rising linearly in tau
    (-0.05, None),                           # backwardation
    (0.0, pd.Timestamp("2026-11-27")),       # first expiry after the event: identified by d(0) = 0
])
def test_known_event_variance_is_recovered(slope, first_friday):
    cp = _curves(slope=slope, first_friday=first_friday)
    out = implied_event_variance(cp, _events(EVENT))
    assert list(out.columns) == list(IMPLIED_EVENT_COLUMNS)
    r = out.iloc[0]
    assert r["status"] == "ok" and r["event_date"] == EVENT
    assert r["event_var"] == pytest.approx(0.006, abs=1e-6)
    assert r["implied_move"] == pytest.approx(np.sqrt(0.006), rel=1e-4)
    assert r["diffusive_vol"] == pytest.approx(0.40, rel=1e-4)
    assert r["n_before"] == (0 if first_friday is not None else 1)
    assert r["expiry_after"] == pd.Timestamp("2026-11-27")
    # weeklies within half a year: all 26 from 2026-11-20, 25 from 2026-11-27
    assert r["n_before"] + r["n_after"] == r["n_expiries"] == (25 if first_friday is not None else 26)


def test_two_events_in_the_horizon_are_fitted_jointly():
    second = pd.Timestamp("2027-02-22")
    cp = _curves(events=(EVENT, second), slope=0.03)
    out = implied_event_variance(cp, _events(EVENT, second))
    assert (out["status"] == "ok").all() and (out["n_events"] == 2).all()
    np.testing.assert_allclose(out["event_var"], [0.006, 0.006], atol=1e-6)


def test_no_priced_event_stays_quiet():
    cp = _curves(event_var=0.0)
    r = implied_event_variance(cp, _events(EVENT)).iloc[0]
    assert abs(r["event_var"]) < 1e-8
    assert r["status"] in ("nonpositive", "not_significant") and "event" in r["reason"]
    assert np.isnan(r["implied_move"])


def test_event_beyond_the_listed_expiries_is_not_identified():
    cp = _curves(n_weeks=4)  # last expiry 2026-12-11
    out = implied_event_variance(cp, _events(EVENT, "2027-01-05"))
    assert out.set_index("event_date").loc["2027-01-05", "status"] == "not_identified"
    assert "no expiry on or after 2027-01-05" in out.set_index("event_date").loc["2027-01-05", "reason"]
    assert out.set_index("event_date").loc[EVENT, "status"] == "ok"


def test_too_few_expiries_after_an_event_with_none_before():
    cp = _curves(first_friday=pd.Timestamp("2026-11-27"), n_weeks=3)  # 3 points, 3 parameters
    r = implied_event_variance(cp, _events(EVENT)).iloc[0]
    assert r["status"] == "not_identified" and np.isnan(r["event_var"])


def test_past_events_bad_slices_and_other_underlyings_are_ignored():
    cp = _curves()
    cp.loc[3, "atm_vol"] = 5.0
    cp.loc[3, "status"] = "failed"
    ev = pd.concat([_events("2026-11-13", EVENT, "2026-11-16"), _events(EVENT, underlying="MSFT")])
    out = implied_event_variance(cp, ev)
    assert list(out["event_date"]) == [EVENT]  # the event on the trade date itself is already in the prices
    assert out["event_var"].iloc[0] == pytest.approx(0.006, abs=1e-6) and out["n_expiries"].iloc[0] == 25


# ----------------------------------------------------------------------------------------------- realised moves
def _bars(dates, closes, underlying="NVDA"):
    return pd.DataFrame({"trade_date": pd.to_datetime(dates), "underlying": underlying, "close": closes})


def test_realised_moves_from_the_table_or_from_bars():
    days = pd.bdate_range("2026-01-01", periods=30)
    rets = np.tile([0.01, -0.01], 15)
    rets[25] = 0.08
    bars = _bars(days, 100 * np.exp(np.cumsum(rets)))
    ev = pd.DataFrame({"underlying": "NVDA", "event_date": [days[25], days[10]], "kind": "earnings",
                       "move": [np.nan, -0.05]})
    out = realised_event_moves(ev, bars, diffusive_window=20).set_index("event_date")
    assert list(out.reset_index().columns) == ["event_date", "underlying", *REALISED_MOVE_COLUMNS[2:]]
    assert out.loc[days[25], "move"] == pytest.approx(0.08, rel=1e-12)
    assert out.loc[days[25], "diffusive_var"] == pytest.approx(1e-4, rel=1e-9)  # 20 sessions of +-1%
    assert out.loc[days[25], "event_var"] == pytest.approx(0.08**2 - 1e-4, rel=1e-9)
    assert out.loc[days[25], "source"] == "bars"
    assert out.loc[days[10], ["move", "event_var", "source"]].tolist() == [-0.05, pytest.approx(0.0025), "table"]
    # no move and no bars: nothing realised
    assert realised_event_moves(ev.assign(move=np.nan)).empty


# ----------------------------------------------------------------------------------------------- the edge
def _history(n=8, rms=0.05, end="2026-08-20", underlying="NVDA"):
    dates = pd.date_range(end=end, periods=n, freq="91D")
    moves = rms * np.where(np.arange(n) % 2, 1.0, -1.0)  # RMS exactly ``rms``
    return pd.DataFrame({"underlying": underlying, "event_date": dates, "kind": "earnings", "move": moves})


def _implied(move, day=DAY, event=EVENT):
    return pd.DataFrame([{
        "snapshot_id": f"{day:%Y-%m-%d}T1545", "trade_date": day, "underlying": "NVDA", "event_date": event,
        "kind": "earnings", "event_var": move**2, "event_var_se": 1e-5, "implied_move": move,
        "implied_move_se": 1e-5 / (2 * move), "diffusive_vol": 0.4, "n_before": 1, "n_after": 25,
        "n_expiries": 26, "n_events": 1, "expiry_before": pd.Timestamp("2026-11-20"),
        "expiry_after": pd.Timestamp("2026-11-27"), "status": "ok", "reason": ""}])


@pytest.mark.parametrize("premium, fired, direction", [
    (0.30, True, "sell_vol"),
    (0.05, False, "none"),
    (-0.30, True, "buy_vol"),
])
def test_premium_over_realised_fires_by_threshold(premium, fired, direction):
    past = realised_event_moves(_history(rms=0.05))
    out = event_vol_edges(_implied(0.05 * (1 + premium)), past, _events(EVENT))
    assert list(out.columns) == list(EDGE_COLUMNS) and len(out) == 1
    r = out.iloc[0]
    m = json.loads(r["metrics"])
    assert (r["fired"], r["direction"], r["edge"]) == (fired, direction, "event_vol")
    assert m["premium"] == pytest.approx(premium, abs=1e-9) and m["realised_rms"] == pytest.approx(0.05)
    assert m["n_past"] == 8 and m["sessions_to_event"] == 6 and m["event_date"] == "2026-11-24"
    assert (r["strength"] > 0) == fired
    assert r["structure"] == "iron condor for the crush"
    assert r["rationale"].startswith("NVDA earnings 2026-11-24 in 6 sessions: implied move ")
    assert f"RMS of 8 past moves = {premium:+.0%} premium" in r["rationale"]


def test_history_is_point_in_time():
    hist = _history(n=6, rms=0.05, end="2026-08-20")
    same_day = pd.DataFrame([{"underlying": "NVDA", "event_date": DAY, "kind": "earnings", "move": 0.5}])
    past = realised_event_moves(pd.concat([hist, same_day]))
    nxt = DAY + pd.Timedelta(days=1)
    imp = pd.concat([_implied(0.06), _implied(0.06, day=nxt)])
    out = event_vol_edges(imp, past, _events(EVENT))
    m = [json.loads(s) for s in out["metrics"]]
    assert [x["n_past"] for x in m] == [6, 7]  # the move on day t counts from t + 1 only
    assert m[0]["realised_rms"] == pytest.approx(0.05)


def test_max_history_keeps_the_most_recent_moves():
    old = _history(n=4, rms=0.20, end="2024-08-20")
    past = realised_event_moves(pd.concat([old, _history(n=8, rms=0.05)]))
    m = json.loads(event_vol_edges(_implied(0.05), past, _events(EVENT), max_history=8)["metrics"].iloc[0])
    assert m["n_past"] == 8 and m["realised_rms"] == pytest.approx(0.05)


def test_short_history_and_missing_estimates_do_not_fire():
    past = realised_event_moves(_history(n=2))
    r = event_vol_edges(_implied(0.09), past, _events(EVENT), min_history=4).iloc[0]
    assert not r["fired"] and r["strength"] == 0.0
    assert json.loads(r["metrics"])["reason"] == "2 past moves < min_history 4"
    assert r["rationale"].endswith("(not fired: 2 past moves < min_history 4)")
    imp = _implied(0.09).assign(status="not_identified", implied_move=np.nan, reason="too few expiries")
    r = event_vol_edges(imp, realised_event_moves(_history()), _events(EVENT)).iloc[0]
    assert not r["fired"] and "not_identified: too few expiries" in json.loads(r["metrics"])["reason"]


def test_quiet_row_when_no_event_is_near():
    far = DAY + pd.Timedelta(days=40)
    keys = pd.DataFrame({"trade_date": [DAY], "underlying": ["NVDA"]})
    r = event_vol_edges(_implied(0.09, event=far), realised_event_moves(_history()), _events(far), keys).iloc[0]
    assert not r["fired"] and r["direction"] == "none"
    assert r["rationale"] == "no event within 10 sessions"


# ----------------------------------------------------------------------------------------------- configuration
def test_events_config_parses():
    out = events_from_config([{"underlying": "NVDA", "date": "2030-02-25"},
                              {"underlying": "MSFT", "date": pd.Timestamp("2029-10-24").date(), "move": 0.041}])
    assert list(out.columns) == list(EVENT_COLUMNS)
    assert list(out["underlying"]) == ["MSFT", "NVDA"] and list(out["kind"]) == ["earnings"] * 2
    assert out["move"].iloc[0] == 0.041 and np.isnan(out["move"].iloc[1])


def test_repository_events_yaml_parses():
    path = Path(__file__).resolve().parents[2] / "config" / "events.yaml"
    out = events_from_config(yaml.safe_load(path.read_text())["events"])
    assert list(out.columns) == list(EVENT_COLUMNS)


@pytest.mark.parametrize("records, needle", [
    ([{"underlying": "NVDA"}], r"events\[0\]\.date: required"),
    ([{"underlying": "NVDA", "date": "2026-11-19"}, {"date": "2026-11-19"}], r"events\[1\]\.underlying"),
    ([{"underlying": "NVDA", "date": "soon"}], r"events\[0\]\.date: not a date"),
    ([{"underlying": "NVDA", "date": "2026-11-19", "kind": "fomc"}], r"events\[0\]\.kind"),
    ([{"underlying": "NVDA", "date": "2026-11-19", "move": "8%"}], r"events\[0\]\.move"),
    ([{"underlying": "NVDA", "date": "2026-11-19", "when": "amc"}], r"events\[0\]: unknown key\(s\) \['when'\]"),
    ([{"underlying": "NVDA", "date": "2026-11-19"}] * 2, r"events\[1\]: repeats NVDA earnings on 2026-11-19"),
    (["NVDA 2026-11-19"], r"events\[0\]: expected a mapping"),
])
def test_bad_event_entries_are_named(records, needle):
    with pytest.raises(ValueError, match=needle):
        events_from_config(records)


# ----------------------------------------------------------------------------------------------- simulator
@pytest.mark.parametrize("underlying, day", [("NVDA", "2024-05-20"), ("MSFT", "2024-04-18")])
def test_implied_move_matches_the_simulator_truth(surface_chain, underlying, day):
    from volmachine_core.market.sim import SimConfig, SimMarket

    sim_quotes, build_surfaces = surface_chain
    m = SimMarket(SimConfig(seed=7), end=day)
    cp, _, _ = build_surfaces(sim_quotes(m, [day], [underlying]))
    imp = implied_event_variance(cp, m.scheduled_events(underlying))
    truth = m.truth_surface(day, underlying)
    # per-event truth: the event variance of the first expiry that carries exactly one event
    e_true = truth.loc[truth["event_var"] > 0].sort_values("tau")["event_var"].iloc[0]
    r = imp.iloc[0]
    assert r["status"] == "ok" and r["event_date"] == m.scheduled_events(underlying, start=day)["event_date"].iloc[0]
    # |sqrt(E/E_true) - 1| measured over 465 days 1-14 calendar days before an event (seeds 7, 11, 3, both names):
    # median 0.4%, 90th percentile 1.0-1.3%, max 4.5%
    assert np.sqrt(r["event_var"] / e_true) - 1 == pytest.approx(0.0, abs=0.03)
    assert abs(r["event_var"] - e_true) < 4 * r["event_var_se"] + 1e-5
