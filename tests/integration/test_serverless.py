"""OpenSearch Serverless (`OPENSEARCH_SERVICE=aoss`) through a strict proxy in front of the real node
(tests/integration/aoss_proxy.py says which documented behaviour each check models), for search and time series
collections: setup calls only what aoss has and signs for aoss; time series collections get documents without
ids (our id kept as `event_hash`) and the `date` timestamp template. The lifecycle policy is checked against
botocore's own model of the opensearchserverless API with its Stubber: moto does not implement lifecycle
policies, and no Serverless endpoint is reachable from here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from handler import app
from handler.cli import main
from handler.config import Settings
from handler.model import Context, RawEvent
from handler.read.patterns import audit_pattern
from handler.read.period import iso
from handler.setup.engine import for_settings
from handler.sinks.opensearch import build_client, bulk_sender
from handler.transforms.batch import BatchTransformer, TransformOptions
from tests.events import detections as w
from tests.integration.aoss_proxy import AossProxy
from tests.integration.conftest import FakeContext
from tests.integration.fake_dashboards import FakeDashboards
from tests.integration.test_setup import LINES

pytestmark = pytest.mark.integration
KEY, SECRET, REGION = "AKIDAOSSTEST", "aoss-test-secret", "eu-west-1"


@pytest.fixture(params=["search", "timeseries"])
def serverless(
    request: pytest.FixtureRequest, opensearch_url: str, client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Iterator[tuple[AossProxy, str]]:
    proxy = AossProxy(opensearch_url, request.param, KEY, SECRET, REGION)
    prefix = f"aoss{uuid.uuid4().hex[:10]}"
    for name, value in {
        "OPENSEARCH_URL": proxy.url,
        "OPENSEARCH_AUTH": "sigv4",
        "OPENSEARCH_SERVICE": "aoss",
        "RDSAUDIT_AOSS_COLLECTION_TYPE": request.param,
        "RDSAUDIT_INDEX_PREFIX": prefix,
        "RDSAUDIT_ACTIVITY_INDEX_PREFIX": f"{prefix}act",
        "RDSAUDIT_DEAD_LETTER": str(tmp_path / "dl"),
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    yield proxy, prefix
    proxy.close()
    client.indices.delete(index=f"{prefix}*", allow_no_indices=True, ignore_unavailable=True)
    for name in (prefix, f"{prefix}act"):
        client.indices.delete_index_template(name=name, ignore=[404])


def write(lines: list[str]) -> dict[str, Any]:
    """The lines encoded as the write path encodes them for this collection, sent through the signed client."""
    settings = Settings.from_env()
    engine = for_settings(settings)
    assert engine is not None
    options = TransformOptions(index_prefix=settings.index_prefix, document_ids=not engine.generates_ids)
    actions = list(BatchTransformer(Context(), options).actions(RawEvent(line, None) for line in lines))
    body = b"".join(a.body for a in actions)
    response: dict[str, Any] = bulk_sender(build_client(settings))(body, 30)
    return response


def test_setup_calls_only_what_aoss_has(serverless: tuple[AossProxy, str], capsys: Any) -> None:
    proxy, prefix = serverless
    assert main(["setup", "--index-prefix", prefix]) == 0
    out = capsys.readouterr().out
    assert f"index template {prefix}: created" in out and f"index template {prefix}act: created" in out
    assert "ISM policy" not in out and "security roles: skipped (OpenSearch Serverless has no security plugin" in out
    assert f"lifecycle policy {prefix}-retention: skipped" in out
    assert proxy.refused == [], proxy.refused  # no GET /, _cat/plugins, ISM or security call, all signed for aoss
    assert main(["setup", "--index-prefix", prefix]) == 0
    assert f"index template {prefix}: unchanged" in capsys.readouterr().out


def test_documents_as_the_collection_takes_them(serverless: tuple[AossProxy, str], client: Any) -> None:
    proxy, prefix = serverless
    assert main(["setup", "--index-prefix", prefix]) == 0
    lines = list(LINES.values())
    for _ in range(2):  # the second time as a redelivered payload
        answer = write(lines)
        assert proxy.refused == [], proxy.refused
    client.indices.refresh(index=f"{prefix}-*")
    hits = client.search(index=f"{prefix}-*", body={"size": 100})["hits"]["hits"]
    mapping = next(iter(client.indices.get_mapping(index=f"{prefix}-*").values()))["mappings"]["properties"]
    if proxy.collection_type == "search":
        assert answer["errors"] is True  # the redelivery: 409s, nothing duplicated
        assert len(hits) == len(lines) and all("event_hash" not in h["_source"] for h in hits)
        assert mapping["@timestamp"] == {"type": "date_nanos"}
        return
    # time series: ids are the collection's; a redelivered payload duplicates, and event_hash finds the copies
    assert answer["errors"] is False and len(hits) == 2 * len(lines)
    assert mapping["@timestamp"] == {"type": "date"} and mapping["event_hash"] == {"type": "keyword"}
    duplicates = client.search(
        index=f"{prefix}-*",
        body={"size": 0, "aggs": {"dup": {"terms": {"field": "event_hash", "min_doc_count": 2, "size": 1000}}}},
    )["aggregations"]["dup"]["buckets"]
    assert len(duplicates) == len(lines) and all(b["doc_count"] == 2 for b in duplicates)


def test_the_proxy_checks_signatures_and_paths(serverless: tuple[AossProxy, str], monkeypatch: Any) -> None:
    proxy, prefix = serverless
    from opensearchpy import OpenSearch, RequestsHttpConnection
    from opensearchpy.exceptions import TransportError
    from requests_aws4auth import AWS4Auth

    def status(auth: Any, method: str, path: str, body: Any = None) -> int:
        signed = OpenSearch(hosts=[proxy.url], http_auth=auth, connection_class=RequestsHttpConnection)
        try:
            signed.transport.perform_request(method, path, body=body)
        except TransportError as e:
            return int(e.status_code)
        return 200

    aoss = AWS4Auth(KEY, SECRET, REGION, "aoss")
    assert status(AWS4Auth(KEY, SECRET, REGION, "es"), "GET", f"/{prefix}-x/_search") == 403
    assert status(AWS4Auth(KEY, "wrong-secret", REGION, "aoss"), "GET", f"/{prefix}-x/_search") == 403
    for path in ("/", "/_cat/plugins", "/_plugins/_ism/policies/x", "/_template/x", "/_cluster/health"):
        assert status(aoss, "GET", path) == 404, path
    # one document under a custom id: Serverless generates ids on time series collections and refuses ours
    custom = status(aoss, "PUT", f"/{prefix}-2023.11.14/_doc/x", {"@timestamp": "2023-11-14T00:00:00Z"})
    assert custom == (400 if proxy.collection_type == "timeseries" else 200)
    if proxy.collection_type == "timeseries":
        line = b'{"create":{"_index":"%s-2023.11.14","_id":"x"}}\n{"@timestamp":"2023-11-14T00:00:00Z"}\n' % (
            prefix.encode()
        )
        signed = OpenSearch(hosts=[proxy.url], http_auth=aoss, connection_class=RequestsHttpConnection)
        answer = signed.transport.perform_request(
            "POST", "/_bulk", body=line, headers={"content-type": "application/x-ndjson"}
        )
        assert answer["items"][0]["create"]["status"] == 400


def test_dashboards_import_signs_for_aoss(serverless: tuple[AossProxy, str], capsys: Any) -> None:
    _, prefix = serverless
    from botocore.credentials import Credentials

    dashboards = FakeDashboards(sigv4=(Credentials(KEY, SECRET), REGION, "aoss"))  # a collection's Dashboards
    try:
        assert main(["setup", "--index-prefix", prefix, "--dashboards-url", dashboards.url]) == 0
        assert "Dashboards objects (29): created" in capsys.readouterr().out
        posts = [r for r in dashboards.requests if r["method"] == "POST"]
        assert posts and all(f"/{REGION}/aoss/aws4_request" in r["headers"]["Authorization"] for r in posts)
        import requests

        assert requests.get(f"{dashboards.url}/api/opensearch-dashboards/settings", timeout=10).status_code == 403
    finally:
        dashboards.close()


@pytest.mark.parametrize("serverless", ["search", "timeseries", "vectorsearch"], indirect=True)
def test_detect_runs_on_search_collections_and_is_refused_up_front_elsewhere(
    serverless: tuple[AossProxy, str], client: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Findings are written under their own deterministic ids (a rerun updates them): a search collection takes
    them; time series and vector search collections refuse custom ids, so detect stops before any request."""
    proxy, prefix = serverless
    argv = ["detect", "--since", iso(w.D), "--until", iso(w.D + timedelta(days=1)), "--format", "json"]
    if proxy.collection_type != "search":
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1, captured
        assert captured.err == (
            f"rdsaudit detect: detections cannot write findings to OpenSearch Serverless ({proxy.collection_type} "
            f"collection): findings need their own document ids, which {proxy.collection_type} collections refuse; "
            "the event rules still tag documents at ingest (search detections:*), window rules and findings need a "
            "search collection\n"
        )
        from handler.errors import UnsupportedEngine

        app.reset_runtime()
        with pytest.raises(UnsupportedEngine, match="cannot write findings to OpenSearch Serverless"):
            app.detect_handler({"scheduled_time": iso(w.D)}, FakeContext())  # the scheduled function, the same
        assert proxy.forwarded == [] and proxy.refused == []  # not one request
        return
    monkeypatch.setenv("RDSAUDIT_DETECTIONS", json.dumps({"rules": {"audit-silence": {"enabled": False}}}))
    app.reset_runtime()
    incidents = w.Workload()
    incidents.failures(w.D + timedelta(hours=3), "app", "203.0.113.11", 12, 15)
    incidents.add(w.D + timedelta(hours=9), "admin", "10.0.0.5", "QUERY", "CREATE USER 'x'@'%' IDENTIFIED BY 'pw1'")
    for event, n in w.subscription_events(incidents.lines):  # through the forwarder: it tags the event rules
        assert app.lambda_handler(event, FakeContext())["indexed"] == n
    client.indices.refresh(index=f"{prefix}-*")  # on the node behind the proxy: Serverless has no refresh
    capsys.readouterr()
    results = []
    for _ in range(2):
        assert main(argv) == 0
        results.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    first, second = results
    assert sorted(w.answers(first["findings"])) == [
        ("account-change", iso(w.D + timedelta(hours=9))),
        ("brute-force", iso(w.D + timedelta(hours=3))),
    ]
    assert (first["new"], second["new"], second["known"]) == (2, 0, 2)
    # the reader asks for the engine and a point in time, which Serverless lacks, and pages without one
    assert {(m, p.split("?")[0]) for _, m, p, _ in proxy.refused} == {
        ("GET", "/"),
        ("POST", f"/{audit_pattern(prefix)}/_search/point_in_time"),
        ("POST", f"/{audit_pattern(prefix)}/_pit"),
    }, proxy.refused


