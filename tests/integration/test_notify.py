"""Notifications end to end: findings documents in the real OpenSearch node, sent to SNS, EventBridge and Security
Hub on moto's server (strict where moto is lax: tests/integration/notify_aws.py), read back from the SQS queues
subscribed to the topic and targeted by the bus's rule. A failed channel is retried on the next run and nothing is
sent twice; a rule and key notified within the re-notify interval stays quiet."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handler.config import Settings
from handler.detect.notify.message import body
from handler.detect.notify.model import from_document
from handler.detect.notify.run import Notifier, Summary
from handler.mappings import findings_index_template
from handler.runtime import Runtime, build_runtime
from tests.integration.iam_recorder import recording
from tests.integration.notify_aws import ACCOUNT, StrictHub, check_publish, drain

REGION = "us-east-1"
NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
DAY = "2026.12.07"


def brute(n: int, start: str, last: str) -> dict[str, Any]:
    return {
        "rule": "brute-force",
        "title": "Brute force: many failed logins from one client",
        "severity": "medium",
        "mitre": "T1110.001",
        "kind": "window",
        "key": "client=203.0.113.9",
        "window": {"start": start, "end": last},
        "@timestamp": start,
        "count": n,
        "first": start,
        "last": last,
        "client": "203.0.113.9",
        "instance": "prod-mysql-1",
        "cluster": "prod",
        "description": "Someone is guessing passwords.",
        "response": "Block the client.",
        "examples": [{"_id": "ev1", "_index": f"p-{DAY}", "@timestamp": start, "sql": ""}],
        "dashboards": {"discover": "/app/discover#/?_a=(query:'client:203.0.113.9')"},
        "detected_at": "2026-12-07T10:16:00Z",
    }


ACCOUNT_CHANGE = {
    "rule": "account-change",
    "title": "Account or privilege change",
    "severity": "medium",
    "mitre": "T1098",
    "kind": "event",
    "key": "server=prod-mysql-1, connid=42",
    "window": {"start": "2026-12-07T10:02:00Z", "end": "2026-12-07T10:02:00Z"},
    "@timestamp": "2026-12-07T10:02:00Z",
    "count": 1,
    "first": "2026-12-07T10:02:00Z",
    "last": "2026-12-07T10:02:00Z",
    "user": "admin",
    "client": "198.51.100.4",
    "instance": "prod-mysql-1",
    "connection": {"server": "prod-mysql-1", "connid": 42},
    "examples": [
        {
            "_id": "ev2",
            "_index": f"p-{DAY}",
            "@timestamp": "2026-12-07T10:02:00Z",
            "sql": "CREATE USER 'eve'@'%' IDENTIFIED BY 'S3cretPassw0rd'",
        }
    ],
    "detected_at": "2026-12-07T10:16:00Z",
}


class Channels:
    def __init__(self, client: Any, runtime: Runtime, prefix: str, boto: Any) -> None:
        self.client, self.runtime, self.prefix = client, runtime, prefix
        self.sqs, self.sns, self.events, self.hub = (boto.client(s) for s in ("sqs", "sns", "events", "securityhub"))
        self.index = f"{prefix}-findings-{DAY}"

    def put(self, fid: str, doc: dict[str, Any]) -> None:
        self.client.index(index=self.index, id=fid, body=doc, refresh=True)

    def get(self, fid: str) -> dict[str, Any]:
        return dict(self.client.get(index=self.index, id=fid)["_source"])

    def imported(self) -> list[dict[str, Any]]:
        """This test's findings in Security Hub (moto's server, and so its hub, is shared by the session)."""
        found = self.hub.get_findings(MaxResults=100)["Findings"]
        return [f for f in found if f.get("ProductFields", {}).get("rdsaudit/index") == self.index]

    def run(self, now: datetime = NOW) -> Summary:
        with recording("detect"):
            summary = Notifier(self.runtime).run(now)
        self.client.indices.refresh(index=self.index)
        return summary


@pytest.fixture
def channels(client: Any, aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Channels]:
    import boto3

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    name = f"rdsaudit-{prefix}"
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"  # created by the test that needs it up
    boto = boto3.Session(region_name=REGION)
    events = boto.client("events")
    events.create_event_bus(Name=name)
    for env, value in (
        ("RDSAUDIT_INDEX_PREFIX", prefix),
        ("RDSAUDIT_DETECT_TOPIC_ARN", topic_arn),
        ("RDSAUDIT_DETECT_EVENT_BUS", name),
        ("RDSAUDIT_DETECT_SECURITY_HUB", "true"),
        ("RDSAUDIT_DASHBOARDS_URL", "https://dash.example/_dashboards"),
    ):
        monkeypatch.setenv(env, value)
    runtime = build_runtime(Settings.from_env())
    runtime.aws("sns").meta.events.register("provide-client-params.sns.Publish", check_publish)
    hub = StrictHub(REGION)
    runtime.aws("securityhub").meta.events.register("provide-client-params.securityhub.BatchImportFindings", hub.check)
    runtime.aws("securityhub").meta.events.register("after-call.securityhub.BatchImportFindings", hub.answer)
    # The detect core's findings template (not dynamic: only what it maps is searchable).
    mappings = findings_index_template(prefix)["template"]["mappings"]
    client.indices.create(index=f"{prefix}-findings-{DAY}", body={"mappings": mappings})
    ch = Channels(client, runtime, prefix, boto)
    ch.topic_arn, ch.name = topic_arn, name  # type: ignore[attr-defined]
    ch.sns_queue = _queue(ch, f"{name}-sns")  # type: ignore[attr-defined]
    ch.events_queue = _queue(ch, f"{name}-events")  # type: ignore[attr-defined]
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["rdsaudit"]}))
    events.put_targets(
        Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-events"}]
    )
    yield ch
    client.indices.delete(index=f"{prefix}-findings-*", allow_no_indices=True, ignore_unavailable=True)
    from moto.backends import get_backend

    get_backend("securityhub")[ACCOUNT][REGION].enabled = False  # the session's server is shared by tests


def _queue(ch: Channels, name: str) -> str:
    return str(ch.sqs.create_queue(QueueName=name)["QueueUrl"])


def _topic_up(ch: Any) -> None:
    arn = ch.sns.create_topic(Name=ch.name)["TopicArn"]
    assert arn == ch.topic_arn
    ch.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{ch.name}-sns")


def _fail_entry(rule: str) -> Any:
    """An injected per-entry failure: the entry of `rule` loses its DetailType on the way out, so EventBridge
    (moto) refuses that entry alone with InvalidArgument and accepts the others of the call."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        for e in params["Entries"]:
            if json.loads(e["Detail"])["rule"] == rule:
                e["DetailType"] = ""

    return hook


