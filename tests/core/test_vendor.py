"""Vendor format detection and normalisation (volmachine_core.market.vendor).

The real files are read here with pandas (independently of the pipeline's pyarrow reader) as text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from volmachine_core.conventions import year_fraction
from volmachine_core.market.schema import CLEAN_QUOTE_COLUMNS, QUARANTINE_COLUMNS, ReasonCode
from volmachine_core.market.vendor import (
    FORMATS,
    MESSAGES,
    NormalisedQuotes,
    VendorFormatError,
    detect_format,
    normalise,
)

SPXW = "spxw_2019-06-26_cboe_eod_1545.csv"
SPX2011 = "spx_2011-01-24_1403ET_cboe_delayed.csv"
GOOG = "goog_2015-12-23_24_daily_quotes.csv"


def read_text(path: Path) -> pd.DataFrame:
    """A CSV as text with a 1-based source_row (pandas reader; empty fields stay '')."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df["source_row"] = np.arange(1, len(df) + 1, dtype=np.int64)
    return df


def assert_conserved(raw: pd.DataFrame, res: NormalisedQuotes) -> None:
    rows = np.sort(np.concatenate([res.clean["source_row"].to_numpy(),
                                   res.quarantine["source_row"].to_numpy()]))
    np.testing.assert_array_equal(rows, np.sort(raw["source_row"].to_numpy()))
    assert list(res.clean.columns) == list(CLEAN_QUOTE_COLUMNS)
    assert list(res.quarantine.columns) == list(QUARANTINE_COLUMNS)
    assert {str(t) for t in res.clean.dtypes} == {str(t) for t in pd.Series(CLEAN_QUOTE_COLUMNS).map(
        lambda t: pd.Series(dtype=t).dtype)}
    assert set(res.quarantine["reason"].dropna()) <= {r.value for r in ReasonCode}
    assert res.quarantine["reason"].notna().all() and res.quarantine["detail"].notna().all()


def assert_clean_valid(clean: pd.DataFrame) -> None:
    """Invariants every clean row satisfies."""
    assert clean["right"].isin(["C", "P"]).all()
    assert (clean["strike"] > 0).all()
    assert (clean["ask"] > 0).all() and (clean["bid"] >= 0).all() and (clean["bid"] <= clean["ask"]).all()
    assert (clean["underlying_price"] > 0).all()
    assert clean["settlement"].isin(["AM", "PM"]).all()
    for c in ("snapshot_id", "quote_ts", "trade_date", "underlying", "root", "expiry", "expiry_ts"):
        assert clean[c].notna().all(), c
    assert not clean.duplicated(["snapshot_id", "underlying", "expiry", "strike", "right"]).any()


# ---------------------------------------------------------------------------------------------
# the real recorded files
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spxw(shared_data) -> tuple[pd.DataFrame, NormalisedQuotes]:
    raw = read_text(shared_data / SPXW)
    return raw, normalise(raw, source_file=SPXW, underlying="SPX", root="SPXW")


@pytest.fixture(scope="module")
def spx2011(shared_data) -> tuple[pd.DataFrame, NormalisedQuotes]:
    raw = read_text(shared_data / SPX2011)
    return raw, normalise(raw, source_file=SPX2011)


@pytest.fixture(scope="module")
def goog(shared_data) -> tuple[pd.DataFrame, NormalisedQuotes]:
    raw = read_text(shared_data / GOOG)
    return raw, normalise(raw, source_file=GOOG)


@pytest.mark.parametrize(("fixture", "n_rows", "fmt"), [
    ("spxw", 10_384, "cboe_eod_summary"),
    ("spx2011", 1_920, "cboe_delayed_chain"),
    ("goog", 4_250, "daily_quote_bars"),
])
def test_real_file_counts_and_conservation(request, fixture, n_rows, fmt):
    raw, res = request.getfixturevalue(fixture)
    assert len(raw) == n_rows
    assert len(res.clean) + len(res.quarantine) == n_rows
    assert res.format_name == fmt
    assert_conserved(raw, res)
    assert_clean_valid(res.clean)
    assert (res.clean["source"] == fmt).all()


