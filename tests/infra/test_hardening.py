"""Template assertions for the security review's findings (issue 15), on the full-context synth and the variants
that change them. The IAM contract test (test_iam_contract.py) proves the same grants against the code's calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.infra.conftest import cfn_lint, synth
from tests.infra.test_iam_contract import FULL

ADMIN = FULL["rdsaudit:adminRoleArn"]


def resources(t: Template, kind: str) -> dict[str, Any]:
    return dict(t.find_resources(kind))


def statements(t: Template) -> list[tuple[str, dict[str, Any]]]:
    """(policy logical id, statement) of every identity policy."""
    return [
        (lid, s)
        for lid, p in resources(t, "AWS::IAM::Policy").items()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def role_of(t: Template, handler: str) -> str:
    [fn] = [f for f in resources(t, "AWS::Lambda::Function").values() if f["Properties"].get("Handler") == handler]
    return str(fn["Properties"]["Role"]["Fn::GetAtt"][0])


def role_statements(t: Template, role: str) -> list[dict[str, Any]]:
    return [
        s
        for p in resources(t, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return Template.from_stack(synth(tmp_path_factory.mktemp("full"), **FULL)[1])


@pytest.fixture(scope="module")
def created_archive(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The exporter with an archive bucket of its own (no rdsaudit:archiveBucket)."""
    context = {**FULL, "rdsaudit:archiveBucket": ""}
    return Template.from_stack(synth(tmp_path_factory.mktemp("archive"), **context)[1])


def listbucket(t: Template, role: str) -> list[dict[str, Any]]:
    return [s for s in role_statements(t, role) if s["Action"] == "s3:ListBucket"]


def test_checkpoint_and_state_reads_may_list_only_their_prefix(full: Template, created_archive: Template) -> None:
    [dead_letters] = [k for k in resources(full, "AWS::S3::Bucket") if k.startswith("ForwarderDeadLetters")]
    backfill = listbucket(full, role_of(full, "handler.app.backfill_handler"))
    assert {
        "Action": "s3:ListBucket",
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [dead_letters, "Arn"]},
        "Condition": {"StringLike": {"s3:prefix": ["backfill-checkpoints/*"]}},
    } in backfill
    for t in (full, created_archive):
        [exporter] = listbucket(t, role_of(t, "handler.app.export_handler"))
        assert exporter["Condition"] == {"StringLike": {"s3:prefix": ["state/*"]}}
    assert "audit-archive" in json.dumps(listbucket(full, role_of(full, "handler.app.export_handler")))


def test_every_function_and_the_state_machine_log_with_the_retention_parameter(full: Template) -> None:
    groups = resources(full, "AWS::Logs::LogGroup")
    assert groups and all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    assert all(g["DeletionPolicy"] == "Retain" for g in groups.values())
    functions = resources(full, "AWS::Lambda::Function")
    for lid, fn in functions.items():
        target = fn["Properties"].get("LoggingConfig", {}).get("LogGroup")
        assert target == {"Ref": target["Ref"]} and target["Ref"] in groups, lid  # a group of this stack
    [machine] = resources(full, "AWS::StepFunctions::StateMachine").values()
    [destination] = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0] in groups
    parameter = full.to_json()["Parameters"]["LogRetentionDays"]
    assert parameter["Type"] == "Number" and "3653" in parameter["AllowedValues"]


def test_alarms_on_dropped_and_undelivered_events_and_failed_backfills(full: Template) -> None:
    forwarder = next(
        k
        for k, f in resources(full, "AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "handler.app.lambda_handler"
    )
    for metric in ("AsyncEventsDropped", "DestinationDeliveryFailures"):
        full.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": forwarder}}],
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "AlarmActions": Match.any_value(),
            },
        )
    [machine] = resources(full, "AWS::StepFunctions::StateMachine")
    full.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/States",
            "MetricName": "ExecutionsFailed",
            "Dimensions": [{"Name": "StateMachineArn", "Value": {"Ref": machine}}],
            "AlarmActions": Match.any_value(),
        },
    )


