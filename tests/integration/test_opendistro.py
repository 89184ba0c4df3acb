"""Setup on Elasticsearch 7.x domains whose security and index management plugins are Open Distro's: found in
`_cat/plugins` under their Open Distro names and used under `_opendistro/...`.

A recorded-shape fake, because no real Open Distro plugin is obtainable here: Open Distro published its plugin
zips outside Maven Central (the OpenSearch security plugin, which is on Maven Central, is tested for real in
test_security.py). What the fake enforces, and where it is documented:
- plugin component names: `opendistro_security`; `opendistro_index_management` (index-management build.gradle,
  up to 1.12) or `opendistro-index-management` (1.13, as `_cat/plugins` lists it in the OpenSearch docs' sample);
- ISM: `PUT/GET _opendistro/_ism/policies/<id>` (IndexManagementPlugin POLICY_BASE_URI), answers with `_id`,
  `_version`, `_seq_no`, `_primary_term` and `policy`; an update must carry `if_seq_no`/`if_primary_term`;
  `ism_template` exists only from Open Distro 1.13 (Elasticsearch 7.10);
- security: `PUT/GET _opendistro/_security/api/roles/<role>` and `.../rolesmapping/<role>` (Open Distro docs,
  security-access-control/api.md); a body key outside the validator's list (roles: cluster_permissions,
  index_permissions, tenant_permissions, description; mappings: backend_roles, and_backend_roles, hosts, users,
  description) is refused with 400 (RolesValidator, RolesMappingValidator);
- any `_plugins/...` path is unknown to Elasticsearch: 400 "no handler found for uri";
- explain, remove and change_policy under `_opendistro/_ism/`: tests/integration/ism_standin.py (Open Distro's
  explain answer: the `index.opendistro...policy_id` key only); index settings as the node answers
  `GET <index>/_settings/index.blocks.write` (only indices with the setting) and `PUT <index>/_settings`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from handler.config import Settings
from handler.setup import SetupOptions, run_setup
from tests.integration.ism_standin import IsmStandIn, not_found

pytestmark = pytest.mark.integration
ROLE_KEYS = {"cluster_permissions", "index_permissions", "tenant_permissions", "description"}
MAPPING_KEYS = {"backend_roles", "and_backend_roles", "hosts", "users", "description"}


def version_tuple(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


class OpenDistroDomain:
    def __init__(self, version: str, ism_plugin: str) -> None:
        self.version = version
        self.before_7_10 = version_tuple(version) < (7, 10)  # numbers, not strings: "7.9.1" > "7.10" as text
        self.plugins = ["opendistro_security", ism_plugin, "opendistro-job-scheduler"]
        self.store: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []
        self.indices: dict[str, dict[str, Any]] = {}  # name -> its index settings
        self.ism = IsmStandIn("_opendistro", lambda: list(self.indices), self._policy_ids, opendistro=True)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                outer.requests.append((self.command, self.path))
                status, answer = outer.handle(self.command, self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        bare, _, query = path.partition("?")
        if bare == "/":
            return 200, {"version": {"number": self.version, "build_flavor": "oss"}, "tagline": "You Know, for Search"}
        if bare == "/_cat/plugins":
            return 200, [{"name": "node-1", "component": c, "version": f"{self.version}.0"} for c in self.plugins]
        if bare.startswith("/_index_template/"):
            name = bare.rsplit("/", 1)[1]
            if method == "PUT":
                self.store[bare] = body
                return 200, {"acknowledged": True}
            if bare in self.store:
                return 200, {"index_templates": [{"name": name, "index_template": self.store[bare]}]}
            return 404, {"error": {"type": "resource_not_found_exception"}, "status": 404}
        if bare.startswith("/_opendistro/_ism/policies/"):
            return self._ism(method, bare, query, body)
        managed = self.ism.handle(method, bare, body)
        if managed is not None:
            return managed
        found = re.fullmatch(r"/([^/_][^/]*)/_settings(/index\.blocks\.write)?", bare)
        if found:
            return self._settings(method, found.group(1), body)
        found = re.fullmatch(r"/_opendistro/_security/api/(roles|rolesmapping)/([^/]+)", bare)
        if found:
            kind, name = found.groups()
            if method == "GET":
                if bare in self.store:
                    return 200, {name: self.store[bare]}
                return 404, {"status": "NOT_FOUND", "message": f"Resource '{name}' not found."}
            unknown = set(body) - (ROLE_KEYS if kind == "roles" else MAPPING_KEYS)
            if unknown:
                return 400, {"status": "error", "reason": "Invalid configuration", "invalid_keys": sorted(unknown)}
            existed = bare in self.store
            self.store[bare] = body
            return (200, {"status": "OK"}) if existed else (201, {"status": "CREATED", "message": f"'{name}' created."})
        return 400, {"error": f"no handler found for uri [{path}] and method [{method}]", "status": 400}

    def _ism(self, method: str, bare: str, query: str, body: Any) -> tuple[int, Any]:
        current = self.store.get(bare)
        if method == "GET":
            return (200, current) if current else (404, {"error": {"type": "status_exception"}, "status": 404})
        if "ism_template" in body["policy"] and self.before_7_10:
            return 400, {"error": {"type": "x_content_parse_exception", "reason": "unknown field [ism_template]"}}
        if current and f"if_seq_no={current['_seq_no']}" not in query:
            return 409, {"error": {"type": "version_conflict_engine_exception"}, "status": 409}
        seq = current["_seq_no"] + 1 if current else 0
        stored = {"_id": bare.rsplit("/", 1)[1], "_version": seq + 1, "_seq_no": seq, "_primary_term": 1}
        stored["policy"] = {**body["policy"], "policy_id": stored["_id"], "last_updated_time": 1700000000000}
        self.store[bare] = stored
        return (200 if current else 201), stored

    def _policy_ids(self) -> dict[str, list[str]]:
        base = "/_opendistro/_ism/policies/"
        return {
            p.removeprefix(base): [st["name"] for st in body["policy"]["states"]]
            for p, body in self.store.items()
            if p.startswith(base)
        }

    def _settings(self, method: str, name: str, body: Any) -> tuple[int, Any]:
        if method == "PUT":
            if name not in self.indices:
                return not_found(name)
            self.indices[name].update({k.removeprefix("index."): v for k, v in body.items()})
            return 200, {"acknowledged": True}
        names = [n for n in self.indices if re.fullmatch(name.replace("*", ".*"), n)]
        if "*" not in name and not names:
            return not_found(name)
        blocked = {n: self.indices[n]["blocks.write"] for n in names if "blocks.write" in self.indices[n]}
        return 200, {n: {"settings": {"index": {"blocks": {"write": str(v).lower()}}}} for n, v in blocked.items()}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=[("7.10.2", "opendistro-index-management"), ("7.9.1", "opendistro_index_management")])
def domain(request: pytest.FixtureRequest) -> Iterator[OpenDistroDomain]:
    fake = OpenDistroDomain(*request.param)
    yield fake
    fake.close()


def test_setup_uses_the_open_distro_paths(domain: OpenDistroDomain) -> None:
    settings = Settings.from_env({"OPENSEARCH_URL": domain.url, "RDSAUDIT_INDEX_PREFIX": "audit"})
    options = SetupOptions(retention_days=30, role_arns=["arn:aws:iam::123456789012:role/forwarder"])
    changes = [str(c) for c in run_setup(settings, options)[0]]
    assert "index template audit: created (audit-* with dynamic: false)" in changes
    ism = next(c for c in changes if c.startswith("ISM policy audit-retention"))
    assert ism.startswith("ISM policy audit-retention: created (delete after 30 days")
    assert ("no ism_template before Elasticsearch 7.10" in ism) == domain.before_7_10
    findings = next(c for c in changes if c.startswith("ISM policy audit-findings-retention"))
    assert findings.startswith("ISM policy audit-findings-retention: created (delete after 400 days")
    assert ("no ism_template before Elasticsearch 7.10" in findings) == domain.before_7_10
    stored = {
        path.rsplit("/", 1)[1]: body["policy"].get("ism_template")
        for path, body in domain.store.items()
        if path.startswith("/_opendistro/_ism/policies/")
    }
    if domain.before_7_10:
        assert stored == {"audit-retention": None, "audit-findings-retention": None}
    else:  # the daily audit indices and the daily findings only: never the detect job's state index
        assert stored == {
            "audit-retention": [{"index_patterns": ["audit-2*"], "priority": 100}],
            "audit-findings-retention": [{"index_patterns": ["audit-findings-2*"], "priority": 200}],
        }
    assert "role rdsaudit_writer: created" in changes and "role rdsaudit_reader: created" in changes
    assert any(c.startswith("role mapping rdsaudit_writer: created") for c in changes)
    assert not [p for _, p in domain.requests if p.startswith("/_plugins")]
    again = [str(c) for c in run_setup(settings, options)[0]]
    assert not [c for c in again if "created" in c or "updated" in c], again
    # a changed retention updates the policy in place, with the sequence number the plugin asks for
    longer = [str(c) for c in run_setup(settings, SetupOptions(retention_days=60))[0]]
    assert "ISM policy audit-retention: updated" in " ".join(longer)
    assert "ISM policy audit-findings-retention: unchanged" in longer
    if not domain.before_7_10:  # an audit policy of an older release, whose `audit-*` took the findings too
        domain.store["/_opendistro/_ism/policies/audit-retention"]["policy"]["ism_template"][0]["index_patterns"] = [
            "audit-*"
        ]
        fixed = [str(c) for c in run_setup(settings, SetupOptions(retention_days=60))[0]]
        assert any(
            c.startswith("ISM policy audit-retention: updated")
            and c.endswith("now for new audit-2* only: indices it manages already stay under it)")
            for c in fixed
        ), fixed
    kept = [str(c) for c in run_setup(settings, SetupOptions(retention_days=60, findings_retention_days=730))[0]]
    assert any(c.startswith("ISM policy audit-findings-retention: updated (delete after 730 days") for c in kept)


def test_setup_moves_indices_under_the_open_distro_paths() -> None:
    """An Elasticsearch 7.10 domain set up by an older release: the state index and a findings day under the audit
    policy, the state read-only already."""
    domain = OpenDistroDomain("7.10.2", "opendistro-index-management")
    try:
        settings = Settings.from_env({"OPENSEARCH_URL": domain.url, "RDSAUDIT_INDEX_PREFIX": "audit"})
        domain.indices = {"audit-findings-state": {"blocks.write": True}, "audit-findings-2026.01.01": {}}
        for index in domain.indices:
            domain.ism.attach(index, "audit-retention", state="closed")
        changes = [str(c) for c in run_setup(settings, SetupOptions())[0]]
        assert any(c.startswith("ISM of audit-findings-state: moved") and "write block lifted" in c for c in changes)
        assert "ISM of audit-findings-2*: moved (1 from audit-retention to audit-findings-retention)" in changes
        assert domain.indices["audit-findings-state"] == {"blocks.write": False}
        assert "audit-findings-state" not in domain.ism.managed
        domain.ism.run_jobs()
        assert domain.ism.managed["audit-findings-2026.01.01"]["policy_id"] == "audit-findings-retention"
        assert "failed" not in domain.ism.managed["audit-findings-2026.01.01"]
        posts = [p for m, p in domain.requests if m == "POST"]
        assert posts == [
            "/_opendistro/_ism/remove/audit-findings-state",
            "/_opendistro/_ism/change_policy/audit-findings-2026.01.01",
        ]
        assert ("GET", "/_opendistro/_ism/explain/audit-findings-*") in domain.requests
        again = [str(c) for c in run_setup(settings, SetupOptions())[0]]
        assert "ISM of audit-findings-state: unchanged (no policy)" in again
        assert "ISM of audit-findings-2*: unchanged (none under audit-retention)" in again
        assert not [p for _, p in domain.requests if p.startswith("/_plugins")]
    finally:
        domain.close()