def test_spxw_values(spxw):
    raw, res = spxw
    c = res.clean
    assert len(res.quarantine) == 0  # the README: no crossed quotes; zero bids are kept
    assert (c["bid"] == 0).sum() == 706
    np.testing.assert_allclose(c["underlying_price"], (2917.80 + 2918.42) / 2, rtol=0, atol=1e-12)
    assert (c["underlying"] == "SPX").all() and (c["root"] == "SPXW").all()
    assert (c["settlement"] == "PM").all()
    assert (c["snapshot_id"] == "2019-06-26T1545").all()
    assert (c["quote_ts"] == pd.Timestamp("2019-06-26 19:45", tz="UTC")).all()  # 15:45 EDT
    assert (c["trade_date"] == pd.Timestamp("2019-06-26")).all()
    # PM settlement: 16:00 New York = 20:00 UTC in June
    june = c[c["expiry"] == pd.Timestamp("2019-06-28")]
    assert (june["expiry_ts"] == pd.Timestamp("2019-06-28 20:00", tz="UTC")).all()
    assert c["expiry"].nunique() == 30
    assert (c["multiplier"] == 100).all()
    first = c.iloc[0]
    assert (first["strike"], first["right"], first["bid"], first["ask"]) == (1700.0, "C", 1209.1, 1229.2)
    assert (first["bid_size"], first["ask_size"]) == (78.0, 78.0)


def test_spxw_0dte_has_tiny_positive_tau(spxw):
    _, res = spxw
    zero = res.clean[res.clean["expiry"] == pd.Timestamp("2019-06-26")]
    assert len(zero) > 0
    tau = year_fraction(zero["quote_ts"], zero["expiry_ts"])
    np.testing.assert_allclose(tau, 15 * 60 / (365 * 86400))  # 15:45 -> 16:00 New York
    assert (tau > 0).all()


def test_spx2011_settlement_conventions(spx2011):
    raw, res = spx2011
    c = res.clean
    assert (c["snapshot_id"] == "2011-01-24T1403").all()
    assert (c["quote_ts"] == pd.Timestamp("2011-01-24 19:03", tz="UTC")).all()  # 14:03 EST
    assert (c["underlying_price"] == 1290.59).all()
    am = c[c["root"] == "SPX"]
    assert (am["settlement"] == "AM").all()
    # the real settlement day (Friday) at the open, 09:30 New York
    feb = am[am["expiry"] == pd.Timestamp("2011-02-18")]
    assert len(feb) > 0
    assert (feb["expiry_ts"] == pd.Timestamp("2011-02-18 09:30", tz="America/New_York")).all()
    pm = c[c["root"].isin(["SPXW", "SPXPM"])]
    assert (pm["settlement"] == "PM").all()
    assert (pm.loc[pm["expiry"] == pd.Timestamp("2011-01-28"), "expiry_ts"]
            == pd.Timestamp("2011-01-28 16:00", tz="America/New_York")).all()
    # the 10 no-market rows (bid = ask = 0) are quarantined as zero_ask, nothing else
    q = res.quarantine
    assert len(q) == 10 and (q["reason"] == "zero_ask").all()
    assert q["snapshot_id"].eq("2011-01-24T1403").all() and q["underlying"].eq("SPX").all()


def test_settlement_column_overrides_root(spx2011):
    raw, _ = spx2011
    raw = raw.head(4).copy()
    raw["root"] = "SPX"          # root says AM ...
    raw["settlement"] = "PM"     # ... the column says PM and wins
    res = normalise(raw, source_file="x.csv")
    assert (res.clean["settlement"] == "PM").all()
    assert (res.clean["expiry_ts"] == pd.Timestamp("2011-01-28 16:00", tz="America/New_York")).all()


