"""Option-chain responses of market-data HTTP APIs (Polygon, Tradier) as vendor text tables.

Pure: takes decoded JSON (``dict``/``list``) and returns a table in the ``cboe_option_quotes`` layout
of :mod:`volmachine_core.market.formats` - every value a string, a missing value ``""`` - plus an
integer ``source_row`` (1-based), so :func:`volmachine_core.market.vendor.normalise` (with
``source="polygon"``/``"tradier"``) validates it like any vendor file. Rows with missing or bad
values are kept here and quarantined there with reason codes. No I/O, no Dagster.

Columns: :data:`CHAIN_COLUMNS` (the Cboe layout plus ``open_interest`` and
``active_underlying_price``, the underlying's last price, which ``normalise`` uses when there is no
underlying bid/ask).

Quote time
----------
A response is one snapshot: every row gets the same ``quote_datetime`` (New York wall-clock,
``YYYY-MM-DD HH:MM:SS``): ``asof`` when given (naive means New York), else the latest quote
timestamp in the response (Polygon ``last_quote.last_updated``, nanoseconds; Tradier
``bid_date``/``ask_date``, milliseconds). Without either the column is empty and ``normalise``
quarantines the rows as ``missing_field``.

Errors
------
:class:`VendorResponseError` for error payloads (provider, status and message in the text) and for
payloads of the wrong shape (the missing or mistyped key in the text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = [
    "CHAIN_COLUMNS",
    "VendorResponseError",
    "polygon_chain_table",
    "response_error_message",
    "tradier_chain_table",
    "tradier_expirations",
    "tradier_options",
    "tradier_underlying_quote",
]

EXCHANGE_TZ = "America/New_York"

#: Columns of the tables returned here (``source_row`` is added as an integer column).
CHAIN_COLUMNS: tuple[str, ...] = (
    "underlying_symbol", "quote_datetime", "root", "expiration", "strike", "option_type",
    "open", "high", "low", "close", "trade_volume", "bid_size", "bid", "ask_size", "ask",
    "underlying_bid", "underlying_ask", "open_interest", "active_underlying_price",
)

#: OCC option symbol: root, YYMMDD, C/P, strike x 1000 (8 digits); Polygon prefixes ``O:``.
_OCC_RE = re.compile(r"^(?:O:)?([A-Z0-9.]{1,6}?)\d{6}[CP]\d{8}$")


class VendorResponseError(ValueError):
    """An API response that is an error payload or not shaped as documented (one-line message)."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def response_error_message(payload: object) -> str | None:
    """The error text of a Polygon/Tradier error payload, else None (also for non-dict payloads)."""
    if not isinstance(payload, Mapping):
        return None
    status = payload.get("status")
    for key in ("error", "message"):
        val = payload.get(key)
        if isinstance(val, str) and val.strip() and (status not in ("OK", "DELAYED") or "results" not in payload):
            return _one_line(val)
    fault = payload.get("fault")
    if isinstance(fault, Mapping):
        return _one_line(fault.get("faultstring") or fault)
    errors = payload.get("errors")
    if isinstance(errors, Mapping):
        err = errors.get("error")
        if isinstance(err, list):
            return _one_line("; ".join(str(e) for e in err))
        return _one_line(err if err is not None else errors)
    if isinstance(status, str) and status.upper() in ("ERROR", "NOT_AUTHORIZED", "NOT_FOUND"):
        return _one_line(status)
    return None


