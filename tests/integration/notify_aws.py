"""The notification channels on moto's server, made as strict as the services where moto is lax.

moto models, over real HTTP: SNS Publish to a topic with an SQS subscription (the SNS JSON envelope with Subject
and Message, "Amazon SQS queue as a subscriber", Amazon SNS Developer Guide), NotFound for a topic that does not
exist; EventBridge PutEvents with a rule on the bus targeting an SQS queue, per-entry InvalidArgument for an entry
without DetailType (PutEvents, Amazon EventBridge API Reference); Security Hub BatchImportFindings storing findings
by Id (a second import of an Id replaces it) and GetFindings. moto delivers to the queues within the API call (AWS
does within seconds), so what a run sent is in the queues when it returns.

Where moto accepts what AWS refuses, a botocore `provide-client-params` hook on the runtime's clients refuses it
first, with the service's documented error:
- SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
  characters long"; a message at most 256 KiB (Amazon SNS API Reference, Publish) → InvalidParameter. moto lets
  100 characters and line breaks through.
- Security Hub: BatchImportFindings of an account where Security Hub is not enabled → InvalidAccessException
  ("Common errors", AWS Security Hub API Reference), which moto does not check; ASFF's required top-level
  attributes, SchemaVersion 2018-10-08, the default product ARN of the caller's account and AwsAccountId equal to
  it, Severity.Label's values, Types `namespace/category[/classifier]` with a documented namespace, Title ≤ 256
  and Description ≤ 1024 ("AWS Security Finding Format (ASFF)", AWS Security Hub User Guide) → the finding in
  FailedFindings with InvalidInput, as the service answers per finding. moto checks only Resources.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

ACCOUNT = "123456789012"  # moto's default account
REQUIRED = {
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
}
NAMESPACES = {
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
}
LABELS = {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
RESOURCE_TYPES = {"AwsRdsDbCluster", "AwsRdsDbInstance", "Other"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


def check_publish(params: dict[str, Any], **_: Any) -> None:
    subject = params.get("Subject")
    if subject is not None and (len(subject) >= 100 or _CONTROL.search(subject) or not subject.strip()):
        raise _refuse("InvalidParameter", "Invalid parameter: Subject", "Publish")
    if len(params.get("Message", "").encode()) > 256 * 1024:
        raise _refuse("InvalidParameter", "Invalid parameter: Message too long", "Publish")


def asff_problems(f: dict[str, Any], region: str) -> list[str]:
    problems = [f"missing {name}" for name in sorted(REQUIRED - f.keys())]
    if f.get("SchemaVersion") != "2018-10-08":
        problems.append("SchemaVersion")
    if f.get("ProductArn") != f"arn:aws:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default":
        problems.append("ProductArn")
    if f.get("AwsAccountId") != ACCOUNT:
        problems.append("AwsAccountId")
    if (f.get("Severity") or {}).get("Label") not in LABELS:
        problems.append("Severity.Label")
    for t in f.get("Types", []):
        parts = t.split("/")
        if not 2 <= len(parts) <= 3 or parts[0] not in NAMESPACES:
            problems.append(f"Types {t}")
    if len(f.get("Title", "")) > 256 or len(f.get("Description", "")) > 1024:
        problems.append("Title/Description length")
    for r in f.get("Resources", []):
        if r.get("Type") not in RESOURCE_TYPES or not r.get("Id"):
            problems.append(f"Resource {r}")
        if r.get("Type", "").startswith("AwsRds") and not re.fullmatch(
            r"arn:aws:rds:[a-z0-9-]+:\d{12}:(db|cluster):.+", r["Id"]
        ):
            problems.append(f"Resource ARN {r['Id']}")
    return problems


class StrictHub:
    """Refusals Security Hub makes and moto does not: see the module docstring. `enabled` follows moto's own state
    (EnableSecurityHub in the test), read from its backend in this process, not by an API call."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.refused: list[tuple[str, list[str]]] = []

    def enabled(self) -> bool:
        from moto.backends import get_backend

        return bool(get_backend("securityhub")[ACCOUNT][self.region].enabled)

    def check(self, params: dict[str, Any], **_: Any) -> None:
        if not self.enabled():
            raise _refuse(
                "InvalidAccessException",
                f"Account {ACCOUNT} is not subscribed to AWS Security Hub",
                "BatchImportFindings",
                401,
            )
        kept = []
        for f in params["Findings"]:
            problems = asff_problems(f, self.region)
            if problems:
                self.refused.append((f.get("Id", ""), problems))
            else:
                kept.append(f)
        if len(kept) != len(params["Findings"]):
            # Only well-formed findings reach moto; the refused ones come back in FailedFindings (after-call).
            params["Findings"] = kept

    def answer(self, parsed: dict[str, Any], **_: Any) -> None:
        for fid, problems in self.refused:
            parsed.setdefault("FailedFindings", []).append(
                {"Id": fid, "ErrorCode": "InvalidInput", "ErrorMessage": "; ".join(problems)}
            )
            parsed["FailedCount"] = parsed.get("FailedCount", 0) + 1
        self.refused = []


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in the queue now (moto delivered them within the calls), deleted as read."""
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
