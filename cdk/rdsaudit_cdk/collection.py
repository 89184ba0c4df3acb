"""Organisation-wide collection, central side (`rdsaudit:collectFrom`): per collecting region a Kinesis stream in
this stack's region and a CloudWatch Logs destination in that region, and the collector reading every stream.

What CloudWatch Logs supports, and so the shape built here ("Cross-account cross-Region subscriptions using Kinesis
Data Streams", Amazon CloudWatch Logs User Guide):
- "The sender account's log groups and the destination must be in the same AWS Region", but "the destination can
  point to an AWS resource such as a Kinesis Data Streams stream that is located in a different Region": one
  destination per region (`DestinationStack`, deployed in that region), each pointing at its own stream here, so
  the collector knows a record's region from its stream's name (handler/sources/kinesis.py).
- A destination has a role that "grants CloudWatch Logs the necessary permissions to put data into the chosen
  stream" (kinesis:PutRecord; the stream is under the stack's key, and Kinesis producers need
  kms:GenerateDataKey on it, "Permissions to use user-generated KMS keys", Kinesis Data Streams Developer Guide),
  trusted by logs.amazonaws.com under aws:SourceArn of the sending and receiving accounts ("Confused deputy
  prevention"), or aws:SourceOrgID for an organisation.
- Its access policy admits senders to `logs:PutSubscriptionFilter` on it: the listed accounts, or every account of
  the organisation with `aws:PrincipalOrgID` ("Step 1: Create a destination"). Destination policies are regional,
  like destinations.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Duration, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function
from rdsaudit_cdk.destinations import QueueOnFailure
from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.keys import DataKey
from rdsaudit_cdk.log_groups import retained_log_group
from rdsaudit_cdk.nag import acknowledge
from rdsaudit_cdk.search import SearchBackend

STREAM_PREFIX = "rdsaudit-collect"  # streams are `<prefix>-<region>`: the collector reads the region from the name
DESTINATION_NAME = "rdsaudit"
LOGS_ROLE_NAME = "rdsaudit-collect-logs"  # named: the destinations of other regions' stacks refer to it by ARN
_ORG = re.compile(r"o-[a-z0-9]{10,32}")
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2,4}(-(gov|iso[a-z]?))?-[a-z]+-\d{1,2}")


def logs_role_name(central_region: str) -> str:
    """IAM names are global: one central stack per region may collect in one account."""
    return f"{LOGS_ROLE_NAME}-{central_region}"


def senders(values: list[str]) -> tuple[str, list[str]]:
    """(organisation id or "", account ids) from `rdsaudit:collectFrom`."""
    orgs = [v for v in values if _ORG.fullmatch(v)]
    accounts = [v for v in values if _ACCOUNT.fullmatch(v)]
    if len(orgs) + len(accounts) != len(values) or len(orgs) > 1 or (orgs and accounts) or not values:
        raise ValueError(
            f"rdsaudit:collectFrom must be one organisation id (o-…) or comma-separated 12-digit account ids: {values}"
        )
    return (orgs[0] if orgs else ""), accounts


def check_regions(regions: list[str]) -> list[str]:
    bad = [r for r in regions if not _REGION.fullmatch(r)]
    if bad or not regions:
        raise ValueError(f"rdsaudit:collectRegions must name AWS regions (eu-west-1,us-east-1): {regions}")
    return regions


def logs_trust(partition: str, organisation: str, accounts: list[str], receiver: str) -> iam.IPrincipal:
    """logs.amazonaws.com, for log groups of the senders (and the receiver: CloudWatch Logs sends a test message on
    its behalf when the destination is created)."""
    principal = iam.ServicePrincipal("logs.amazonaws.com")
    if organisation:
        return iam.PrincipalWithConditions(principal, {"StringEquals": {"aws:SourceOrgID": organisation}})
    arns = [f"arn:{partition}:logs:*:{a}:*" for a in [*accounts, receiver]]
    return iam.PrincipalWithConditions(principal, {"StringLike": {"aws:SourceArn": arns}})


class Collection(Construct):
    """The streams, the role CloudWatch Logs puts records with, and the collector function with its mappings."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        search: SearchBackend,
        forwarder: Forwarder,
        organisation: str,
        accounts: list[str],
        regions: list[str],
        central_region: str,
        shards: int,
        params: dict[str, Any],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        key = DataKey.of(self)
        # The destinations of the other regions name this region's streams and role: deployed anywhere else, the
        # stack stops before creating anything (a template rule), rather than leave them pointing at nothing.
        CfnRule(
            self,
            "CentralRegion",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_equals(Aws.REGION, central_region),
                    assert_description=f"rdsaudit:region is {central_region}: deploy this stack there",
                )
            ],
        )
        self.streams: dict[str, kinesis.Stream] = {}
        for region in regions:
            self.streams[region] = kinesis.Stream(
                self,
                f"Stream-{region}",
                stream_name=f"{STREAM_PREFIX}-{region}",
                encryption=kinesis.StreamEncryption.KMS,
                encryption_key=key.key,  # type: ignore[arg-type]
                stream_mode=kinesis.StreamMode.PROVISIONED if shards else kinesis.StreamMode.ON_DEMAND,
                shard_count=shards or None,
                # a week to fix an outage before a record expires (the on-failure queue holds pointers only)
                retention_period=Duration.days(7),
            )
            acknowledge(
                self.streams[region],
                "AwsSolutions-KDS3",
                "Audit events (SQL, users, clients) are kept under the stack's own key like every other copy of them; "
                "the KMS cost is one data key per shard and period (Kinesis caches it), not one call per record.",
            )
        self.logs_role = iam.Role(
            self,
            "LogsRole",
            role_name=logs_role_name(central_region),
            assumed_by=logs_trust(stack.partition, organisation, accounts, stack.account),  # type: ignore[arg-type]
            description="CloudWatch Logs puts member accounts' audit log events into the collecting streams",
        )
        self.logs_role.add_to_policy(
            iam.PolicyStatement(actions=["kinesis:PutRecord"], resources=[s.stream_arn for s in self.streams.values()])
        )
        key.grant(self.logs_role, "kms:GenerateDataKey")

        self.log_group = retained_log_group(self, "FunctionLogs")
        self.function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.kinesis_handler",
            log_group=self.log_group,
            memory_size=params["memory"].value_as_number,
            timeout=Duration.seconds(params["timeout"].value_as_number),
            environment=forwarder.environment,
            description="rdsaudit collector: member accounts' audit logs from the collecting streams into OpenSearch",
        )
        role = self.function.role
        assert role is not None
        forwarder.allow_dead_letters(role)
        search.allow_writer(role, [forwarder.environment["RDSAUDIT_INDEX_PREFIX"]])
        self.on_failure = sqs.Queue(
            self,
            "OnFailure",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.on_failure, "AwsSolutions-SQS3", "This queue is itself the failure destination of the stream mappings."
        )
        for stream in self.streams.values():
            self.function.add_event_source(
                sources.KinesisEventSource(
                    stream,
                    # an audit trail must not skip what was written before the mapping existed
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=100,
                    max_batching_window=Duration.seconds(1),
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                    retry_attempts=100,
                    max_record_age=Duration.days(7),
                    on_failure=QueueOnFailure(self.on_failure),
                )
            )


