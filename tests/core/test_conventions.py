"""Calendar conventions: settlement times (DST, half days), business days, ACT/365 tau."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from volmachine_core.conventions import (
    business_days,
    expiry_timestamp,
    settlement_style,
    trading_sessions,
    year_fraction,
)


@pytest.mark.parametrize("day, style, utc", [
    ("2025-03-07", "PM", "2025-03-07 21:00"),   # EST: 16:00 New York = 21:00 UTC
    ("2025-03-21", "PM", "2025-03-21 20:00"),   # EDT after the March switch
    ("2025-03-21", "AM", "2025-03-21 13:30"),   # 09:30 EDT
    ("2025-11-28", "PM", "2025-11-28 18:00"),   # day after Thanksgiving: 13:00 early close
    ("2025-12-19", "AM", "2025-12-19 14:30"),   # 09:30 EST
])
def test_expiry_timestamp(day, style, utc):
    assert expiry_timestamp([day], style).iloc[0] == pd.Timestamp(utc, tz="UTC")


def test_settlement_style_from_root():
    assert settlement_style("SPX") == "AM" and settlement_style("SPXW") == "PM"
    s = settlement_style(pd.Series(["spx", "SPXPM", "AAPL"]))
    assert s.tolist() == ["AM", "PM", "PM"]


def test_business_days_respect_holidays():
    # 2025-12-24 (Wed) -> 2025-12-26 (Fri): Christmas is a holiday, so one business day
    assert business_days(["2025-12-24"], ["2025-12-26"]).tolist() == [1]
    assert business_days(["2025-01-02"], ["2025-01-02"]).tolist() == [0]
    sess = trading_sessions("2025-01-01", "2025-12-31")
    assert len(sess) == 250 and pd.Timestamp("2025-07-04") not in sess
    assert business_days(["2024-12-31"], ["2025-12-31"]).tolist() == [250]


def test_year_fraction_act365():
    t = year_fraction(["2025-01-01T00:00Z"], ["2026-01-01T00:00Z"])
    assert np.allclose(t, 1.0)
    assert year_fraction(["2025-01-02T12:00Z"], ["2025-01-02T00:00Z"])[0] < 0


def test_previous_session_skips_weekends_and_holidays():
    from volmachine_core.conventions import previous_session

    assert previous_session("2025-07-07") == pd.Timestamp("2025-07-03")   # Mon after July 4 (Fri)
    assert previous_session("2025-12-26") == pd.Timestamp("2025-12-24")
    assert previous_session("1990-01-02") is None
