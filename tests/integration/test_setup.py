"""`rdsaudit setup` against the real node, and the saved searches' own queries against forwarded documents."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from handler.cli import main
from handler.mappings import saved_objects
from handler.sources.cloudwatch import encode_subscription_event
from tests.events import AURORA_GROUP, AURORA_STREAM
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration

T = "1700000000000001"
LINES = {
    "failed": f"{T},i1,mallory,10.9.9.9,5,0,FAILED_CONNECT,,,1045",
    "login": f"{T},i1,app,10.0.0.1,6,0,CONNECT,shop,,0",
    "create_table": f"{T},i1,admin,10.0.0.2,7,11,QUERY,shop,'CREATE TABLE t (id int)',0",
    "alter": f"{T},i1,admin,10.0.0.2,7,12,QUERY,shop,'alter table t add column x int',0",
    "drop": f"{T},i1,admin,10.0.0.2,7,13,QUERY,shop,'DROP TABLE old',0",
    "truncate": f"{T},i1,admin,10.0.0.2,7,14,QUERY,shop,'TRUNCATE TABLE t',0",
    "rename_table": f"{T},i1,admin,10.0.0.2,7,15,QUERY,shop,'RENAME TABLE a TO b',0",
    "table_event": f"{T},i1,admin,10.0.0.2,7,11,CREATE,shop,t,",
    "create_user": f"{T},i1,admin,10.0.0.2,7,16,QUERY,,'CREATE USER \\'r\\'@\\'%\\' IDENTIFIED BY \\'pw\\'',0",
    "grant": f"{T},i1,admin,10.0.0.2,7,17,QUERY,,'GRANT SELECT ON shop.* TO \\'r\\'@\\'%\\'',0",
    "revoke": f"{T},i1,admin,10.0.0.2,7,18,QUERY,,'revoke select on shop.* from r',0",
    "set_password": f"{T},i1,admin,10.0.0.2,7,19,QUERY,,'SET PASSWORD FOR \\'r\\'@\\'%\\' = \\'x\\'',0",
    "drop_user": f"{T},i1,admin,10.0.0.2,7,20,QUERY,,'DROP USER r',0",
    "create_role": f"{T},i1,admin,10.0.0.2,7,23,QUERY,,'CREATE ROLE \\'auditors\\'',0",
    "drop_role": f"{T},i1,admin,10.0.0.2,7,24,QUERY,,'drop role auditors',0",
    "default_role": f"{T},i1,admin,10.0.0.2,7,25,QUERY,,'SET DEFAULT ROLE auditors TO r',0",
    "error": f"{T},i1,app,10.0.0.1,6,21,QUERY,shop,'SELECT * FROM missing',1146",
    "select": f"{T},i1,app,10.0.0.1,6,22,QUERY,shop,'SELECT created, dropped FROM t WHERE note = \\'create\\'',0",
    "broken": "not, an audit line",
}
EXPECTED = {
    "rdsaudit-search-failed-logins": {"failed"},
    "rdsaudit-search-ddl": {"create_table", "alter", "drop", "truncate", "rename_table", "table_event"},
    "rdsaudit-search-privileges": {
        "create_user",
        "grant",
        "revoke",
        "set_password",
        "drop_user",
        "create_role",
        "drop_role",
        "default_role",
    },
    "rdsaudit-search-errors": {"error"},
    "rdsaudit-search-parse-failures": {"broken"},
}


def test_every_saved_search_returns_exactly_the_expected_documents(forwarder: Forwarder) -> None:
    assert main(["setup", "--index-prefix", forwarder.prefix]) == 0
    event = encode_subscription_event(list(LINES.values()), log_group=AURORA_GROUP, log_stream=AURORA_STREAM)
    assert forwarder.invoke(event)["indexed"] == len(LINES)
    names = {_id(line): name for name, line in LINES.items()}
    searches = [o for o in saved_objects() if o["type"] == "search" and o["id"].startswith("rdsaudit-")]
    assert {s["id"] for s in searches} == set(EXPECTED)
    for search in searches:
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["query"]["language"] == "lucene"
        hits = forwarder.search({"query_string": {"query": source["query"]["query"]}})
        assert {names[h["_id"]] for h in hits} == EXPECTED[search["id"]], search["id"]


def _id(line: str) -> str:
    from handler.transforms.document import document_id

    return document_id(line)


def test_setup_twice_changes_nothing_and_dry_run_sends_nothing(forwarder: Forwarder, capsys: Any) -> None:
    prefix = forwarder.prefix
    assert main(["setup", "--index-prefix", prefix, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"index template {prefix}: would create" in out and f"PUT /_index_template/{prefix}" in out
    assert not forwarder.client.indices.exists_index_template(name=prefix)

    assert main(["setup", "--index-prefix", prefix]) == 0
    first = capsys.readouterr().out
    assert f"index template {prefix}: created" in first
    assert "ISM policy" in first and "skipped (index management plugin not installed)" in first
    assert "security roles: skipped (security plugin not installed)" in first
    assert main(["setup", "--index-prefix", prefix]) == 0
    second = capsys.readouterr().out
    assert f"index template {prefix}: unchanged" in second
    assert "created" not in second and "updated" not in second

    # an outdated template (an older release's) is replaced
    template = forwarder.client.indices.get_index_template(name=prefix)["index_templates"][0]["index_template"]
    template["_meta"]["checksum"] = "older"
    forwarder.client.indices.put_index_template(name=prefix, body=template)
    assert main(["setup", "--index-prefix", prefix]) == 0
    assert f"index template {prefix}: updated" in capsys.readouterr().out


class Dashboards:
    """Stands in for OpenSearch Dashboards' saved-objects API, recording the requests (no indexing involved)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.store: dict[tuple[str, str], dict[str, Any]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path.startswith("/api/saved_objects/_bulk_get"):
                    wanted = json.loads(body)
                    found = [outer.store.get((w["type"], w["id"]), {**w, "error": {"statusCode": 404}}) for w in wanted]
                    answer = {"saved_objects": found}
                else:
                    ndjson = body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
                    objects = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
                    for o in objects:
                        outer.store[(o["type"], o["id"])] = o
                    answer = {"success": True, "successCount": len(objects)}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_dashboards_import_global_tenant_overwrite_basic_auth(
    forwarder: Forwarder, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dashboards = Dashboards()
    monkeypatch.setenv("OPENSEARCH_AUTH", "basic")
    monkeypatch.setenv("OPENSEARCH_USERNAME", "admin")
    monkeypatch.setenv("OPENSEARCH_PASSWORD", "not-printed-anywhere")
    # the local node has no security plugin and ignores the basic-auth header
    assert main(["setup", "--index-prefix", forwarder.prefix, "--dashboards-url", dashboards.url]) == 0
    out = capsys.readouterr().out
    assert "not-printed-anywhere" not in out
    imports = [r for r in dashboards.requests if r["path"].startswith("/api/saved_objects/_import")]
    assert len(imports) == 1
    req = imports[0]
    assert req["path"] == "/api/saved_objects/_import?overwrite=true"
    assert req["headers"]["osd-xsrf"] == "true" and req["headers"]["securitytenant"] == "global"
    assert req["headers"]["Authorization"].startswith("Basic ")
    assert req["headers"]["Content-Type"].startswith("multipart/form-data")
    assert f'"title":"{forwarder.prefix}-*"'.encode() in req["body"]
    assert "Dashboards objects (17): created" in out
    assert main(["setup", "--index-prefix", forwarder.prefix, "--dashboards-url", dashboards.url]) == 0
    assert "Dashboards objects (17): unchanged" in capsys.readouterr().out
    assert len([r for r in dashboards.requests if r["path"].startswith("/api/saved_objects/_import")]) == 1


def test_custom_resource_entry_runs_setup(forwarder: Forwarder) -> None:
    from handler import app

    event = {"RequestType": "Create", "ResourceProperties": {"RetentionDays": "30"}}
    answer = app.setup_handler(event, None)
    assert answer["PhysicalResourceId"] == f"rdsaudit-setup-{forwarder.prefix}"
    assert f"index template {forwarder.prefix}: created" in answer["Data"]["Changes"]
    assert forwarder.client.indices.exists_index_template(name=forwarder.prefix)
    update = app.setup_handler({**event, "RequestType": "Update", "PhysicalResourceId": "x"}, None)
    assert f"index template {forwarder.prefix}: unchanged" in update["Data"]["Changes"]
    assert app.setup_handler({"RequestType": "Delete", "PhysicalResourceId": "x"}, None) == {"PhysicalResourceId": "x"}
    assert forwarder.client.indices.exists_index_template(name=forwarder.prefix)