def test_goog_daily_bars(goog):
    raw, res = goog
    c = res.clean
    assert len(res.quarantine) == 0
    # the 2015-12-24 half day closes at 13:00
    assert sorted(c["snapshot_id"].unique()) == ["2015-12-23T1600", "2015-12-24T1300"]
    d24 = c[c["trade_date"] == pd.Timestamp("2015-12-24")]
    assert (d24["quote_ts"] == pd.Timestamp("2015-12-24 13:00", tz="America/New_York")).all()
    # empty bid means no bid: read as 0, kept
    empty_bid = raw["bid_close"] == ""
    assert empty_bid.sum() == 589
    kept = c.set_index("source_row").loc[raw.loc[empty_bid, "source_row"]]
    assert (kept["bid"] == 0).all()
    assert (c["root"] == "GOOG").all() and (c["settlement"] == "PM").all()
    assert c.loc[c["trade_date"] == pd.Timestamp("2015-12-23"), "underlying_price"].eq(750.31).all()
    assert c["open_interest"].isna().sum() == 1634  # optional and empty: NaN, not quarantined
    assert (c["bid"] == c["ask"]).sum() == 14  # locked markets are kept


def test_idempotent(spx2011):
    raw, res = spx2011
    again = normalise(raw.copy(), source_file=SPX2011)
    pd.testing.assert_frame_equal(res.clean, again.clean)
    pd.testing.assert_frame_equal(res.quarantine, again.quarantine)


# ---------------------------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------------------------

EOD_FULL = ("underlying_symbol,quote_date,root,expiration,strike,option_type,open,high,low,close,"
            "trade_volume,"
            "bid_size_1545,bid_1545,ask_size_1545,ask_1545,underlying_bid_1545,underlying_ask_1545,"
            "implied_underlying_price_1545,active_underlying_price_1545,implied_volatility_1545,delta_1545,"
            "gamma_1545,theta_1545,vega_1545,rho_1545,bid_size_eod,bid_eod,ask_size_eod,ask_eod,"
            "underlying_bid_eod,underlying_ask_eod,vwap,open_interest,delivery_code").split(",")
EOD_NO_CALC = [c for c in EOD_FULL if not c.startswith(("implied_", "active_", "delta_", "gamma_", "theta_",
                                                        "vega_", "rho_"))]
QUOTES = ("underlying_symbol,quote_datetime,root,expiration,strike,option_type,open,high,low,close,"
          "trade_volume,bid_size,bid,ask_size,ask,underlying_bid,underlying_ask").split(",")
GENERIC = ["underlying", "quote_ts", "expiry", "strike", "right", "bid", "ask"]


@pytest.mark.parametrize(("columns", "name"), [
    (EOD_FULL, "cboe_eod_summary"),
    (EOD_NO_CALC, "cboe_eod_summary"),
    (["quote_date", "expiration", "strike", "option_type", "bid_size_1545", "bid_1545", "ask_size_1545",
      "ask_1545", "underlying_bid_1545", "underlying_ask_1545", "trade_volume", "open_interest"],
     "cboe_eod_summary"),
    (QUOTES, "cboe_option_quotes"),
    (QUOTES + ["open_interest", "implied_volatility", "delta", "active_underlying_price"],
     "cboe_option_quotes"),
    (["quote_datetime", "underlying", "underlying_price", "root", "cboe_symbol", "option_type", "strike",
      "expiry_symbol_date", "settlement_date", "settlement", "bid", "ask", "last", "net_change", "volume",
      "open_interest"], "cboe_delayed_chain"),
    (GENERIC, "generic"),
    (GENERIC + ["root", "settlement", "multiplier", "underlying_price"], "generic"),
])
def test_detect_format(columns, name):
    assert detect_format(columns, source_file="f.csv").name == name


def test_detect_is_case_whitespace_and_bom_tolerant():
    cols = ["\ufeffQuote_Date ", " EXPIRATION", "Strike", "option_type", "Bid_1545", "ask_1545",
            "underlying_bid_1545", "Underlying_Ask_1545"]
    fmt = detect_format(cols, source_file="f.csv")
    assert fmt.name == "cboe_eod_summary"
    assert fmt.column_map["quote_date"] == "\ufeffQuote_Date "  # mapped to the name as received
    assert fmt.column_map["bid"] == "Bid_1545"


def test_detect_ignores_pipeline_meta_columns():
    cols = GENERIC + ["source_file", "ingested_at", "file_hash"]
    assert detect_format(cols, source_file="f").name == "generic"