def test_lifecycle_policy_keeps_the_retention_on_time_series_only() -> None:
    import boto3
    from botocore.stub import Stubber

    from handler.setup.engine import Engine
    from handler.setup.serverless import lifecycle_policy, lifecycle_rules

    aoss = boto3.client("opensearchserverless", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    rules = lifecycle_rules("audit", ["rdsaudit", "rdsactivity"], 30)
    assert rules["Rules"][0] == {
        "ResourceType": "index",
        "Resource": ["index/audit/rdsaudit-*"],
        "MinIndexRetention": "30d",
    }
    ident = {"identifiers": [{"name": "rdsaudit-retention", "type": "retention"}]}
    timeseries = Engine("aoss", collection_type="timeseries")
    with Stubber(aoss) as stub:
        stub.add_response("batch_get_lifecycle_policy", {"lifecyclePolicyDetails": []}, ident)
        stub.add_response(
            "create_lifecycle_policy",
            {"lifecyclePolicyDetail": {"name": "rdsaudit-retention", "type": "retention"}},
            {
                "name": "rdsaudit-retention",
                "type": "retention",
                "policy": _json(rules),
                "description": "rdsaudit retention",
            },
        )
        first = lifecycle_policy(timeseries, "audit", ["rdsaudit", "rdsactivity"], 30, client=aoss)
        stub.add_response(
            "batch_get_lifecycle_policy",
            {
                "lifecyclePolicyDetails": [
                    {"name": "rdsaudit-retention", "policy": rules, "policyVersion": "MTY5OTk5OTk5OTk5OV8x"}
                ]
            },
            ident,
        )
        second = lifecycle_policy(timeseries, "audit", ["rdsaudit", "rdsactivity"], 30, client=aoss)
        stub.assert_no_pending_responses()
    assert (first.action, second.action) == ("created", "unchanged")
    search = lifecycle_policy(Engine("aoss", collection_type="search"), "audit", ["rdsaudit"], 30, client=aoss)
    assert search.action == "skipped" and "no lifecycle policies" in search.detail


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
