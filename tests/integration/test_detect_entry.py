"""The scheduled detect function end to end, as deployed: a brute force indexed through the forwarder's entry, then
`app.detect_handler` at the schedule's time (EventBridge Scheduler's input) runs the window job and mails the new
finding through SNS on moto's server (strict as in notify_aws.py); its second run mails nothing. Its calls are
recorded for the IAM contract (the detect entry)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from handler import app
from handler.read.period import iso
from handler.sources.cloudwatch import encode_subscription_event
from tests.events.detections import D, Workload
from tests.integration.conftest import FakeContext, Forwarder
from tests.integration.iam_recorder import recording
from tests.integration.notify_aws import ACCOUNT, check_publish, drain

pytestmark = pytest.mark.integration
REGION = "us-east-1"
START = D + timedelta(hours=10)


def test_the_scheduled_function_finds_and_mails_a_brute_force_once(
    forwarder: Forwarder, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    w = Workload()
    w.failures(START, "app", "203.0.113.9", 12, 10)
    lines = [line for _, line in sorted(w.lines["db-a"])]
    event = encode_subscription_event(
        lines, log_group="/aws/rds/cluster/shop/audit", log_stream="db-a.audit.log.0.2026-11-10-00-00.0.2"
    )
    assert forwarder.invoke(event)["indexed"] == 12
    forwarder.refresh()

    boto = boto3.Session(region_name=REGION)
    name = f"rdsaudit-{forwarder.prefix}"
    sns, sqs = boto.client("sns"), boto.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
    monkeypatch.setenv("RDSAUDIT_DETECT_TOPIC_ARN", topic)
    app.reset_runtime()
    app.get_runtime().aws("sns").meta.events.register("provide-client-params.sns.Publish", check_publish)

    scheduled = {"scheduled_time": iso(START + timedelta(minutes=10))}
    with recording("detect"):
        first = app.detect_handler(scheduled, FakeContext())
    assert first["job"]["new"] >= 1 and first["notify"]["sent"] == {"sns": first["notify"]["sent"]["sns"]}
    mails = drain(sqs, queue)
    subjects = [m["Subject"] for m in mails]
    assert "rdsaudit MEDIUM: Brute force: many failed logins from one client (client=203.0.113.9)" in subjects
    assert len(mails) == first["notify"]["sent"]["sns"] and first["notify"]["failed"] == {"sns": 0}
    brute = next(m for m in mails if "Brute force" in m["Subject"])
    assert "Events: 12," in brute["Message"] and "Client: 203.0.113.9" in brute["Message"]

    forwarder.client.indices.refresh(index=f"{forwarder.prefix}-*")
    with recording("detect"):
        second = app.detect_handler({"scheduled_time": iso(START + timedelta(minutes=15))}, FakeContext())
    assert second["job"]["new"] == 0 and second["notify"]["sent"] == {"sns": 0}
    assert drain(sqs, queue) == []
    assert json.dumps(second)  # the JSON line the function writes
