"""Property tests of the normaliser on malformed rows: conservation, valid clean rows, idempotence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_vendor import assert_clean_valid, assert_conserved

from volmachine_core.market.vendor import VendorFormatError, normalise

# A small valid Cboe EOD (cut-down layout) chain around 2918: calls and puts, two expiries.
_STRIKES = [2800, 2850, 2900, 2950, 3000]
_BASE = pd.DataFrame([
    {"quote_date": "2019-06-26", "expiration": exp, "strike": str(k), "option_type": r,
     "bid_size_1545": "10", "bid_1545": f"{max(0.0, (2918.1 - k) if r == 'C' else (k - 2918.1)) + 5:.2f}",
     "ask_size_1545": "12", "ask_1545": f"{max(0.0, (2918.1 - k) if r == 'C' else (k - 2918.1)) + 6:.2f}",
     "underlying_bid_1545": "2917.8", "underlying_ask_1545": "2918.42", "trade_volume": "3",
     "open_interest": "100"}
    for exp in ("2019-06-28", "2019-07-19") for k in _STRIKES for r in ("C", "P")
])
_COLS = list(_BASE.columns)

garbage = st.one_of(
    st.just(""), st.just(" "), st.just("nan"), st.just("-1"), st.just("0"), st.just("1e400"), st.just("C"),
    st.just("06/31/2019"), st.just("2019-02-30"), st.just("call"), st.just("X"),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-10**6, 10**6).map(str),
)
edits = st.lists(st.tuples(st.integers(0, len(_BASE) - 1), st.sampled_from(_COLS), garbage), max_size=25)


def _apply(edit_list) -> pd.DataFrame:
    raw = _BASE.copy()
    for i, col, val in edit_list:
        raw.loc[i, col] = val
    raw = raw.astype("string")
    raw["source_row"] = np.arange(1, len(raw) + 1, dtype=np.int64)
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits)
def test_malformed_rows_are_conserved_and_clean_rows_valid(edit_list):
    raw = _apply(edit_list)
    res = normalise(raw, source_file="eod.csv", underlying="SPX", root="SPXW")
    assert_conserved(raw, res)
    assert_clean_valid(res.clean)
    touched = {i + 1 for i, _, _ in edit_list}
    # untouched rows of a valid chain stay clean
    assert set(res.quarantine["source_row"]) <= touched
    assert (res.quarantine["source_file"] == "eod.csv").all()
    again = normalise(raw.copy(), source_file="eod.csv", underlying="SPX", root="SPXW")
    pd.testing.assert_frame_equal(res.clean, again.clean)
    pd.testing.assert_frame_equal(res.quarantine, again.quarantine)


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(len(_BASE))), st.lists(st.integers(0, len(_BASE) - 1), max_size=8))
def test_row_order_and_duplicates_do_not_change_the_result(perm, dup_rows):
    raw = _apply([])
    extra = raw.iloc[dup_rows].copy()
    extra["source_row"] = np.arange(len(raw) + 1, len(raw) + 1 + len(extra))
    full = pd.concat([raw, extra], ignore_index=True)
    shuffled = full.iloc[list(perm) + list(range(len(raw), len(full)))]
    res = normalise(shuffled, source_file="eod.csv", underlying="SPX", root="SPXW")
    assert_conserved(shuffled, res)
    # every original row is kept (lowest source_row wins); the appended copies are duplicates
    assert sorted(res.clean["source_row"]) == list(range(1, len(raw) + 1))
    assert (res.quarantine["reason"] == "duplicate").all() and len(res.quarantine) == len(extra)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=15), min_size=1, max_size=8))
def test_random_headers_raise_clear_errors_or_detect(columns):
    raw = pd.DataFrame({f"{c}": pd.array(["1"], dtype="string") for c in columns})
    raw["source_row"] = [1]
    try:
        res = normalise(raw, source_file="r.csv")
    except VendorFormatError as exc:
        assert str(exc).startswith("r.csv: ") and "\n" not in str(exc)
    else:
        assert len(res.clean) + len(res.quarantine) == 1
