"""The fault matrix: for each fault, a realistic batch through lambda_handler, then documents in OpenSearch =
events accepted, no duplicates, dead letters = what was rejected, and the right invocation outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handler import app
from handler.config import Settings
from handler.errors import IncompleteWrite
from handler.forward import forward_event
from handler.runtime import build_runtime
from handler.sources.cloudwatch import encode_subscription_event
from handler.transforms.document import document_id
from tests.events import AURORA_GROUP, AURORA_STREAM
from tests.events.generate import audit_lines
from tests.integration.conftest import OPENSEARCH_URL, FakeContext, Forwarder
from tests.integration.faultproxy import FaultProxy
from tests.integration.nodes import extra_node

pytestmark = pytest.mark.integration
LINES = audit_lines(400, seed=5)
REJECTED = "19690101 00:00:00,ip-10-1-0-50,root,localhost,8,1,QUERY,,'select 1',0,,"  # date_nanos cannot hold it


def event(lines: list[str] = LINES) -> dict[str, Any]:
    return encode_subscription_event(lines, log_group=AURORA_GROUP, log_stream=AURORA_STREAM)


def expected_ids(lines: list[str]) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in lines:
        out.add(document_id(line, seen.get(line, 0)))
        seen[line] = seen.get(line, 0) + 1
    return out


def stored_ids(forwarder: Forwarder) -> list[str]:
    forwarder.refresh()
    resp = forwarder.client.search(index=f"{forwarder.prefix}-*", body={"size": 10000, "_source": False})
    return [h["_id"] for h in resp["hits"]["hits"]]


def assert_exactly(forwarder: Forwarder, lines: list[str]) -> None:
    ids = stored_ids(forwarder)
    assert len(ids) == len(set(ids)), "duplicates"
    assert set(ids) == expected_ids(lines)


@pytest.fixture
def through(forwarder: Forwarder, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Route the forwarder through a fault proxy with the given script; small chunks so a batch spans several."""

    def route(script: list[tuple[Any, ...]], **env: str) -> FaultProxy:
        proxy = FaultProxy(OPENSEARCH_URL, script)
        proxy.__enter__()
        proxies.append(proxy)
        monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
        monkeypatch.setenv("RDSAUDIT_BULK_MAX_BYTES", env.pop("max_bytes", "65536"))
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        app.reset_runtime()
        return proxy

    proxies: list[FaultProxy] = []
    yield route
    for p in proxies:
        p.__exit__(None, None, None)


def direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", OPENSEARCH_URL)
    app.reset_runtime()


@pytest.mark.parametrize(
    "fault",
    [
        ("items", 429, 3),
        ("items", 503, 2),
        ("status", 429, {"error": "Too Many Requests"}),
        ("status", 503, {"error": "Service Unavailable"}),
        ("status", 502, b"<html>Bad Gateway</html>"),
        ("status", 403, {"message": "Request throttled due to too many requests"}),
        ("reset_before",),
        ("reset_after",),
    ],
    ids=lambda f: "-".join(str(x) for x in f[:2]),
)
def test_transient_faults_are_retried_to_completion(forwarder: Forwarder, through: Any, fault: tuple[Any, ...]) -> None:
    proxy = through([fault, fault])  # the first two bulk requests fail this way, then the node answers
    outcome = forwarder.invoke(event())
    assert outcome["balanced"] and outcome["pending"] == 0
    assert outcome["indexed"] + outcome["already_present"] == len(LINES)
    assert outcome["retries"] >= 1
    assert forwarder.dead_letters("documents") == []
    assert_exactly(forwarder, LINES)
    assert sum(1 for s in proxy.seen if s[1].startswith("/_bulk")) > 2


