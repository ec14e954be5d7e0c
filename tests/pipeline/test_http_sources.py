"""HTTP sources with a fake transport, sleep and clock: pagination, retries, errors, rate limit."""

from __future__ import annotations

import pandas as pd
import pytest

from volmachine_core.market.vendor import normalise
from volmachine_pipeline.sources.http import (
    HttpClient,
    HttpSourceError,
    MissingApiKeyError,
    fetch_polygon_chain,
    fetch_tradier_chain,
)

NS = pd.Timestamp("2024-06-03 19:30:00", tz="UTC").value


def poly_result(strike, right, bid, ask):
    return {"details": {"contract_type": right, "expiration_date": "2024-06-21", "strike_price": strike,
                        "ticker": f"O:SPY240621{right[0].upper()}{int(strike * 1000):08d}"},
            "last_quote": {"bid": bid, "ask": ask, "bid_size": 5, "ask_size": 6, "last_updated": NS},
            "day": {"volume": 10}, "open_interest": 100,
            "underlying_asset": {"price": 530.0, "ticker": "SPY"}}


class FakeTransport:
    """Replays (status, headers, body) responses in order and records each request."""

    def __init__(self, responses, clock=None, cost=0.0):
        self.responses = list(responses)
        self.calls = []
        self.clock = clock
        self.cost = cost

    def __call__(self, url, params, headers):
        self.calls.append((url, dict(params), dict(headers)))
        if self.clock is not None:
            self.clock.t += self.cost
        item = self.responses.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


class FakeClock:
    def __init__(self):
        self.t = 100.0
        self.sleeps = []

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("POLYGON_API_KEY", "pk-test")
    monkeypatch.setenv("TRADIER_API_TOKEN", "tt-test")


def ok(body):
    return 200, {"Content-Type": "application/json"}, body


def test_polygon_pagination_followed(keys):
    nxt = "https://api.polygon.io/v3/snapshot/options/SPY?cursor=abc"
    fake = FakeTransport([
        ok({"status": "OK", "request_id": "1", "results": [poly_result(530, "call", 5.0, 5.2)], "next_url": nxt}),
        ok({"status": "OK", "request_id": "2", "results": [poly_result(530, "put", 4.8, 5.0)]}),
    ])
    clock = FakeClock()
    table = fetch_polygon_chain("spy", transport=fake, sleep=clock.sleep, clock=clock, min_interval=0)
    assert [c[0] for c in fake.calls] == ["https://api.polygon.io/v3/snapshot/options/SPY", nxt]
    assert fake.calls[0][1] == {"limit": 250} and fake.calls[1][1] == {}
    assert all(c[2]["Authorization"] == "Bearer pk-test" for c in fake.calls)
    assert all("pk-test" not in c[0] for c in fake.calls)
    assert clock.sleeps == []
    out = normalise(table, source_file="polygon_SPY.json", source="polygon")
    assert len(out.clean) == 2 and out.quarantine.empty
    assert list(out.clean["right"]) == ["C", "P"] and set(out.clean["underlying"]) == {"SPY"}
    assert list(out.clean["bid"]) == [5.0, 4.8] and set(out.clean["underlying_price"]) == {530.0}


def test_polygon_page_cap(keys):
    page = {"status": "OK", "results": [], "next_url": "https://api.polygon.io/v3/snapshot/options/SPY?cursor=z"}
    fake = FakeTransport([ok(page)] * 5)
    with pytest.raises(HttpSourceError, match="max_pages=3"):
        fetch_polygon_chain("SPY", transport=fake, sleep=lambda s: None, max_pages=3)
    assert len(fake.calls) == 3


def test_429_retry_after_honoured(keys):
    fake = FakeTransport([
        (429, {"retry-after": "7"}, {"status": "ERROR", "error": "too many requests"}),
        (429, {"Retry-After": "2"}, {"status": "ERROR", "error": "too many requests"}),
        ok({"status": "OK", "results": [poly_result(530, "call", 5.0, 5.2)]}),
    ])
    clock = FakeClock()
    table = fetch_polygon_chain("SPY", transport=fake, sleep=clock.sleep, clock=clock, min_interval=0)
    assert clock.sleeps == [7.0, 2.0]
    assert len(table) == 1


def test_500_then_timeout_backoff_then_success():
    fake = FakeTransport([(500, {}, {"message": "internal"}), TimeoutError("slow"), ok({"x": 1})])
    clock = FakeClock()
    client = HttpClient("polygon", transport=fake, sleep=clock.sleep, clock=clock, backoff=0.5)
    assert client.get("https://example.test/a") == {"x": 1}
    assert clock.sleeps == [0.5, 1.0]
    assert len(fake.calls) == 3


def test_5xx_retries_exhausted():
    fake = FakeTransport([(503, {}, {"message": "down"})] * 3)
    clock = FakeClock()
    client = HttpClient("tradier", transport=fake, sleep=clock.sleep, clock=clock, max_retries=2, backoff=1)
    with pytest.raises(HttpSourceError, match=r"tradier: HTTP 503 .* after 3 attempts: down"):
        client.get("https://example.test/a")
    assert clock.sleeps == [1.0, 2.0]


