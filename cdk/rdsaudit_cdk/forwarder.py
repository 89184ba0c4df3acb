"""The forwarder Lambda and its failure path: async retries, on-failure queue, dead-letter bucket.

Both keep what could not be indexed — the queue the original event (whose SQL can hold credentials), the bucket
the documents and payloads — encrypted with the stack's customer-managed key (keys.py)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function
from rdsaudit_cdk.destinations import QueueDestination
from rdsaudit_cdk.domain import SearchDomain
from rdsaudit_cdk.keys import DataKey
from rdsaudit_cdk.log_groups import retained_log_group
from rdsaudit_cdk.nag import acknowledge


class Forwarder(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, domain: SearchDomain, params: dict[str, Any]) -> None:
        super().__init__(scope, construct_id)
        self.key = DataKey.of(self)
        self.access_logs = access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        acknowledge(
            access_logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the dead-letter bucket; logging it would recurse.",
        )
        self.dead_letters = s3.Bucket(
            self,
            "DeadLetters",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key.key,
            bucket_key_enabled=True,  # one data key per bucket and period, not a KMS call per object
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="dead-letters/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(params["dead_letter_days"].value_as_number),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )
        self.on_failure = sqs.Queue(
            self,
            "OnFailure",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.on_failure,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the forwarder; `rdsaudit replay` drains it.",
        )
        self.log_group = retained_log_group(self, "Logs")
        self.environment = {
            "OPENSEARCH_URL": domain.url,
            "OPENSEARCH_AUTH": "sigv4",
            "OPENSEARCH_SERVICE": "es",
            "RDSAUDIT_INDEX_PREFIX": params["prefix"].value_as_string,
            "RDSAUDIT_MASK_SECRETS": params["mask"].value_as_string,
            "RDSAUDIT_DEAD_LETTER": f"s3://{self.dead_letters.bucket_name}/forwarder",
        }
        self.function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.lambda_handler",
            memory_size=params["memory"].value_as_number,  # type: ignore[arg-type]
            timeout=Duration.seconds(params["timeout"].value_as_number),
            reserved_concurrent_executions=params["concurrency"].value_as_number,  # type: ignore[arg-type]
            environment=self.environment,
            log_group=self.log_group,
            description="rdsaudit forwarder: CloudWatch Logs audit subscriptions into OpenSearch",
            # Lambda retries a failed asynchronous invocation twice, then hands the event to the queue.
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            on_failure=QueueDestination(self.on_failure),
        )
        self.allow_dead_letters(self.function.role)  # type: ignore[arg-type]
        domain.allow_writer(self.function.role, [self.environment["RDSAUDIT_INDEX_PREFIX"]])  # type: ignore[arg-type]

    def dead_letter_id(self) -> str:
        """The bucket's logical id, as cdk-nag names it in findings."""
        return Stack.of(self).get_logical_id(self.dead_letters.node.default_child)  # type: ignore[arg-type]

    def allow_dead_letters(self, role: iam.IRole) -> None:
        """Write access to the dead-letter objects, and nothing else of the bucket (S3 encrypts them with the
        bucket's key on the writer's behalf: kms:GenerateDataKey)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[self.dead_letters.arn_for_objects("forwarder/*")])
        )
        self.key.grant(role, "kms:GenerateDataKey")
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{self.dead_letter_id()}.Arn>/forwarder/*]",
            "Dead letters are objects named by payload digest under the forwarder/ prefix of this bucket only.",
        )
