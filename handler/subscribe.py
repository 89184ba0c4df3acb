"""Subscribe the audit log group of a newly created cluster or instance to the forwarder.

Triggered by CloudTrail's `CreateLogGroup` (EventBridge "AWS API Call via CloudTrail"), which fires when RDS first
publishes a cluster's or instance's audit log. Only `/aws/rds/{cluster,instance}/<name>/audit` groups are touched.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handler.runtime import Runtime

AUDIT_GROUP = re.compile(r"/aws/rds/(cluster|instance)/[^/]+/audit")
FILTER_NAME = "rdsaudit"
SCAN_RESOURCE = "rdsaudit-subscribe-existing"


def log_group_from_event(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    detail = event.get("detail")
    if isinstance(detail, dict):
        params = detail.get("requestParameters") or {}
        name = params.get("logGroupName") if isinstance(params, dict) else None
    else:
        name = event.get("logGroupName")
    return name if isinstance(name, str) else None


def subscribe(logs: Any, log_group: str, destination_arn: str, role_arn: str = "") -> str:
    """'subscribed', 'already subscribed', or 'ignored' (not an RDS audit log group). `role_arn`: the role CloudWatch
    Logs assumes to send to a destination of another account (required when the destination admits an
    organisation: "Step 2: (Only if using an organization) Create an IAM role", CloudWatch Logs User Guide)."""
    if not AUDIT_GROUP.fullmatch(log_group):
        return "ignored"
    existing = logs.describe_subscription_filters(logGroupName=log_group).get("subscriptionFilters", [])
    if any(f.get("destinationArn") == destination_arn for f in existing):
        return "already subscribed"
    extra = {"roleArn": role_arn} if role_arn else {}
    logs.put_subscription_filter(
        logGroupName=log_group, filterName=FILTER_NAME, filterPattern="", destinationArn=destination_arn, **extra
    )
    return "subscribed"


def audit_groups(logs: Any) -> list[str]:
    """Every RDS audit log group of the account and region (`/aws/rds/` groups, paged)."""
    groups: list[str] = []
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/rds/"):
        groups += [g["logGroupName"] for g in page.get("logGroups", []) if AUDIT_GROUP.fullmatch(g["logGroupName"])]
    return groups


def subscribe_from_event(event: Any, runtime: Runtime) -> dict[str, Any]:
    """The auto-subscription job: the log group named by the event subscribed to RDSAUDIT_DESTINATION_ARN (a member
    account sending to the central destination) or else RDSAUDIT_FORWARDER_ARN. `{"scan": true}` (the member
    stack's deploy, as a CloudFormation custom resource event) subscribes every audit log group that exists
    already."""
    from handler.errors import ConfigError

    settings = runtime.settings
    target = settings.destination_arn or settings.forwarder_arn
    request = event.get("RequestType") if isinstance(event, dict) else None
    if request == "Delete":  # the member stack going: its subscriptions stay until the groups are unsubscribed
        return {"PhysicalResourceId": SCAN_RESOURCE}
    if request is not None or (isinstance(event, dict) and event.get("scan") is True):
        if not target:
            raise ConfigError("RDSAUDIT_DESTINATION_ARN or RDSAUDIT_FORWARDER_ARN is required")
        logs = runtime.aws("logs")
        results: dict[str, int] = {}
        for group in audit_groups(logs):
            result = subscribe(logs, group, target, settings.destination_role_arn)
            results[result] = results.get(result, 0) + 1
        # CloudFormation's custom resource (the member stack's deploy) reads PhysicalResourceId and Data
        return {"result": "scanned", **results, "PhysicalResourceId": SCAN_RESOURCE, "Data": {"Scanned": str(results)}}
    name = log_group_from_event(event)
    if name is None:
        return {"result": "ignored", "reason": "no log group in the event"}
    if not target:
        raise ConfigError(
            "RDSAUDIT_DESTINATION_ARN or RDSAUDIT_FORWARDER_ARN is required: where new audit log groups are subscribed"
        )
    return {"log_group": name, "result": subscribe(runtime.aws("logs"), name, target, settings.destination_role_arn)}
