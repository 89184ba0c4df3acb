"""`rdsaudit setup` against the real node, and the saved searches' own queries against forwarded documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handler.cli import main
from handler.mappings import dashboards_ndjson, saved_objects
from handler.sources.cloudwatch import encode_subscription_event
from tests.events import AURORA_GROUP, AURORA_STREAM
from tests.integration.conftest import Forwarder, recording
from tests.integration.fake_dashboards import FakeDashboards

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
    "rdsaudit-search-session": set(LINES) - {"broken"},  # every event of a connection (filtered on the dashboard)
}


def test_every_saved_search_returns_exactly_the_expected_documents(forwarder: Forwarder) -> None:
    assert main(["setup", "--index-prefix", forwarder.prefix]) == 0
    event = encode_subscription_event(list(LINES.values()), log_group=AURORA_GROUP, log_stream=AURORA_STREAM)
    assert forwarder.invoke(event)["indexed"] == len(LINES)
    names = {_id(line): name for name, line in LINES.items()}
    searches = [  # the audit events' searches (the findings' one: test_findings_dashboards.py)
        o for o in saved_objects() if o["type"] == "search" and o["references"][0]["id"] == "rdsaudit-index-pattern"
    ]
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


@pytest.fixture
def dashboards() -> Iterator[FakeDashboards]:
    fake = FakeDashboards()
    yield fake
    fake.close()


def setup_with(prefix: str, url: str) -> int:
    return main(["setup", "--index-prefix", prefix, "--dashboards-url", url])


def test_dashboards_import_global_tenant_overwrite_basic_auth(
    forwarder: Forwarder, dashboards: FakeDashboards, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSEARCH_AUTH", "basic")
    monkeypatch.setenv("OPENSEARCH_USERNAME", "admin")
    monkeypatch.setenv("OPENSEARCH_PASSWORD", "not-printed-anywhere")
    dashboards.basic = ("admin", "not-printed-anywhere")  # Dashboards' security plugin asks for them
    # the local node has no security plugin and ignores the basic-auth header
    assert setup_with(forwarder.prefix, dashboards.url) == 0
    out = capsys.readouterr().out
    assert "not-printed-anywhere" not in out
    (req,) = dashboards.imports()
    assert req["path"] == "/api/saved_objects/_import?overwrite=true"
    headers = req["headers"]
    assert headers["osd-xsrf"] == "true" and headers["kbn-xsrf"] == "true" and headers["securitytenant"] == "global"
    assert headers["Authorization"].startswith("Basic ")
    assert f'"title":"{forwarder.prefix}-*,-{forwarder.prefix}-findings-*"'.encode() in req["body"]
    assert "Dashboards objects (29): created" in out
    assert f"default index pattern: created ({forwarder.prefix}-index-pattern)" in out
    dashboard = dashboards.store[("dashboard", f"{forwarder.prefix}-dashboard")]["attributes"]
    assert (dashboard["timeRestore"], dashboard["timeFrom"], dashboard["timeTo"]) == (True, "now-7d", "now")
    assert setup_with(forwarder.prefix, dashboards.url) == 0
    again = capsys.readouterr().out
    assert "Dashboards objects (29): unchanged" in again and "default index pattern: unchanged" in again
    assert len(dashboards.imports()) == 1


def test_setup_after_dashboards_rewrote_the_index_patterns_says_unchanged(
    forwarder: Forwarder, dashboards: FakeDashboards, capsys: Any
) -> None:
    """Dashboards saves an index pattern back on first load (fields fetched, fieldFormatMap re-serialized): the
    next setups must not import again."""
    assert setup_with(forwarder.prefix, dashboards.url) == 0
    prefix = forwarder.prefix
    for pattern in (f"{prefix}-index-pattern", "rdsactivity-index-pattern", f"{prefix}-findings-index-pattern"):
        before = dict(dashboards.store[("index-pattern", pattern)]["attributes"])
        dashboards.load_index_pattern(pattern)
        assert dashboards.store[("index-pattern", pattern)]["attributes"] != before  # the rewrite happened
    capsys.readouterr()
    for _ in range(2):
        assert setup_with(forwarder.prefix, dashboards.url) == 0
        assert "Dashboards objects (29): unchanged" in capsys.readouterr().out
    assert len(dashboards.imports()) == 1


def test_two_prefixes_in_one_tenant_keep_their_own_objects(
    forwarder: Forwarder, dashboards: FakeDashboards, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"{forwarder.prefix}x"
    monkeypatch.setenv("RDSAUDIT_ACTIVITY_INDEX_PREFIX", f"{forwarder.prefix}act")
    assert setup_with(forwarder.prefix, dashboards.url) == 0
    monkeypatch.setenv("RDSAUDIT_ACTIVITY_INDEX_PREFIX", f"{other}act")
    try:
        assert setup_with(other, dashboards.url) == 0
        assert len(dashboards.store) == 58
        titles = {o["attributes"]["title"] for o in dashboards.store.values() if o["type"] == "index-pattern"}
        audit = {f"{p}-*,-{p}-findings-*" for p in (forwarder.prefix, other)}
        findings = {f"{p}-findings-*,-{p}-findings-state" for p in (forwarder.prefix, other)}
        assert titles == audit | findings | {f"{forwarder.prefix}act-*", f"{other}act-*"}
        capsys.readouterr()
        monkeypatch.setenv("RDSAUDIT_ACTIVITY_INDEX_PREFIX", f"{forwarder.prefix}act")
        assert setup_with(forwarder.prefix, dashboards.url) == 0
        out = capsys.readouterr().out
        assert "Dashboards objects (29): unchanged" in out
        assert f"default index pattern: skipped (left as {forwarder.prefix}-index-pattern" not in out
    finally:
        for name in (other, f"{other}act", f"{forwarder.prefix}act"):
            forwarder.client.indices.delete_index_template(name=name, ignore=[404])


def test_kibana_7_10_import(forwarder: Forwarder, capsys: Any) -> None:
    kibana = FakeDashboards(flavor="kibana")
    try:
        assert setup_with(forwarder.prefix, kibana.url) == 0
        out = capsys.readouterr().out
        assert "Dashboards objects (29): created" in out and "default index pattern: created" in out
        assert kibana.settings == {"defaultIndex": f"{forwarder.prefix}-index-pattern"}
    finally:
        kibana.close()


def test_refused_import_is_one_clear_error(forwarder: Forwarder, dashboards: FakeDashboards, capsys: Any) -> None:
    dashboards.refuse = {"refreshInterval"}  # as a release whose dashboard mapping lacks it would answer
    assert setup_with(forwarder.prefix, dashboards.url) == 1  # the command ran and could not finish
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Dashboards import reported errors" in err[0]
    assert f"dashboard {forwarder.prefix}-dashboard: unknown" in err[0]


def test_the_stand_in_refuses_what_dashboards_refuses(dashboards: FakeDashboards) -> None:
    import requests

    ndjson = dashboards_ndjson("rdsaudit").encode()
    url = f"{dashboards.url}/api/saved_objects/_import?overwrite=true"
    no_xsrf = requests.post(url, files={"file": ("a.ndjson", ndjson)}, timeout=10)
    assert no_xsrf.status_code == 400 and "osd-xsrf" in no_xsrf.json()["message"]
    xsrf = {"osd-xsrf": "true"}
    assert requests.post(url, files={"file": ("a.json", ndjson)}, headers=xsrf, timeout=10).status_code == 400
    assert requests.post(url, files={"upload": ("a.ndjson", ndjson)}, headers=xsrf, timeout=10).status_code == 400
    dashboard_only = next(line for line in ndjson.splitlines() if b'"type":"dashboard"' in line)
    answer = requests.post(url, files={"file": ("a.ndjson", dashboard_only)}, headers=xsrf, timeout=10).json()
    assert answer["success"] is False and answer["errors"][0]["error"]["type"] == "missing_references"
    assert not dashboards.store


def test_custom_resource_entry_runs_setup(forwarder: Forwarder) -> None:
    from handler import app

    event = {"RequestType": "Create", "ResourceProperties": {"RetentionDays": "30"}}
    with recording("setup"):
        answer = app.setup_handler(event, None)
    assert answer["PhysicalResourceId"] == f"rdsaudit-setup-{forwarder.prefix}"
    assert f"index template {forwarder.prefix}: created" in answer["Data"]["Changes"]
    assert forwarder.client.indices.exists_index_template(name=forwarder.prefix)
    with recording("setup"):
        update = app.setup_handler({**event, "RequestType": "Update", "PhysicalResourceId": "x"}, None)
    assert f"index template {forwarder.prefix}: unchanged" in update["Data"]["Changes"]
    assert app.setup_handler({"RequestType": "Delete", "PhysicalResourceId": "x"}, None) == {"PhysicalResourceId": "x"}
    assert forwarder.client.indices.exists_index_template(name=forwarder.prefix)


def test_dashboards_with_the_wrong_password_is_one_line(
    forwarder: Forwarder, dashboards: FakeDashboards, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSEARCH_AUTH", "basic")
    monkeypatch.setenv("OPENSEARCH_USERNAME", "admin")
    monkeypatch.setenv("OPENSEARCH_PASSWORD", "not-the-password")
    dashboards.basic = ("admin", "the-password")
    assert setup_with(forwarder.prefix, dashboards.url) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "401" in err[0] and "not-the-password" not in err[0], err
    assert dashboards.store == {}


def test_the_fake_dashboards_refuses_what_dashboards_refuses(dashboards: FakeDashboards) -> None:
    """The stand-in's own strictness (its docstring cites the Dashboards source of each rule)."""
    import requests

    session = requests.Session()
    session.headers["osd-xsrf"] = "true"
    settings = f"{dashboards.url}/api/opensearch-dashboards/settings/defaultIndex"
    assert session.post(settings, json={"changes": {}}).status_code == 400  # no `value`
    assert session.post(settings, data=b"not json").status_code == 400
    assert session.post(settings, json={"value": "x"}).status_code == 200

    def imported(attributes: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps({"type": "dashboard", "id": "d", "attributes": {"title": "t", **attributes}})
        files = {"file": ("export.ndjson", line.encode(), "application/ndjson")}
        answer = session.post(f"{dashboards.url}/api/saved_objects/_import?overwrite=true", files=files)
        return dict(answer.json())

    assert imported({"timeRestore": True, "refreshInterval": {"pause": True, "value": 0}})["success"] is True
    for wrong in ({"timeRestore": "sometimes"}, {"hits": "many"}, {"title": {"a": 1}}, {"refreshInterval": 5}):
        answer = imported(wrong)
        assert answer["success"] is False and "mapper_parsing_exception" in answer["errors"][0]["error"]["message"]
    dashboards.basic = ("admin", "secret")
    assert session.get(settings.rsplit("/", 1)[0]).status_code == 401
    assert session.get(settings.rsplit("/", 1)[0], auth=("admin", "secret")).status_code == 200
