"""A subscription event built exactly as AWS delivers it, through lambda_handler, into the real node."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handler.errors import IncompleteWrite
from handler.sources.cloudwatch import CONTROL_MESSAGE, encode_subscription_event
from tests.events import AURORA_GROUP, AURORA_STREAM, RDS_GROUP, sample_events, sample_lines
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration


def test_sample_payloads_indexed_with_the_right_types(forwarder: Forwarder) -> None:
    outcomes = [forwarder.invoke(e) for e in sample_events()]
    total = len(sample_lines())
    assert sum(o["indexed"] for o in outcomes) == total
    assert sum(o["received"] for o in outcomes) == total
    assert all(o["balanced"] for o in outcomes)
    assert forwarder.count() == total

    # keyword: exact term on user
    admins = forwarder.search({"term": {"user": "admin"}})
    assert {h["_source"]["user"] for h in admins} == {"admin"} and len(admins) == 7
    # text: match inside SQL
    hits = forwarder.search({"match": {"sql": "customers"}})
    assert {h["_source"]["sql"] for h in hits} == {
        "INSERT INTO customers (C_Id, Name) VALUES (3, 'ethan')",
        "customers",
    }
    # date_nanos keeps Aurora's microseconds: a one-microsecond range finds exactly one document
    exact = forwarder.search(
        {"range": {"@timestamp": {"gte": "2020-10-23T08:36:48.508100Z", "lte": "2020-10-23T08:36:48.508100Z"}}}
    )
    assert [h["_source"]["connid"] for h in exact] == [50]
    near = forwarder.search(
        {"range": {"@timestamp": {"gt": "2020-10-23T08:36:48.508100Z", "lte": "2020-10-23T08:36:48.508101Z"}}}
    )
    assert near == []
    # integer and long fields
    assert [h["_source"]["retcode"] for h in forwarder.search({"term": {"retcode": 1146}})] == [1146]
    assert len(forwarder.search({"term": {"queryid": 47141561040897}})) == 1
    # masked secret, unescaped SQL, context
    created = forwarder.search({"match_phrase": {"sql": "CREATE USER"}})
    assert created[0]["_source"]["sql"] == "CREATE USER 'report'@'%' IDENTIFIED BY '***'"
    assert created[0]["_source"]["cluster"] == "demo-aurora"
    assert created[0]["_source"]["instance"] == "demo-aurora-instance-1"
    multi = forwarder.search({"term": {"queryid": 585290}})
    assert multi[0]["_source"]["sql"] == "select 1,\n2,\n3"
    assert multi[0]["_source"]["instance"] == "demo-mysql"
    assert forwarder.search({"term": {"connection_type": "SOCKET"}})[0]["_source"]["connid"] == 821


def test_one_index_per_utc_day_from_the_template(forwarder: Forwarder) -> None:
    for event in sample_events():
        forwarder.invoke(event)
    p = forwarder.prefix
    # the sample's unparseable line takes its CloudWatch event time, 2023-11-14
    days = {"2020.10.23", "2024.10.09", "2022.12.01", "2023.05.01", "2020.07.20", "2020.11.30", "2023.11.14"}
    assert forwarder.indices() == {f"{p}-{d}" for d in days}
    mapping = forwarder.client.indices.get_mapping(index=f"{p}-2020.10.23")[f"{p}-2020.10.23"]["mappings"]
    assert mapping["dynamic"] == "false"
    assert mapping["properties"]["@timestamp"]["type"] == "date_nanos"
    assert mapping["properties"]["client"]["type"] == "keyword"
    assert mapping["properties"]["sql_lower"]["ignore_above"] <= 8191 and "fields" not in mapping["properties"]["sql"]
    settings = forwarder.client.indices.get_settings(index=f"{p}-2020.10.23")[f"{p}-2020.10.23"]["settings"]
    assert settings["index"]["number_of_shards"] == "1"


def test_same_payload_three_times_leaves_the_same_count(forwarder: Forwarder) -> None:
    event = sample_events()[0]
    first = forwarder.invoke(event)
    second = forwarder.invoke(event)
    third = forwarder.invoke(event)
    assert first["indexed"] == first["received"] > 0
    assert second["indexed"] == 0 and second["already_present"] == second["received"]
    assert third["already_present"] == third["received"]
    assert forwarder.count() == first["received"]


def test_identical_lines_in_one_batch_are_all_kept(forwarder: Forwarder) -> None:
    line = "20201130 23:08:45,localhost.localdomain,,,2,0,DISCONNECT,,,0"
    event = encode_subscription_event([line, line, line], log_group=RDS_GROUP, log_stream="demo-mysql")
    assert forwarder.invoke(event)["indexed"] == 3
    forwarder.invoke(event)
    assert forwarder.count() == 3


def test_control_message_indexes_nothing(forwarder: Forwarder) -> None:
    event = encode_subscription_event(
        ["CWL CONTROL MESSAGE: Checking health of destination Lambda."],
        log_group="",
        log_stream="",
        message_type=CONTROL_MESSAGE,
    )
    outcome = forwarder.invoke(event)
    assert outcome["message_type"] == CONTROL_MESSAGE and outcome["received"] == 0
    assert forwarder.client.indices.get(index=f"{forwarder.prefix}-*") == {}


def test_mapping_rejection_is_dead_lettered_and_the_rest_indexed(forwarder: Forwarder, capsys: Any) -> None:
    # A clock gone wrong: date_nanos cannot hold dates before 1970, so OpenSearch rejects this document.
    bad = "19690101 00:00:00,ip-10-1-0-50,root,localhost,8,1,QUERY,,'select 1',0,,"
    good = sample_lines()[:5]
    event = encode_subscription_event([*good[:2], bad, *good[2:]], log_group=RDS_GROUP, log_stream="demo-mysql")
    outcome = forwarder.invoke(event)
    assert (outcome["indexed"], outcome["dead_lettered"], outcome["received"]) == (5, 1, 6)
    assert forwarder.count() == 5
    [record] = forwarder.dead_letters("documents")
    assert record["line"] == bad
    assert record["status"] == 400
    assert "mapper_parsing_exception" in record["reason"]
    assert record["document"]["@timestamp"] == "1969-01-01T00:00:00Z"
    assert record["index"] == f"{forwarder.prefix}-1969.01.01"
    # the invocation's JSON line, which the CDK stack's metric filter `{ $.dead_lettered > 0 }` counts
    [logged] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"invocation"' in line]
    assert logged["dead_lettered"] == 1 and logged["received"] == 6 and logged["balanced"] is True
    assert "select 1" not in json.dumps(logged)  # no SQL in the log
    # redelivery does not add a second copy of the dead letter
    forwarder.invoke(event)
    assert len(forwarder.dead_letters("documents")) == 1


def test_unparseable_line_is_indexed_and_flagged(forwarder: Forwarder) -> None:
    event = encode_subscription_event(
        [("half a line,with,commas", 1_700_000_000_123)], log_group=AURORA_GROUP, log_stream=AURORA_STREAM
    )
    outcome = forwarder.invoke(event)
    assert outcome["indexed"] == 1 and outcome["flagged"] == 1
    [hit] = forwarder.search({"term": {"tags": "parse_failure"}})
    assert hit["_source"]["message"] == "half a line,with,commas"
    assert hit["_source"]["@timestamp"] == "2023-11-14T22:13:20.123Z"
    assert hit["_index"] == f"{forwarder.prefix}-2023.11.14"


def test_undecodable_payload_is_dead_lettered_whole(forwarder: Forwarder) -> None:
    event: dict[str, Any] = {"awslogs": {"data": "H4sIAAAAAAAA/not-really-gzip"}}
    outcome = forwarder.invoke(event)
    assert "not valid" in outcome["payload_dead_lettered"]
    [record] = forwarder.dead_letters("payloads")
    assert record["event"] == event and record["kind"] == "payload"


def test_template_installed_when_missing(forwarder: Forwarder) -> None:
    client = forwarder.client
    assert not client.indices.exists_index_template(name=forwarder.prefix)
    forwarder.invoke(sample_events()[0])
    template = client.indices.get_index_template(name=forwarder.prefix)["index_templates"][0]["index_template"]
    assert template["index_patterns"] == [f"{forwarder.prefix}-*"]
    assert template["template"]["mappings"]["dynamic"] in (False, "false")


def test_node_down_raises_so_lambda_redelivers(forwarder: Forwarder, monkeypatch: pytest.MonkeyPatch) -> None:
    from handler import app

    monkeypatch.setenv("OPENSEARCH_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("RDSAUDIT_ENSURE_TEMPLATE", "false")
    monkeypatch.setenv("RDSAUDIT_DEADLINE_MARGIN", "1")
    app.reset_runtime()
    with pytest.raises(IncompleteWrite) as raised:
        forwarder.invoke(sample_events()[0], remaining_ms=4000)
    assert raised.value.pending == len([line for line in sample_lines() if line[:16].isdigit()])
