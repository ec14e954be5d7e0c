"""Option chains over HTTP: a small rate-limited, retrying JSON client and the Polygon/Tradier fetchers.

The network is behind an injectable *transport* ``(url, params, headers) -> (status, headers,
json)``; the default, :func:`urllib_transport`, uses only :mod:`urllib.request`. ``sleep`` and
``clock`` are injectable too, so tests run without network and without waiting.

* API keys come from the environment only: ``POLYGON_API_KEY``, ``TRADIER_API_TOKEN`` (sent as a
  ``Bearer`` header, never in a URL). A missing key raises :class:`MissingApiKeyError` naming the
  variable.
* Requests are spaced at least ``min_interval`` seconds apart (``clock`` measured).
* 429, 5xx, timeouts and dropped connections are retried up to ``max_retries`` times: the wait is
  the ``Retry-After`` header when present (seconds or an HTTP date), else ``backoff * 2**attempt``;
  a wait above ``max_wait`` is an error rather than a long stall.
* Other 4xx (401, 403, 404...) are not retried: :class:`HttpSourceError` names the provider, the
  status and the provider's message.
* Polygon's ``next_url`` is followed until absent, at most ``max_pages`` pages (more is an error:
  a truncated chain is never returned).

The fetchers return the text table of :mod:`volmachine_core.market.adapters`, ready for
``normalise(table, source_file=..., source="polygon"/"tradier")``.
"""

from __future__ import annotations

import email.utils
import functools
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import pandas as pd

from volmachine_core.market.adapters import (
    polygon_chain_table,
    response_error_message,
    tradier_chain_table,
    tradier_expirations,
    tradier_options,
)

__all__ = [
    "POLYGON_BASE_URL",
    "POLYGON_KEY_ENV",
    "TRADIER_BASE_URL",
    "TRADIER_KEY_ENV",
    "HttpClient",
    "HttpSourceError",
    "MissingApiKeyError",
    "Transport",
    "api_key",
    "fetch_polygon_chain",
    "fetch_tradier_chain",
    "urllib_transport",
]

#: ``(url, params, headers) -> (status, response headers, decoded JSON body)``.
Transport = Callable[[str, dict, dict], tuple[int, dict, dict]]

POLYGON_BASE_URL = "https://api.polygon.io"
TRADIER_BASE_URL = "https://api.tradier.com"
POLYGON_KEY_ENV = "POLYGON_API_KEY"
TRADIER_KEY_ENV = "TRADIER_API_TOKEN"

#: Statuses worth retrying (besides every 5xx).
RETRY_STATUSES = frozenset({408, 429})