def test_a_failed_channel_is_retried_next_run_and_nothing_is_sent_twice(channels: Any) -> None:
    ch = channels
    ch.put("b1", brute(10, "2026-12-07T10:00:00Z", "2026-12-07T10:04:00Z"))
    ch.put("b2", brute(14, "2026-12-07T10:05:00Z", "2026-12-07T10:09:00Z"))
    ch.put("a1", ACCOUNT_CHANGE)
    hook = _fail_entry("account-change")
    ch.runtime.aws("events").meta.events.register("provide-client-params.events.PutEvents", hook)

    # Run 1: the topic does not exist yet (NotFound), Security Hub is not enabled, one PutEvents entry fails.
    first = ch.run()
    assert first.candidates == 3
    assert (first.sent, first.failed) == (
        {"sns": 0, "events": 1, "securityhub": 0},
        {"sns": 2, "events": 1, "securityhub": 2},
    )
    assert any("NotFound" in f for f in first.failures) and any("InvalidAccessException" in f for f in first.failures)
    assert any(f.startswith("events a1: InvalidArgument") for f in first.failures)
    [event] = drain(ch.sqs, ch.events_queue)
    assert (event["source"], event["detail-type"], event["detail"]["id"]) == ("rdsaudit", "rdsaudit finding", "b2")
    assert event["detail"]["covers"] == ["b1"] and event["resources"] == [
        f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:prod",
        f"arn:aws:rds:{REGION}:{ACCOUNT}:db:prod-mysql-1",
    ]
    assert ch.get("b2")["notified"] == {"events": "2026-12-07T10:30:00Z"}
    assert ch.get("b1")["notified"] == {"events": "2026-12-07T10:30:00Z"}  # handled: b2's event stands for it
    assert ch.get("b1")["suppressed"] == {"events": {"at": "2026-12-07T10:30:00Z", "by": "b2"}}
    assert "notified" not in ch.get("a1")

    # Run 2: every channel up; only what was not accepted before goes out.
    _topic_up(ch)
    ch.hub.enable_security_hub()
    ch.runtime.aws("events").meta.events.unregister("provide-client-params.events.PutEvents", hook)
    second = ch.run(NOW + timedelta(minutes=5))
    assert (second.sent, second.failed) == (
        {"sns": 2, "events": 1, "securityhub": 2},
        {"sns": 0, "events": 0, "securityhub": 0},
    ), second.failures
    mails = sorted(drain(ch.sqs, ch.sns_queue), key=lambda m: m["Subject"])
    assert [m["Subject"] for m in mails] == [
        "rdsaudit MEDIUM: Account or privilege change (server=prod-mysql-1, connid=42)",
        "rdsaudit MEDIUM: Brute force: many failed logins from one client (client=203.0.113.9)",
    ]
    a1 = from_document({**ACCOUNT_CHANGE, "_id": "a1", "_index": ch.index}, "https://dash.example/_dashboards")
    assert mails[0]["Message"] == body(a1)
    assert "S3cretPassw0rd" not in mails[0]["Message"] and "IDENTIFIED BY" in mails[0]["Message"]
    assert mails[1]["Message"].splitlines()[:4] == [
        "rdsaudit finding: Brute force: many failed logins from one client",
        "Severity: MEDIUM    Rule: brute-force (MITRE ATT&CK T1110.001)",
        "Key: client=203.0.113.9",
        "Events: 14, first 2026-12-07T10:05:00Z, last 2026-12-07T10:09:00Z "
        "(window 2026-12-07T10:05:00Z to 2026-12-07T10:09:00Z)",
    ]
    assert "Also stands for 1 earlier finding(s) of this rule and key: b1" in mails[1]["Message"]
    assert "Open in Dashboards: https://dash.example/_dashboards/app/discover#/" in mails[1]["Message"]
    [event] = drain(ch.sqs, ch.events_queue)
    assert event["detail"]["id"] == "a1" and "S3cretPassw0rd" not in json.dumps(event)
    hub = ch.imported()
    assert sorted((f["Id"], f["GeneratorId"], f["Severity"]["Label"]) for f in hub) == [
        ("a1", "account-change", "MEDIUM"),
        ("b2", "brute-force", "MEDIUM"),
    ]
    assert ch.get("a1")["notified"] == {
        "events": "2026-12-07T10:35:00Z",
        "sns": "2026-12-07T10:35:00Z",
        "securityhub": "2026-12-07T10:35:00Z",
    }

    # Run 3: nothing new, nothing sent anywhere.
    third = ch.run(NOW + timedelta(minutes=10))
    assert third.candidates == 0 and sum(third.sent.values()) == 0
    assert drain(ch.sqs, ch.sns_queue) == [] and drain(ch.sqs, ch.events_queue) == []
    assert len(ch.imported()) == 2


