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


# A member account sending to the central account's destination (rdsaudit:sendTo). moto's PutSubscriptionFilter
# models Lambda, Firehose and Kinesis targets only (a destination ARN is looked up as something else and refused),
# so botocore's Stubber holds these calls to the documented requests instead: PutSubscriptionFilter with the
# destination's ARN and the role CloudWatch Logs assumes ("Step 4: Create a subscription filter", CloudWatch Logs
# User Guide), DescribeLogGroups paged by logGroupNamePrefix (CloudWatch Logs API Reference).
CENTRAL_DESTINATION = "arn:aws:logs:us-east-1:999999999999:destination:rdsaudit"
SUBSCRIPTION_ROLE = "arn:aws:iam::123456789012:role/rdsaudit-subscription-us-east-1"


@pytest.fixture
def member_logs(aws: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from botocore.stub import Stubber

    monkeypatch.delenv("RDSAUDIT_FORWARDER_ARN", raising=False)
    monkeypatch.setenv("RDSAUDIT_DESTINATION_ARN", CENTRAL_DESTINATION)
    monkeypatch.setenv("RDSAUDIT_DESTINATION_ROLE_ARN", SUBSCRIPTION_ROLE)
    app.reset_runtime()
    with Stubber(app.get_runtime().aws("logs")) as stub:
        yield stub
        stub.assert_no_pending_responses()
    app.reset_runtime()


def expect_subscription(stub: Any, group: str, existing: list[dict[str, Any]] | None = None) -> None:
    stub.add_response("describe_subscription_filters", {"subscriptionFilters": existing or []}, {"logGroupName": group})
    if existing is None:
        wanted = {"filterName": "rdsaudit", "filterPattern": "", "destinationArn": CENTRAL_DESTINATION}
        stub.add_response(
            "put_subscription_filter", {}, {"logGroupName": group, **wanted, "roleArn": SUBSCRIPTION_ROLE}
        )


def test_member_subscribes_existing_audit_groups_at_deploy(member_logs: Any) -> None:
    groups = ["/aws/rds/cluster/prod/audit", "/aws/rds/cluster/prod/error", "/aws/rds/instance/legacy/audit"]
    member_logs.add_response(
        "describe_log_groups", {"logGroups": [{"logGroupName": g} for g in groups]}, {"logGroupNamePrefix": "/aws/rds/"}
    )
    expect_subscription(member_logs, groups[0])
    expect_subscription(member_logs, groups[2], [{"filterName": "rdsaudit", "destinationArn": CENTRAL_DESTINATION}])
    with recording("member"):
        answer = app.subscribe_handler({"RequestType": "Create", "ResourceProperties": {}}, None)
    assert (answer["subscribed"], answer["already subscribed"]) == (1, 1)
    assert answer["PhysicalResourceId"] == "rdsaudit-subscribe-existing"
    assert app.subscribe_handler({"RequestType": "Delete", "PhysicalResourceId": "x"}, None) == {
        "PhysicalResourceId": "rdsaudit-subscribe-existing"
    }


def test_member_subscribes_a_new_audit_group_to_the_destination(member_logs: Any) -> None:
    group = "/aws/rds/instance/new-mysql/audit"
    expect_subscription(member_logs, group)
    with recording("member"):
        assert app.subscribe_handler(cloudtrail_create_log_group(group), None)["result"] == "subscribed"
