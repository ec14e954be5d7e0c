"""Polygon/Tradier option-chain responses -> cboe_option_quotes text tables -> normalise."""

from __future__ import annotations

import pandas as pd
import pytest

from volmachine_core.market.adapters import (
    CHAIN_COLUMNS,
    VendorResponseError,
    polygon_chain_table,
    tradier_chain_table,
    tradier_expirations,
)
from volmachine_core.market.vendor import normalise

QUOTE_UTC = pd.Timestamp("2024-06-03 19:30:00", tz="UTC")  # 15:30 New York (EDT)
NS = QUOTE_UTC.value
MS = NS // 1_000_000


def poly_result(strike, right, bid, ask, *, exp="2024-06-21", und="SPY", price=530.0, ts=NS, root=None):
    root = root or und.removeprefix("I:")
    occ = f"O:{root}{exp[2:4]}{exp[5:7]}{exp[8:10]}{right[0].upper()}{int(strike * 1000):08d}"
    return {
        "break_even_price": strike + ask,
        "day": {"open": bid, "high": ask, "low": bid, "close": ask, "volume": 120},
        "details": {"contract_type": right, "exercise_style": "american", "expiration_date": exp,
                    "shares_per_contract": 100, "strike_price": strike, "ticker": occ},
        "greeks": {"delta": 0.5}, "implied_volatility": 0.15,
        "last_quote": {"ask": ask, "ask_size": 10, "bid": bid, "bid_size": 12,
                       "last_updated": ts, "midpoint": (bid + ask) / 2, "timeframe": "REAL-TIME"},
        "open_interest": 1500,
        "underlying_asset": {"change_to_break_even": 1.0, "last_updated": ts, "price": price,
                             "ticker": und, "timeframe": "REAL-TIME"},
    }


def poly_page(results, next_url=None):
    page = {"request_id": "abc123", "results": results, "status": "OK"}
    if next_url:
        page["next_url"] = next_url
    return page


def tradier_option(strike, right, bid, ask, *, exp="2024-06-21", und="SPY", ts=MS, root="SPY"):
    sym = f"{root}{exp[2:4]}{exp[5:7]}{exp[8:10]}{right[0].upper()}{int(strike * 1000):08d}"
    return {"symbol": sym, "description": f"{und} option", "exch": "Z", "type": "option", "last": None,
            "change": None, "volume": 40, "open": None, "high": None, "low": None, "close": None,
            "bid": bid, "ask": ask, "underlying": und, "strike": strike, "change_percentage": None,
            "average_volume": 0, "last_volume": 0, "trade_date": 0, "prevclose": None,
            "week_52_high": 0.0, "week_52_low": 0.0, "bidsize": 7, "bidexch": "Q", "bid_date": ts,
            "asksize": 9, "askexch": "X", "ask_date": ts, "open_interest": 800, "contract_size": 100,
            "expiration_date": exp, "expiration_type": "standard", "option_type": right,
            "root_symbol": root}


def tradier_quote(symbol="SPY", bid=529.9, ask=530.1, last=530.0):
    return {"quotes": {"quote": {"symbol": symbol, "description": "SPDR S&P 500", "exch": "P",
                                 "type": "etf", "last": last, "bid": bid, "ask": ask,
                                 "bidsize": 3, "asksize": 4, "trade_date": MS}}}


def run(table, source):
    out = normalise(table, source_file=f"{source}.json", source=source)
    assert len(out.clean) + len(out.quarantine) == len(table)
    assert sorted([*out.clean["source_row"], *out.quarantine["source_row"]]) == list(table["source_row"])
    return out


def assert_text_table(table):
    assert list(table.columns) == [*CHAIN_COLUMNS, "source_row"]
    for c in CHAIN_COLUMNS:
        assert all(isinstance(v, str) for v in table[c]), c
    assert list(table["source_row"]) == list(range(1, len(table) + 1))


# ------------------------------------------------------------------ polygon