def test_a_long_attack_is_told_again_only_after_the_interval(channels: Any) -> None:
    ch = channels
    _topic_up(ch)
    ch.hub.enable_security_hub()
    ch.put("b1", brute(10, "2026-12-07T10:00:00Z", "2026-12-07T10:04:00Z"))
    assert ch.run().sent == {"sns": 1, "events": 1, "securityhub": 1}
    # Another window of the same attack an hour later: quiet on every channel (6 h interval).
    ch.put("b2", brute(11, "2026-12-07T11:00:00Z", "2026-12-07T11:04:00Z"))
    later = ch.run(NOW + timedelta(hours=1))
    assert later.sent == {"sns": 0, "events": 0, "securityhub": 0} and later.quiet == {
        "sns": 1,
        "events": 1,
        "securityhub": 1,
    }
    assert ch.get("b2")["suppressed"]["sns"] == {"at": "2026-12-07T11:30:00Z", "by": "b1"}
    # Seven hours on, the attack still going: told again, once.
    ch.put("b3", brute(12, "2026-12-07T17:20:00Z", "2026-12-07T17:24:00Z"))
    again = ch.run(NOW + timedelta(hours=7))
    assert again.sent == {"sns": 1, "events": 1, "securityhub": 1}
    subjects = [m["Subject"] for m in drain(ch.sqs, ch.sns_queue)]
    assert len(subjects) == 2 and len(set(subjects)) == 1
    assert [e["detail"]["id"] for e in drain(ch.sqs, ch.events_queue)] == ["b1", "b3"]


