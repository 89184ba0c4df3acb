"""The detect function and its schedule in the synthesized stack: what it runs, when, with which settings, and
that its role and the schedule's role hold exactly what they need (the IAM contract test checks the detect role
against the calls the notification tests record)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import cfn_lint, synth

OVERRIDES = {"brute-force": {"parameters": {"threshold": 20}}}


def detect_function(template: Any) -> tuple[str, dict[str, Any]]:
    [(lid, fn)] = [
        (k, v)
        for k, v in template.find_resources("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "handler.app.detect_handler"
    ]
    return lid, fn


def role_actions(template: Any, role_lid: str) -> dict[str, Any]:
    """Action → resources of every inline policy attached to the role."""
    out: dict[str, Any] = {}
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_lid} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                out.setdefault(action, []).append(statement["Resource"])
    return out


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    out = tmp_path_factory.mktemp("detect")
    _, stack = synth(
        out,
        **{
            "rdsaudit:detectSchedule": "15",
            "rdsaudit:detectSecurityHub": "true",
            "rdsaudit:detectRenotifySeconds": 3600,
            "rdsaudit:detectCatchUpSeconds": 7200,
            "rdsaudit:detections": OVERRIDES,
        },
    )
    return Template.from_stack(stack), out / "RdsAudit.template.json"


def test_default_schedule_every_five_minutes_with_its_scheduled_time(template: Any) -> None:
    lid, fn = detect_function(template)
    [schedule] = template.find_resources("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(5 minutes)" and props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [lid, "Arn"]}
    assert json.loads(props["Target"]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["RDSAUDIT_DETECT_SECURITY_HUB"] == "false" and env["RDSAUDIT_DETECT_EVENT_BUS"] == "default"
    assert env["RDSAUDIT_DETECT_RENOTIFY_SECONDS"] == "21600" and "RDSAUDIT_DETECTIONS" not in env
    assert env["RDSAUDIT_DETECT_CATCH_UP_SECONDS"] == "86400"
    assert env["RDSAUDIT_DETECT_TOPIC_ARN"]["Ref"].startswith("AlarmsTopic")
    assert env["RDSAUDIT_INDEX_PREFIX"] == {"Ref": "IndexPrefix"}
    assert fn["Properties"]["ReservedConcurrentExecutions"] == 1


def test_the_schedule_role_may_only_invoke_the_function(template: Any) -> None:
    lid, _ = detect_function(template)
    [schedule] = template.find_resources("AWS::Scheduler::Schedule").values()
    role = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = template.find_resources("AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
        }
    ]
    assert role_actions(template, role) == {"lambda:InvokeFunction": [{"Fn::GetAtt": [lid, "Arn"]}]}


def test_the_detect_role_without_security_hub(template: Any) -> None:
    _, fn = detect_function(template)
    actions = role_actions(template, fn["Properties"]["Role"]["Fn::GetAtt"][0])
    assert set(actions) == {
        "es:ESHttpGet",
        "es:ESHttpPost",
        "es:ESHttpPut",
        "es:ESHttpDelete",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "events:PutEvents",
    }
    [topic] = actions["sns:Publish"]
    assert topic["Ref"].startswith("AlarmsTopic")
    [key] = actions["kms:GenerateDataKey"]
    assert key["Fn::GetAtt"][0].startswith("AlarmsTopicKey")
    [bus] = actions["events:PutEvents"]
    assert "event-bus/default" in json.dumps(bus)


def test_overrides_schedule_and_security_hub_from_context(tuned: tuple[Template, Path]) -> None:
    template, _ = tuned
    _, fn = detect_function(template)
    env = fn["Properties"]["Environment"]["Variables"]
    assert json.loads(env["RDSAUDIT_DETECTIONS"]) == OVERRIDES
    assert env["RDSAUDIT_DETECT_SECURITY_HUB"] == "true" and env["RDSAUDIT_DETECT_RENOTIFY_SECONDS"] == "3600"
    assert env["RDSAUDIT_DETECT_CATCH_UP_SECONDS"] == "7200"
    [schedule] = template.find_resources("AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    actions = role_actions(template, fn["Properties"]["Role"]["Fn::GetAtt"][0])
    [product] = actions["securityhub:BatchImportFindings"]
    text = json.dumps(product)
    assert ":securityhub:" in text and text.count("AWS::AccountId") == 2 and "/default" in text


def test_cfn_lint_with_detect_options(tuned: tuple[Template, Path]) -> None:
    _, path = tuned
    assert cfn_lint(path) == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [("5", "rate(5 minutes)"), ("1", "rate(1 minute)"), ("cron(0/10 * * * ? *)", "cron(0/10 * * * ? *)")],
)
def test_schedule_expression(given: str, expected: str) -> None:
    from rdsaudit_cdk.detect import schedule_expression

    assert schedule_expression(given) == expected


@pytest.mark.parametrize("bad", ["0", "every 5 minutes", ""])
def test_schedule_expression_refuses(bad: str) -> None:
    from rdsaudit_cdk.detect import schedule_expression

    with pytest.raises(ValueError, match="detectSchedule"):
        schedule_expression(bad)


def test_detections_must_be_an_object() -> None:
    from rdsaudit_cdk.detect import detections_json

    assert detections_json('{"b": 1, "a": 2}') == '{"a":2,"b":1}' and detections_json("") == ""
    with pytest.raises(ValueError, match="JSON object"):
        detections_json("[1]")


def test_no_schedule_when_off(tmp_path: Path) -> None:
    _, stack = synth(tmp_path, **{"rdsaudit:detectSchedule": "off"})
    template = Template.from_stack(stack)
    assert template.find_resources("AWS::Scheduler::Schedule") == {}
    assert not [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "handler.app.detect_handler"
    ]


def test_alarms_on_a_failed_run_and_on_failed_notifications(template: Any) -> None:
    lid, fn = detect_function(template)
    [metric_filter] = [
        f["Properties"]
        for f in template.find_resources("AWS::Logs::MetricFilter").values()
        if f["Properties"]["MetricTransformations"][0]["MetricName"] == "DetectNotifyFailed"
    ]
    assert metric_filter["FilterPattern"] == '{ $.msg = "detect" && $.level = "ERROR" }'
    assert metric_filter["LogGroupName"] == {"Ref": fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]}
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()]
    notify = [a for a in alarms if a.get("MetricName") == "DetectNotifyFailed"]
    errors = [
        a
        for a in alarms
        if a.get("MetricName") == "Errors"
        and {"Name": "FunctionName", "Value": {"Ref": lid}} in a.get("Dimensions", [])
    ]
    assert len(notify) == 1 and len(errors) == 1
    for alarm in notify + errors:
        assert alarm["AlarmActions"][0]["Ref"].startswith("AlarmsTopic")