class HttpSourceError(RuntimeError):
    """A request that failed for good; the message names the provider and the HTTP status."""

    def __init__(self, provider: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.status = status


class MissingApiKeyError(HttpSourceError):
    """The provider's API key environment variable is not set."""

    def __init__(self, provider: str, variable: str) -> None:
        super().__init__(provider, f"environment variable {variable} is not set (API keys are read from the "
                                   "environment only)")
        self.variable = variable


def api_key(provider: str, variable: str) -> str:
    """The API key in environment variable ``variable``; :class:`MissingApiKeyError` when unset/empty."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise MissingApiKeyError(provider, variable)
    return value


# --------------------------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> dict:
    text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        return {"message": " ".join(text.split())[:300]}
    return body if isinstance(body, dict) else {"data": body}


def urllib_transport(url: str, params: dict, headers: dict, *, timeout: float = 30.0) -> tuple[int, dict, dict]:
    """GET ``url`` with query ``params`` via :mod:`urllib.request`; HTTP errors are returned, not raised.

    Raises
    ------
    TimeoutError
        The request timed out.
    ConnectionError
        The connection failed or was dropped.
    OSError
        Any other network failure (unknown host...).
    """
    if params:
        url = url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    req = urllib.request.Request(url, headers=dict(headers), method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - https URLs only
            return resp.status, dict(resp.headers.items()), _decode(resp.read())
    except urllib.error.HTTPError as exc:
        hdrs = dict(exc.headers.items()) if exc.headers is not None else {}
        return exc.code, hdrs, _decode(exc.read() or b"")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise TimeoutError(f"timed out: {reason}") from exc
        if isinstance(reason, ConnectionError):
            raise ConnectionError(str(reason)) from exc
        raise OSError(f"network error: {reason}") from exc


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


def _header(headers: Mapping, name: str) -> str | None:
    for k, v in (headers or {}).items():
        if str(k).lower() == name.lower():
            return str(v)
    return None


def _retry_after(headers: Mapping) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), else None."""
    value = _header(headers, "Retry-After")
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _safe_url(url: str) -> str:
    """The URL without its query (cursors and any credentials stay out of messages)."""
    return url.split("?", 1)[0]


class HttpClient:
    """A JSON GET client for one provider: rate limit, retries with backoff, clear errors.

    Parameters
    ----------
    provider : str
        Name used in errors (``'polygon'``, ``'tradier'``).
    transport : Transport, optional
        Default :func:`urllib_transport` with ``timeout``.
    headers : dict, optional
        Sent with every request (authorisation).
    sleep, clock : callables
        ``time.sleep`` and ``time.monotonic`` by default; injectable for tests.
    min_interval : float
        Minimum seconds between the starts of two requests.
    max_retries : int
        Retries after the first attempt for 429/5xx/timeouts.
    backoff : float
        First retry wait without ``Retry-After``; doubled each retry.
    max_wait : float
        Longest single wait accepted (a longer ``Retry-After`` is an error).
    timeout : float
        Seconds per request for the default transport.
    """

    def __init__(self, provider: str, *, transport: Transport | None = None, headers: Mapping | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 min_interval: float = 0.0, max_retries: int = 4, backoff: float = 1.0,
                 max_wait: float = 120.0, timeout: float = 30.0) -> None:
        self.provider = provider
        self.transport = transport or functools.partial(urllib_transport, timeout=timeout)
        self.headers = dict(headers or {})
        self.sleep = sleep
        self.clock = clock
        self.min_interval = float(min_interval)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_wait = float(max_wait)
        self.requests = 0
        self._last_start: float | None = None

    def _throttle(self) -> None:
        if self._last_start is not None and self.min_interval > 0:
            wait = self._last_start + self.min_interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_start = self.clock()

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * (2 ** attempt), self.max_wait)

    def get(self, url: str, params: Mapping | None = None) -> dict:
        """GET ``url`` and return the decoded JSON object.

        Raises
        ------
        HttpSourceError
            A non-retryable status (401, 403, 404, other 4xx), retries exhausted, a wait above
            ``max_wait``, a network failure other than a timeout/dropped connection, or a body
            that is not a JSON object.
        """
        where = _safe_url(url)
        attempt = 0
        while True:
            self._throttle()
            self.requests += 1
            try:
                status, headers, body = self.transport(url, dict(params or {}), dict(self.headers))
            except (TimeoutError, ConnectionError) as exc:
                if attempt >= self.max_retries:
                    raise HttpSourceError(self.provider, f"GET {where} failed after {attempt + 1} attempts: "
                                          f"{type(exc).__name__}: {exc}") from exc
                delay = self._backoff(attempt)
            except OSError as exc:
                raise HttpSourceError(self.provider, f"GET {where} failed: {exc}") from exc
            else:
                status = int(status)
                if 200 <= status < 300:
                    if not isinstance(body, dict):
                        raise HttpSourceError(self.provider, f"GET {where}: response is not a JSON object", status)
                    return body
                message = response_error_message(body) or "no message"
                if status not in RETRY_STATUSES and status < 500:
                    hint = " (check the API key)" if status in (401, 403) else ""
                    raise HttpSourceError(self.provider, f"HTTP {status} for GET {where}: {message}{hint}", status)
                if attempt >= self.max_retries:
                    raise HttpSourceError(self.provider, f"HTTP {status} for GET {where} after {attempt + 1} "
                                          f"attempts: {message}", status)
                retry_after = _retry_after(headers or {})
                delay = retry_after if retry_after is not None else self._backoff(attempt)
                if delay > self.max_wait:
                    raise HttpSourceError(self.provider, f"HTTP {status} for GET {where}: asked to retry after "
                                          f"{delay:g}s, more than max_wait={self.max_wait:g}s: {message}", status)
            self.sleep(delay)
            attempt += 1


# --------------------------------------------------------------------------------------------
# Providers
# --------------------------------------------------------------------------------------------


def _client(provider: str, variable: str, extra_headers: Mapping, **kw) -> HttpClient:
    key = api_key(provider, variable)
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json", **extra_headers}
    return HttpClient(provider, headers=headers, **kw)


