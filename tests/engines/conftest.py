"""The engine under test is the one `python -m tests.engines.run` started: its URL and label come from the
environment (RDSAUDIT_ENGINE_URL, RDSAUDIT_ENGINE). Without them (a plain `make test`), the engine tests are not
collected: the runner is what starts engines.

Tests marked `supported` run against engines rdsaudit writes to; tests marked `refused` against those it must
refuse (matrix.py says which)."""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handler import app
from tests.engines.matrix import ENGINES

URL = os.environ.get("RDSAUDIT_ENGINE_URL", "").rstrip("/")
LABEL = os.environ.get("RDSAUDIT_ENGINE", "")
SPEC = next((spec for spec in ENGINES if spec.label == LABEL), None)

collect_ignore = [] if URL else ["test_engine.py", "test_engine_detect.py"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "supported: runs against engines rdsaudit writes to")
    config.addinivalue_line("markers", "refused: runs against engines rdsaudit must refuse")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not URL:
        return
    if SPEC is None:
        raise pytest.UsageError(f"RDSAUDIT_ENGINE={LABEL!r} is not in tests/engines/matrix.py")
    unwanted = "supported" if SPEC.refused else "refused"
    keep = [item for item in items if item.get_closest_marker(unwanted) is None]
    deselected = [item for item in items if item.get_closest_marker(unwanted) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


@pytest.fixture(scope="session")
def engine_url() -> str:
    # The runner waited for the node; a node that stopped answering since is a failure, never a skip.
    with urllib.request.urlopen(f"{URL}/_cluster/health?wait_for_status=yellow&timeout=30s", timeout=40) as r:
        json.load(r)
    return URL


@pytest.fixture(scope="session")
def client(engine_url: str) -> Any:
    from opensearchpy import OpenSearch

    return OpenSearch(hosts=[engine_url], timeout=30)


class Target:
    """One test's index prefix on the engine, configured for the Lambda entries through the environment."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def refresh(self) -> None:
        self.client.indices.refresh(index=f"{self.prefix}-*", allow_no_indices=True)

    def search(self, query: dict[str, Any], size: int = 100) -> list[dict[str, Any]]:
        self.refresh()
        resp = self.client.search(index=f"{self.prefix}-*", body={"query": query, "size": size})
        return list(resp["hits"]["hits"])

    def count(self) -> int:
        self.refresh()
        return int(self.client.count(index=f"{self.prefix}-*")["count"])


@pytest.fixture
def target(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    prefix = f"e{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("OPENSEARCH_URL", URL)
    monkeypatch.setenv("RDSAUDIT_INDEX_PREFIX", prefix)
    monkeypatch.setenv("RDSAUDIT_DEAD_LETTER", str(tmp_path / "dead-letter"))
    for name in ("OPENSEARCH_AUTH", "OPENSEARCH_SERVICE", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # backfill's default checkpoint and dead letters land here
    app.reset_runtime()
    yield Target(client, prefix)
    app.reset_runtime()
    client.indices.delete(index=f"{prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    if SPEC is not None and not SPEC.refused:
        # Through the template API the engine has: composable, or legacy before Elasticsearch 7.8.
        from handler.setup import ClusterSetup

        api = "_template" if ClusterSetup(client, prefix).engine().legacy_templates else "_index_template"
        for name in (prefix, f"{prefix}-findings"):  # the audit template, and the detect job's
            client.transport.perform_request("DELETE", f"/{api}/{name}", params={"ignore": 404})
