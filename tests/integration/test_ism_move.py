"""`rdsaudit setup` on an upgraded domain: the findings indices and the detect job's state index that an older
release's audit policy (`<prefix>-*`) took are moved off it, once; a fresh install has nothing to move.

The indices, their settings and write blocks are the real node's; only the index-management plugin is a stand-in
(tests/integration/ism_standin.py says what it models and where that is documented), served by a proxy that
passes every other request to the node. Policies there answer as test_opendistro.py's fake describes
(`_id`, `_seq_no`, `_primary_term`, `policy`; updates carry `if_seq_no`).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from handler.config import Settings
from handler.errors import RdsAuditError
from handler.setup import SetupOptions, run_setup
from tests.integration.ism_standin import IsmStandIn

pytestmark = pytest.mark.integration


class IsmProxy:
    def __init__(self, node: str) -> None:
        self.node = node
        self.policies: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []
        self.ism = IsmStandIn("_plugins", self._indices, self._states, opendistro=False)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                raw = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path))
                status, data = outer.handle(self.command, self.path, raw)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _states(self) -> dict[str, list[str]]:
        return {name: [st["name"] for st in p["policy"]["states"]] for name, p in self.policies.items()}

    def _indices(self) -> list[str]:
        return [row["index"] for row in requests.get(f"{self.node}/_cat/indices?format=json", timeout=30).json()]

    def handle(self, method: str, path: str, raw: bytes) -> tuple[int, bytes]:
        bare, _, query = path.partition("?")
        body = json.loads(raw) if raw else None
        answer: tuple[int, Any] | None = None
        if bare == "/_cat/plugins":
            rows = requests.get(f"{self.node}{path}", timeout=30).json()
            answer = 200, [*rows, {"name": "node", "component": "opensearch-index-management", "version": "2.19.0"}]
        elif bare.startswith("/_plugins/_ism/policies/"):
            answer = self._policy(method, bare.rsplit("/", 1)[1], query, body)
        else:
            answer = self.ism.handle(method, bare, body)
        if answer is not None:
            return answer[0], json.dumps(answer[1]).encode()
        sent = requests.request(
            method, f"{self.node}{path}", data=raw, headers={"Content-Type": "application/json"}, timeout=30
        )
        return sent.status_code, sent.content

    def _policy(self, method: str, name: str, query: str, body: Any) -> tuple[int, Any]:
        current = self.policies.get(name)
        if method == "GET":
            return (200, current) if current else (404, {"error": {"type": "status_exception"}, "status": 404})
        if current and f"if_seq_no={current['_seq_no']}" not in query:
            return 409, {"error": {"type": "version_conflict_engine_exception"}, "status": 409}
        seq = current["_seq_no"] + 1 if current else 0
        stored = {"_id": name, "_version": seq + 1, "_seq_no": seq, "_primary_term": 1}
        stored["policy"] = {**body["policy"], "policy_id": name, "last_updated_time": 1700000000000}
        self.policies[name] = stored
        return (200 if current else 201), stored

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(opensearch_url: str) -> Iterator[IsmProxy]:
    fake = IsmProxy(opensearch_url)
    yield fake
    fake.close()


@pytest.fixture
def prefix(opensearch_url: str) -> Iterator[str]:
    name = f"ismmove{uuid.uuid4().hex[:8]}"
    yield name
    requests.delete(f"{opensearch_url}/{name}-*", timeout=30)


def _create(node: str, index: str, blocked: bool = False) -> None:
    settings = {"index.number_of_replicas": 0, **({"index.blocks.write": True} if blocked else {})}
    requests.put(f"{node}/{index}", json={"settings": settings}, timeout=30).raise_for_status()


def _blocked(node: str, index: str) -> bool:
    found = requests.get(f"{node}/{index}/_settings/index.blocks.write", timeout=30).json()
    return str(found.get(index, {}).get("settings", {}).get("index", {}).get("blocks", {}).get("write")) == "true"


def _setup(proxy: IsmProxy, prefix: str, dry_run: bool = False) -> list[str]:
    settings = Settings.from_env({"OPENSEARCH_URL": proxy.url, "RDSAUDIT_INDEX_PREFIX": prefix})
    return [str(c) for c in run_setup(settings, SetupOptions(dry_run=dry_run))[0]]


def test_an_upgrade_moves_what_the_old_audit_policy_took(proxy: IsmProxy, prefix: str, opensearch_url: str) -> None:
    state, old_day, new_day = (
        f"{prefix}-findings-state",
        f"{prefix}-findings-2026.01.01",
        f"{prefix}-findings-2026.03.01",
    )
    audit_day = f"{prefix}-2026.01.01"
    _create(opensearch_url, state, blocked=True)  # the old policy's read_only ran on it
    _create(opensearch_url, old_day, blocked=True)
    _create(opensearch_url, new_day)
    _create(opensearch_url, audit_day, blocked=True)
    for index in (state, old_day, audit_day):
        proxy.ism.attach(index, f"{prefix}-retention", state="closed")
    proxy.ism.attach(new_day, f"{prefix}-findings-retention")
    dry = _setup(proxy, prefix, dry_run=True)
    assert any(c.startswith(f"ISM of {state}: would move") for c in dry), dry
    assert proxy.ism.managed[state]["policy_id"] == f"{prefix}-retention" and _blocked(opensearch_url, state)
    changes = _setup(proxy, prefix)
    assert f"ISM of {state}: moved (policy {prefix}-retention removed: no retention deletes the detect job's " in (
        " ".join(changes)
    )
    assert any(c.startswith(f"ISM of {state}: moved") and "write block lifted" in c for c in changes), changes
    assert any(
        c.startswith(f"ISM of {prefix}-findings-2*: moved (1 from {prefix}-retention to {prefix}-findings-retention")
        and f"1 read-only already ({old_day})" in c
        for c in changes
    ), changes
    assert state not in proxy.ism.managed and not _blocked(opensearch_url, state)
    # the state index takes writes again (the notifier's lease, the job's state)
    put = requests.put(f"{opensearch_url}/{state}/_doc/notify", json={"owner": "x"}, timeout=30)
    assert put.status_code == 201, put.text
    # queued, into the findings policy's first state: the old one's `closed` is not in it
    assert proxy.ism.managed[old_day]["pending"] == {"policy_id": f"{prefix}-findings-retention", "state": "hot"}
    proxy.ism.run_jobs()  # ISM's next run of each index
    assert proxy.ism.managed[old_day] == {"policy_id": f"{prefix}-findings-retention", "state": "hot", "pending": None}
    assert proxy.ism.managed[new_day] == {"policy_id": f"{prefix}-findings-retention", "state": "hot", "pending": None}
    assert proxy.ism.managed[audit_day]["policy_id"] == f"{prefix}-retention"  # audit days stay where they belong
    assert _blocked(opensearch_url, old_day)  # evidence: its block is reported, not lifted
    posts = [p for m, p in proxy.requests if m == "POST"]
    assert posts == [f"/_plugins/_ism/remove/{state}", f"/_plugins/_ism/change_policy/{old_day}"], posts
    again = _setup(proxy, prefix)
    assert f"ISM of {state}: unchanged (no policy)" in again
    assert f"ISM of {prefix}-findings-2*: unchanged (none under {prefix}-retention)" in again
    assert len([m for m, _ in proxy.requests if m == "POST"]) == 2


def test_a_fresh_install_has_nothing_to_move(proxy: IsmProxy, prefix: str, opensearch_url: str) -> None:
    changes = _setup(proxy, prefix)
    assert f"ISM of {prefix}-findings-2*: unchanged (none under {prefix}-retention)" in changes
    assert not [c for c in changes if c.startswith(f"ISM of {prefix}-findings-state")]  # no state index yet
    _create(opensearch_url, f"{prefix}-findings-state")  # created by the detect job, under no policy
    assert f"ISM of {prefix}-findings-state: unchanged (no policy)" in _setup(proxy, prefix)
    assert not [m for m, _ in proxy.requests if m == "POST"]


def test_the_stand_in_refuses_what_the_plugin_refuses(proxy: IsmProxy, prefix: str, opensearch_url: str) -> None:
    _create(opensearch_url, f"{prefix}-findings-state")
    url = f"{proxy.url}/_plugins/_ism"
    missing = requests.get(f"{url}/explain/{prefix}-nothing", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "index_not_found_exception"
    assert requests.get(f"{url}/explain/{prefix}-none-*", timeout=30).json() == {"total_managed_indices": 0}
    explained = requests.get(f"{url}/explain/{prefix}-findings-state", timeout=30).json()
    assert explained[f"{prefix}-findings-state"]["index.plugins.index_state_management.policy_id"] is None
    removed = requests.post(f"{url}/remove/{prefix}-findings-state", timeout=30).json()
    assert removed["failures"] is True and removed["updated_indices"] == 0
    unknown = requests.post(f"{url}/change_policy/{prefix}-findings-state", json={"policy_id": "nope"}, timeout=30)
    assert unknown.status_code == 404


def test_a_refused_move_is_one_line_and_a_rerun_finishes(proxy: IsmProxy, prefix: str, opensearch_url: str) -> None:
    day = f"{prefix}-findings-2026.01.01"
    _create(opensearch_url, day)
    proxy.ism.attach(day, f"{prefix}-retention", transitioning=True)
    with pytest.raises(RdsAuditError) as refused:
        _setup(proxy, prefix)
    assert str(refused.value) == (
        f"ISM refused /_plugins/_ism/change_policy/{day}: {day}: Cannot change policy while transitioning to new "
        "state; rerun rdsaudit setup once ISM has finished with it"
    )
    assert refused.value.exit_code == 1
    del proxy.ism.managed[day]["transitioning"]  # the transition ended
    assert any(c.startswith(f"ISM of {prefix}-findings-2*: moved (1 from") for c in _setup(proxy, prefix))
    # a rerun before ISM's next run of the index sends the same change again, which replaces the queued one
    assert any(c.startswith(f"ISM of {prefix}-findings-2*: moved (1 from") for c in _setup(proxy, prefix))
    proxy.ism.run_jobs()
    assert "failed" not in proxy.ism.managed[day] and proxy.ism.managed[day]["state"] == "hot"
    assert f"ISM of {prefix}-findings-2*: unchanged (none under {prefix}-retention)" in _setup(proxy, prefix)
