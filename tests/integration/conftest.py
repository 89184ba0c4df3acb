"""Integration fixtures: the real local OpenSearch node (scripts/opensearch.sh), never a mock.

Without a node the tests skip locally; under CI=true they fail, because CI must have started one.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from handler import app
from tests.integration.iam_recorder import install, recording
from tests.integration.mariadb import mariadb  # noqa: F401  (the session fixture: a real server_audit)

install()  # before any boto3 session exists: the IAM contract test sees every AWS call of the entries

OPENSEARCH_URL = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200").rstrip("/")


def _node_answers(url: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout=10s", timeout=15) as r:
            json.load(r)
        return None
    except Exception as e:  # any failure means: no usable node
        return f"{type(e).__name__}: {e}"


@pytest.fixture(scope="session")
def opensearch_url() -> str:
    problem = _node_answers(OPENSEARCH_URL)
    if problem:
        message = f"OpenSearch is not reachable at {OPENSEARCH_URL} ({problem}); run `make opensearch-up`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return OPENSEARCH_URL


@pytest.fixture(scope="session")
def client(opensearch_url: str) -> Any:
    from opensearchpy import OpenSearch

    return OpenSearch(hosts=[opensearch_url], timeout=30)


class FakeContext:
    """What Lambda passes as the context: the remaining time (counting down on `clock`, as Lambda's does on its
    own) and a request id."""

    def __init__(self, remaining_ms: int = 300_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._deadline = clock() + remaining_ms / 1000
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self.clock()) * 1000))


class Forwarder:
    """The Lambda entry configured as in production through the environment, against one test's index prefix."""

    def __init__(self, client: Any, prefix: str, dead_letter_dir: Path) -> None:
        self.client = client
        self.prefix = prefix
        self.dead_letter_dir = dead_letter_dir

    def invoke(self, event: Any, remaining_ms: int = 300_000) -> dict[str, Any]:
        with recording("forwarder"):
            return app.lambda_handler(event, FakeContext(remaining_ms))

    def lambda_entry(self, event: Any, context: FakeContext) -> dict[str, Any]:
        return app.lambda_handler(event, context)

    def refresh(self) -> None:
        self.client.indices.refresh(index=f"{self.prefix}-*", allow_no_indices=True)

    def search(self, query: dict[str, Any], size: int = 100) -> list[dict[str, Any]]:
        self.refresh()
        resp = self.client.search(index=f"{self.prefix}-*", body={"query": query, "size": size})
        return list(resp["hits"]["hits"])

    def count(self) -> int:
        self.refresh()
        return int(self.client.count(index=f"{self.prefix}-*")["count"])

    def indices(self) -> set[str]:
        return set(self.client.indices.get(index=f"{self.prefix}-*").keys())

    def dead_letters(self, kind: str) -> list[dict[str, Any]]:
        records = []
        for path in sorted(self.dead_letter_dir.glob(f"{kind}/*/*.ndjson")):
            records.extend(json.loads(line) for line in path.read_text().split("\n") if line)
        return records


@pytest.fixture
def forwarder(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forwarder]:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("OPENSEARCH_URL", OPENSEARCH_URL)
    monkeypatch.setenv("RDSAUDIT_INDEX_PREFIX", prefix)
    monkeypatch.setenv("RDSAUDIT_DEAD_LETTER", str(tmp_path / "dead-letter"))
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    app.reset_runtime()
    yield Forwarder(client, prefix, tmp_path / "dead-letter")
    app.reset_runtime()
    client.indices.delete(index=f"{prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    client.indices.delete_index_template(name=prefix, ignore=[404])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on loopback: boto3 runs its real HTTP code paths against it."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Standard AWS variables pointing every boto3 client at the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return moto_endpoint
