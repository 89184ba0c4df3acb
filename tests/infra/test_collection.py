"""Organisation-wide collection: the central stack with `rdsaudit:collectFrom` (streams, the role CloudWatch Logs
puts records with, the collector's mappings), a destination stack per collecting region, and the member stack
(`rdsaudit:sendTo`). cdk-nag runs in every synth here (an unacknowledged finding raises); cfn-lint on every
template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import cfn_lint, synth

CENTRAL = {"rdsaudit:region": "eu-central-1", "rdsaudit:collectRegions": "eu-central-1,eu-west-1"}
ORG = {**CENTRAL, "rdsaudit:collectFrom": "o-a1b2c3d4e5"}
ACCOUNTS = {**CENTRAL, "rdsaudit:collectFrom": "111111111111,222222222222", "rdsaudit:collectShards": 4}
MEMBER = {"rdsaudit:sendTo": "arn:aws:logs:*:999999999999:destination:rdsaudit"}


def templates(out: Path) -> dict[str, dict[str, Any]]:
    return {p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in out.glob("*.template.json")}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("org")
    synth(out, **ORG)
    return templates(out)


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("accounts")
    synth(out, **ACCOUNTS)
    return templates(out)


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("member")
    synth(out, **MEMBER)
    return templates(out)


def test_the_member_stack_for_stacksets(tmp_path: Path) -> None:
    """Accounts a StackSet deploys to were never bootstrapped: with rdsaudit:assetBucket, no bootstrap version
    parameter or rule, and every function's code from that bucket in the stack's region."""
    synth(tmp_path, **MEMBER, **{"rdsaudit:assetBucket": "rdsaudit-assets-${AWS::Region}"})
    t = templates(tmp_path)["RdsAuditMember"]
    assert "BootstrapVersion" not in t.get("Parameters", {}) and "CheckBootstrapVersion" not in t.get("Rules", {})
    codes = [f["Properties"]["Code"] for f in of_type(t, "AWS::Lambda::Function").values()]
    assert codes and all(c["S3Bucket"] == {"Fn::Sub": "rdsaudit-assets-${AWS::Region}"} for c in codes), codes
    assert "cdk-hnb659fds" not in json.dumps(t)


def test_the_member_stack_without_asset_bucket_needs_bootstrap(member: dict[str, dict[str, Any]]) -> None:
    """The default stays CDK's: a bootstrapped account, its assets bucket (what the README's StackSets step avoids)."""
    assert "BootstrapVersion" in member["RdsAuditMember"]["Parameters"]


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def policy_statements(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    return [
        s
        for p in of_type(template, "AWS::IAM::Policy").values()
        if any(r["Ref"].startswith(role_prefix) for r in p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_one_destination_stack_per_collecting_region(org: dict[str, dict[str, Any]]) -> None:
    assert set(org) == {"RdsAudit", "RdsAuditDestination-eu-central-1", "RdsAuditDestination-eu-west-1"}
    for region in ("eu-central-1", "eu-west-1"):
        [dest] = of_type(org[f"RdsAuditDestination-{region}"], "AWS::Logs::Destination").values()
        props = dest["Properties"]
        assert props["DestinationName"] == "rdsaudit"
        # the destination in its region points at that region's stream in the central region
        target = json.dumps(props["TargetArn"])
        assert ":kinesis:eu-central-1:" in target and f"stream/rdsaudit-collect-{region}" in target
        assert "role/rdsaudit-collect-logs-eu-central-1" in json.dumps(props["RoleArn"])
        policy = "".join(p if isinstance(p, str) else "<token>" for p in props["DestinationPolicy"]["Fn::Join"][1])
        assert '"Action":"logs:PutSubscriptionFilter"' in policy and '"Principal":"*"' in policy
        assert '"Condition":{"StringEquals":{"aws:PrincipalOrgID":["o-a1b2c3d4e5"]}}' in policy
        assert f":logs:{region}:<token>:destination:rdsaudit" in policy


def test_listed_accounts_are_the_destination_principals(accounts: dict[str, dict[str, Any]]) -> None:
    [dest] = of_type(accounts["RdsAuditDestination-eu-west-1"], "AWS::Logs::Destination").values()
    policy = "".join(p if isinstance(p, str) else "" for p in dest["Properties"]["DestinationPolicy"]["Fn::Join"][1])
    assert '"Principal":{"AWS":["111111111111","222222222222"]}' in policy and "PrincipalOrgID" not in policy


def test_streams_under_the_stack_key_on_demand_or_sized(
    org: dict[str, dict[str, Any]], accounts: dict[str, dict[str, Any]]
) -> None:
    for template, mode in ((org, {"StreamMode": "ON_DEMAND"}), (accounts, {"StreamMode": "PROVISIONED"})):
        streams = of_type(template["RdsAudit"], "AWS::Kinesis::Stream")
        assert sorted(s["Properties"]["Name"] for s in streams.values()) == [
            "rdsaudit-collect-eu-central-1",
            "rdsaudit-collect-eu-west-1",
        ]
        [key] = of_type(template["RdsAudit"], "AWS::KMS::Key").keys() - {
            k for k in of_type(template["RdsAudit"], "AWS::KMS::Key") if k.startswith("AlarmsTopicKey")
        }
        for s in streams.values():
            p = s["Properties"]
            assert p["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": {"Fn::GetAtt": [key, "Arn"]}}
            assert p["StreamModeDetails"] == mode and p["RetentionPeriodHours"] == 168
            assert p.get("ShardCount") == (4 if mode["StreamMode"] == "PROVISIONED" else None)


def test_the_role_cloudwatch_logs_assumes(org: dict[str, dict[str, Any]], accounts: dict[str, dict[str, Any]]) -> None:
    for template, key, wanted in (
        (org, "StringEquals", ["o-a1b2c3d4e5"]),
        # the senders' log groups, and the receiver's own (the destination's test message)
        (accounts, "StringLike", [":logs:*:111111111111:*", ":logs:*:222222222222:*", '{"Ref": "AWS::AccountId"}']),
    ):
        [role] = [
            r
            for r in of_type(template["RdsAudit"], "AWS::IAM::Role").values()
            if r["Properties"].get("RoleName") == "rdsaudit-collect-logs-eu-central-1"
        ]
        [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "logs.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
        assert list(trust["Condition"]) == [key]
        condition = json.dumps(trust["Condition"])
        assert all(w in condition for w in wanted)
        statements = policy_statements(template["RdsAudit"], "CollectionLogsRole")
        assert sorted(s["Action"] for s in statements) == ["kinesis:PutRecord", "kms:GenerateDataKey"]
        [put] = [s for s in statements if s["Action"] == "kinesis:PutRecord"]
        assert len(put["Resource"]) == 2
    rules = org["RdsAudit"].get("Rules", {})
    assert any("eu-central-1" in json.dumps(r) for r in rules.values())


def test_the_collector_mappings(org: dict[str, dict[str, Any]]) -> None:
    central = org["RdsAudit"]
    [(fn_id, fn)] = [
        (k, v)
        for k, v in of_type(central, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "handler.app.kinesis_handler"
    ]
    [queue] = [k for k in of_type(central, "AWS::SQS::Queue") if k.startswith("CollectionOnFailure")]
    mappings = of_type(central, "AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 2
    for m in mappings:
        p = m["Properties"]
        assert p["FunctionName"] == {"Ref": fn_id}
        assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert p["BisectBatchOnFunctionError"] is True and p["StartingPosition"] == "TRIM_HORIZON"
        assert p["MaximumRetryAttempts"] == 100 and p["MaximumRecordAgeInSeconds"] == 7 * 24 * 3600
        assert p["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}}
    # the collector writes like the forwarder: mapped to rdsaudit_writer by setup
    [setup] = of_type(central, "Custom::RdsAuditSetup").values()
    assert fn["Properties"]["Role"]["Fn::GetAtt"][0] in json.dumps(setup["Properties"]["RoleArns"])
    alarms = {a["Properties"].get("MetricName") for a in of_type(central, "AWS::CloudWatch::Alarm").values()}
    assert {"IteratorAge", "CollectedDeadLetteredRecords", "CollectedDeadLetteredDocuments"} <= alarms


def test_the_member_stack(member: dict[str, dict[str, Any]]) -> None:
    assert set(member) == {"RdsAuditMember"}
    t = member["RdsAuditMember"]
    destination = {"Fn::Join": [":", ["arn:aws:logs", {"Ref": "AWS::Region"}, "999999999999:destination:rdsaudit"]]}
    [(role_id, role)] = [(k, v) for k, v in of_type(t, "AWS::IAM::Role").items() if k.startswith("SubscriptionRole")]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "logs.amazonaws.com"}
    assert "aws:SourceArn" in trust["Condition"]["StringLike"]
    [put] = policy_statements(t, "SubscriptionRole")
    assert put["Action"] == "logs:PutLogEvents" and "log-group:/aws/rds/*" in json.dumps(put["Resource"])
    [fn] = [
        f
        for f in of_type(t, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"].endswith("subscribe_handler")
    ]
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["RDSAUDIT_DESTINATION_ARN"] == destination
    assert env["RDSAUDIT_DESTINATION_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}
    grants = policy_statements(t, fn["Properties"]["Role"]["Fn::GetAtt"][0])
    by_action: dict[str, list[Any]] = {}
    for s in grants:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action.setdefault(action, []).append(s)
    assert set(by_action) == {
        "logs:PutSubscriptionFilter",
        "logs:DescribeSubscriptionFilters",
        "logs:DescribeLogGroups",
        "iam:PassRole",
    }
    assert destination in [s["Resource"] for s in by_action["logs:PutSubscriptionFilter"]]
    [pass_role] = by_action["iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "logs.amazonaws.com"}}
    # existing groups at deploy, new ones from CloudTrail's CreateLogGroup
    assert len(of_type(t, "Custom::RdsAuditSubscribeExisting")) == 1
    [rule] = of_type(t, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail"]["eventName"] == ["CreateLogGroup"]
    assert not of_type(t, "AWS::OpenSearchService::Domain") and not of_type(t, "AWS::Kinesis::Stream")


@pytest.mark.parametrize(
    "context",
    [
        {**CENTRAL, "rdsaudit:collectFrom": "o-a1b2c3d4e5,111111111111"},
        {**CENTRAL, "rdsaudit:collectFrom": "12345"},
        {**CENTRAL, "rdsaudit:collectFrom": "o-a1b2c3d4e5", "rdsaudit:collectRegions": "Europe"},
        {"rdsaudit:collectFrom": "o-a1b2c3d4e5", "rdsaudit:region": ""},
        {"rdsaudit:sendTo": "arn:aws:kinesis:eu-west-1:999999999999:stream/rdsaudit"},
    ],
)
def test_wrong_collection_context_is_refused(tmp_path: Path, context: dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    with pytest.raises(ValueError, match="rdsaudit:"):
        synth(tmp_path, **context)


@pytest.mark.parametrize("variant", ["org", "member"])
def test_cfn_lint(tmp_path: Path, variant: str) -> None:
    synth(tmp_path, **(ORG if variant == "org" else MEMBER))
    paths = sorted(tmp_path.glob("*.template.json"))
    assert len(paths) >= 2 if variant == "org" else len(paths) == 1, paths  # every stack's template is linted
    assert cfn_lint(*paths) == []
