"""Auto-subscription of new RDS audit log groups, against moto's server (CloudWatch Logs, Lambda, IAM)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import boto3
import pytest

from handler import app
from tests.integration.conftest import recording

pytestmark = pytest.mark.integration


def cloudtrail_create_log_group(name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.logs",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventSource": "logs.amazonaws.com",
            "eventName": "CreateLogGroup",
            "requestParameters": {"logGroupName": name},
        },
    }


@pytest.fixture
def forwarder_arn(aws: str, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"fwd-{uuid.uuid4().hex[:10]}"
    role = boto3.client("iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("h.py", "def f(e, c): pass")
    arn = boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="h.f",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    monkeypatch.setenv("RDSAUDIT_FORWARDER_ARN", arn)
    return arn


def test_new_audit_log_group_is_subscribed_once(forwarder_arn: str) -> None:
    logs = boto3.client("logs")
    group = f"/aws/rds/cluster/new-{forwarder_arn[-6:]}/audit"
    logs.create_log_group(logGroupName=group)
    with recording("subscribe"):
        assert app.subscribe_handler(cloudtrail_create_log_group(group), None)["result"] == "subscribed"
    [sub] = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert (sub["destinationArn"], sub["filterName"], sub["filterPattern"]) == (forwarder_arn, "rdsaudit", "")
    with recording("subscribe"):
        assert app.subscribe_handler(cloudtrail_create_log_group(group), None)["result"] == "already subscribed"


@pytest.mark.parametrize("group", ["/aws/rds/cluster/x/error", "/aws/rds/instance/x/slowquery", "/aws/lambda/x"])
def test_other_log_groups_are_left_alone(forwarder_arn: str, group: str) -> None:
    group = group.replace("/x", f"/x{uuid.uuid4().hex[:6]}")
    boto3.client("logs").create_log_group(logGroupName=group)
    assert app.subscribe_handler(cloudtrail_create_log_group(group), None)["result"] == "ignored"
    assert boto3.client("logs").describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
