"""What the channels send, built from a finding document: SNS's subject rules, a body that carries the evidence and
never a credential, ASFF's required fields and limits, PutEvents' per-entry outcome."""

from __future__ import annotations

from typing import Any

from handler.detect.notify.asff import product_arn, to_asff
from handler.detect.notify.channels import events, securityhub
from handler.detect.notify.decide import Send
from handler.detect.notify.message import SUBJECT_MAX, body, detail, subject
from handler.detect.notify.model import from_document

# The detect core's shape (window, connection, dashboards.discover) ...
CORE = {
    "_id": "f1",
    "_index": "p-findings-2026.12.07",
    "rule": "account-change",
    "title": "Account or privilege change",
    "severity": "medium",
    "mitre": "T1098",
    "key": "server=db-1, connid=42",
    "window": {"start": "2026-12-07T10:00:00Z", "end": "2026-12-07T10:05:00Z"},
    "count": 1,
    "first": "2026-12-07T10:01:00Z",
    "last": "2026-12-07T10:01:00Z",
    "user": "app",
    "client": "203.0.113.9",
    "instance": "db-1",
    "connection": {"server": "db-1", "connid": 42},
    "examples": [
        {
            "_id": "e1",
            "_index": "p-2026.12.07",
            "@timestamp": "2026-12-07T10:01:00Z",
            "sql": "CREATE USER 'eve'@'%' IDENTIFIED BY 'hunter2secret'",
        }
    ],
    "dashboards": {"discover": "/app/discover#/?_a=x"},
    "description": "An account changed.",
    "response": "Ask why.",
}
# ... and the flat one (window_start, connid, link, cluster/account/region).
FLAT = {
    "_id": "f2",
    "_index": "p-findings-2026.12.07",
    "rule": "brute-force",
    "title": "Brute force " * 20,
    "severity": "high",
    "key": "client=203.0.113.9\nx",
    "window_start": "2026-12-07T10:00:00Z",
    "window_end": "2026-12-07T10:05:00Z",
    "count": 12,
    "first": "a",
    "last": "b",
    "cluster": "prod",
    "instance": "prod-1",
    "account": "111122223333",
    "region": "eu-west-1",
    "server": "prod-1",
    "connid": 7,
    "link": "https://dash.example/_dashboards/app/discover#/x",
    "examples": [],
}


def test_both_document_shapes_read_alike() -> None:
    core, flat = from_document(CORE, "https://dash.example/_dashboards"), from_document(FLAT)
    assert (core.window_start, core.server, core.connid) == ("2026-12-07T10:00:00Z", "db-1", 42)
    assert core.link == "https://dash.example/_dashboards/app/discover#/?_a=x"
    assert core.examples[0]["id"] == "e1" and core.examples[0]["index"] == "p-2026.12.07"
    assert (flat.window_start, flat.cluster, flat.account, flat.connid) == (
        "2026-12-07T10:00:00Z",
        "prod",
        "111122223333",
        7,
    )


def test_subject_is_one_line_under_100_characters() -> None:
    s = subject(from_document(FLAT))
    assert len(s) <= SUBJECT_MAX < 100 and "\n" not in s and s.endswith("...")
    assert subject(from_document(CORE)) == "rdsaudit MEDIUM: Account or privilege change (server=db-1, connid=42)"


def test_body_carries_the_evidence_and_no_password() -> None:
    text = body(from_document(CORE, "https://dash.example/_dashboards"))
    assert "hunter2secret" not in text and "IDENTIFIED BY" in text
    for evidence in (
        "Severity: MEDIUM",
        "T1098",
        "User: app",
        "Client: 203.0.113.9",
        "connection id 42",
        "[p-2026.12.07/e1]",
        "Open in Dashboards: https://dash.example/_dashboards/app/discover#/?_a=x",
        "What to do: Ask why.",
        "Finding f1 in p-findings-2026.12.07",
    ):
        assert evidence in text, evidence
    assert "hunter2secret" not in str(detail(from_document(CORE)))


def test_asff_required_fields_and_resources() -> None:
    flat = to_asff(from_document(FLAT), account="999988887777", region="us-east-1", now="2026-12-07T12:00:00Z")
    from tests.integration.notify_aws import REQUIRED  # the strict Security Hub stand-in's list, from the ASFF docs

    assert flat.keys() >= REQUIRED
    assert flat["ProductArn"] == "arn:aws:securityhub:us-east-1:999988887777:product/999988887777/default"
    assert (flat["Id"], flat["GeneratorId"], flat["AwsAccountId"]) == ("f2", "brute-force", "999988887777")
    assert [(r["Type"], r["Id"]) for r in flat["Resources"]] == [
        ("AwsRdsDbCluster", "arn:aws:rds:eu-west-1:111122223333:cluster:prod"),
        ("AwsRdsDbInstance", "arn:aws:rds:eu-west-1:111122223333:db:prod-1"),
    ]
    assert flat["Severity"]["Label"] == "HIGH" and len(flat["Title"]) <= 256 and len(flat["Description"]) <= 1024
    core = to_asff(from_document(CORE), account="999988887777", region="us-east-1", now="2026-12-07T12:00:00Z")
    assert core["Types"] == ["TTPs/Persistence/Account Manipulation"]
    assert core["Resources"][0]["Id"] == "arn:aws:rds:us-east-1:999988887777:db:db-1"
    assert core["Network"] == {"Direction": "IN", "SourceIpV4": "203.0.113.9"}
    assert product_arn("1", "cn-north-1").startswith("arn:aws-cn:securityhub:cn-north-1:")


class PartialEvents:
    """PutEvents answering entry by entry, as documented: FailedEntryCount and, in request order, an EventId or an
    ErrorCode per entry (Amazon EventBridge API Reference, PutEvents, Response Elements)."""

    def __init__(self, fail: set[int]) -> None:
        self.fail, self.calls = fail, []  # type: ignore[var-annotated]

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert 1 <= len(Entries) <= 10
        self.calls.append(Entries)
        n = sum(len(c) for c in self.calls[:-1])
        out = [
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
            if n + i in self.fail
            else {"EventId": f"e{n + i}"}
            for i in range(len(Entries))
        ]
        return {"FailedEntryCount": sum("ErrorCode" in e for e in out), "Entries": out}


def _sends(n: int) -> list[Send]:
    return [Send(from_document({**FLAT, "_id": f"f{i}"})) for i in range(n)]


def test_put_events_partial_failure_fails_only_the_named_entries() -> None:
    client = PartialEvents(fail={3, 11})
    out = events(client, "bus", _sends(12), "999988887777", "us-east-1")
    assert [len(c) for c in client.calls] == [10, 2]
    assert [s.finding.id for s, _ in out.failed] == ["f3", "f11"]
    assert len(out.accepted) == 10 and out.failed[0][1].startswith("ThrottlingException")
    entry = client.calls[0][0]
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == ("rdsaudit", "rdsaudit finding", "bus")


class PartialHub:
    def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:
        failed = [{"Id": f["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "x"} for f in Findings[1:2]]
        return {"FailedCount": len(failed), "SuccessCount": len(Findings) - len(failed), "FailedFindings": failed}


def test_batch_import_failed_findings_are_not_accepted() -> None:
    out = securityhub(PartialHub(), _sends(3), "999988887777", "us-east-1", "2026-12-07T12:00:00Z")
    assert [s.finding.id for s in out.accepted] == ["f0", "f2"] and [s.finding.id for s, _ in out.failed] == ["f1"]
