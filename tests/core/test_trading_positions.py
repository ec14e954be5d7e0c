"""The book (volmachine_core.trading.positions): good books, every rejection reason, empty books."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from volmachine_core.trading import (
    POSITION_COLUMNS,
    POSITION_REASON_PRIORITY,
    REJECTED_POSITION_COLUMNS,
    VALIDATED_POSITION_COLUMNS,
    PositionReason,
    positions_from_records,
    validate_positions,
)

SRC = "config/positions.csv"
UNIVERSE = ["SPX", "AAPL"]
MULT = {"SPX": 100.0, "AAPL": 100.0}
ROOTS = {"SPXW": "SPX"}


def leg(**over) -> dict:
    """One good explicit leg as CSV text (short 2 SPX 5800 puts), with overrides."""
    base = {"position_id": "P1", "underlying": "SPX", "expiry": "2026-12-18", "strike": "5800", "right": "P",
            "quantity": "-2", "entry_price": "45.5", "open_date": "2026-01-05"}
    base.update(over)
    return base


def occ_leg(**over) -> dict:
    """One good leg given by its OCC symbol only."""
    base = {"position_id": "P2", "occ_symbol": "SPXW  261218C06000000", "quantity": "3", "entry_price": "12.25",
            "open_date": "2026-01-05"}
    base.update(over)
    return base


def validate(rows, **kw):
    kw = {"universe": UNIVERSE, "multipliers": MULT, "root_to_underlying": ROOTS, **kw}
    return positions_from_records(rows, SRC, **kw)


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return dict(frame.dtypes.astype(str))


def test_good_book_from_explicit_fields_and_occ_symbols():
    rows = [leg(), occ_leg(),
            occ_leg(position_id="P3", occ_symbol=" AAPL240119C00190000 ", quantity="1.0", entry_price="0",
                    open_date="2023-12-01"),
            occ_leg(position_id="P4", underlying="spx", expiry="2026-12-18", strike="6000.0", right="c")]
    pos, rej = validate(rows)
    assert rej.empty and dtypes(rej) == REJECTED_POSITION_COLUMNS
    assert dtypes(pos) == VALIDATED_POSITION_COLUMNS
    assert list(pos.columns)[:len(POSITION_COLUMNS)] == list(POSITION_COLUMNS)
    assert pos["position_id"].tolist() == ["P1", "P2", "P3", "P4"]
    assert pos["underlying"].tolist() == ["SPX", "SPX", "AAPL", "SPX"]  # SPXW root -> SPX; AAPL root is itself
    assert pos["expiry"].tolist() == [pd.Timestamp(d) for d in ("2026-12-18", "2026-12-18", "2024-01-19",
                                                                 "2026-12-18")]
    assert pos["strike"].tolist() == [5800.0, 6000.0, 190.0, 6000.0]
    assert pos["right"].tolist() == ["P", "C", "C", "C"]
    assert pos["quantity"].tolist() == [-2, 3, 1, 3]
    assert pos["entry_price"].tolist() == [45.5, 12.25, 0.0, 12.25]
    assert pos["occ_symbol"].tolist()[1:] == ["SPXW  261218C06000000", "AAPL  240119C00190000",
                                              "SPXW  261218C06000000"]
    assert pd.isna(pos.loc[0, "occ_symbol"])
    assert pos["multiplier"].tolist() == [100.0] * 4
    assert pos["source"].tolist() == [SRC] * 4 and pos["source_row"].tolist() == [1, 2, 3, 4]


def test_typed_frame_is_accepted():
    frame = pd.DataFrame({
        "position_id": ["A"], "underlying": ["SPX"], "expiry": [pd.Timestamp("2026-12-18")], "strike": [5800.0],
        "right": ["P"], "quantity": [-2], "entry_price": [45.5], "open_date": [dt.date(2026, 1, 5)]})
    pos, rej = validate_positions(frame, source="warehouse.positions")
    assert rej.empty
    assert pos.loc[0, "expiry"] == pd.Timestamp("2026-12-18") and pos.loc[0, "quantity"] == -2
    assert np.isnan(pos.loc[0, "multiplier"])  # no multipliers given


# (rows, reason, detail fragments). Reason codes are PositionReason values; details name column and value.
REJECTIONS = [
    ([leg(strike="")], "missing_field", ["strike empty"]),
    ([leg(position_id=" ", quantity=None)], "missing_field", ["position_id, quantity empty"]),
    ([occ_leg(occ_symbol="")], "missing_field", ["underlying, expiry, strike, right empty"]),
    ([leg(strike="58OO")], "unparseable", ["strike='58OO' is not a number"]),
    ([leg(quantity="inf")], "unparseable", ["quantity='inf' is not a number"]),
    ([leg(expiry="18/12/2026")], "unparseable", ["expiry='18/12/2026' is not a date"]),
    ([leg(open_date="yesterday")], "unparseable", ["open_date='yesterday' is not a date"]),
    ([occ_leg(occ_symbol="SPXW  261318C06000000")], "bad_occ_symbol",
     ["occ_symbol='SPXW  261318C06000000' bad_date"]),
    ([occ_leg(occ_symbol="SPXW  261218X06000000")], "bad_occ_symbol", ["bad_right (right must be C or P)"]),
    ([occ_leg(strike="5800")], "occ_mismatch", ["strike 5800 vs 6000 in occ_symbol 'SPXW  261218C06000000'"]),
    ([occ_leg(expiry="2026-12-19")], "occ_mismatch", ["expiry 2026-12-19 vs 2026-12-18"]),
    ([occ_leg(right="P")], "occ_mismatch", ["right P vs C"]),
    ([leg(right="Put")], "bad_right", ["right='Put' is not C/P"]),
    ([leg(strike="0")], "nonpositive_strike", ["strike=0 <= 0"]),
    ([leg(strike="-5")], "nonpositive_strike", ["strike=-5 <= 0"]),
    ([leg(quantity="0")], "zero_quantity", ["quantity=0"]),
    ([leg(quantity="1.5")], "non_integer_quantity", ["quantity=1.5 is not a whole number"]),
    ([leg(entry_price="-0.05")], "negative_price", ["entry_price=-0.05 < 0"]),
    ([leg(open_date="2027-01-04")], "expiry_before_open", ["expiry=2026-12-18 before open_date=2027-01-04"]),
    ([leg(underlying="TSLA")], "unknown_underlying", ["underlying='TSLA' is not in the universe ['AAPL', 'SPX']"]),
    ([occ_leg(occ_symbol="SPX   261218C06000000", underlying=None)], None, []),  # SPX root: fine
    ([occ_leg(occ_symbol="XSP   261218C00600000")], "unknown_underlying", ["underlying='XSP'"]),
    ([leg(), leg(quantity="1")], "duplicate_id", ["position_id='P1' on rows 1, 2"]),
]


@pytest.mark.parametrize(("rows", "reason", "fragments"), REJECTIONS)
def test_each_rejection_reason_with_detail(rows, reason, fragments):
    pos, rej = validate(rows)
    assert len(pos) + len(rej) == len(rows)  # nothing silently dropped
    if reason is None:
        assert rej.empty
        return
    assert set(rej["reason"]) == {reason}
    assert (rej["source"] == SRC).all()
    for detail in rej["detail"]:
        assert detail.startswith(reason + ": ")
        for f in fragments:
            assert f in detail


def test_unknown_multiplier():
    pos, rej = validate([leg(underlying="AAPL", strike="190")], multipliers={"SPX": 100.0})
    assert pos.empty
    assert rej.loc[0, "reason"] == "unknown_multiplier"
    assert rej.loc[0, "detail"] == "unknown_multiplier: underlying='AAPL' has no multiplier"


def test_universe_check_is_optional_and_case_insensitive():
    rows = [leg(underlying="tsla")]
    pos, rej = validate(rows, universe=None, multipliers=None)
    assert rej.empty and pos.loc[0, "underlying"] == "TSLA"
    pos, rej = validate(rows, universe=["tsla"], multipliers=None)
    assert rej.empty
    pos, rej = validate([occ_leg()], universe=["SPX"], root_to_underlying=None)  # SPXW not mapped
    assert rej.loc[0, "reason"] == "unknown_underlying" and "underlying='SPXW'" in rej.loc[0, "detail"]


def test_duplicates_reject_every_row_of_the_id_and_keep_the_others():
    rows = [leg(), leg(position_id="P2"), leg(quantity="5"), leg(position_id="P3"), leg()]
    pos, rej = validate(rows)
    assert pos["position_id"].tolist() == ["P2", "P3"] and pos["source_row"].tolist() == [2, 4]
    assert rej["source_row"].tolist() == [1, 3, 5]
    assert set(rej["reason"]) == {"duplicate_id"}
    assert (rej["detail"] == "duplicate_id: position_id='P1' on rows 1, 3, 5").all()


def test_several_problems_first_reason_by_priority_and_all_in_detail():
    pos, rej = validate([leg(right="X", quantity="0", entry_price="-1", underlying="TSLA")])
    r = rej.iloc[0]
    assert r["reason"] == "bad_right" and r["source_row"] == 1 and r["position_id"] == "P1"
    assert r["detail"] == ("bad_right: right='X' is not C/P; zero_quantity: quantity=0 (a position needs contracts); "
                           "negative_price: entry_price=-1 < 0; unknown_underlying: underlying='TSLA' is not in "
                           "the universe ['AAPL', 'SPX']; unknown_multiplier: underlying='TSLA' has no multiplier")


def test_rejected_frame_columns_and_source_rows_mixed_book():
    rows = [leg(), leg(position_id="B", strike="x"), occ_leg(), occ_leg(position_id="C", occ_symbol="junk")]
    pos, rej = validate(rows)
    assert pos["position_id"].tolist() == ["P1", "P2"]
    assert dtypes(rej) == REJECTED_POSITION_COLUMNS
    assert rej[["source_row", "position_id", "reason"]].values.tolist() == [
        [2, "B", "unparseable"], [4, "C", "bad_occ_symbol"]]


@pytest.mark.parametrize("frame", [
    pd.DataFrame(),                                                         # missing / empty book
    pd.DataFrame(columns=list(POSITION_COLUMNS)),                           # header only
    pd.DataFrame(columns=["position_id", "occ_symbol", "quantity", "entry_price", "open_date"]),
])
def test_empty_book_is_normal(frame):
    pos, rej = validate_positions(frame, source=SRC, universe=UNIVERSE)
    assert pos.empty and rej.empty
    assert dtypes(pos) == VALIDATED_POSITION_COLUMNS
    assert dtypes(rej) == REJECTED_POSITION_COLUMNS


def test_empty_records():
    pos, rej = positions_from_records([], SRC)
    assert pos.empty and rej.empty and dtypes(pos) == VALIDATED_POSITION_COLUMNS


def test_missing_columns_raise_naming_them():
    with pytest.raises(ValueError, match=r"config/positions.csv.*missing columns \['entry_price', 'strike'\]"):
        validate_positions(pd.DataFrame([leg()]).drop(columns=["entry_price", "strike"]), source=SRC)


def test_reason_priority_lists_every_code():
    assert set(POSITION_REASON_PRIORITY) == set(PositionReason)
    assert POSITION_REASON_PRIORITY[0] is PositionReason.MISSING_FIELD
    assert POSITION_REASON_PRIORITY[-1] is PositionReason.DUPLICATE_ID
