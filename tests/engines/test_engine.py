"""The focused set every engine of the matrix runs (tests/engines/run.py starts the engine): setup, forwarding
through the Lambda entry, backfill of local files, the saved searches' own queries, a microsecond range, and the
mapping of the fields the dashboards rely on. Engines rdsaudit cannot write to must be refused with one message,
at setup and at cold start, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handler.cli import main
from handler.errors import UnsupportedEngine
from handler.mappings import saved_objects
from handler.setup import ClusterSetup
from handler.setup.engine import Engine
from handler.sources.cloudwatch import encode_subscription_event
from handler.transforms.document import document_id
from tests.engines.conftest import SPEC, Target
from tests.events import AURORA_GROUP, AURORA_STREAM
from tests.integration import readme_searches
from tests.integration.conftest import FakeContext
from tests.integration.test_setup import EXPECTED, LINES

ARCHIVE = Path(__file__).resolve().parents[1] / "events" / "archive"
supported = pytest.mark.supported
refused = pytest.mark.refused


def forward(lines: list[str]) -> dict[str, Any]:
    from handler import app

    event = encode_subscription_event(lines, log_group=AURORA_GROUP, log_stream=AURORA_STREAM)
    return app.lambda_handler(event, FakeContext())


@supported
def test_setup_creates_then_changes_nothing(target: Target, capsys: Any) -> None:
    assert main(["setup", "--index-prefix", target.prefix]) == 0
    first = capsys.readouterr().out
    assert f"index template {target.prefix}: created" in first, first
    assert main(["setup", "--index-prefix", target.prefix]) == 0
    second = capsys.readouterr().out
    assert f"index template {target.prefix}: unchanged" in second
    assert "created" not in second and "updated" not in second, second


@supported
def test_forward_and_every_saved_search(target: Target) -> None:
    assert main(["setup", "--index-prefix", target.prefix]) == 0
    assert forward(list(LINES.values()))["indexed"] == len(LINES)
    names = {document_id(line): name for name, line in LINES.items()}
    searches = [o for o in saved_objects() if o["type"] == "search" and o["id"].startswith("rdsaudit-search-")]
    assert {s["id"] for s in searches} == set(EXPECTED)
    for search in searches:
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        hits = target.search({"query_string": {"query": source["query"]["query"]}})
        assert {names[h["_id"]] for h in hits} == EXPECTED[search["id"]], search["id"]
    # a redelivered payload changes nothing (document ids are idempotent)
    again = forward(list(LINES.values()))
    assert again["indexed"] == 0 and again["already_present"] == len(LINES)
    assert target.count() == len(LINES)


@supported
def test_microsecond_range(target: Target) -> None:
    """date_nanos keeps the audit log's microseconds: a range can fall between two records of one millisecond."""
    lines = [f"170000000000000{n},i1,app,10.0.0.1,6,{n},QUERY,shop,'SELECT {n}',0" for n in range(1, 6)]
    assert forward(lines)["indexed"] == 5  # the cold start installs the template
    window = {"gte": "2023-11-14T22:13:20.000002Z", "lt": "2023-11-14T22:13:20.000004Z"}
    hits = target.search({"range": {"@timestamp": window}})
    assert sorted(h["_source"]["sql"] for h in hits) == ["SELECT 2", "SELECT 3"]
    ordered = target.client.search(
        index=f"{target.prefix}-*", body={"sort": [{"@timestamp": "desc"}], "size": 5, "_source": ["sql"]}
    )
    assert [h["_source"]["sql"] for h in ordered["hits"]["hits"]] == [f"SELECT {n}" for n in range(5, 0, -1)]


@supported
def test_backfill_local_archive(target: Target, capsys: Any) -> None:
    assert main(["backfill", str(ARCHIVE), "--index-prefix", target.prefix]) == 0
    out = capsys.readouterr().out
    indexed = int(out.split("indexed:")[1].split()[0])
    assert indexed > 200 and target.count() == indexed, out


@supported
def test_mapping_of_the_fields_dashboards_use(target: Target) -> None:
    assert forward([LINES["grant"]])["indexed"] == 1
    mappings = target.client.indices.get_mapping(index=f"{target.prefix}-*")
    (index,) = mappings.values()
    properties = index["mappings"]["properties"]
    assert properties["@timestamp"] == {"type": "date_nanos"}
    assert properties["client"]["type"] == "keyword"
    assert properties["sql"]["type"] == "text" and "fields" not in properties["sql"]
    assert properties["sql_lower"]["type"] == "keyword" and properties["sql_fingerprint_hash"]["type"] == "keyword"
    settings = target.client.indices.get_settings(index=f"{target.prefix}-*")
    assert next(iter(settings.values()))["settings"]["index"]["codec"] == "best_compression"


@supported
def test_documented_searches(target: Target) -> None:
    """Full text, starts with (the saved searches' sql\\*lower pattern), exact, and the top statements grouping."""
    from handler.read.events import saved_search

    assert forward([LINES["grant"]])["indexed"] == 1
    target.client.indices.refresh(index=f"{target.prefix}-*")

    def hits(query: dict[str, Any]) -> int:
        body = {"query": query, "size": 0, "track_total_hits": True}
        return int(target.client.search(index=f"{target.prefix}-*", body=body)["hits"]["total"]["value"])

    assert hits(saved_search("account_changes")) == 1
    assert hits({"match": {"sql": "grant"}}) == 1
    doc = target.client.search(index=f"{target.prefix}-*", body={"size": 1})["hits"]["hits"][0]["_source"]
    assert hits({"term": {"sql_lower": doc["sql_lower"]}}) == 1
    assert hits({"term": {"sql_fingerprint_hash": doc["sql_fingerprint_hash"]}}) == 1


@supported
def test_readme_searches(target: Target) -> None:
    """The README's searches on the statement, exactly as it writes them (tests/integration/readme_searches.py)."""
    assert forward(readme_searches.LINES)["indexed"] == len(readme_searches.LINES)
    readme_searches.check(target.search)


@supported
def test_template_api_falls_back_when_composable_is_missing(target: Target) -> None:
    """Told the engine is new (as a proxy rewriting GET / might), setup still finds the API the cluster has: on
    Elasticsearch before 7.8 GET _index_template answers 405, and the legacy template is used."""
    assert main(["setup", "--index-prefix", target.prefix]) == 0
    setup = ClusterSetup(target.client, target.prefix, engine=Engine("opensearch", "2.0.0"))
    assert setup.template().action == "unchanged"


@refused
def test_setup_refuses_with_one_message(target: Target, capsys: Any) -> None:
    assert SPEC is not None
    assert main(["setup", "--index-prefix", target.prefix]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == "", captured
    assert f"Elasticsearch {SPEC.version} is not supported" in lines[0]
    assert "oldest supported engine is Elasticsearch 7.0" in lines[0]
    assert not target.client.indices.exists_template(name=target.prefix)


@refused
def test_cold_start_refuses_before_writing(target: Target) -> None:
    assert SPEC is not None
    with pytest.raises(UnsupportedEngine, match=f"Elasticsearch {SPEC.version} is not supported"):
        forward([LINES["grant"]])
    assert not target.client.indices.exists_template(name=target.prefix)
    assert not target.client.indices.exists(index=f"{target.prefix}-*", allow_no_indices=False)