def fetch_polygon_chain(underlying: str, *, transport: Transport | None = None,
                        sleep: Callable[[float], None] = time.sleep,
                        clock: Callable[[], float] = time.monotonic, base_url: str = POLYGON_BASE_URL,
                        params: Mapping | None = None, limit: int = 250, max_pages: int = 50,
                        min_interval: float = 0.25, max_retries: int = 4, backoff: float = 1.0,
                        max_wait: float = 120.0, timeout: float = 30.0,
                        asof: pd.Timestamp | None = None) -> pd.DataFrame:
    """Polygon option chain snapshot of ``underlying`` (``I:SPX`` for the index) as a text table.

    ``GET {base_url}/v3/snapshot/options/{underlying}?limit=...`` plus ``params`` (filters such as
    ``expiration_date``, ``strike_price.gte``), then each ``next_url`` until absent. Key:
    ``POLYGON_API_KEY``. The other arguments are those of :class:`HttpClient`; ``asof`` is passed
    to :func:`~volmachine_core.market.adapters.polygon_chain_table`.

    Raises
    ------
    MissingApiKeyError, HttpSourceError
        No key; a failed request; more than ``max_pages`` pages.
    VendorResponseError
        An error payload or a payload of the wrong shape.
    """
    client = _client("polygon", POLYGON_KEY_ENV, {}, transport=transport, sleep=sleep, clock=clock,
                     min_interval=min_interval, max_retries=max_retries, backoff=backoff, max_wait=max_wait,
                     timeout=timeout)
    symbol = underlying.strip().upper()
    base = base_url.rstrip("/")
    url: str | None = f"{base}/v3/snapshot/options/{urllib.parse.quote(symbol, safe=':')}"
    query: dict = {"limit": int(limit), **dict(params or {})}
    pages: list[dict] = []
    while url:
        if len(pages) >= max_pages:
            raise HttpSourceError("polygon", f"chain of {symbol} has more than max_pages={max_pages} pages; "
                                  "raise max_pages or narrow it with params (e.g. expiration_date)")
        page = client.get(url, query)
        pages.append(page)
        nxt = page.get("next_url")
        url = urllib.parse.urljoin(base + "/", nxt) if isinstance(nxt, str) and nxt.strip() else None
        query = {}  # next_url carries the cursor and the original query
    return polygon_chain_table(pages, asof=asof, underlying=symbol)


def _date_texts(expirations: Iterable | str) -> list[str]:
    if isinstance(expirations, str):
        expirations = [expirations]
    return [pd.Timestamp(e).strftime("%Y-%m-%d") for e in expirations]


def fetch_tradier_chain(underlying: str, expirations: Iterable | str | None = None, *,
                        transport: Transport | None = None, sleep: Callable[[float], None] = time.sleep,
                        clock: Callable[[], float] = time.monotonic, base_url: str = TRADIER_BASE_URL,
                        greeks: bool = False, min_interval: float = 0.5, max_retries: int = 4,
                        backoff: float = 1.0, max_wait: float = 120.0, timeout: float = 30.0,
                        asof: pd.Timestamp | None = None) -> pd.DataFrame:
    """Tradier option chain of ``underlying`` (all ``expirations``, default every listed one) as a text table.

    ``GET /v1/markets/options/expirations?symbol=&includeAllRoots=true`` when ``expirations`` is
    None, ``GET /v1/markets/quotes?symbols=`` for the underlying price, then ``GET
    /v1/markets/options/chains?symbol=&expiration=&greeks=`` per expiration; the options of all
    expirations form one snapshot. Key: ``TRADIER_API_TOKEN`` (``base_url`` may point at the
    sandbox). The other arguments are those of :class:`HttpClient`; ``asof`` is passed to
    :func:`~volmachine_core.market.adapters.tradier_chain_table`.

    Raises
    ------
    MissingApiKeyError, HttpSourceError
        No token; a failed request.
    VendorResponseError
        An error payload or a payload of the wrong shape.
    """
    client = _client("tradier", TRADIER_KEY_ENV, {}, transport=transport, sleep=sleep, clock=clock,
                     min_interval=min_interval, max_retries=max_retries, backoff=backoff, max_wait=max_wait,
                     timeout=timeout)
    symbol = underlying.strip().upper()
    base = base_url.rstrip("/")
    if expirations is None:
        dates = tradier_expirations(client.get(f"{base}/v1/markets/options/expirations",
                                               {"symbol": symbol, "includeAllRoots": "true"}))
    else:
        dates = _date_texts(expirations)
    quote = client.get(f"{base}/v1/markets/quotes", {"symbols": symbol})
    options: list = []
    for date in dates:
        chain = client.get(f"{base}/v1/markets/options/chains",
                           {"symbol": symbol, "expiration": date, "greeks": "true" if greeks else "false"})
        options.extend(tradier_options(chain))
    merged = {"options": {"option": options} if options else None}
    return tradier_chain_table(merged, quote, asof=asof)
