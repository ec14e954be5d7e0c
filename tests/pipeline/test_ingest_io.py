"""Reading landed quote files as text (volmachine_pipeline.ingest_io) and normalising them."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volmachine_core.market.vendor import VendorFormatError, normalise
from volmachine_pipeline.ingest_io import RawFile, read_raw_bytes, read_raw_file

SPXW = "spxw_2019-06-26_cboe_eod_1545.csv"
SPX2011 = "spx_2011-01-24_1403ET_cboe_delayed.csv"
GOOG = "goog_2015-12-23_24_daily_quotes.csv"
KW = {SPXW: {"underlying": "SPX", "root": "SPXW"}, SPX2011: {}, GOOG: {}}


def conserved(raw: RawFile, **kw) -> None:
    res = normalise(raw.frame, source_file=str(raw.path), **kw)
    rows = np.sort(np.concatenate([res.clean["source_row"], res.quarantine["source_row"]]))
    np.testing.assert_array_equal(rows, np.arange(1, raw.n_rows + 1))
    return res


@pytest.mark.parametrize(("name", "n_rows", "fmt", "n_clean"), [
    (SPXW, 10_384, "cboe_eod_summary", 10_384),
    (SPX2011, 1_920, "cboe_delayed_chain", 1_910),
    (GOOG, 4_250, "daily_quote_bars", 4_250),
])
def test_real_files(shared_data, name, n_rows, fmt, n_clean):
    path = shared_data / name
    raw = read_raw_file(path)
    assert raw.n_rows == n_rows == len(raw.frame)
    assert raw.format_name == fmt and raw.path == path
    assert raw.file_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert raw.frame["source_row"].tolist() == list(range(1, n_rows + 1))
    assert raw.frame["source_row"].dtype == np.int64
    text = [c for c in raw.frame.columns if c != "source_row"]
    assert all(isinstance(raw.frame[c].dtype, pd.StringDtype) for c in text)
    # exactly as in the file: same values as an independent reader
    ref = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert text == list(ref.columns)
    pd.testing.assert_frame_equal(raw.frame[text].astype(object), ref.astype(object), check_dtype=False)
    res = conserved(raw, **KW[name])
    assert len(res.clean) == n_clean


def test_spxw_bom_and_hash(shared_data):
    raw = read_raw_file(shared_data / SPXW)
    assert raw.frame.columns[0] == "quote_date"        # BOM stripped
    assert raw.file_hash.startswith("23c90a0d") and raw.file_hash.endswith("aa0d0")  # the README's sha256


def test_goog_empty_strings_kept(shared_data):
    raw = read_raw_file(shared_data / GOOG)
    assert (raw.frame["bid_close"] == "").sum() == 589
    assert raw.frame["bid_close"].isna().sum() == 0


def test_zip_gz_and_header_whitespace(shared_data, tmp_path):
    data = (shared_data / SPXW).read_bytes()
    zpath = tmp_path / "spxw_eod.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("UnderlyingOptionsEODCalcs_2019-06-26.csv", data)
    raw = read_raw_file(zpath)
    assert raw.n_rows == 10_384 and raw.format_name == "cboe_eod_summary"
    assert raw.file_hash == hashlib.sha256(zpath.read_bytes()).hexdigest()
    res = conserved(raw, underlying="SPX", root="SPXW")
    assert len(res.clean) == 10_384
    gz = tmp_path / "spxw.csv.gz"
    gz.write_bytes(gzip.compress(data))
    assert read_raw_file(gz).n_rows == 10_384
    # header names with odd case and spaces keep their case, lose the whitespace
    first, rest = data[3:].split(b"\n", 1)
    odd = b" QUOTE_DATE ," + first.split(b",", 1)[1] + b"\r\n" + rest.replace(b"\n", b"\r\n")
    p = tmp_path / "odd.csv"
    p.write_bytes(odd)
    raw = read_raw_file(p)
    assert raw.frame.columns[0] == "QUOTE_DATE" and raw.n_rows == 10_384
    assert raw.frame["open_interest"].str.endswith("\r").sum() == 0


def test_full_cboe_eod_layout_in_zip(tmp_path, shared_data):
    """A generated full-width Option EOD Summary file (all 34 columns) wrapped in a zip."""
    src = pd.read_csv(shared_data / SPXW, dtype=str, keep_default_na=False, encoding="utf-8-sig").head(200)
    cols = ("underlying_symbol,quote_date,root,expiration,strike,option_type,open,high,low,close,"
            "trade_volume,"
            "bid_size_1545,bid_1545,ask_size_1545,ask_1545,underlying_bid_1545,underlying_ask_1545,"
            "implied_underlying_price_1545,active_underlying_price_1545,implied_volatility_1545,delta_1545,"
            "gamma_1545,theta_1545,vega_1545,rho_1545,bid_size_eod,bid_eod,ask_size_eod,ask_eod,"
            "underlying_bid_eod,underlying_ask_eod,vwap,open_interest,delivery_code").split(",")
    full = pd.DataFrame({c: src[c] if c in src.columns else "0" for c in cols})
    full["underlying_symbol"], full["root"] = "^SPX", "SPXW"
    full["delivery_code"] = ""
    z = tmp_path / "UnderlyingOptionsEODCalcs_2019-06-26.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("UnderlyingOptionsEODCalcs_2019-06-26.csv", full.to_csv(index=False))
    raw = read_raw_file(z)
    assert list(raw.frame.columns[:-1]) == cols
    res = conserved(raw)
    assert len(res.clean) == 200 and (res.clean["underlying"] == "SPX").all()
    np.testing.assert_allclose(res.clean["underlying_price"], (2917.80 + 2918.42) / 2)


def test_parquet_generic(tmp_path):
    tbl = pa.table({
        "underlying": ["SPX", "SPX"],
        "quote_ts": pa.array([pd.Timestamp("2019-06-26 19:45", tz="UTC")] * 2, pa.timestamp("us", tz="UTC")),
        "expiry": pa.array([pd.Timestamp("2019-07-19").date()] * 2, pa.date32()),
        "strike": [2900.0, 2900.0], "right": ["C", "P"], "bid": [40.0, 20.0], "ask": [41.0, None],
        "underlying_price": [2918.1, 2918.1], "root": ["SPXW", "SPXW"], "open_interest": pa.array([5, 6]),
    })
    p = tmp_path / "quotes.parquet"
    pq.write_table(tbl, p)
    raw = read_raw_file(p)
    assert raw.format_name == "generic" and raw.n_rows == 2
    assert raw.frame["ask"].isna().tolist() == [False, True]   # a Parquet null stays null
    res = conserved(raw)
    c = res.clean
    assert len(c) == 1 and c["quote_ts"].iloc[0] == pd.Timestamp("2019-06-26 19:45", tz="UTC")
    assert c["expiry_ts"].iloc[0] == pd.Timestamp("2019-07-19 16:00", tz="America/New_York")
    assert res.quarantine["reason"].tolist() == ["missing_field"]


def _spxw_lines(shared_data) -> bytes:
    return (shared_data / SPXW).read_bytes()[:5000].rsplit(b"\n", 1)[0] + b"\n"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


@pytest.mark.parametrize(("name", "make", "needle"), [
    ("empty.csv", lambda d: b"", "empty file"),
    ("blank.csv", lambda d: b"\xef\xbb\xbf \r\n\n", "empty file"),
    ("junk.csv", lambda d: bytes(range(256)) * 4, "not a text CSV file"),
    ("latin1.csv", lambda d: "quote_date,expiration\n2019-06-26,\xe9\n".encode("latin-1"), "invalid UTF8"),
    ("semicolon.csv", lambda d: d.replace(b",", b";"), "wrong delimiter"),
    ("tabs.csv", lambda d: d.replace(b",", b"\t"), "wrong delimiter"),
    ("noask.csv", lambda d: d.replace(b"ask_1545,underlying_bid", b"xx_1545,underlying_bid"),
     "missing required column(s) ask_1545"),
    ("dup.csv", lambda d: d.replace(b"bid_size_1545", b"BID_1545"), "ambiguous header: column 'bid_1545'"),
    ("ragged.csv", lambda d: d + b"2019-06-26,2019-06-28,2900,C,1,2,3\n", "expected 12 fields, got 7"),
    ("unknown.csv", lambda d: b"a,b,c\n1,2,3\n", "unrecognised quote file header (columns: a, b, c)"),
    ("noname.csv", lambda d: b"quote_ts,,expiry\n1,2,3\n", "header column 2 has no name"),
    ("two.zip", lambda d: _zip({"a.csv": d, "b.csv": d}), "exactly one CSV file"),
    ("bad.zip", lambda d: b"PK\x03\x04 not really", "bad zip archive"),
    ("bad.csv.gz", lambda d: b"\x1f\x8b junk", "bad gzip"),
    ("bad.parquet", lambda d: b"PAR1 junk", "not a readable Parquet file"),
])
def test_unreadable_files_raise_one_line_errors(tmp_path, shared_data, name, make, needle):
    p = tmp_path / name
    p.write_bytes(make(_spxw_lines(shared_data)))
    with pytest.raises(VendorFormatError) as ei:
        read_raw_file(p)
    msg = str(ei.value)
    assert msg.startswith(f"{p}: "), msg
    assert needle in msg, msg
    assert "\n" not in msg


def test_header_only_file(tmp_path, shared_data):
    p = tmp_path / "hdr.csv"
    p.write_bytes(_spxw_lines(shared_data).split(b"\n", 1)[0] + b"\n")
    raw = read_raw_file(p)
    assert raw.n_rows == 0 and raw.format_name == "cboe_eod_summary"
    res = normalise(raw.frame, source_file=str(p), underlying="SPX", root="SPXW")
    assert len(res.clean) == 0 and len(res.quarantine) == 0


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        read_raw_file(Path("/nonexistent/x.csv"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_random_bytes_fail_cleanly(shared_data, blob):
    try:
        raw = read_raw_bytes(blob, name="blob.csv")
    except VendorFormatError as exc:
        assert str(exc).startswith("blob.csv: ") and "\n" not in str(exc)
    else:  # pragma: no cover - random bytes essentially never form a quote header
        assert raw.n_rows >= 0


_cell = st.one_of(st.just(""), st.just("x"), st.just("-1"), st.just("1e9"), st.just('"a,b"'),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                 blacklist_characters="\n\r,\"\x00"), max_size=8))
# (a NUL byte anywhere makes the whole file non-text: rejected at file level, see the test below)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 11), _cell), max_size=20))
def test_mutated_csv_read_and_normalise_conserve(shared_data, edits):
    lines = _spxw_lines(shared_data).decode("utf-8-sig").split("\n")[:-1]
    rows = [line.split(",") for line in lines]
    for r, c, v in edits:
        if r < len(rows):
            rows[r][c] = v
    blob = ("\n".join(",".join(r) for r in rows) + "\n").encode("utf-8")
    raw = read_raw_bytes(blob, name="m.csv")
    assert raw.n_rows == len(rows) - 1
    res = conserved(raw, underlying="SPX", root="SPXW")
    assert set(res.quarantine["source_row"]) <= {r for r, _, _ in edits}


def test_a_nul_byte_in_one_cell_rejects_the_file(shared_data):
    lines = _spxw_lines(shared_data).decode("utf-8-sig").split("\n")
    lines[5] = lines[5].replace(",", ",\x00", 1)
    with pytest.raises(VendorFormatError, match="NUL"):
        read_raw_bytes("\n".join(lines).encode("utf-8"), name="m.csv")