class DestinationStack(Stack):
    """The CloudWatch Logs destination of one collecting region, in that region, pointing at its stream in the
    central region (the central stack makes the stream and the role; this stack only refers to them by ARN)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        central_region: str,
        organisation: str,
        accounts: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, description="rdsaudit: CloudWatch Logs destination for member accounts", **kwargs
        )
        stream = f"arn:{self.partition}:kinesis:{central_region}:{self.account}:stream/{STREAM_PREFIX}-{self.region}"
        destination = f"arn:{self.partition}:logs:{self.region}:{self.account}:destination:{DESTINATION_NAME}"
        self.destination = logs.CfnDestination(
            self,
            "Destination",
            destination_name=DESTINATION_NAME,
            role_arn=f"arn:{self.partition}:iam::{self.account}:role/{logs_role_name(central_region)}",
            target_arn=stream,
            destination_policy=self.to_json_string(access_policy(destination, organisation, accounts)),
        )


def access_policy(destination_arn: str, organisation: str, accounts: list[str]) -> dict[str, Any]:
    """Who may subscribe their log groups to the destination: the organisation's accounts, or the listed ones."""
    statement: dict[str, Any] = {
        "Sid": "MemberAccountsSubscribe",
        "Effect": "Allow",
        "Action": "logs:PutSubscriptionFilter",
        "Resource": destination_arn,
    }
    if organisation:
        statement["Principal"] = "*"
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": [organisation]}}
    else:
        statement["Principal"] = {"AWS": accounts}
    return {"Version": "2012-10-17", "Statement": [statement]}