def test_every_service_principal_in_a_key_policy_is_held_to_this_account(full: Template) -> None:
    found = 0
    for key in resources(full, "AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True
        for st in key["Properties"]["KeyPolicy"]["Statement"]:
            if "Service" in st.get("Principal", {}):
                found += 1
                condition = st.get("Condition", {})
                assert condition.get("StringEquals", {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"}, st
                assert "aws:SourceArn" in condition.get("ArnLike", {}), st
    assert found  # cloudwatch.amazonaws.com on the alarm topic's key


def test_data_at_rest_under_the_stacks_own_key(full: Template, created_archive: Template) -> None:
    [data_key] = [k for k in resources(full, "AWS::KMS::Key") if k.startswith("DataKey")]
    key_arn = {"Fn::GetAtt": [data_key, "Arn"]}
    for t in (full, created_archive):
        for lid, bucket in resources(t, "AWS::S3::Bucket").items():
            if lid.startswith(("ForwarderDeadLetters", "ExporterArchive")):
                [rule] = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
                assert rule["BucketKeyEnabled"] is True
        for queue in resources(t, "AWS::SQS::Queue").values():
            assert queue["Properties"]["KmsMasterKeyId"] == key_arn
    assert any(k.startswith("ExporterArchive") for k in resources(created_archive, "AWS::S3::Bucket"))
    full.has_resource_properties(
        "AWS::OpenSearchService::Domain", {"EncryptionAtRestOptions": {"Enabled": True, "KmsKeyId": Match.any_value()}}
    )


def test_bring_your_own_key(tmp_path: Path) -> None:
    own = "arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444"
    t = Template.from_stack(synth(tmp_path, **{**FULL, "rdsaudit:kmsKeyArn": own})[1])
    assert not [k for k in resources(t, "AWS::KMS::Key") if k.startswith("DataKey")]
    for queue in resources(t, "AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == own
    [domain] = resources(t, "AWS::OpenSearchService::Domain").values()
    assert domain["Properties"]["EncryptionAtRestOptions"]["KmsKeyId"] == own.rsplit("/", 1)[1]  # the key id


def test_domain_audit_and_slow_logs(full: Template) -> None:
    [domain] = resources(full, "AWS::OpenSearchService::Domain").values()
    options = domain["Properties"]["LogPublishingOptions"]
    for kind in ("AUDIT_LOGS", "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS"):
        assert options[kind]["Enabled"] is True, kind


def test_the_admins_role_is_the_master_and_setup_gets_only_its_paths(full: Template, tmp_path: Path) -> None:
    [domain] = resources(full, "AWS::OpenSearchService::Domain").values()
    master = domain["Properties"]["AdvancedSecurityOptions"]["MasterUserOptions"]
    assert master == {"MasterUserARN": ADMIN}
    full.resource_count_is("Custom::RdsAuditSetup", 0)  # nothing in the stack may map roles on the new domain
    setup = role_statements(full, role_of(full, "handler.app.setup_handler"))
    es = {s["Action"]: json.dumps(s["Resource"]) for s in setup if str(s["Action"]).startswith("es:")}
    assert set(es) == {"es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut"}
    # moving what an older release's audit policy took: exactly these paths (handler/setup/ism_move.py)
    [post] = [s for s in setup if s["Action"] == "es:ESHttpPost"]
    assert [p["Fn::Join"][1][-1] for p in post["Resource"]] == [
        "-findings-state",
        "-findings-2*",
    ], post["Resource"]
    assert [p["Fn::Join"][1][-3].split("/", 1)[1] for p in post["Resource"]] == [
        "_plugins/_ism/remove/",
        "_plugins/_ism/change_policy/",
    ], post["Resource"]
    for action, tail in (
        ("es:ESHttpGet", "-findings-state/_settings/index.blocks.write"),
        ("es:ESHttpGet", "-findings-2*/_settings/index.blocks.write"),
        ("es:ESHttpGet", "-findings-*"),
        ("es:ESHttpPut", "-findings-state/_settings"),
    ):
        assert json.dumps(tail) in es[action], (action, tail)
    assert "/_plugins/_ism/explain/" in es["es:ESHttpGet"]
    assert "_plugins/_security/api/rolesmapping/rdsaudit_*" in es["es:ESHttpPut"]
    for action in ("es:ESHttpGet", "es:ESHttpPut"):  # the audit policy and the findings' own
        assert "-retention" in es[action] and "-findings-retention" in es[action], action
    [invoke] = [o for k, o in full.to_json()["Outputs"].items() if "InvokeOnce" in k]
    parts = invoke["Value"]["Fn::Join"][1]  # the payload the admins invoke setup with carries both retentions
    assert parts[parts.index('","FindingsRetentionDays":"') + 1] == {"Ref": "FindingsRetentionDays"}
    assert '/*"' not in es["es:ESHttpGet"] + es["es:ESHttpPut"]  # no path wildcard over the domain
    # without an admin role, setup stays the master of a created domain and runs at deploy
    plain = Template.from_stack(synth(tmp_path)[1])
    plain.resource_count_is("Custom::RdsAuditSetup", 1)


def test_writers_only_bulk_and_their_template(full: Template) -> None:
    allowed = ("/_bulk", "/_index_template/", '"/"]]}', '-*/_refresh"')  # GET /: which engine answers
    setup_role = role_of(full, "handler.app.setup_handler")
    # the detect role reads as well: test_the_detect_role_reads_through_a_point_in_time_and_writes_only_bulk
    detect = role_statements(full, role_of(full, "handler.app.detect_handler"))
    # setup's own statements (its POSTs move ISM-managed indices): test_the_admins_role_is_the_master_and_setup_...
    setup = role_statements(full, setup_role)
    for policy, st in statements(full):
        if not str(st["Action"]).startswith("es:ESHttp") or setup_role in policy or st in detect or st in setup:
            continue  # (es:UpdateDomainConfig is aws-cdk-lib's custom resource setting the access policy)
        assert st["Action"] in ("es:ESHttpPost", "es:ESHttpGet", "es:ESHttpPut"), (policy, st)
        text = json.dumps(st["Resource"])
        assert any(p in text for p in allowed) and '"/*"' not in text, (policy, st)
        if st["Action"] == "es:ESHttpPost" and '_refresh"' in text:
            # only the operator's replay refreshes what it wrote, and only its own family's daily indices
            assert policy.startswith("OperatorsReplayRoleDefaultPolicy") and text.endswith('"-*/_refresh"]]}'), (
                policy,
                st,
            )
        elif st["Action"] == "es:ESHttpPost":
            assert text.endswith('"/_bulk"]]}'), (policy, st)


def test_the_detect_role_reads_through_a_point_in_time_and_writes_only_bulk(full: Template) -> None:
    paths = set()
    for st in role_statements(full, role_of(full, "handler.app.detect_handler")):
        if str(st["Action"]).startswith("es:ESHttp"):
            for resource in st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]:
                paths.add((st["Action"], json.dumps(resource).split("/", 1)[-1].rstrip(']}"')))
    assert paths == {
        ("es:ESHttpGet", ""),
        ("es:ESHttpPost", '", {"Ref": "IndexPrefix"}, "-*/_search/point_in_time'),
        ("es:ESHttpPost", "_search"),
        ("es:ESHttpPost", "_bulk"),
        ("es:ESHttpDelete", "_search/point_in_time"),
        # the job's findings template, its state document and the period's findings
        ("es:ESHttpPost", '", {"Ref": "IndexPrefix"}, "-findings-*/_search'),
        ("es:ESHttpGet", '_index_template/", {"Ref": "IndexPrefix"}, "-findings'),  # the one template check
        ("es:ESHttpPut", '_index_template/", {"Ref": "IndexPrefix"}, "-findings'),
        ("es:ESHttpGet", '", {"Ref": "IndexPrefix"}, "-findings-state/_doc/detect'),
        ("es:ESHttpPut", '", {"Ref": "IndexPrefix"}, "-findings-state/_doc/detect'),
        # the notifier's lease (handler/detect/notify/lease.py)
        ("es:ESHttpGet", '", {"Ref": "IndexPrefix"}, "-findings-state/_doc/notify'),
        ("es:ESHttpPut", '", {"Ref": "IndexPrefix"}, "-findings-state/_doc/notify'),
    }, paths


def test_the_replay_role_is_assumed_by_the_admins_only(full: Template) -> None:
    [role] = [r for k, r in resources(full, "AWS::IAM::Role").items() if k.startswith("OperatorsReplayRole")]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": ADMIN}


def test_no_sdk_download_at_deploy(full: Template) -> None:
    text = json.dumps(full.to_json())
    assert '"InstallLatestAwsSdk": true' not in text


@pytest.mark.parametrize("variant", ["full", "created-archive"])
def test_cfn_lint_on_the_full_context(tmp_path: Path, variant: str) -> None:
    context = {**FULL, "rdsaudit:archiveBucket": ""} if variant == "created-archive" else FULL
    synth(tmp_path, **context)
    assert cfn_lint(tmp_path / "RdsAudit.template.json") == []


def test_alarm_on_activity_records_given_up(full: Template) -> None:
    """The stream mapping's on-failure queue holds only pointers to records that expire with the stream."""
    [queue] = [k for k in resources(full, "AWS::SQS::Queue") if k.startswith("ActivityStreamsOnFailure")]
    full.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
            "AlarmActions": Match.any_value(),
        },
    )