def _text(value: object) -> str:
    """A JSON scalar as vendor text: None -> ''; floats without needless '.0' noise kept readable."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)  # nan/inf -> 'nan'/'inf', unparseable for normalise
    if isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def _get(obj: object, *keys: str) -> object:
    """Nested lookup that tolerates missing/None/non-dict levels (returns None)."""
    for k in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(k)
    return obj


def _root_of(symbol: object) -> str:
    m = _OCC_RE.match(_text(symbol).upper())
    return m.group(1) if m else ""


def _ny_text(ts: pd.Timestamp) -> str:
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize(EXCHANGE_TZ) if ts.tzinfo is None else ts.tz_convert(EXCHANGE_TZ)
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def _epoch_max(values: Iterable[object], unit: str) -> pd.Timestamp | None:
    nums = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            nums.append(v)
    if not nums:
        return None
    return pd.Timestamp(int(max(nums)), unit=unit, tz="UTC")


def _table(rows: list[dict[str, str]]) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series([r.get(c, "") for r in rows], dtype=object) for c in CHAIN_COLUMNS})
    df["source_row"] = pd.Series(range(1, len(rows) + 1), dtype="int64")
    return df


def _fail(provider: str, what: str) -> VendorResponseError:
    return VendorResponseError(f"{provider} response: {what}")


# --------------------------------------------------------------------------------------------
# Polygon
# --------------------------------------------------------------------------------------------


def _index_symbol(ticker: object) -> str:
    t = _text(ticker)
    return t[2:] if t.upper().startswith("I:") else t


def polygon_chain_table(pages: list[dict], *, asof: pd.Timestamp | None = None,
                        underlying: str | None = None) -> pd.DataFrame:
    """Polygon option chain snapshot pages as a ``cboe_option_quotes`` text table.

    Parameters
    ----------
    pages : list of dict
        Decoded responses of ``GET /v3/snapshot/options/{underlyingAsset}`` (every page of one
        chain, ``next_url`` followed): ``{"status", "request_id", "results": [...], "next_url"}``.
        Each result: ``details{contract_type, expiration_date, strike_price, ticker}``,
        ``last_quote{bid, ask, bid_size, ask_size, last_updated}`` (ns), ``day{open, high, low,
        close, volume}``, ``open_interest``, ``underlying_asset{price, ticker}``.
    asof : pandas.Timestamp, optional
        Snapshot time for every row (naive = New York); default the latest ``last_updated``.
    underlying : str, optional
        Underlying symbol for rows without ``underlying_asset.ticker`` (an ``I:`` index prefix
        is dropped either way).

    Returns
    -------
    pandas.DataFrame
        :data:`CHAIN_COLUMNS` as text plus integer ``source_row``; one row per result.

    Raises
    ------
    VendorResponseError
        An error page (``status`` ERROR/NOT_AUTHORIZED, or an ``error``/``message`` without
        results), a page that is not an object, or without a ``results`` list, or a result
        that is not an object.
    """
    if not isinstance(pages, list):
        raise _fail("polygon", f"expected a list of pages, got {type(pages).__name__}")
    results: list[Mapping] = []
    for i, page in enumerate(pages, start=1):
        if not isinstance(page, Mapping):
            raise _fail("polygon", f"page {i} is not a JSON object ({type(page).__name__})")
        msg = response_error_message(page)
        if msg is not None:
            raise VendorResponseError(f"polygon error: status {page.get('status', '?')!s}: {msg} "
                                      f"(request_id {page.get('request_id', '?')})")
        if "results" not in page:
            raise _fail("polygon", f"page {i} has no 'results' key (keys: {', '.join(map(str, page))})")
        res = page["results"]
        if res is None:
            continue
        if not isinstance(res, list):
            raise _fail("polygon", f"page {i} 'results' is {type(res).__name__}, expected a list")
        for j, r in enumerate(res):
            if not isinstance(r, Mapping):
                raise _fail("polygon", f"page {i} results[{j}] is not an object")
            results.append(r)
    if asof is None:
        when = _epoch_max((_get(r, "last_quote", "last_updated") for r in results), "ns")
    else:
        when = pd.Timestamp(asof)
    qdt = _ny_text(when) if when is not None else ""
    fallback = _index_symbol(underlying) if underlying else ""
    rows = []
    for r in results:
        ticker = _get(r, "details", "ticker")
        price = _text(_get(r, "underlying_asset", "price"))
        rows.append({
            "underlying_symbol": _index_symbol(_get(r, "underlying_asset", "ticker")) or fallback,
            "quote_datetime": qdt,
            "root": _root_of(ticker),
            "expiration": _text(_get(r, "details", "expiration_date")),
            "strike": _text(_get(r, "details", "strike_price")),
            "option_type": _text(_get(r, "details", "contract_type")),
            "open": _text(_get(r, "day", "open")),
            "high": _text(_get(r, "day", "high")),
            "low": _text(_get(r, "day", "low")),
            "close": _text(_get(r, "day", "close")),
            "trade_volume": _text(_get(r, "day", "volume")),
            "bid_size": _text(_get(r, "last_quote", "bid_size")),
            "bid": _text(_get(r, "last_quote", "bid")),
            "ask_size": _text(_get(r, "last_quote", "ask_size")),
            "ask": _text(_get(r, "last_quote", "ask")),
            "underlying_bid": "",
            "underlying_ask": "",
            "open_interest": _text(r.get("open_interest")),
            "active_underlying_price": price,
        })
    return _table(rows)


# --------------------------------------------------------------------------------------------
# Tradier
# --------------------------------------------------------------------------------------------


def _as_list(value: object, provider: str, where: str) -> list:
    """Tradier lists: a list, one object for a single item, null/absent for none."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return [value]
    raise _fail(provider, f"{where} is {type(value).__name__}, expected an object or a list")


def _tradier_check(payload: object, key: str) -> Mapping:
    if not isinstance(payload, Mapping):
        raise _fail("tradier", f"expected a JSON object, got {type(payload).__name__}")
    msg = response_error_message(payload)
    if msg is not None:
        raise VendorResponseError(f"tradier error: {msg}")
    if key not in payload:
        raise _fail("tradier", f"no {key!r} key (keys: {', '.join(map(str, payload)) or 'none'})")
    return payload


