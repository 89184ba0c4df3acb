"""One focused test per property that matters, on the synthesized template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.conftest import cfn_lint, synth


def resources(template: Any, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def forwarder(template: Any) -> tuple[str, dict[str, Any]]:
    [(lid, fn)] = [
        (k, v)
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "handler.app.lambda_handler"
    ]
    return lid, fn


def test_forwarder_runtime_architecture_and_parameters(template: Any) -> None:
    _, fn = forwarder(template)
    props = fn["Properties"]
    assert props["Runtime"] == "python3.14" and props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == {"Ref": "ForwarderMemory"} and props["Timeout"] == {"Ref": "ForwarderTimeout"}
    assert props["ReservedConcurrentExecutions"] == {"Ref": "ForwarderReservedConcurrency"}
    env = props["Environment"]["Variables"]
    assert env["OPENSEARCH_AUTH"] == "sigv4" and env["RDSAUDIT_INDEX_PREFIX"] == {"Ref": "IndexPrefix"}
    assert "RDSAUDIT_DEAD_LETTER" in env and "OPENSEARCH_URL" in env


def test_subscription_filters_on_the_audit_log_groups(template: Any) -> None:
    lid, _ = forwarder(template)
    subs = resources(template, "AWS::Logs::SubscriptionFilter")
    assert sorted(s["Properties"]["LogGroupName"] for s in subs.values()) == [
        "/aws/rds/cluster/prod-aurora/audit",
        "/aws/rds/instance/mysql-1/audit",
    ]
    for s in subs.values():
        assert s["Properties"]["DestinationArn"] == {"Fn::GetAtt": [lid, "Arn"]}
        assert s["Properties"]["FilterPattern"] == ""


def test_one_logs_permission_scoped_to_this_account(template: Any) -> None:
    perms = [
        p
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "logs.amazonaws.com"
    ]
    assert len(perms) == 1
    props = perms[0]["Properties"]
    assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "log-group:/aws/rds/*" in json.dumps(props["SourceArn"])


def test_subscriptions_depend_on_the_setup_resource(template: Any) -> None:
    [setup_id] = resources(template, "Custom::RdsAuditSetup")
    [permission_id] = [
        k
        for k, p in resources(template, "AWS::Lambda::Permission").items()
        if p["Properties"]["Principal"] == "logs.amazonaws.com"
    ]
    for sub in resources(template, "AWS::Logs::SubscriptionFilter").values():
        assert setup_id in sub["DependsOn"] and permission_id in sub["DependsOn"]
    [setup] = resources(template, "Custom::RdsAuditSetup").values()
    assert setup["Properties"]["RetentionDays"] == {"Ref": "RetentionDays"}
    # findings keep their own retention (an ISM policy of their own), 400 days unless the parameter says otherwise
    assert setup["Properties"]["FindingsRetentionDays"] == {"Ref": "FindingsRetentionDays"}
    parameter = template.to_json()["Parameters"]["FindingsRetentionDays"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 400, 1)
    # every function that writes is mapped to rdsaudit_writer: the forwarder and the backfill here
    mapped = json.dumps(setup["Properties"]["RoleArns"])
    assert "ForwarderFunctionServiceRole" in mapped and "BackfillFunctionServiceRole" in mapped
    # the detect job reads and writes findings: mapped to rdsaudit_reader and rdsaudit_detector, never the writer
    detector = json.dumps(setup["Properties"]["DetectorRoleArns"])
    assert detector.count("Fn::GetAtt") == 1 and "DetectFunctionServiceRole" in detector
    assert "DetectFunctionServiceRole" not in mapped


def test_on_failure_destination_and_retries(template: Any) -> None:
    [queue_id] = resources(template, "AWS::SQS::Queue")
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 21600,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )


def test_encryption_everywhere(template: Any) -> None:
    template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})
    for bucket in resources(template, "AWS::S3::Bucket").values():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["LifecycleConfiguration"]["Rules"]
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        assert "aws:SecureTransport" in json.dumps(policy)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "EncryptionAtRestOptions": {"Enabled": True},
            "NodeToNodeEncryptionOptions": {"Enabled": True},
            "DomainEndpointOptions": {"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
            "AdvancedSecurityOptions": Match.object_like({"Enabled": True}),
            "EBSOptions": Match.object_like({"VolumeType": "gp3"}),
        },
    )


def test_domain_access_policy_is_never_open(template: Any) -> None:
    def statements(o: Any) -> Any:
        if isinstance(o, dict):
            if "Effect" in o and "Action" in o:
                yield o
            for v in o.values():
                yield from statements(v)
        elif isinstance(o, list):
            for v in o:
                yield from statements(v)

    for st in statements(template.to_json()):
        if st["Effect"] == "Allow":
            assert st.get("Principal") not in ("*", {"AWS": "*"}), st
            assert "es:*" not in json.dumps(st["Action"]), st
    # the domain's resource policy names this stack's roles, nothing wider
    policies = [r for r in template.to_json()["Resources"].values() if "AccessPolicies" in json.dumps(r)]
    assert policies
    text = json.dumps(policies)
    assert "ForwarderFunctionServiceRole" in text and "SearchAdminRole" in text


def test_forwarder_iam_only_the_verbs_it_uses_on_that_domain(template: Any) -> None:
    _, fn = forwarder(template)
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    [policy] = [
        p for p in resources(template, "AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    es = {s["Action"]: s["Resource"] for s in statements if "es:" in s["Action"]}
    [domain_id] = resources(template, "AWS::OpenSearchService::Domain")
    arn = {"Fn::GetAtt": [domain_id, "Arn"]}
    template_path = {"Fn::Join": ["", [arn, "/_index_template/", {"Ref": "IndexPrefix"}]]}
    # _bulk, GET / (which engine answers) and the first-write check of its own index template: nothing else
    assert es == {
        "es:ESHttpPost": {"Fn::Join": ["", [arn, "/_bulk"]]},
        "es:ESHttpGet": [{"Fn::Join": ["", [arn, "/"]]}, template_path],
        "es:ESHttpPut": template_path,
    }


def test_failed_login_metric_filters_and_alarms(template: Any) -> None:
    filters = [
        f["Properties"]
        for f in resources(template, "AWS::Logs::MetricFilter").values()
        if f["Properties"]["FilterPattern"] == '"FAILED_CONNECT"'
    ]
    assert sorted(f["LogGroupName"] for f in filters) == [
        "/aws/rds/cluster/prod-aurora/audit",
        "/aws/rds/instance/mysql-1/audit",
    ]
    names = {f["MetricTransformations"][0]["MetricName"] for f in filters}
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") in names
    ]
    assert len(alarms) == 2
    for alarm in alarms:
        assert alarm["Threshold"] == {"Ref": "FailedLoginThreshold"}
        assert alarm["Period"] == {"Ref": "FailedLoginPeriodSeconds"}
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"]
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "dba@example.com"})


def test_operational_alarms(template: Any) -> None:
    metrics = {a["Properties"].get("MetricName") for a in resources(template, "AWS::CloudWatch::Alarm").values()}
    assert {
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
        "DeadLetteredDocuments",
        "DeadLetteredPayloads",
    } <= metrics
    patterns = {f["Properties"]["FilterPattern"] for f in resources(template, "AWS::Logs::MetricFilter").values()}
    assert "{ $.dead_lettered > 0 }" in patterns


def test_backfill_distributed_map_with_bounded_concurrency(template: Any) -> None:
    [sm] = resources(template, "AWS::StepFunctions::StateMachine").values()
    definition = json.dumps(sm["Properties"]["DefinitionString"])
    assert "DISTRIBUTED" in definition and "MaxConcurrency" in definition and "listObjectsV2" in definition
    template.has_resource_properties("AWS::Lambda::Function", {"Handler": "handler.app.backfill_handler"})


def test_imported_domain_variant(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    arn = "arn:aws:es:eu-west-1:123456789012:domain/audit"
    _, stack = synth(
        tmp_path, **{"rdsaudit:domainEndpoint": "search-audit.eu-west-1.es.amazonaws.com", "rdsaudit:domainArn": arn}
    )
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::OpenSearchService::Domain", 0)
    assert f'"{arn}/_bulk"' in json.dumps(t.to_json())


def test_cdk_nag_fails_an_insecure_resource(tmp_path: Path) -> None:
    """The check is live: an unacknowledged finding stops the synth."""
    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    application = App(outdir=str(tmp_path))
    s3.Bucket(Stack(application, "Bad"), "Open")
    Validations.of(application).add_plugins(AwsSolutionsChecks(application))
    with pytest.raises(Exception, match="ValidationFailed"):
        application.synth()


def test_cfn_lint_passes(tmp_path: Path) -> None:
    synth(tmp_path)
    assert cfn_lint(tmp_path / "RdsAudit.template.json") == []


def test_cfn_lint_finds_a_broken_template(tmp_path: Path) -> None:
    """The in-process linter is live: an error (a property the resource type does not have) and a warning (an unused
    parameter) are both findings, as they make the command exit non-zero; W3005 alone is ignored."""
    broken = {
        "Parameters": {"Unused": {"Type": "String"}},
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}}},
    }
    (tmp_path / "broken.template.json").write_text(json.dumps(broken))
    findings = cfn_lint(tmp_path / "broken.template.json")
    assert any("E3002" in f for f in findings) and any("W2001" in f for f in findings), findings


def test_activity_streams_consumer(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _, stack = synth(
        tmp_path,
        **{
            "rdsaudit:activityStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/aws-rds-das-cluster-ABC",
            "rdsaudit:activityKmsKeyArn": key,
            "rdsaudit:activityClusterId": "cluster-ABC",
        },
    )
    t = Template.from_stack(stack)
    t.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "StartingPosition": "TRIM_HORIZON",  # an audit trail starts at the oldest record kept
        },
    )
    decrypt = [
        s
        for p in resources(t, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Decrypt" and s["Resource"] == key
    ]
    assert decrypt == [
        {
            "Action": "kms:Decrypt",
            "Effect": "Allow",
            "Resource": key,
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:rds:dbc-id": "cluster-ABC"}},
        }
    ]
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.app.activity_kinesis_handler",
            "Environment": {"Variables": Match.object_like({"RDSAUDIT_DAS_CLUSTER_ID": "cluster-ABC"})},
        },
    )


def test_optional_vpc_for_the_domain_and_the_functions(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    _, stack = synth(
        tmp_path,
        **{
            "rdsaudit:vpcId": "vpc-0123456789abcdef0",
            "rdsaudit:vpcSubnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
            "rdsaudit:vpcAvailabilityZones": ["us-east-1a", "us-east-1b"],
        },
    )
    t = Template.from_stack(stack)
    t.has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "VPCOptions": {
                "SubnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
                "SecurityGroupIds": Match.any_value(),
            }
        },
    )
    fns = [
        f
        for f in resources(t, "AWS::Lambda::Function").values()
        if str(f["Properties"].get("Handler", "")).startswith("handler.app.")
    ]
    assert fns and all("VpcConfig" in f["Properties"] for f in fns)
    [ingress] = [r["Properties"] for r in resources(t, "AWS::EC2::SecurityGroupIngress").values()]
    assert (ingress["FromPort"], ingress["ToPort"], ingress["IpProtocol"]) == (443, 443, "tcp")
    assert "SourceSecurityGroupId" in ingress


def test_exporter_schedule_bucket_and_least_privilege(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    _, stack = synth(
        tmp_path, **{"rdsaudit:exportInstances": ["legacy-mysql", "mariadb-2"], "rdsaudit:archiveBucket": ""}
    )
    t = Template.from_stack(stack)
    t.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(15 minutes)"})
    t.has_resource_properties("AWS::Lambda::Function", {"Handler": "handler.app.export_handler"})
    statements = [
        s
        for p in resources(t, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "rds:" in json.dumps(s["Action"])
    ]
    [rds] = statements
    assert sorted(rds["Action"]) == [
        "rds:DescribeDBLogFiles",
        "rds:DownloadCompleteDBLogFile",
        "rds:DownloadDBLogFilePortion",
    ]
    text = json.dumps(rds["Resource"])
    assert ":db:legacy-mysql" in text and ":db:mariadb-2" in text and "*" not in text
    archive = [
        b
        for b in resources(t, "AWS::S3::Bucket").values()
        if "Transitions" in json.dumps(b["Properties"].get("LifecycleConfiguration", {}))
    ]
    assert archive and archive[0]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_optional_auto_subscription_of_new_audit_log_groups(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    _, stack = synth(tmp_path, **{"rdsaudit:autoSubscribe": "true"})
    t = Template.from_stack(stack)
    t.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.logs"],
                "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {
                    "eventSource": ["logs.amazonaws.com"],
                    "eventName": ["CreateLogGroup"],
                    "requestParameters": {"logGroupName": [{"prefix": "/aws/rds/"}]},
                },
            }
        },
    )
    [fn] = [
        f
        for f in resources(t, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "handler.app.subscribe_handler"
    ]
    assert "RDSAUDIT_FORWARDER_ARN" in fn["Properties"]["Environment"]["Variables"]
    subscribe = [
        s
        for p in resources(t, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "logs:PutSubscriptionFilter" in json.dumps(s["Action"])
    ]
    assert len(subscribe) == 1 and "log-group:/aws/rds/*" in json.dumps(subscribe[0]["Resource"])
