"""Optional Activity Streams consumer: a Lambda on the cluster's aws-rds-das-<id> Kinesis stream, allowed to decrypt
with that key only under that cluster's encryption context. It reads the stream from its oldest record
(TRIM_HORIZON): an audit trail must not skip what was written before the deploy."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function
from rdsaudit_cdk.destinations import QueueOnFailure
from rdsaudit_cdk.domain import SearchDomain
from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.nag import acknowledge

ACTIVITY_PREFIX = "rdsactivity"  # handler/config.py's default for RDSAUDIT_ACTIVITY_INDEX_PREFIX


class ActivityStreams(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: SearchDomain,
        forwarder: Forwarder,
        stream_arn: str,
        kms_key_arn: str,
        cluster_resource_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.activity_kinesis_handler",
            timeout=Duration.minutes(2),
            memory_size=512,
            environment={**forwarder.environment, "RDSAUDIT_DAS_CLUSTER_ID": cluster_resource_id},
            description="rdsaudit: Aurora Database Activity Streams into OpenSearch",
        )
        role = self.function.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[kms_key_arn],
                conditions={"StringEquals": {"kms:EncryptionContext:aws:rds:dbc-id": cluster_resource_id}},
            )
        )
        forwarder.allow_dead_letters(role)
        domain.allow_writer(role, [ACTIVITY_PREFIX])
        failed = sqs.Queue(
            self,
            "OnFailure",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=forwarder.key.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(failed, "AwsSolutions-SQS3", "This queue is itself the failure destination of the stream mapping.")
        stream = kinesis.Stream.from_stream_arn(self, "Stream", stream_arn)
        self.function.add_event_source(
            sources.KinesisEventSource(
                stream,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                retry_attempts=10,
                max_record_age=Duration.days(1),
                on_failure=QueueOnFailure(failed),
            )
        )