def test_polygon_page_to_clean_quotes():
    page = poly_page([poly_result(530, "call", 5.0, 5.2), poly_result(530, "put", 4.8, 5.0),
                      poly_result(540, "call", 1.5, 1.6)])
    table = polygon_chain_table([page])
    assert_text_table(table)
    assert table.loc[0, "quote_datetime"] == "2024-06-03 15:30:00"
    assert table.loc[0, "root"] == "SPY"
    assert table.loc[0, "strike"] == "530"
    out = run(table, "polygon")
    assert out.format_name == "cboe_option_quotes"
    assert len(out.clean) == 3 and out.quarantine.empty
    c = out.clean
    assert set(c["underlying"]) == {"SPY"}
    assert set(c["expiry"].tolist()) == {pd.Timestamp("2024-06-21")}
    assert list(c["strike"]) == [530.0, 530.0, 540.0]
    assert list(c["right"]) == ["C", "P", "C"]
    assert list(c["bid"]) == [5.0, 4.8, 1.5] and list(c["ask"]) == [5.2, 5.0, 1.6]
    assert list(c["bid_size"]) == [12.0] * 3 and list(c["open_interest"]) == [1500.0] * 3
    assert set(c["underlying_price"]) == {530.0}
    assert set(c["quote_ts"].tolist()) == {QUOTE_UTC}
    assert set(c["snapshot_id"]) == {"2024-06-03T1530"}
    assert set(c["source"]) == {"polygon"}


def test_polygon_two_pages_one_snapshot():
    later = NS + 20 * 10**9
    p1 = poly_page([poly_result(530, "call", 5.0, 5.2)], next_url="https://api.polygon.io/v3/snapshot/options/SPY?cursor=x")
    p2 = poly_page([poly_result(530, "put", 4.8, 5.0, ts=later), poly_result(520, "put", 2.0, 2.1)])
    table = polygon_chain_table([p1, p2])
    assert len(table) == 3
    assert set(table["quote_datetime"]) == {"2024-06-03 15:30:20"}  # latest quote time, every row
    out = run(table, "polygon")
    assert len(out.clean) == 3
    assert out.clean["snapshot_id"].nunique() == 1


def test_polygon_index_and_asof():
    r = poly_result(5300, "call", 50.0, 51.0, und="I:SPX", root="SPXW", price=5290.0)
    table = polygon_chain_table([poly_page([r])], asof=pd.Timestamp("2024-06-03 16:00"))
    assert table.loc[0, "underlying_symbol"] == "SPX" and table.loc[0, "root"] == "SPXW"
    assert table.loc[0, "quote_datetime"] == "2024-06-03 16:00:00"
    out = run(table, "polygon")
    assert out.clean.loc[0, "settlement"] == "PM" and out.clean.loc[0, "underlying_price"] == 5290.0
    aware = polygon_chain_table([poly_page([r])], asof=pd.Timestamp("2024-06-03 20:00", tz="UTC"))
    assert aware.loc[0, "quote_datetime"] == "2024-06-03 16:00:00"


def test_polygon_missing_fields_are_quarantined_not_dropped():
    no_quote = poly_result(530, "put", 4.8, 5.0)
    del no_quote["last_quote"]
    no_strike = poly_result(540, "call", 1.5, 1.6)
    no_strike["details"].pop("strike_price")
    crossed = poly_result(550, "call", 0.9, 0.5)
    nan_bid = poly_result(560, "call", float("nan"), 0.3)
    page = poly_page([poly_result(530, "call", 5.0, 5.2), no_quote, no_strike, crossed, nan_bid])
    table = polygon_chain_table([page])
    assert len(table) == 5
    assert table.loc[1, "bid"] == "" and table.loc[1, "ask"] == "" and table.loc[2, "strike"] == ""
    out = run(table, "polygon")
    assert list(out.clean["source_row"]) == [1]
    reasons = dict(zip(out.quarantine["source_row"], out.quarantine["reason"], strict=True))
    assert reasons == {2: "missing_field", 3: "missing_field", 4: "crossed", 5: "unparseable"}


def test_polygon_empty_results():
    table = polygon_chain_table([poly_page([])])
    assert_text_table(table)
    assert table.empty


@pytest.mark.parametrize("payload, words", [
    ({"status": "ERROR", "request_id": "r1", "error": "Unknown API Key"}, ["polygon", "ERROR", "Unknown API Key"]),
    ({"status": "NOT_AUTHORIZED", "request_id": "r2", "message": "You are not entitled to this data."},
     ["polygon", "NOT_AUTHORIZED", "not entitled"]),
    ({"status": "OK", "request_id": "r3"}, ["polygon", "'results'"]),
    ({"status": "OK", "results": {"a": 1}}, ["polygon", "'results'", "list"]),
])
def test_polygon_error_payloads(payload, words):
    with pytest.raises(VendorResponseError) as info:
        polygon_chain_table([payload])
    for w in words:
        assert w in str(info.value)
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------ tradier


