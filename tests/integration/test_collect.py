"""Organisation-wide collection: subscription payloads from two accounts and two regions, put as real records into
Kinesis streams of moto's server (over HTTP), read back from the shards and handed to `handler.app.kinesis_handler`
in the shape Lambda's event source mapping gives them, into the real node.

What the stand-in models, and where AWS documents it:
- moto's Kinesis keeps each record's bytes as put and hands them back from GetRecords with a sequence number per
  shard, in order ("PutRecord", "GetRecords", Amazon Kinesis Data Streams API Reference). A CloudWatch Logs
  destination puts one gzip-compressed subscription payload per record ("When log events are sent to the receiving
  service, they are Base64 encoded and compressed with the GZIP format", PutSubscriptionFilter, CloudWatch Logs
  API Reference: the base64 is the API's encoding of the bytes); `encode_payload` writes them as CloudWatch Logs does.
- The Lambda event is built from GetRecords as the event source mapping builds it ("Example Kinesis record
  event", "Using Lambda with Kinesis Data Streams", AWS Lambda Developer Guide): data base64-encoded, the sequence
  number, `eventSourceARN` the stream's ARN; the answer is a partial batch response ("Configuring partial batch
  response with Kinesis Data Streams and Lambda": `batchItemFailures` of `itemIdentifier` sequence numbers).
- Each region's destination points at its own stream in the central region (handler/sources/kinesis.py quotes
  the CloudWatch Logs guide on what crosses regions), so the streams here are all in us-east-1, named by region.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handler import app
from handler.sources.cloudwatch import encode_payload, encode_subscription_event
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context
from tests.integration.conftest import OPENSEARCH_URL, FakeContext, Forwarder
from tests.integration.faultproxy import FaultProxy
from tests.integration.iam_recorder import recording

pytestmark = pytest.mark.integration

CENTRAL = "us-east-1"
ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
GROUP = "/aws/rds/cluster/prod/audit"  # both accounts call their cluster `prod`


def lines(account: str, n: int, region: str) -> list[tuple[str, int]]:
    """Aurora lines of one account's `prod` (its own clients and connection ids, same cluster and instance names)."""
    client = "10.0.0.5" if account == ACCOUNT_A else "10.9.0.7"
    base = 1_765_000_000_000_000 + (1 if region == CENTRAL else 2) * 10_000_000
    out = []
    for i in range(n):
        op = "FAILED_CONNECT" if i % 5 == 4 else "QUERY"
        sql = ",,0" if op == "FAILED_CONNECT" else f",'select {i} from t_{account[:3]}',0"
        line = f"{base + i * 1000},prod-instance-1,app,{client},{100 + i},{i},{op},shop{sql}"
        out.append((line, (base + i * 1000) // 1000))
    return out


# (account, region, lines): account B's `prod` collected in two regions, account A's in one
PAYLOADS = [
    (ACCOUNT_A, CENTRAL, lines(ACCOUNT_A, 12, CENTRAL)),
    (ACCOUNT_B, "eu-west-1", lines(ACCOUNT_B, 9, "eu-west-1")),
    (ACCOUNT_B, CENTRAL, lines(ACCOUNT_B, 7, CENTRAL)),
]
STREAM_LOG = "prod-instance-1.audit.log.0.2026-12-07-10-00.0.2"


def payload(account: str, region: str, items: list[tuple[str, int]]) -> bytes:
    return encode_payload(items, log_group=GROUP, log_stream=STREAM_LOG, owner=account)


def stream_name(prefix: str, region: str) -> str:
    return f"{prefix}-{region}"


@pytest.fixture
def kinesis(aws: str) -> Any:
    import boto3

    return boto3.client("kinesis", region_name=CENTRAL)


@pytest.fixture
def streams(kinesis: Any) -> Iterator[str]:
    """One stream per collecting region, in the central region, as the central stack makes them."""
    prefix = f"rdsaudit{uuid.uuid4().hex[:6]}"
    for region in (CENTRAL, "eu-west-1"):
        kinesis.create_stream(StreamName=stream_name(prefix, region), ShardCount=1)
    yield prefix
    for region in (CENTRAL, "eu-west-1"):
        kinesis.delete_stream(StreamName=stream_name(prefix, region))


def put(kinesis: Any, prefix: str, region: str, data: bytes) -> None:
    kinesis.put_record(StreamName=stream_name(prefix, region), Data=data, PartitionKey=uuid.uuid4().hex)


def lambda_batches(kinesis: Any, prefix: str) -> list[dict[str, Any]]:
    """Every record of every shard, one event per shard, as the event source mapping delivers them."""
    events = []
    for region in (CENTRAL, "eu-west-1"):
        name = stream_name(prefix, region)
        description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
        arn = description["StreamARN"]
        for shard in description["Shards"]:
            iterator = kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            got = kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            events.append(
                {
                    "Records": [
                        {
                            "kinesis": {
                                "kinesisSchemaVersion": "1.0",
                                "partitionKey": r["PartitionKey"],
                                "sequenceNumber": r["SequenceNumber"],
                                "data": base64.b64encode(r["Data"]).decode("ascii"),
                                "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp(),
                            },
                            "eventSource": "aws:kinesis",
                            "eventVersion": "1.0",
                            "eventID": f"{shard['ShardId']}:{r['SequenceNumber']}",
                            "eventName": "aws:kinesis:record",
                            "awsRegion": CENTRAL,
                            "eventSourceARN": arn,
                        }
                        for r in got
                    ]
                }
            )
    return events


def expected(prefix: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """id → (index, document): what the forwarder's transform makes of each payload, with its account and region."""
    out = {}
    for account, region, items in PAYLOADS:
        ctx = cloudwatch_context(GROUP, STREAM_LOG, account, region)
        from handler.model import RawEvent

        for action in BatchTransformer(ctx, TransformOptions(index_prefix=prefix)).actions(
            RawEvent(line, ms) for line, ms in items
        ):
            out[action.doc_id] = (action.index_name, action.document())
    return out


def stored(forwarder: Forwarder) -> dict[str, tuple[str, dict[str, Any]]]:
    forwarder.refresh()
    hits = forwarder.client.search(index=f"{forwarder.prefix}-*", body={"size": 1000})["hits"]["hits"]
    assert len(hits) == len({h["_id"] for h in hits})
    return {h["_id"]: (h["_index"], h["_source"]) for h in hits}


def collect(event: dict[str, Any], remaining_ms: int = 300_000) -> dict[str, Any]:
    with recording("collector"):
        return app.kinesis_handler(event, FakeContext(remaining_ms))


def test_two_accounts_two_regions_exact_documents_redelivery_and_a_poison_record(
    forwarder: Forwarder, kinesis: Any, streams: str
) -> None:
    for account, region, items in PAYLOADS:
        put(kinesis, streams, region, payload(account, region, items))
    put(kinesis, streams, "eu-west-1", b"not gzip: a record no destination would write")  # the poison record
    control = encode_payload([], log_group=GROUP, log_stream=STREAM_LOG, message_type="CONTROL_MESSAGE")
    put(kinesis, streams, CENTRAL, control)
    batches = lambda_batches(kinesis, streams)
    assert [len(b["Records"]) for b in batches] == [3, 2]

    answers = [collect(b) for b in batches]
    assert answers == [{"batchItemFailures": []}, {"batchItemFailures": []}]
    assert stored(forwarder) == expected(forwarder.prefix)

    docs = stored(forwarder)
    by_source = {(d["owner"], d["region"]) for _, d in docs.values()}
    assert by_source == {(ACCOUNT_A, CENTRAL), (ACCOUNT_B, "eu-west-1"), (ACCOUNT_B, CENTRAL)}
    assert {d["cluster"] for _, d in docs.values()} == {"prod"}
    for owner, region, n in ((ACCOUNT_A, CENTRAL, 12), (ACCOUNT_B, "eu-west-1", 9), (ACCOUNT_B, CENTRAL, 7)):
        assert sum(1 for _, d in docs.values() if (d["owner"], d["region"]) == (owner, region)) == n
    one = next(d for _, d in docs.values() if d["owner"] == ACCOUNT_B and d["region"] == "eu-west-1")
    assert set(one) >= {"@timestamp", "server", "user", "client", "connid", "operation", "db", "retcode"}
    assert (one["log_group"], one["log_stream"], one["instance"]) == (GROUP, STREAM_LOG, "prod-instance-1")

    # the poison record alone, with why and where it came from; replayable as a forwarder event
    [dead] = forwarder.dead_letters("payloads")
    poison = batches[1]["Records"][1]
    assert dead["reason"].startswith("Kinesis record data is not valid gzip")
    assert (dead["sequence"], dead["region"], dead["source"]) == (
        poison["kinesis"]["sequenceNumber"],
        "eu-west-1",
        "kinesis",
    )
    assert dead["event"] == {"awslogs": {"data": poison["kinesis"]["data"]}}

    # Lambda delivers a batch again (a retry, a bisected half): nothing is added
    before = stored(forwarder)
    again = [collect(b) for b in batches]
    assert again == answers and stored(forwarder) == before
    assert len(forwarder.dead_letters("payloads")) == 1  # the same name: overwritten, not duplicated


def test_same_line_through_kinesis_and_straight_from_cloudwatch_is_one_document(
    forwarder: Forwarder, kinesis: Any, streams: str
) -> None:
    account, region, items = PAYLOADS[0]  # the central region: the forwarder's own (AWS_REGION)
    put(kinesis, streams, region, payload(account, region, items))
    [batch, _] = lambda_batches(kinesis, streams)
    collect(batch)
    first = stored(forwarder)
    direct = encode_subscription_event(items, log_group=GROUP, log_stream=STREAM_LOG, owner=account)
    outcome = forwarder.invoke(direct)
    assert (outcome["indexed"], outcome["already_present"]) == (0, len(items))
    assert stored(forwarder) == first


def test_throttled_writes_make_batch_item_failures_and_redelivery_completes(
    forwarder: Forwarder, kinesis: Any, streams: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for account, region, items in PAYLOADS:
        put(kinesis, streams, region, payload(account, region, items))
    batches = lambda_batches(kinesis, streams)
    with FaultProxy(OPENSEARCH_URL, []) as proxy:
        proxy.default = ("status", 429, {"error": "Too Many Requests"})
        monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
        monkeypatch.setenv("RDSAUDIT_MAX_ATTEMPTS", "2")
        app.reset_runtime()
        throttled = [collect(b) for b in batches]
    failed = [{f["itemIdentifier"] for f in t["batchItemFailures"]} for t in throttled]
    assert failed == [{r["kinesis"]["sequenceNumber"] for r in b["Records"]} for b in batches]
    assert forwarder.count() == 0 and forwarder.dead_letters("payloads") == []
    monkeypatch.setenv("OPENSEARCH_URL", OPENSEARCH_URL)
    app.reset_runtime()
    # Lambda delivers the failed records again once the cluster keeps up
    retried = [
        collect({"Records": [r for r in b["Records"] if r["kinesis"]["sequenceNumber"] in f]})
        for b, f in zip(batches, failed, strict=True)
    ]
    assert retried == [{"batchItemFailures": []}] * 2
    assert stored(forwarder) == expected(forwarder.prefix)


def test_a_batch_that_is_not_a_kinesis_event_is_kept_whole(forwarder: Forwarder, tmp_path: Path) -> None:
    assert collect({"Records": [{"kinesis": {}}]}) == {"batchItemFailures": []}
    [dead] = forwarder.dead_letters("payloads")
    assert dead["reason"] == "Records[0] has no kinesis.sequenceNumber"


def test_the_report_keeps_two_accounts_prod_apart(forwarder: Forwarder, kinesis: Any, streams: str) -> None:
    """The report's scope (handler/read/queries.Scope, shared with sessions and detections) by account and region:
    two accounts' clusters named `prod` are never mixed."""
    from handler.read.period import make_period
    from handler.report.build import make_report
    from handler.report.model import ReportOptions

    for account, region, items in PAYLOADS:
        put(kinesis, streams, region, payload(account, region, items))
    for batch in lambda_batches(kinesis, streams):
        collect(batch)
    forwarder.refresh()

    def report(**scope: Any) -> dict[str, Any]:
        options = ReportOptions(period=make_period("2025-12-01", "2026-01-01"), page_size=4, **scope)
        data: dict[str, Any] = make_report(
            forwarder.client, pattern=f"{forwarder.prefix}-*", endpoint="x", options=options
        )["data"]
        return data

    everything = report()
    assert [(s["account"], s["region"], s["cluster"], s["documents"]) for s in everything["coverage"]["sources"]] == [
        (ACCOUNT_A, CENTRAL, "prod", 12),
        (ACCOUNT_B, "eu-west-1", "prod", 9),
        (ACCOUNT_B, CENTRAL, "prod", 7),
    ]
    failures = {"111": 2, "222": 2}  # FAILED_CONNECT every fifth line: 12 → 2; 9 → 1 and 7 → 1
    for account, n, fails in ((ACCOUNT_A, 12, failures["111"]), (ACCOUNT_B, 16, failures["222"])):
        mine = report(clusters=("prod",), accounts=(account,))
        assert mine["coverage"]["documents"] == n and mine["coverage"]["accounts_filter"] == [account]
        assert {s["account"] for s in mine["coverage"]["sources"]} == {account}
        assert mine["failed_logins"]["total"] == fails
    west = report(regions=("eu-west-1",))
    assert west["coverage"]["documents"] == 9
    assert report(accounts=(ACCOUNT_A,), regions=("eu-west-1",))["coverage"]["documents"] == 0