def test_persistent_throttling_raises_and_redelivery_completes(
    forwarder: Forwarder, through: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    through([], RDSAUDIT_MAX_ATTEMPTS="3").default = ("items", 429, 2)
    with pytest.raises(IncompleteWrite) as raised:
        forwarder.invoke(event())
    assert 0 < raised.value.pending < len(LINES)  # every attempt gets half of what is left through
    accepted = stored_ids(forwarder)
    assert len(accepted) == len(LINES) - raised.value.pending and len(set(accepted)) == len(accepted)
    direct(monkeypatch)  # the throttling is over: Lambda's retry delivers the same event
    again = forwarder.invoke(event())
    assert again["indexed"] == raised.value.pending and again["already_present"] == len(LINES) - raised.value.pending
    assert_exactly(forwarder, LINES)


class SlowNodeClock:
    """The invocation's clock: a bulk request to the slow node takes all the time it is given (the node answers
    after the client's timeout), and a backoff sleeps on it. Lambda's context counts down on the same clock, so
    what the test asserts about time is arithmetic, not how fast this machine ran."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def slow(self, send: Any) -> Any:
        def timed(body: bytes, timeout: float) -> dict[str, Any]:
            try:
                return dict(send(body, timeout))
            finally:
                self.now += timeout

        return timed


def test_slow_node_raises_before_the_deadline_and_redelivery_has_no_duplicates(
    forwarder: Forwarder, through: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = through([], RDSAUDIT_DEADLINE_MARGIN="1")
    proxy.default = ("delay", 4.0)  # longer than any request timeout the 2 s budget below allows
    clock, writer = SlowNodeClock(), app.get_runtime().writer
    writer.clock, writer.sleep, writer.send = clock, clock.sleep, clock.slow(writer.send)
    context = FakeContext(3000, clock)  # 3 s left, 1 s of it the margin: 2 s for requests
    with pytest.raises(IncompleteWrite, match="deadline"):
        forwarder.lambda_entry(event(), context)
    assert context.get_remaining_time_in_millis() >= 1000  # stopped at the margin, before Lambda would kill it
    assert clock.now == 2.0  # one request, given exactly the time left; none started after the deadline
    direct(monkeypatch)
    forwarder.invoke(event())
    proxy.wait_idle()  # the delayed requests reach the node too: they must not add copies
    assert_exactly(forwarder, LINES)


def test_node_down_for_the_whole_invocation(forwarder: Forwarder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RDSAUDIT_ENSURE_TEMPLATE", "false")
    monkeypatch.setenv("RDSAUDIT_MAX_ATTEMPTS", "3")
    app.reset_runtime()
    with pytest.raises(IncompleteWrite) as raised:
        forwarder.invoke(event())
    assert raised.value.pending == len(LINES)
    assert forwarder.client.indices.get(index=f"{forwarder.prefix}-*") == {}
    monkeypatch.setenv("RDSAUDIT_ENSURE_TEMPLATE", "true")
    direct(monkeypatch)
    assert forwarder.invoke(event())["indexed"] == len(LINES)
    assert_exactly(forwarder, LINES)


def test_413_splits_the_chunk_and_loses_nothing(forwarder: Forwarder, through: Any) -> None:
    proxy = through([], max_bytes="1048576")
    proxy.default = ("max_bytes", 100_000)
    outcome = forwarder.invoke(event())
    assert outcome["indexed"] == len(LINES) and outcome["pending"] == 0
    assert any(kind == "max_bytes" for _, _, kind in proxy.seen)
    assert_exactly(forwarder, LINES)


def test_same_payload_three_times_concurrently(forwarder: Forwarder) -> None:
    errors: list[BaseException] = []
    outcomes: list[Any] = []
    settings = Settings.from_env()

    def deliver() -> None:
        try:
            runtime = build_runtime(settings)  # each concurrent Lambda has its own container
            outcomes.append(forward_event(event(), runtime.pipeline(), runtime.options).counts)
        except BaseException as e:
            errors.append(e)

    forwarder.invoke(event(LINES[:1]))  # template in place first, as the cold start does
    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(o.indexed for o in outcomes) == len(LINES) - 1
    assert all(o.indexed + o.already_present == len(LINES) for o in outcomes)
    assert_exactly(forwarder, LINES)


def test_mixed_batch(forwarder: Forwarder, through: Any) -> None:
    garbage = ["not an audit line", "1603439251354761,i1,admin,h,30,1,QUERY,db,'unterminated"]
    lines = LINES[:50] + garbage + [REJECTED] + LINES[50:100]
    through([("items", 429, 4)])
    outcome = forwarder.invoke(event(lines))
    assert (outcome["indexed"], outcome["dead_lettered"], outcome["flagged"]) == (102, 1, 2)
    assert outcome["balanced"]
    [dead] = forwarder.dead_letters("documents")
    assert dead["line"] == REJECTED and dead["status"] == 400
    assert_exactly(forwarder, [line for line in lines if line != REJECTED])
    flagged = forwarder.search({"term": {"tags": "parse_failure"}})
    assert sorted(h["_source"]["message"] for h in flagged) == sorted(garbage)


# A second node whose own limits produce real rejections (not the proxy's).
@pytest.fixture(scope="module")
def small_node(opensearch_url: str) -> Iterator[str]:
    env = {"OPENSEARCH_HEAP": "256m", "OPENSEARCH_EXTRA_SETTINGS": "http.max_content_length: 64kb"}
    with extra_node("small", env, timeout=300) as url:
        yield url


def test_real_413_from_a_small_http_max_content_length(
    small_node: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[small_node])
    big = [line for line in audit_lines(2000, seed=8) if len(line) > 1500][:60]
    monkeypatch.setenv("OPENSEARCH_URL", small_node)
    monkeypatch.setenv("RDSAUDIT_INDEX_PREFIX", "small")
    monkeypatch.setenv("RDSAUDIT_DEAD_LETTER", str(tmp_path))
    monkeypatch.setenv("RDSAUDIT_BULK_MAX_BYTES", str(1 << 20))
    app.reset_runtime()
    try:
        outcome = app.lambda_handler(event(big), None)
        assert outcome["indexed"] == len(big) and outcome["pending"] == 0 and outcome["requests"] > 1
        client.indices.refresh(index="small-*")
        assert client.count(index="small-*")["count"] == len(big)
    finally:
        app.reset_runtime()
        client.indices.delete(index="small-*")