@pytest.mark.parametrize(("columns", "needle"), [
    ([c for c in EOD_NO_CALC if c != "ask_1545"], "missing required column(s) ask_1545"),
    ([c for c in QUOTES if c != "strike"], "missing required column(s) strike"),
    ([c for c in GENERIC if c != "right"] + ["option_type"], "missing required column(s) right"),
    (["a", "b", "c"], "unrecognised quote file header (columns: a, b, c)"),
    (GENERIC + ["BID "], "ambiguous header: column 'bid' appears 2 times"),
])
def test_detect_errors_name_file_and_column(columns, needle):
    with pytest.raises(VendorFormatError) as ei:
        detect_format(columns, source_file="data/q.csv")
    msg = str(ei.value)
    assert msg.startswith("data/q.csv: ") and needle in msg and "\n" not in msg


def test_generic_without_right_but_with_option_type_names_right():
    cols = [c for c in GENERIC if c != "right"]
    with pytest.raises(VendorFormatError, match="generic file is missing required column.*right"):
        detect_format(cols, source_file="g.csv")


@pytest.mark.parametrize("missing", ["underlying", "root"])
def test_cut_down_eod_needs_underlying_and_root(spxw, missing):
    raw, _ = spxw
    kw = {"underlying": "SPX", "root": "SPXW"}
    kw.pop(missing)
    column = {"underlying": "underlying_symbol", "root": "root"}[missing]
    with pytest.raises(VendorFormatError) as ei:
        normalise(raw.head(3), source_file="spxw.csv", **kw)
    msg = str(ei.value)
    assert msg.startswith("spxw.csv: ") and repr(column) in msg and "--underlying/--root" in msg


def test_formats_have_unique_names_and_messages_one_line():
    assert len({f.name for f in FORMATS}) == len(FORMATS)
    assert all("\n" not in m and m.startswith("{file}: ") for m in MESSAGES.values())


# ---------------------------------------------------------------------------------------------
# synthetic layouts
# ---------------------------------------------------------------------------------------------


def generic_raw(**over) -> pd.DataFrame:
    base = {
        "underlying": ["spx", "SPX", "SPX", "SPX"],
        "quote_ts": ["2019-06-26 15:45:00", "2019-06-26T19:45:00Z", "2019-06-26T15:45:00-04:00",
                     "06/26/2019 15:45"],
        "expiry": ["2019-07-19", "07/19/2019", "2019-07-19", "2019-07-19"],
        "strike": ["2900", "2900", "2950", "2950"],
        "right": ["C", "put", "Call", "p"],
        "bid": ["50.1", "30.2", "20", "58"],
        "ask": ["50.9", "30.8", "21", "59"],
        "underlying_price": ["2918.1"] * 4,
    }
    base.update(over)
    df = pd.DataFrame(base, dtype="string")
    df["source_row"] = np.arange(1, len(df) + 1)
    return df


def test_generic_schema():
    res = normalise(generic_raw(), source_file="g.csv")
    c = res.clean
    assert res.format_name == "generic" and len(c) == 4 and len(res.quarantine) == 0
    assert (c["quote_ts"] == pd.Timestamp("2019-06-26 19:45", tz="UTC")).all()  # zoned or New York
    assert c["right"].tolist() == ["C", "P", "C", "P"]
    assert (c["underlying"] == "SPX").all() and (c["root"] == "SPX").all()   # root defaults to underlying
    assert (c["settlement"] == "AM").all()                                   # SPX root: AM
    assert (c["expiry_ts"] == pd.Timestamp("2019-07-19 09:30", tz="America/New_York")).all()
    assert (c["multiplier"] == 100).all() and (c["source"] == "generic").all()
    assert c["bid_size"].isna().all()


def test_generic_optional_columns_and_arguments():
    raw = generic_raw(root=["SPXW"] * 4, settlement=["", "am", "PM", ""], multiplier=["10", "10", "", "10"],
                      volume=["5", "", "7", "8"])
    res = normalise(raw, source_file="g.csv", source="sim")
    c = res.clean
    assert c["settlement"].tolist() == ["PM", "AM", "PM", "PM"]  # empty: from root SPXW
    assert c["multiplier"].tolist() == [10.0, 10.0, 100.0, 10.0]
    assert c["volume"].isna().tolist() == [False, True, False, False]
    assert (c["source"] == "sim").all()
    res2 = normalise(raw, source_file="g.csv", multiplier=50, underlying="XSP")
    assert (res2.clean["multiplier"] == 50).all() and (res2.clean["underlying"] == "XSP").all()
    with pytest.raises(VendorFormatError, match="g.csv: multiplier must be a positive number"):
        normalise(raw, source_file="g.csv", multiplier=-1)


