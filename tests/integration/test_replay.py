"""`rdsaudit replay`: dead letters in S3 and events on the on-failure queue (moto server), into the real node."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from handler import app
from handler.cli import main
from handler.sources.cloudwatch import encode_subscription_event
from tests.events import AURORA_GROUP, AURORA_STREAM, sample_lines
from tests.integration.conftest import Forwarder, recording

pytestmark = pytest.mark.integration
AURORA = [line for line in sample_lines() if line[:16].isdigit()]


@pytest.fixture
def dl_bucket(aws: str, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"dead-letters-{os.urandom(4).hex()}"
    boto3.client("s3").create_bucket(Bucket=name)
    monkeypatch.setenv("RDSAUDIT_DEAD_LETTER", f"s3://{name}/rdsaudit")
    app.reset_runtime()
    return name


def objects(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_rejected_documents_replayed_once_the_mapping_is_fixed(
    forwarder: Forwarder, dl_bucket: str, capsys: Any
) -> None:
    # The cause: someone created the day's index by hand with a conflicting mapping.
    day = f"{forwarder.prefix}-2020.10.23"
    forwarder.invoke(encode_subscription_event(AURORA[:1], log_group=AURORA_GROUP, log_stream=AURORA_STREAM))
    forwarder.client.indices.delete(index=day)
    forwarder.client.indices.create(index=day, body={"mappings": {"properties": {"user": {"type": "long"}}}})
    outcome = forwarder.invoke(encode_subscription_event(AURORA, log_group=AURORA_GROUP, log_stream=AURORA_STREAM))
    assert outcome["dead_lettered"] == 3 and outcome["indexed"] == 4  # the 2020-10-23 lines go to S3
    [key] = objects(dl_bucket)
    assert key.startswith("rdsaudit/documents/")
    body = boto3.client("s3").get_object(Bucket=dl_bucket, Key=key)["Body"].read()
    records = [json.loads(line) for line in body.splitlines()]
    assert {r["line"] for r in records} == set(AURORA[:3])
    assert all("mapper_parsing_exception" in r["reason"] for r in records)

    # Not fixed yet: still failing, nothing lost, the dead letters stay.
    with recording("replay"):
        assert main(["replay"]) == 1
    assert "still failing: 3" in capsys.readouterr().out
    assert len(objects(dl_bucket)) == 1

    forwarder.client.indices.delete(index=day)  # the fix
    with recording("replay"):
        assert main(["replay"]) == 0
    assert (
        "received: 3  indexed: 3  already present: 0  flagged: 0  dead lettered: 0  pending: 0  "
        "unreadable: 0  still failing: 0" in capsys.readouterr().out
    )
    assert objects(dl_bucket) == []
    assert forwarder.count() == len(AURORA)
    hits = forwarder.search({"term": {"user": "admin"}})
    assert {h["_source"]["cluster"] for h in hits} == {"demo-aurora"}

    assert main(["replay"]) == 0  # idempotent: nothing left to do
    assert (
        "received: 0  indexed: 0  already present: 0  flagged: 0  dead lettered: 0  pending: 0  "
        "unreadable: 0  still failing: 0" in capsys.readouterr().out
    )
    assert forwarder.count() == len(AURORA)


def test_keep_replays_idempotently(forwarder: Forwarder, dl_bucket: str, capsys: Any) -> None:
    bad = "19690101 00:00:00,ip-10-1-0-50,root,localhost,8,1,QUERY,,'select 1',0,,"
    forwarder.invoke(encode_subscription_event([bad, *AURORA[:2]], log_group=AURORA_GROUP, log_stream=AURORA_STREAM))
    assert main(["replay", "--keep"]) == 1
    out = capsys.readouterr().out
    assert "still failing: 1" in out and "mapper_parsing_exception" in out
    assert len(objects(dl_bucket)) == 1
    assert forwarder.count() == 2


def test_on_failure_queue_events_replayed_and_deleted(forwarder: Forwarder, dl_bucket: str, capsys: Any) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"rdsaudit-on-failure-{os.urandom(3).hex()}")["QueueUrl"]
    event = encode_subscription_event(AURORA, log_group=AURORA_GROUP, log_stream=AURORA_STREAM)
    # What Lambda's on-failure destination sends after the async retries are exhausted
    destination_record = {
        "version": "1.0",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:fwd",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "7 documents not written", "errorType": "IncompleteWrite"},
    }
    forwarder.invoke(encode_subscription_event(AURORA[:2], log_group=AURORA_GROUP, log_stream=AURORA_STREAM))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(destination_record))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"awslogs": {"data": "not base64!"}}))  # plain DLQ shape

    with recording("replay", RDSAUDIT_REPLAY_QUEUE=url):
        assert main(["replay", "--queue", url]) == 1  # the undecodable one still fails
    out = capsys.readouterr().out
    assert "2 messages" in out
    assert (
        "received: 7  indexed: 5  already present: 2  flagged: 0  dead lettered: 0  pending: 0  "
        "unreadable: 1  still failing: 1" in out
    )
    assert forwarder.count() == len(AURORA)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 1


def test_replayed_credential_statement_is_masked_and_keeps_the_id_a_backfill_gives(
    forwarder: Forwarder, dl_bucket: str, tmp_path: Any, capsys: Any
) -> None:
    secret = "Hunter2-Zq9"
    line = (
        "1603440571474649,database-1-instance-1,admin,1.34.6.81,30,973790,QUERY,mysql,"
        f"'CREATE USER \\'app\\'@\\'%\\' IDENTIFIED BY \\'{secret}\\'',0"
    )
    day = f"{forwarder.prefix}-2020.10.23"
    forwarder.client.indices.create(index=day, body={"mappings": {"properties": {"user": {"type": "long"}}}})
    assert (
        forwarder.invoke(encode_subscription_event([line], log_group=AURORA_GROUP, log_stream=AURORA_STREAM))[
            "dead_lettered"
        ]
        == 1
    )
    [key] = objects(dl_bucket)
    stored = boto3.client("s3").get_object(Bucket=dl_bucket, Key=key)["Body"].read().decode()
    assert secret not in stored and "IDENTIFIED BY '***'" in stored

    forwarder.client.indices.delete(index=day)
    assert main(["replay"]) == 0
    [hit] = forwarder.search({"match_all": {}})
    assert hit["_source"]["sql"] == "CREATE USER 'app'@'%' IDENTIFIED BY '***'"
    replayed_id = hit["_id"]

    # A later backfill of the original archive (the raw line, password and all) finds the same document.
    archive = tmp_path / "RDS" / "database-1-instance-1" / "audit" / "2020-10-23" / "audit.log"
    archive.parent.mkdir(parents=True)
    archive.write_text(line + "\n")
    capsys.readouterr()
    assert (
        main(["backfill", str(archive), "--index-prefix", forwarder.prefix, "--checkpoint", str(tmp_path / "c")]) == 0
    )
    assert "indexed: 0  already present: 1" in capsys.readouterr().out
    assert [h["_id"] for h in forwarder.search({"match_all": {}})] == [replayed_id]