def test_the_strict_stand_ins_refuse_what_aws_refuses(channels: Any) -> None:
    """The checks this file relies on can fail: a subject of 100 characters and an ASFF finding without its
    SchemaVersion are refused, as SNS and Security Hub refuse them."""
    from botocore.exceptions import ClientError

    ch = channels
    _topic_up(ch)
    ch.hub.enable_security_hub()
    with pytest.raises(ClientError, match="InvalidParameter"):
        ch.runtime.aws("sns").publish(TopicArn=ch.topic_arn, Subject="x" * 100, Message="m")
    with pytest.raises(ClientError, match="InvalidParameter"):
        ch.runtime.aws("sns").publish(TopicArn=ch.topic_arn, Subject="two\nlines", Message="m")
    from handler.detect.notify.asff import to_asff

    good = to_asff(
        from_document({**ACCOUNT_CHANGE, "_id": "x", "_index": ch.index}),
        account=ACCOUNT,
        region=REGION,
        now="2026-12-07T10:30:00Z",
    )
    bad = {k: v for k, v in good.items() if k != "SchemaVersion"} | {"Id": "y"}
    answer = ch.runtime.aws("securityhub").batch_import_findings(Findings=[good, bad])
    assert [(f["Id"], f["ErrorCode"]) for f in answer["FailedFindings"]] == [("y", "InvalidInput")]


def test_before_any_finding_nothing_is_sent_and_nothing_fails(client: Any, aws: str, monkeypatch: Any) -> None:
    """A fresh deployment: no findings index exists yet (only the template the job installs before notifying, and
    that its lease's state index takes); the run reads nothing and calls no channel."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    client.indices.put_index_template(name=f"{prefix}-findings", body=findings_index_template(prefix))
    monkeypatch.setenv("RDSAUDIT_INDEX_PREFIX", prefix)
    monkeypatch.setenv("RDSAUDIT_DETECT_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:absent")
    monkeypatch.setenv("RDSAUDIT_DETECT_EVENT_BUS", "absent")
    runtime = build_runtime(Settings.from_env())
    with recording("detect"):
        summary = Notifier(runtime).run(NOW)
    assert summary.as_log() == {
        "channels": ["sns", "events"],
        "candidates": 0,
        "sent": {"sns": 0, "events": 0},
        "quiet": {"sns": 0, "events": 0},
        "backlog": {"sns": 0, "events": 0},
        "failed": {"sns": 0, "events": 0},
        "failures": [],
        "marks_failed": 0,
    }
    client.indices.delete(index=f"{prefix}-findings-*", allow_no_indices=True, ignore_unavailable=True)  # its lease
    client.indices.delete_index_template(name=f"{prefix}-findings")


class Killed(BaseException):
    """The function stopped mid-run (its timeout): not an error the run handles."""


def test_a_run_cut_short_keeps_what_it_sent_marked(channels: Any, monkeypatch: Any) -> None:
    """Sends are marked batch by batch: a run killed during its second batch of mails has marked the first ten,
    and the next run sends only the other two — twelve mails in all, none twice."""
    ch = channels
    _topic_up(ch)
    monkeypatch.setenv("RDSAUDIT_DETECT_EVENT_BUS", "")
    monkeypatch.setenv("RDSAUDIT_DETECT_SECURITY_HUB", "false")
    ch.runtime.settings = Settings.from_env()
    for n in range(12):
        doc = brute(10, "2026-12-07T10:00:00Z", "2026-12-07T10:04:00Z")
        ch.put(f"c{n:02d}", {**doc, "key": f"client=203.0.113.{n}", "client": f"203.0.113.{n}"})
    published = []

    def kill_at_the_eleventh(params: dict[str, Any], **_: Any) -> None:
        if len(published) == 10:
            raise Killed
        published.append(params["Subject"])

    ch.runtime.aws("sns").meta.events.register("provide-client-params.sns.Publish", kill_at_the_eleventh)
    with pytest.raises(Killed):
        ch.run()
    ch.runtime.aws("sns").meta.events.unregister("provide-client-params.sns.Publish", kill_at_the_eleventh)
    ch.client.indices.refresh(index=ch.index)
    assert len(drain(ch.sqs, ch.sns_queue)) == 10
    after = ch.run(NOW + timedelta(minutes=5))
    assert after.candidates == 2 and after.sent == {"sns": 2}
    assert len(drain(ch.sqs, ch.sns_queue)) == 2
    assert ch.run(NOW + timedelta(minutes=10)).sent == {"sns": 0}