def test_generic_without_underlying_price_is_quarantined():
    raw = generic_raw().drop(columns=["underlying_price"])
    res = normalise(raw, source_file="g.csv")
    assert len(res.clean) == 0 and (res.quarantine["reason"] == "bad_underlying_price").all()


def test_generic_quote_ts_needs_a_time():
    res = normalise(generic_raw(quote_ts=["2019-06-26"] * 4), source_file="g.csv")
    q = res.quarantine
    assert (q["reason"] == "unparseable").all() and q["snapshot_id"].isna().all()
    assert q["detail"].str.contains("quote_ts='2019-06-26'").all()


def test_cboe_option_quotes_layout():
    rows = {
        "underlying_symbol": ["^SPX", "^SPX"], "quote_datetime": ["2019-06-26 10:30:00"] * 2,
        "root": ["SPXW", "SPXW"], "expiration": ["2019-06-28"] * 2, "strike": ["2900", "2900"],
        "option_type": ["C", "P"], "open": ["0"] * 2, "high": ["0"] * 2, "low": ["0"] * 2, "close": ["0"] * 2,
        "trade_volume": ["12", "0"], "bid_size": ["10", "11"], "bid": ["25.1", "6.2"],
        "ask_size": ["12", "13"],
        "ask": ["25.9", "6.6"], "underlying_bid": ["2918.0"] * 2, "underlying_ask": ["2918.4"] * 2,
    }
    raw = pd.DataFrame(rows, dtype="string").assign(source_row=[1, 2])
    res = normalise(raw, source_file="sim.csv", source="sim")
    c = res.clean
    assert res.format_name == "cboe_option_quotes" and len(c) == 2
    assert (c["underlying"] == "SPX").all()   # Cboe's ^SPX
    assert (c["snapshot_id"] == "2019-06-26T1030").all()
    np.testing.assert_allclose(c["underlying_price"], 2918.2)
    assert c["volume"].tolist() == [12.0, 0.0] and c["open_interest"].isna().all()


def test_full_eod_layout_uses_1545_fields():
    vals = {c: "0" for c in EOD_FULL}
    vals.update({"underlying_symbol": "^SPX", "quote_date": "06/26/2019", "root": "SPX",
                 "expiration": "2019-07-19", "strike": "2900", "option_type": "c", "bid_1545": "40.5",
                 "ask_1545": "41.5", "bid_eod": "1", "ask_eod": "2", "underlying_bid_1545": "",
                 "underlying_ask_1545": "", "active_underlying_price_1545": "2918.5", "bid_size_1545": "3"})
    raw = pd.DataFrame([vals], dtype="string").assign(source_row=1)
    c = normalise(raw, source_file="eod.csv").clean
    assert len(c) == 1
    r = c.iloc[0]
    assert (r["bid"], r["ask"], r["bid_size"], r["underlying_price"]) == (40.5, 41.5, 3.0, 2918.5)
    assert r["settlement"] == "AM"
    assert r["quote_ts"] == pd.Timestamp("2019-06-26 15:45", tz="America/New_York")


# ---------------------------------------------------------------------------------------------
# row-level problems
# ---------------------------------------------------------------------------------------------


def one_row(**over) -> NormalisedQuotes:
    raw = generic_raw().head(1)
    for k, v in over.items():
        raw[k] = pd.array([v], dtype="string")
    return normalise(raw, source_file="g.csv")