def test_tradier_chain_to_clean_quotes():
    chain = {"options": {"option": [tradier_option(530, "call", 5.0, 5.2), tradier_option(530, "put", 4.8, 5.0)]}}
    table = tradier_chain_table(chain, tradier_quote())
    assert_text_table(table)
    assert table.loc[0, "quote_datetime"] == "2024-06-03 15:30:00"
    out = run(table, "tradier")
    assert len(out.clean) == 2 and out.quarantine.empty
    c = out.clean
    assert set(c["underlying"]) == {"SPY"} and set(c["root"]) == {"SPY"}
    assert set(c["expiry"].tolist()) == {pd.Timestamp("2024-06-21")}
    assert list(c["right"]) == ["C", "P"] and list(c["strike"]) == [530.0, 530.0]
    assert list(c["bid"]) == [5.0, 4.8] and list(c["ask"]) == [5.2, 5.0]
    assert list(c["ask_size"]) == [9.0, 9.0] and list(c["volume"]) == [40.0, 40.0]
    assert c["underlying_price"].tolist() == pytest.approx([530.0, 530.0])
    assert set(c["source"]) == {"tradier"}


def test_tradier_single_option_object_and_last_price_fallback():
    opt = tradier_option(5300, "put", 40.0, 41.0, und="SPX", root="SPXW")
    opt.pop("root_symbol")  # root from the OCC symbol
    quote = tradier_quote("SPX", bid=None, ask=None, last=5290.0)
    table = tradier_chain_table({"options": {"option": opt}}, quote)
    assert len(table) == 1 and table.loc[0, "root"] == "SPXW"
    out = run(table, "tradier")
    assert out.clean.loc[0, "underlying_price"] == 5290.0
    assert out.clean.loc[0, "settlement"] == "PM"


def test_tradier_null_options_is_empty_table():
    table = tradier_chain_table({"options": None}, tradier_quote())
    assert_text_table(table)
    assert table.empty


def test_tradier_missing_quote_fields_are_quarantined():
    no_bid = tradier_option(530, "put", None, 5.0)
    bad_type = tradier_option(540, "call", 1.5, 1.6)
    bad_type["option_type"] = "straddle"
    chain = {"options": {"option": [tradier_option(530, "call", 5.0, 5.2), no_bid, bad_type]}}
    table = tradier_chain_table(chain, tradier_quote())
    out = run(table, "tradier")
    assert list(out.clean["source_row"]) == [1]
    assert list(out.quarantine["reason"]) == ["missing_field", "bad_right"]
    assert "bid" in out.quarantine.loc[0, "detail"]


def test_tradier_no_quote_times_reach_quarantine():
    opt = tradier_option(530, "call", 5.0, 5.2, ts=0)
    table = tradier_chain_table({"options": {"option": [opt]}}, tradier_quote())
    assert table.loc[0, "quote_datetime"] == ""
    out = run(table, "tradier")
    assert out.clean.empty and list(out.quarantine["reason"]) == ["missing_field"]


@pytest.mark.parametrize("chain, words", [
    ({"fault": {"faultstring": "Invalid Access Token", "detail": {"errorcode": "x"}}},
     ["tradier", "Invalid Access Token"]),
    ({"errors": {"error": ["Invalid Parameter: symbol"]}}, ["tradier", "Invalid Parameter"]),
    ({"option": []}, ["tradier", "'options'"]),
    ({"options": {}}, ["tradier", "'option'"]),
    ({"options": {"option": ["x"]}}, ["tradier", "option[0]"]),
])
def test_tradier_error_payloads(chain, words):
    with pytest.raises(VendorResponseError) as info:
        tradier_chain_table(chain, tradier_quote())
    for w in words:
        assert w in str(info.value)


def test_tradier_quote_payload_checked():
    chain = {"options": {"option": [tradier_option(530, "call", 5.0, 5.2)]}}
    with pytest.raises(VendorResponseError, match="'quotes'"):
        tradier_chain_table(chain, {"quote": {}})


def test_tradier_expirations_shapes():
    assert tradier_expirations({"expirations": {"date": ["2024-06-21", "2024-06-28"]}}) == ["2024-06-21", "2024-06-28"]
    assert tradier_expirations({"expirations": {"date": "2024-06-21"}}) == ["2024-06-21"]
    assert tradier_expirations({"expirations": None}) == []
    with pytest.raises(VendorResponseError, match="'expirations'"):
        tradier_expirations({})
