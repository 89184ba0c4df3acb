"""Template assertions for the OpenSearch Serverless variant (`rdsaudit:serverless`): the collection with its
encryption, network and data access policies, the functions pointed at it, IAM limited to its data plane, and
everything else as on a domain. Each synth here also passes cdk-nag (AwsSolutionsChecks runs in `synth`); the
IAM contract test (test_serverless_contract.py) proves the grants against the calls the code makes on Serverless."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import cfn_lint, synth
from tests.infra.iam_template import Template as Resolver
from tests.infra.test_iam_contract import FULL

ADMIN = FULL["rdsaudit:adminRoleArn"]
READER = "arn:aws:iam::123456789012:role/auditors"
# FULL imports findings into Security Hub, which needs the Detect function a time series collection cannot have
TIMESERIES = {
    **FULL,
    "rdsaudit:serverless": "timeseries",
    "rdsaudit:readerRoleArn": READER,
    "rdsaudit:detectSecurityHub": "false",
}
VPC = {
    "rdsaudit:vpcId": "vpc-0123456789abcdef0",
    "rdsaudit:vpcSubnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
    "rdsaudit:vpcAvailabilityZones": ["us-east-1a", "us-east-1b"],
}
SEARCH_VPC = {**FULL, **VPC, "rdsaudit:serverless": "search", "rdsaudit:serverlessDashboards": "true"}
WRITERS = ("lambda_handler", "backfill_handler", "export_handler", "activity_kinesis_handler")


def one(t: dict[str, Any], kind: str, **props: Any) -> tuple[str, dict[str, Any]]:
    [found] = [
        (lid, r)
        for lid, r in t["Resources"].items()
        if r["Type"] == kind and all(r["Properties"].get(k) == v for k, v in props.items())
    ]
    return found


def role_of(t: dict[str, Any], handler: str) -> str:
    [fn] = [r for r in t["Resources"].values() if r["Properties"].get("Handler") == f"handler.app.{handler}"]
    return str(fn["Properties"]["Role"]["Fn::GetAtt"][0])


def aoss_statements(t: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        s
        for r in t["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "aoss:" in json.dumps(s["Action"])
    ]


def data_access(t: dict[str, Any]) -> dict[str, set[tuple[str, str, str]]]:
    """The data access policy, resolved: principal ARN → {(resource type, resource, permission)}."""
    _, policy = one(t, "AWS::OpenSearchServerless::AccessPolicy")
    document = json.loads(Resolver(t).resolve(policy["Properties"]["Policy"]))
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for statement in document:
        for principal in statement["Principal"]:
            for rule in statement["Rules"]:
                for resource in rule["Resource"]:
                    grants.setdefault(principal, set()).update(
                        (rule["ResourceType"], resource, p) for p in rule["Permission"]
                    )
    return grants


def role_arn(lid: str) -> str:
    return f"arn:aws:iam::123456789012:role/{lid.lower()}"


@pytest.fixture(scope="module")
def timeseries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    _, stack = synth(tmp_path_factory.mktemp("aoss-ts"), **TIMESERIES)
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def search_vpc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    _, stack = synth(tmp_path_factory.mktemp("aoss-search"), **SEARCH_VPC)
    return dict(Template.from_stack(stack).to_json())


def test_the_collection_comes_after_its_encryption_network_and_data_access_policies(
    timeseries: dict[str, Any],
) -> None:
    cid, collection = one(timeseries, "AWS::OpenSearchServerless::Collection")
    assert collection["Properties"]["Type"] == "TIMESERIES" and collection["Properties"]["Name"] == "rdsaudit"
    enc, encryption = one(timeseries, "AWS::OpenSearchServerless::SecurityPolicy", Type="encryption")
    net, _ = one(timeseries, "AWS::OpenSearchServerless::SecurityPolicy", Type="network")
    data, _ = one(timeseries, "AWS::OpenSearchServerless::AccessPolicy", Type="data")
    assert set(collection["DependsOn"]) >= {enc, net, data}
    [key] = [k for k, r in timeseries["Resources"].items() if r["Type"] == "AWS::KMS::Key" and k.startswith("DataKey")]
    assert json.loads(Resolver(timeseries).resolve(encryption["Properties"]["Policy"])) == {
        "Rules": [{"ResourceType": "collection", "Resource": ["collection/rdsaudit"]}],
        "AWSOwnedKey": False,
        "KmsARN": f"arn:aws:kms:us-east-1:123456789012:key/{key.lower()}",
    }
    for lid in (cid, enc, net):  # audit data, and the policies a retained collection stays attached to
        assert timeseries["Resources"][lid]["DeletionPolicy"] == "Retain"


def test_public_endpoint_and_no_dashboards_unless_chosen(timeseries: dict[str, Any]) -> None:
    _, network = one(timeseries, "AWS::OpenSearchServerless::SecurityPolicy", Type="network")
    assert json.loads(network["Properties"]["Policy"]) == [
        {"Rules": [{"ResourceType": "collection", "Resource": ["collection/rdsaudit"]}], "AllowFromPublic": True}
    ]
    assert "AWS::OpenSearchServerless::VpcEndpoint" not in json.dumps(timeseries)
    assert not [k for k in timeseries["Outputs"] if "DashboardsEndpoint" in k]


def test_vpc_endpoint_for_the_functions_only_and_dashboards_from_the_same_network(search_vpc: dict[str, Any]) -> None:
    t = search_vpc
    vpce, endpoint = one(t, "AWS::OpenSearchServerless::VpcEndpoint")
    assert endpoint["Properties"]["SubnetIds"] == VPC["rdsaudit:vpcSubnetIds"]
    [group] = endpoint["Properties"]["SecurityGroupIds"]
    [ingress] = [r["Properties"] for r in t["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    assert ingress["GroupId"] == group and (ingress["FromPort"], ingress["ToPort"]) == (443, 443)
    assert "SourceSecurityGroupId" in ingress  # the functions' group, nothing else
    _, network = one(t, "AWS::OpenSearchServerless::SecurityPolicy", Type="network")
    [statement] = json.loads(Resolver(t).resolve(network["Properties"]["Policy"]))
    assert statement["AllowFromPublic"] is False and statement["SourceVPCEs"] == [Resolver(t).ref(vpce)]
    assert {r["ResourceType"] for r in statement["Rules"]} == {"collection", "dashboard"}
    assert [k for k in t["Outputs"] if "DashboardsEndpoint" in k]
    fns = [r for r in t["Resources"].values() if str(r["Properties"].get("Handler", "")).startswith("handler.app.")]
    assert fns and all("VpcConfig" in f["Properties"] for f in fns)


@pytest.mark.parametrize("variant", ["timeseries", "search_vpc"])
def test_the_functions_write_to_the_collection_signed_for_aoss(variant: str, request: pytest.FixtureRequest) -> None:
    t = request.getfixturevalue(variant)
    cid, _ = one(t, "AWS::OpenSearchServerless::Collection")
    kind = "timeseries" if variant == "timeseries" else "search"
    for handler in (*WRITERS, "setup_handler"):
        [fn] = [r for r in t["Resources"].values() if r["Properties"].get("Handler") == f"handler.app.{handler}"]
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["OPENSEARCH_URL"] == {"Fn::GetAtt": [cid, "CollectionEndpoint"]}, handler
        assert (env["OPENSEARCH_SERVICE"], env["RDSAUDIT_AOSS_COLLECTION_TYPE"]) == ("aoss", kind), handler


def test_no_domain_no_es_permission_and_setup_runs_with_the_collection_name(timeseries: dict[str, Any]) -> None:
    text = json.dumps(timeseries)
    assert "AWS::OpenSearchService::Domain" not in text and '"es:' not in text
    # No security plugin to map roles in: the custom resource runs setup even with the admins' role given.
    _, setup = one(timeseries, "Custom::RdsAuditSetup")
    assert setup["Properties"]["AossCollection"] == "rdsaudit"
    assert not [k for k in timeseries["Outputs"] if "InvokeOnce" in k]


@pytest.mark.parametrize("variant", ["timeseries", "search_vpc"])
def test_iam_reaches_only_this_collections_data_plane(variant: str, request: pytest.FixtureRequest) -> None:
    t = request.getfixturevalue(variant)
    cid, _ = one(t, "AWS::OpenSearchServerless::Collection")
    data_plane = {"Action": "aoss:APIAccessAll", "Effect": "Allow", "Resource": {"Fn::GetAtt": [cid, "Arn"]}}
    replay = [k for k, r in t["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("OperatorsReplay")]
    for role in [*(role_of(t, h) for h in WRITERS), *replay]:
        assert aoss_statements(t, role) == [data_plane], role
    lifecycle = {
        "Action": ["aoss:BatchGetLifecyclePolicy", "aoss:CreateLifecyclePolicy", "aoss:UpdateLifecyclePolicy"],
        "Effect": "Allow",
        "Resource": "*",  # these actions have no resource type
    }
    expected = [data_plane, lifecycle] if variant == "timeseries" else [data_plane]  # search: no lifecycle
    assert aoss_statements(t, role_of(t, "setup_handler")) == expected
    assert aoss_statements(t, role_of(t, "subscribe_handler")) == []


def test_data_access_policy_gives_each_role_only_what_its_code_sends(timeseries: dict[str, Any]) -> None:
    t = timeseries
    grants = data_access(t)
    items = {("collection", "collection/rdsaudit", p) for p in ("Describe", "Create", "Update")}
    items = {(k, r, f"aoss:{p}CollectionItems") for k, r, p in items}
    write = {"aoss:CreateIndex", "aoss:WriteDocument", "aoss:DescribeIndex"}
    audit = {("index", "index/rdsaudit/rdsaudit-*", p) for p in write}  # IndexPrefix's default
    [replay] = [
        k for k, r in t["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("OperatorsReplay")
    ]
    expected = {
        **{
            role_arn(role_of(t, h)): items | audit
            for h in ("lambda_handler", "backfill_handler", "export_handler", "kinesis_handler")
        },
        role_arn(replay): items | audit,
        role_arn(role_of(t, "activity_kinesis_handler")): items
        | {("index", "index/rdsaudit/rdsactivity-*", p) for p in write},
        role_arn(role_of(t, "setup_handler")): items,  # templates only: no index, no document
        # no detect job: a time series collection refuses the findings' ids (test_detect_only_on_a_search_collection)
        ADMIN: {("collection", "collection/rdsaudit", "aoss:*"), ("index", "index/rdsaudit/*", "aoss:*")},
        READER: {("collection", "collection/rdsaudit", "aoss:DescribeCollectionItems")}
        | {
            ("index", f"index/rdsaudit/{f}-*", p)
            for f in ("rdsaudit", "rdsactivity")
            for p in ("aoss:ReadDocument", "aoss:DescribeIndex")
        },
    }
    assert grants == expected


def test_alarms_and_the_rest_of_the_stack_as_on_a_domain(timeseries: dict[str, Any], tmp_path: Path) -> None:
    _, stack = synth(tmp_path, **FULL)
    domain = dict(Template.from_stack(stack).to_json())

    def kinds(t: dict[str, Any], prefix: str) -> dict[str, Any]:
        return {k: r for k, r in t["Resources"].items() if r["Type"].startswith(prefix)}

    # the same alarms but the scheduled Detect function's: a time series collection has none
    detect_alarms = {k for k in kinds(domain, "AWS::CloudWatch::") if k.startswith("Detect")}
    assert sorted(a.rstrip("0123456789ABCDEF") for a in detect_alarms) == [
        "DetectErrorsAlarm",
        "DetectNotifyFailedAlarm",
    ]
    alarms = {k: r for k, r in kinds(domain, "AWS::CloudWatch::").items() if k not in detect_alarms}
    assert kinds(timeseries, "AWS::CloudWatch::") == alarms
    for prefix in ("AWS::SNS::", "AWS::SQS::", "AWS::S3::", "AWS::StepFunctions::"):
        assert kinds(timeseries, prefix) == kinds(domain, prefix), prefix
    subscriptions = kinds(timeseries, "AWS::Logs::SubscriptionFilter")
    assert {k: r["Properties"] for k, r in subscriptions.items()} == {
        k: r["Properties"] for k, r in kinds(domain, "AWS::Logs::SubscriptionFilter").items()
    }
    # Unlike a domain mastered by the admins (FULL), the collection is set up by the custom resource first.
    [setup] = [k for k, r in timeseries["Resources"].items() if r["Type"] == "Custom::RdsAuditSetup"]
    assert subscriptions and all(setup in r["DependsOn"] for r in subscriptions.values())
    only_domain = {k for k in domain["Resources"] if k not in timeseries["Resources"]}
    only_aoss = {k for k in timeseries["Resources"] if k not in domain["Resources"]}
    assert all(
        k.startswith(("Search", "CustomResourceLogs", "AWS679f53fac002430cb0da5b7982bd2287", "Detect"))
        for k in only_domain
    )
    assert all(k.startswith(("Serverless", "Setup")) for k in only_aoss), only_aoss


def test_detect_only_on_a_search_collection(timeseries: dict[str, Any], search_vpc: dict[str, Any]) -> None:
    """The detect job writes findings under their own ids, which a time series collection refuses (handler/setup/
    engine.py stops every such run): there the stack has no Detect function, schedule, alarm or role; a search
    collection has them, pointed at it."""
    assert not [k for k in timeseries["Resources"] if k.startswith("Detect")]
    assert not [r for r in timeseries["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert "handler.app.detect_handler" not in json.dumps(timeseries)
    t = search_vpc
    cid, _ = one(t, "AWS::OpenSearchServerless::Collection")
    [(lid, detect)] = [
        (k, r) for k, r in t["Resources"].items() if r["Properties"].get("Handler") == "handler.app.detect_handler"
    ]
    env = detect["Properties"]["Environment"]["Variables"]
    assert env["OPENSEARCH_URL"] == {"Fn::GetAtt": [cid, "CollectionEndpoint"]}
    assert (env["OPENSEARCH_SERVICE"], env["RDSAUDIT_AOSS_COLLECTION_TYPE"]) == ("aoss", "search")
    _, schedule = one(t, "AWS::Scheduler::Schedule")
    assert schedule["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [lid, "Arn"]}
    alarms = [k for k, r in t["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm" and k.startswith("Detect")]
    assert sorted(a.rstrip("0123456789ABCDEF") for a in alarms) == ["DetectErrorsAlarm", "DetectNotifyFailedAlarm"]
    items = {
        ("collection", "collection/rdsaudit", f"aoss:{p}CollectionItems") for p in ("Describe", "Create", "Update")
    }
    write = {"aoss:CreateIndex", "aoss:WriteDocument", "aoss:DescribeIndex"}
    # the job reads every family of the prefix and writes findings (and installs the findings template)
    assert data_access(t)[role_arn(role_of(t, "detect_handler"))] == (
        {("index", "index/rdsaudit/rdsaudit-*", p) for p in ("aoss:ReadDocument", "aoss:DescribeIndex")}
        | {("index", "index/rdsaudit/rdsaudit-findings-*", p) for p in write}
        | items
    )


def test_without_detect_on_a_time_series_collection_the_synth_warns(tmp_path: Path) -> None:
    from aws_cdk.assertions import Annotations, Match

    _, stack = synth(tmp_path, **TIMESERIES)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("no scheduled Detect"))
    assert len(warnings) == 1, warnings
    _, search = synth(tmp_path / "search", **SEARCH_VPC)
    assert Annotations.from_stack(search).find_warning("*", Match.string_like_regexp("no scheduled Detect")) == []


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"rdsaudit:serverless": "vectorsearch"}, "rdsaudit:serverless must be one of"),
        (
            {**TIMESERIES, "rdsaudit:detectSecurityHub": "true"},
            r"^rdsaudit:detectSecurityHub set, but a timeseries collection cannot have the Detect function",
        ),
        (
            {**TIMESERIES, "rdsaudit:detectEventBus": "audit", "rdsaudit:detectSecurityHub": "true"},
            r"^rdsaudit:detectEventBus and rdsaudit:detectSecurityHub set, but",
        ),
        ({"rdsaudit:serverless": "search", "rdsaudit:collectionName": "Audit_Logs"}, "rdsaudit:collectionName"),
        ({"rdsaudit:serverless": "search", "rdsaudit:domainEndpoint": "search-x.es.amazonaws.com"}, "leave"),
        ({"rdsaudit:readerRoleArn": READER}, "apply to a Serverless collection"),
    ],
)
def test_a_wrong_serverless_context_stops_the_synth(tmp_path: Path, context: dict[str, str], message: str) -> None:
    with pytest.raises(Exception, match=message):
        synth(tmp_path, **context)


@pytest.mark.parametrize("variant", ["timeseries", "search_vpc"])
def test_cfn_lint_on_the_serverless_variants(tmp_path: Path, variant: str) -> None:
    synth(tmp_path, **(TIMESERIES if variant == "timeseries" else SEARCH_VPC))
    assert cfn_lint(tmp_path / "RdsAudit.template.json") == []
