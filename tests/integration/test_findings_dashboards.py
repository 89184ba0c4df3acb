"""The findings' Dashboards objects on the real node: `rdsaudit setup` imports them (into the strict stand-in of
fake_dashboards.py), the scheduled detect job writes findings and its state document, and the imported index
pattern, saved search and every visualization's aggregations, sent as queries and aggregations to the node, return
exactly those findings and never the state document."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from handler.cli import main
from handler.config import Settings
from handler.detect import job
from handler.detect.store import STATE_ID
from handler.read.patterns import findings_pattern, state_index
from handler.runtime import build_runtime
from handler.sources.cloudwatch import encode_subscription_event
from tests.events.detections import D, Workload
from tests.integration.conftest import Forwarder
from tests.integration.fake_dashboards import FakeDashboards

pytestmark = pytest.mark.integration
START = D + timedelta(hours=10)
CLIENTS = ("203.0.113.9", "203.0.113.77")


@pytest.fixture
def dashboards() -> Iterator[FakeDashboards]:
    fake = FakeDashboards()
    yield fake
    fake.close()


def _findings(forwarder: Forwarder) -> list[dict[str, Any]]:
    """Two brute forces (two users, two clients), indexed through the forwarder, found by a scheduled run."""
    w = Workload()
    w.failures(START, "app", CLIENTS[0], 12, 10)
    w.failures(START + timedelta(minutes=20), "ops", CLIENTS[1], 11, 10)
    lines = [line for _, line in sorted(w.lines["db-a"])]
    event = encode_subscription_event(
        lines, log_group="/aws/rds/cluster/shop/audit", log_stream="db-a.audit.log.0.2026-11-10-00-00.0.2"
    )
    assert forwarder.invoke(event)["indexed"] == len(lines)
    forwarder.refresh()
    result = job.run(build_runtime(Settings.from_env()), now=START + timedelta(minutes=40))
    assert result.scheduled  # so the job wrote its state document beside the findings
    forwarder.refresh()
    return result.findings


def _aggregation(agg: dict[str, Any]) -> dict[str, Any] | None:
    """A visualization's aggregation as Dashboards sends it (its data plugin's agg types), or None for `count`."""
    params = agg["params"]
    if agg["type"] == "terms":
        return {"terms": {"field": params["field"], "size": params["size"]}}
    if agg["type"] == "date_histogram":
        return {"date_histogram": {"field": params["field"], "fixed_interval": "1h", "min_doc_count": 1}}
    if agg["type"] == "sum":
        return {"sum": {"field": params["field"]}}
    assert agg["type"] == "count", agg
    return None


def test_the_findings_objects_show_exactly_the_findings(forwarder: Forwarder, dashboards: FakeDashboards) -> None:
    prefix, client = forwarder.prefix, forwarder.client
    assert main(["setup", "--index-prefix", prefix, "--dashboards-url", dashboards.url]) == 0
    findings = _findings(forwarder)
    assert {f["client"] for f in findings if f["rule"] == "brute-force"} == set(CLIENTS)
    assert client.exists(index=state_index(prefix), id=STATE_ID)

    imported = dashboards.store
    pattern = imported[("index-pattern", f"{prefix}-findings-index-pattern")]["attributes"]["title"]
    assert pattern == f"{prefix}-findings-*,-{prefix}-findings-state"
    # the state document is in the findings' family; the index pattern leaves it out
    assert client.count(index=findings_pattern(prefix))["count"] == len(findings) + 1

    search = imported[("search", f"{prefix}-findings-search")]["attributes"]
    source = json.loads(search["kibanaSavedObjectMeta"]["searchSourceJSON"])
    query = {"query_string": {"query": source["query"]["query"]}} if source["query"]["query"] else {"match_all": {}}
    hits = client.search(index=pattern, body={"query": query, "size": 100})["hits"]["hits"]
    assert {h["_id"] for h in hits} == {f["finding_id"] for f in findings}

    visualizations = [
        o["attributes"]
        for (kind, _), o in imported.items()
        if kind == "visualization" and o["references"][0]["id"] == f"{prefix}-findings-index-pattern"
    ]
    assert len(visualizations) == 5
    for vis in visualizations:
        for agg in json.loads(vis["visState"])["aggs"]:
            body = _aggregation(agg)
            if body is None:
                continue
            answer = client.search(index=pattern, body={"size": 0, "aggs": {"a": body}})["aggregations"]["a"]
            field = agg["params"]["field"]
            if agg["type"] == "terms":
                got = {b["key"]: b["doc_count"] for b in answer["buckets"]}
                assert got == Counter(f[field] for f in findings if f.get(field) is not None), (vis["title"], field)
            elif agg["type"] == "sum":
                assert answer["value"] == sum(f[field] for f in findings), vis["title"]
            else:
                assert sum(b["doc_count"] for b in answer["buckets"]) == len(findings), vis["title"]

    dashboard = imported[("dashboard", f"{prefix}-findings-dashboard")]
    panels = {r["id"] for r in dashboard["references"]}
    assert f"{prefix}-findings-search" in panels and len(panels) == 6
