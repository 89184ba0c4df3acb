"""The report's links to one session's events: the saved search they open exists under the ids `rdsaudit setup`
imports (which follow the index prefix), sorts oldest first, and is a panel of the audit dashboard."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest

from handler.mappings import saved_objects
from handler.sessions.links import SAVED_SEARCH, dashboards_path, timeline_command
from handler.sessions.model import SessionSummary


def summary() -> SessionSummary:
    return SessionSummary(
        key="db-1/42/2026-07-01T10:00:00Z", server="db-1", connid=42, cluster=None, instance="db-1", owner=None,
        user="app", users=["app"], changed_user_to=[], client="10.0.0.1", clients=["10.0.0.1"], databases=[],
        start="2026-07-01T10:00:00Z", end="2026-07-01T10:05:00.5Z", duration_seconds=300.5, start_seen="connect",
        end_seen="disconnect", closed=True, events=3, operations={}, failed_statements=0, failed_codes={},
        account_changes=[], schema_changes=[], tables=[], login_failed=False, privileged=False, detections={},
    )  # fmt: skip


@pytest.mark.parametrize("prefix", ["rdsaudit", "audit"])
def test_the_link_opens_an_imported_saved_search(prefix: str) -> None:
    path = dashboards_path(summary(), prefix)
    wanted = path.removeprefix("app/discover#/view/").split("?", 1)[0]
    objects = {(o["type"], o["id"]): o for o in saved_objects(prefix)}
    search = objects[("search", wanted)]
    assert wanted == f"{prefix}-search-session"
    assert search["attributes"]["sort"] == [["@timestamp", "asc"]]
    state = unquote(path.split("?", 1)[1])
    assert "time:(from:'2026-07-01T10:00:00Z',to:'2026-07-01T10:05:00.501000Z')" in state
    assert "query:'server:\"db-1\" and connid:42'" in state
    dashboard = objects[("dashboard", f"{prefix}-dashboard")]  # the audit one (the findings have their own)
    panels = {r["id"] for r in dashboard["references"] if r["type"] == "search"}
    assert wanted in panels


def test_the_saved_search_finds_every_connection_event_only() -> None:
    (search,) = [o for o in saved_objects() if o["id"] == SAVED_SEARCH]
    query = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]
    assert query == {"query": "connid:*", "language": "lucene"}  # every parsed event: parse failures have no connid
    assert {"server", "connid", "operation", "sql"} <= set(search["attributes"]["columns"])


def test_timeline_command_is_quoted() -> None:
    s = summary()
    assert timeline_command(s) == "rdsaudit session db-1 42 --at 2026-07-01T10:00:00Z"
