"""OCC option symbols (volmachine_core.trading.occ): tables, round trips, vectorised vs a slow reference."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import volmachine_core.trading as trading
from volmachine_core.trading import (
    OCC_COLUMNS,
    OccContract,
    OccReason,
    format_occ,
    parse_occ,
    parse_occ_one,
)

# --- good symbols: (input, root, expiry, right, strike). The first is the OCC/OSI spec's layout
# (root padded to 6, YYMMDD, C/P, strike x 1000 in 8 digits); the others the accepted variants.
GOOD = [
    ("SPXW  261218P05800000", "SPXW", "2026-12-18", "P", 5800.0),       # padded form
    ("SPXW261218P05800000", "SPXW", "2026-12-18", "P", 5800.0),         # compact (vendor) form
    ("  SPXW  261218P05800000\t", "SPXW", "2026-12-18", "P", 5800.0),   # surrounding whitespace
    ("spxw  261218p05800000", "SPXW", "2026-12-18", "P", 5800.0),       # lower case
    ("SPX 261218P05800000", "SPX", "2026-12-18", "P", 5800.0),          # partial padding
    ("AAPL  240119C00190000", "AAPL", "2024-01-19", "C", 190.0),
    ("A     000229C00000001", "A", "2000-02-29", "C", 0.001),           # leap day, smallest strike
    ("BRKB  991231P99999999", "BRKB", "2099-12-31", "P", 99999.999),    # last year, largest strike
    ("AAPL1 250620C00172500", "AAPL1", "2025-06-20", "C", 172.5),       # adjusted root with a digit
    ("ABCDEF250620C00172500", "ABCDEF", "2025-06-20", "C", 172.5),      # 6-character root, no space
]

# --- bad symbols: (input, reason code)
BAD = [
    (None, "missing"),
    ("", "missing"),
    ("   ", "missing"),
    ("SPXW  261218P0580000", "bad_date"),              # a strike digit lost: the fields shift left by one
    ("261218P05800000", "bad_length"),                 # no root at all (15 characters)
    ("SPXWXYZ261218P05800000", "bad_length"),          # 22 characters: root too long
    ("SPX   W261218P05800000", "bad_length"),          # 22 characters
    ("SP.X  261218P05800000", "bad_root"),             # dot in root
    ("SP X  261218P05800000", "bad_root"),             # inner space
    ("SPXW  261318P05800000", "bad_date"),             # month 13
    ("SPXW  260230P05800000", "bad_date"),             # 30 February
    ("SPXW  010229P05800000", "bad_date"),             # 2001 is not a leap year
    ("SPXW  26121AP05800000", "bad_date"),             # non-digit in date
    ("SPXW  261218X05800000", "bad_right"),
    ("SPXW  261218005800000", "bad_right"),            # right replaced by a digit
    ("SPXW  261218P0580000A", "bad_strike"),           # non-digit in strike
    ("SPXW  261218P-5800000", "bad_strike"),           # sign
    ("SPXW  261218P00000000", "bad_strike"),           # zero strike
]


#: Each table parsed once, vectorised (the parametrised tests below look up their row).
PARSED_GOOD = parse_occ([g[0] for g in GOOD])
PARSED_BAD = parse_occ(pd.Series([b[0] for b in BAD], dtype=object))


@pytest.mark.parametrize(("i", "symbol", "root", "expiry", "right", "strike"), [(i, *g) for i, g in enumerate(GOOD)])
def test_parse_good(i, symbol, root, expiry, right, strike):
    row = PARSED_GOOD.iloc[i]
    assert row["valid"] and row["reason"] == "ok"
    assert (row["root"], row["expiry"], row["right"]) == (root, pd.Timestamp(expiry), right)
    assert row["strike"] == pytest.approx(strike, abs=1e-9)
    assert len(row["symbol"]) == 21 and row["symbol"][:6] == root.ljust(6)


def test_parse_good_symbols_equal_format_of_their_fields():
    fields = pd.DataFrame(GOOD, columns=["symbol", "root", "expiry", "right", "strike"])
    again = format_occ(fields["root"], fields["expiry"], fields["right"], fields["strike"])
    assert again.tolist() == PARSED_GOOD["symbol"].tolist()


@pytest.mark.parametrize(("i", "symbol", "reason"), [(i, *b) for i, b in enumerate(BAD)])
def test_parse_bad(i, symbol, reason):
    row = PARSED_BAD.iloc[i]
    assert not row["valid"]
    assert row["reason"] == reason
    assert pd.isna(row["root"]) and pd.isna(row["expiry"]) and pd.isna(row["right"]) and np.isnan(row["strike"])
    assert pd.isna(row["symbol"])


def test_parse_one_returns_contract():
    one = parse_occ_one(" SPXW261218P05800000 ")
    assert one == OccContract("SPXW", dt.date(2026, 12, 18), "P", 5800.0)
    assert one.symbol == "SPXW  261218P05800000"


#: One bad symbol per reason code (first of each in BAD).
ONE_PER_REASON = list({reason: (symbol, reason) for symbol, reason in reversed(BAD) if symbol is not None}.values())


@pytest.mark.parametrize(("symbol", "reason"), ONE_PER_REASON)
def test_parse_one_raises_naming_symbol_and_problem(symbol, reason):
    with pytest.raises(ValueError, match="bad OCC option symbol") as info:
        parse_occ_one(symbol)
    assert repr(symbol) in str(info.value)
    assert reason in str(info.value)


def test_parse_keeps_index_and_dtypes():
    s = pd.Series(["SPXW  261218P05800000", "junk"], index=[10, 20])
    out = parse_occ(s)
    assert list(out.index) == [10, 20]
    assert dict(out.dtypes.astype(str)) == OCC_COLUMNS
    assert out["valid"].tolist() == [True, False]
    assert out.loc[20, "reason"] == "bad_length"


def test_parse_scalar_and_empty():
    assert parse_occ("SPXW  261218P05800000")["strike"].tolist() == [5800.0]
    empty = parse_occ([])
    assert len(empty) == 0 and dict(empty.dtypes.astype(str)) == OCC_COLUMNS


# --- format


def test_format_scalar_padded_and_compact():
    assert format_occ("SPXW", "2026-12-18", "P", 5800.0) == "SPXW  261218P05800000"
    assert format_occ("spxw", dt.date(2026, 12, 18), "p", 5800, compact=True) == "SPXW261218P05800000"
    assert format_occ("SPXW", pd.Timestamp("2026-12-18 16:00"), True, 5800.0) == "SPXW  261218C05800000"
    assert format_occ("SPXW", "2026-12-18", False, 5800.0) == "SPXW  261218P05800000"


def test_format_vectorised_broadcasts_and_keeps_series_index():
    strikes = pd.Series([0.1 + 0.2, 5800.0, 99999.999], index=["a", "b", "c"])  # 0.30000000000000004 -> 300
    out = format_occ("SPXW", "2026-12-18", np.array([True, False, True]), strikes)
    assert isinstance(out, pd.Series) and list(out.index) == ["a", "b", "c"]
    assert out.tolist() == ["SPXW  261218C00000300", "SPXW  261218P05800000", "SPXW  261218C99999999"]
    arr = format_occ(["A", "B"], ["2026-01-16", "2026-02-20"], "C", 10.0)
    assert isinstance(arr, np.ndarray)
    assert arr.tolist() == ["A     260116C00010000", "B     260220C00010000"]


@pytest.mark.parametrize(("args", "message"), [
    (("SPXW", "2026-12-18", "P", 5800.0004), "strike 5800.0004 is not a multiple of 0.001"),
    (("SPXW", "2026-12-18", "P", 0.0), "strike 0.0 is not a multiple of 0.001 in"),
    (("SPXW", "2026-12-18", "P", 100000.0), "strike 100000.0"),
    (("SPXW", "2026-12-18", "P", float("nan")), "strike nan"),
    (("SPXW", "1999-12-31", "P", 5800.0), "expiry '1999-12-31' is not a date in 2000-2099"),
    (("SPXW", "2026-13-01", "P", 5800.0), "expiry '2026-13-01'"),
    (("SPXW", "2026-12-18", "X", 5800.0), "right 'X' is not 'C'/'P'"),
    (("SPXWXYZ", "2026-12-18", "P", 5800.0), "root 'SPXWXYZ' is not 1-6 letters/digits"),
    (("", "2026-12-18", "P", 5800.0), "root ''"),
])
def test_format_raises_naming_argument_and_value(args, message):
    with pytest.raises(ValueError, match="format_occ: ") as info:
        format_occ(*args)
    assert message in str(info.value)


def test_format_coerce_gives_null_for_bad_elements():
    out = format_occ(["A", "B", "C"], "2026-12-18", "C", [1.5, 2.0001, 3.0], errors="coerce")
    assert out.tolist() == ["A     261218C00001500", None, "C     261218C00003000"]
    assert format_occ("A", "2026-12-18", "C", -1.0, errors="coerce") is None
    with pytest.raises(ValueError, match="1 of 3 elements bad"):
        format_occ(["A", "B", "C"], "2026-12-18", "C", [1.5, 2.0001, 3.0])


def test_format_rejects_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match="do not broadcast"):
        format_occ(["A", "B"], "2026-12-18", "C", [1.0, 2.0, 3.0])


# --- round trips (hypothesis): strikes k/1000, roots of 1-6 letters/digits, dates 2000-2099

roots = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
milli = st.integers(min_value=1, max_value=99_999_999)
contracts = st.lists(st.tuples(roots, dates, st.sampled_from("CP"), milli), min_size=1, max_size=20)


@settings(max_examples=20, deadline=None)
@given(contracts, st.booleans())
def test_round_trip_format_parse(legs, compact):
    root, expiry, right, m = (list(x) for x in zip(*legs, strict=True))
    strike = np.asarray(m, dtype=float) / 1000.0
    symbols = format_occ(root, expiry, right, strike, compact=compact)
    if not compact:
        assert all(len(s) == 21 for s in symbols)
    out = parse_occ(symbols)
    assert out["valid"].all()
    assert out["root"].tolist() == root
    assert out["expiry"].dt.date.tolist() == expiry
    assert out["right"].tolist() == right
    assert (np.rint(out["strike"].to_numpy() * 1000).astype(np.int64) == np.asarray(m)).all()
    np.testing.assert_allclose(out["strike"].to_numpy(), strike, rtol=0, atol=1e-9)
    # parse -> format gives the canonical padded symbol back
    again = format_occ(out["root"], out["expiry"], out["right"], out["strike"])
    assert again.tolist() == out["symbol"].tolist()


# --- vectorised parse vs a slow per-symbol reference written independently here


def slow_parse(symbol):
    """Reference parser, one symbol at a time: (root, date, right, strike, reason)."""
    if symbol is None or not symbol.strip():
        return None, None, None, None, "missing"
    s = symbol.strip().upper()
    if not 16 <= len(s) <= 21:
        return None, None, None, None, "bad_length"
    root, date, right, strike = s[:-15].rstrip(), s[-15:-9], s[-9], s[-8:]
    if not (1 <= len(root) <= 6 and all(c.isascii() and c.isalnum() for c in root)):
        return None, None, None, None, "bad_root"
    try:
        if not (date.isascii() and date.isdigit()):
            raise ValueError
        day = dt.date(2000 + int(date[:2]), int(date[2:4]), int(date[4:]))
    except ValueError:
        return None, None, None, None, "bad_date"
    if right not in ("C", "P"):
        return None, None, None, None, "bad_right"
    if not (strike.isascii() and strike.isdigit()) or int(strike) == 0:
        return None, None, None, None, "bad_strike"
    return root, day, right, int(strike) / 1000, "ok"


def mutated_symbols(n: int, seed: int) -> list[str | None]:
    """Good symbols, some with one character replaced, removed or added, some null (fixed seed)."""
    rng = random.Random(seed)
    alphabet = "ABCPXZ0129 .-"
    roots = ["".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(rng.randint(1, 6)))
             for _ in range(n)]
    days = [dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 36_500)) for _ in range(n)]
    rights = [rng.choice("CP") for _ in range(n)]
    strikes = [rng.randint(1, 99_999_999) / 1000 for _ in range(n)]
    padded = format_occ(roots, days, rights, strikes)
    compact = format_occ(roots, days, rights, strikes, compact=True)
    out: list[str | None] = []
    for i in range(n):
        s = compact[i] if rng.random() < 0.3 else padded[i]
        k, pos = rng.random(), rng.randrange(len(s))
        if k < 0.3:
            s = s[:pos] + rng.choice(alphabet) + s[pos + 1:]
        elif k < 0.4:
            s = s[:pos] + s[pos + 1:]
        elif k < 0.5:
            s = s[:pos] + rng.choice(alphabet) + s[pos:]
        elif k < 0.53:
            s = s[:-8] + "00000000"
        elif k < 0.56:
            s = None
        out.append(s)
    return out


def test_vectorised_parse_equals_slow_reference():
    symbols = mutated_symbols(600, seed=8)
    fast = parse_occ(symbols)
    ref = pd.DataFrame([slow_parse(s) for s in symbols], columns=["root", "date", "right", "strike", "reason"])
    assert fast["reason"].tolist() == ref["reason"].tolist()
    assert fast["valid"].tolist() == (ref["reason"] == "ok").tolist()
    ok = fast["valid"].to_numpy()
    assert 0.3 < ok.mean() < 0.9  # both kinds really exercised
    assert fast.loc[ok, "root"].tolist() == ref.loc[ok, "root"].tolist()
    assert fast.loc[ok, "expiry"].dt.date.tolist() == ref.loc[ok, "date"].tolist()
    assert fast.loc[ok, "right"].tolist() == ref.loc[ok, "right"].tolist()
    np.testing.assert_array_equal(fast.loc[ok, "strike"].to_numpy(), ref.loc[ok, "strike"].to_numpy(dtype=float))
    assert set(fast["reason"]) >= {r.value for r in OccReason}  # every code met at least once


def test_public_api_names_import_and_have_docstrings():
    for name in trading.__all__:
        obj = getattr(trading, name)
        if callable(obj):
            assert obj.__doc__, name
