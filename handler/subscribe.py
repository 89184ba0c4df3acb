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


def subscribe(logs: Any, log_group: str, destination_arn: str) -> str:
    """'subscribed', 'already subscribed', or 'ignored' (not an RDS audit log group)."""
    if not AUDIT_GROUP.fullmatch(log_group):
        return "ignored"
    existing = logs.describe_subscription_filters(logGroupName=log_group).get("subscriptionFilters", [])
    if any(f.get("destinationArn") == destination_arn for f in existing):
        return "already subscribed"
    logs.put_subscription_filter(
        logGroupName=log_group, filterName=FILTER_NAME, filterPattern="", destinationArn=destination_arn
    )
    return "subscribed"


def subscribe_from_event(event: Any, runtime: Runtime) -> dict[str, Any]:
    """The auto-subscription job: the log group named by the event, subscribed to RDSAUDIT_FORWARDER_ARN."""
    from handler.errors import ConfigError

    group = log_group_from_event(event)
    if group is None:
        return {"result": "ignored", "reason": "no log group in the event"}
    if not runtime.settings.forwarder_arn:
        raise ConfigError("RDSAUDIT_FORWARDER_ARN is required: the forwarder to subscribe new audit log groups to")
    return {"log_group": group, "result": subscribe(runtime.aws("logs"), group, runtime.settings.forwarder_arn)}