def test_retry_after_above_max_wait_is_an_error():
    fake = FakeTransport([(429, {"Retry-After": "3600"}, {})])
    clock = FakeClock()
    client = HttpClient("polygon", transport=fake, sleep=clock.sleep, clock=clock, max_wait=60)
    with pytest.raises(HttpSourceError, match="3600"):
        client.get("https://example.test/a")
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [401, 403, 404])
def test_client_errors_not_retried(keys, status):
    body = {"status": "ERROR", "request_id": "r", "error": "Unknown API Key"}
    fake = FakeTransport([(status, {}, body)])
    clock = FakeClock()
    with pytest.raises(HttpSourceError) as info:
        fetch_polygon_chain("SPY", transport=fake, sleep=clock.sleep, clock=clock)
    msg = str(info.value)
    assert msg.startswith("polygon:") and f"HTTP {status}" in msg and "Unknown API Key" in msg
    assert "pk-test" not in msg
    assert info.value.status == status
    assert len(fake.calls) == 1 and clock.sleeps == []


def test_tradier_401_names_provider(keys):
    fake = FakeTransport([(401, {}, {"message": "Invalid Access Token"})])
    with pytest.raises(HttpSourceError, match=r"^tradier: HTTP 401 .*Invalid Access Token"):
        fetch_tradier_chain("SPY", ["2024-06-21"], transport=fake, sleep=lambda s: None)
    assert len(fake.calls) == 1


@pytest.mark.parametrize("fetch, var", [(fetch_polygon_chain, "POLYGON_API_KEY"),
                                        (fetch_tradier_chain, "TRADIER_API_TOKEN")])
def test_missing_key_names_variable(monkeypatch, fetch, var):
    monkeypatch.delenv(var, raising=False)
    fake = FakeTransport([])
    with pytest.raises(MissingApiKeyError, match=var):
        fetch("SPY", transport=fake, sleep=lambda s: None)
    assert fake.calls == []


def test_rate_limit_spacing_with_fake_clock():
    clock = FakeClock()
    fake = FakeTransport([ok({"n": i}) for i in range(3)], clock=clock, cost=0.25)
    client = HttpClient("tradier", transport=fake, sleep=clock.sleep, clock=clock, min_interval=1.0)
    starts = []
    for _ in range(3):
        client.get("https://example.test/a")
        starts.append(clock.t - 0.25)
    assert clock.sleeps == pytest.approx([0.75, 0.75])
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] == pytest.approx([1.0, 1.0])


def test_tradier_fetch_end_to_end(keys):
    ms = NS // 1_000_000

    def opt(strike, right, bid, ask, exp):
        return {"symbol": f"SPY{exp[2:4]}{exp[5:7]}{exp[8:10]}{right[0].upper()}{int(strike * 1000):08d}",
                "underlying": "SPY", "root_symbol": "SPY", "strike": strike, "option_type": right,
                "expiration_date": exp, "bid": bid, "ask": ask, "bidsize": 3, "asksize": 4, "volume": 1,
                "open_interest": 9, "bid_date": ms, "ask_date": ms}

    fake = FakeTransport([
        ok({"expirations": {"date": ["2024-06-21", "2024-06-28"]}}),
        ok({"quotes": {"quote": {"symbol": "SPY", "bid": 529.9, "ask": 530.1, "last": 530.0}}}),
        ok({"options": {"option": [opt(530, "call", 5.0, 5.2, "2024-06-21"),
                                   opt(530, "put", 4.8, 5.0, "2024-06-21")]}}),
        ok({"options": {"option": opt(535, "call", 4.0, 4.3, "2024-06-28")}}),
    ])
    clock = FakeClock()
    table = fetch_tradier_chain("SPY", transport=fake, sleep=clock.sleep, clock=clock)
    paths = [c[0].removeprefix("https://api.tradier.com") for c in fake.calls]
    assert paths == ["/v1/markets/options/expirations", "/v1/markets/quotes",
                     "/v1/markets/options/chains", "/v1/markets/options/chains"]
    assert fake.calls[2][1] == {"symbol": "SPY", "expiration": "2024-06-21", "greeks": "false"}
    assert all(c[2]["Authorization"] == "Bearer tt-test" and c[2]["Accept"] == "application/json"
               for c in fake.calls)
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.5])  # default 0.5 s spacing, zero-cost requests
    out = normalise(table, source_file="tradier_SPY.json", source="tradier")
    assert len(out.clean) == 3 and out.quarantine.empty
    c = out.clean
    assert c["expiry"].tolist() == [pd.Timestamp("2024-06-21")] * 2 + [pd.Timestamp("2024-06-28")]
    assert list(c["strike"]) == [530.0, 530.0, 535.0] and list(c["right"]) == ["C", "P", "C"]
    assert list(c["ask"]) == [5.2, 5.0, 4.3]
    assert c["underlying_price"].tolist() == pytest.approx([530.0] * 3)
    assert c["snapshot_id"].nunique() == 1