@pytest.mark.parametrize(("over", "reason", "needle"), [
    ({"strike": ""}, "missing_field", "missing_field: strike empty"),
    ({"bid": "  "}, "missing_field", "missing_field: bid empty"),
    ({"strike": "2,900"}, "unparseable", "strike='2,900'"),
    ({"bid": "nan"}, "unparseable", "bid='nan'"),
    ({"ask": "inf"}, "unparseable", "ask='inf'"),
    ({"expiry": "2019-13-45"}, "unparseable", "expiry='2019-13-45'"),
    ({"quote_ts": "yesterday"}, "unparseable", "quote_ts='yesterday'"),
    ({"underlying_price": "abc"}, "unparseable", "underlying_price='abc'"),
    ({"right": "X"}, "bad_right", "right='X'"),
    ({"strike": "0"}, "nonpositive_strike", "strike 0 <= 0"),
    ({"expiry": "2019-06-25"}, "expired", "expired: expiry 2019-06-25"),
    ({"bid": "-1"}, "negative_price", "negative_price"),
    ({"bid": "0", "ask": "0"}, "zero_ask", "zero_ask: ask 0 <= 0"),
    ({"bid": "51", "ask": "50.9"}, "crossed", "crossed: bid 51 > ask 50.9"),
    ({"strike": "2000", "bid": "100", "ask": "101"}, "below_intrinsic",
     "below_intrinsic: ask 101 < lower bound"),
    ({"underlying_price": "0"}, "bad_underlying_price", "underlying price 0"),
    ({"underlying_price": ""}, "bad_underlying_price", "underlying price missing"),
])
def test_row_problem(over, reason, needle):
    res = one_row(**over)
    assert len(res.clean) == 0 and len(res.quarantine) == 1
    q = res.quarantine.iloc[0]
    assert q["reason"] == reason
    assert needle in q["detail"], q["detail"]
    assert q["source_file"] == "g.csv" and q["source_row"] == 1


def test_locked_market_and_zero_bid_are_clean():
    assert len(one_row(bid="50.9", ask="50.9").clean) == 1
    assert len(one_row(bid="0", ask="0.05", strike="4000").clean) == 1


def test_several_problems_first_by_priority_detail_lists_all():
    res = one_row(strike="abc", right="Q", bid="-2", ask="0")
    q = res.quarantine.iloc[0]
    assert q["reason"] == "unparseable"
    for part in ("unparseable: strike='abc'", "bad_right: right='Q'", "negative_price", "zero_ask"):
        assert part in q["detail"]
    assert q["detail"].index("unparseable") < q["detail"].index("bad_right") < q["detail"].index("negative")


def test_empty_bid_is_zero_only_in_daily_bars(goog):
    raw, _ = goog
    r = raw.head(2).copy()
    r["bid_close"] = ["", "abc"]
    res = normalise(r, source_file="goog.csv")
    assert res.clean["bid"].tolist() == [0.0]
    assert res.quarantine["reason"].tolist() == ["unparseable"]
    assert "bid_close='abc'" in res.quarantine["detail"].iloc[0]


def test_duplicates_keep_first_source_row():
    raw = generic_raw(quote_ts=["2019-06-26 15:45:00"] * 4, strike=["2900"] * 4, right=["C", "C", "P", "C"],
                      expiry=["2019-07-19"] * 4, bid=["50"] * 4, ask=["51"] * 4)
    raw["source_row"] = [4, 2, 3, 1]
    res = normalise(raw, source_file="g.csv")
    assert sorted(res.clean["source_row"]) == [1, 3]
    q = res.quarantine
    assert q["source_row"].tolist() == [2, 4] and (q["reason"] == "duplicate").all()
    assert q["detail"].str.contains("source_row 1").all()


def test_header_only_gives_empty_frames():
    raw = generic_raw().head(0)
    res = normalise(raw, source_file="g.csv")
    assert len(res.clean) == 0 and len(res.quarantine) == 0
    assert list(res.clean.columns) == list(CLEAN_QUOTE_COLUMNS)


def test_missing_source_row_is_an_error():
    with pytest.raises(VendorFormatError, match="g.csv: raw table has no 'source_row'"):
        normalise(generic_raw().drop(columns=["source_row"]), source_file="g.csv")


def test_object_dtype_input_and_nulls():
    raw = generic_raw().astype(object)
    raw.loc[0, "bid"] = None
    raw["source_row"] = raw["source_row"].astype(int)
    res = normalise(raw, source_file="g.csv")
    assert res.quarantine["reason"].tolist() == ["missing_field"]
    assert len(res.clean) == 3