def tradier_underlying_quote(underlying_quote: dict, symbol: str | None = None) -> Mapping | None:
    """The ``quote`` object of a ``/v1/markets/quotes`` response (the one for ``symbol`` if given)."""
    body = _tradier_check(underlying_quote, "quotes")["quotes"]
    if body is None:
        return None
    if not isinstance(body, Mapping):
        raise _fail("tradier", f"'quotes' is {type(body).__name__}, expected an object")
    quotes = [q for q in _as_list(body.get("quote"), "tradier", "quotes.quote") if isinstance(q, Mapping)]
    if symbol:
        want = symbol.strip().upper().lstrip("^")
        quotes = [q for q in quotes if _text(q.get("symbol")).upper().lstrip("^") == want] or quotes[:0]
    return quotes[0] if quotes else None


def tradier_options(chain: dict) -> list[Mapping]:
    """The option objects of a ``/v1/markets/options/chains`` response (``[]`` for ``"options": null``).

    Raises
    ------
    VendorResponseError
        An error payload, no ``options`` key, ``options`` without ``option``, or a non-object option.
    """
    body = _tradier_check(chain, "options")["options"]
    if body is None:
        return []
    if not isinstance(body, Mapping):
        raise _fail("tradier", f"'options' is {type(body).__name__}, expected an object or null")
    if "option" not in body:
        raise _fail("tradier", "'options' has no 'option' key")
    options = _as_list(body["option"], "tradier", "options.option")
    for j, o in enumerate(options):
        if not isinstance(o, Mapping):
            raise _fail("tradier", f"options.option[{j}] is not an object")
    return options


def tradier_expirations(payload: dict) -> list[str]:
    """The dates (``YYYY-MM-DD`` text) of a ``/v1/markets/options/expirations`` response.

    ``{"expirations": {"date": [...]}}``; one date may be a bare string, ``"expirations": null``
    means none.
    """
    body = _tradier_check(payload, "expirations")["expirations"]
    if body is None:
        return []
    if not isinstance(body, Mapping):
        raise _fail("tradier", f"'expirations' is {type(body).__name__}, expected an object or null")
    dates = body.get("date")
    if isinstance(dates, str):
        dates = [dates]
    if dates is None:
        return []
    if not isinstance(dates, list):
        raise _fail("tradier", f"expirations.date is {type(dates).__name__}, expected a list")
    return [_text(d) for d in dates if _text(d)]


def tradier_chain_table(chain: dict, underlying_quote: dict, *, asof: pd.Timestamp | None = None) -> pd.DataFrame:
    """Tradier option chain (one or more expirations) as a ``cboe_option_quotes`` text table.

    Parameters
    ----------
    chain : dict
        Decoded ``GET /v1/markets/options/chains`` response: ``{"options": {"option": [...]}}``;
        ``"options": null`` when empty and a single option may be an object instead of a list.
        Each option: ``symbol, underlying, root_symbol, strike, option_type ('call'/'put'),
        expiration_date, bid, ask, bidsize, asksize, volume, open_interest, open, high, low,
        close, bid_date, ask_date`` (ms).
    underlying_quote : dict
        Decoded ``GET /v1/markets/quotes`` response for the underlying: ``{"quotes": {"quote":
        {symbol, bid, ask, last, ...}}}``; its bid/ask/last become the underlying price columns.
    asof : pandas.Timestamp, optional
        Snapshot time for every row (naive = New York); default the latest ``bid_date``/``ask_date``.

    Returns
    -------
    pandas.DataFrame
        :data:`CHAIN_COLUMNS` as text plus integer ``source_row``; one row per option.

    Raises
    ------
    VendorResponseError
        An error payload (``fault``/``errors``), no ``options`` or ``quotes`` key, or options
        that are not objects.
    """
    options = tradier_options(chain)
    first_und = next((_text(o.get("underlying")) for o in options if _text(o.get("underlying"))), None)
    quote = tradier_underlying_quote(underlying_quote, first_und)
    if asof is None:
        when = _epoch_max((o.get(k) for o in options for k in ("bid_date", "ask_date")), "ms")
    else:
        when = pd.Timestamp(asof)
    qdt = _ny_text(when) if when is not None else ""
    und_bid = _text(_get(quote, "bid"))
    und_ask = _text(_get(quote, "ask"))
    und_last = _text(_get(quote, "last"))
    rows = []
    for o in options:
        rows.append({
            "underlying_symbol": _text(o.get("underlying")),
            "quote_datetime": qdt,
            "root": _text(o.get("root_symbol")) or _root_of(o.get("symbol")),
            "expiration": _text(o.get("expiration_date")),
            "strike": _text(o.get("strike")),
            "option_type": _text(o.get("option_type")),
            "open": _text(o.get("open")),
            "high": _text(o.get("high")),
            "low": _text(o.get("low")),
            "close": _text(o.get("close")),
            "trade_volume": _text(o.get("volume")),
            "bid_size": _text(o.get("bidsize")),
            "bid": _text(o.get("bid")),
            "ask_size": _text(o.get("asksize")),
            "ask": _text(o.get("ask")),
            "underlying_bid": und_bid,
            "underlying_ask": und_ask,
            "open_interest": _text(o.get("open_interest")),
            "active_underlying_price": und_last,
        })
    return _table(rows)
