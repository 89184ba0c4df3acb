"""Backfill at scale: a Step Functions Distributed Map over an S3 prefix invoking the backfill Lambda per object,
with bounded concurrency. Start an execution with {"bucket": "<archive bucket>", "prefix": "RDS/"}."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function
from rdsaudit_cdk.domain import SearchDomain
from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.log_groups import retained_log_group
from rdsaudit_cdk.nag import acknowledge


class Backfill(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: SearchDomain,
        forwarder: Forwarder,
        archive_bucket: str,
        max_concurrency: int = 10,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machine: sfn.StateMachine | None = None
        if not archive_bucket:
            return
        archive = s3.Bucket.from_bucket_name(self, "Archive", archive_bucket)
        dead_letters = forwarder.dead_letters
        self.function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.backfill_handler",
            timeout=Duration.minutes(15),
            memory_size=1024,
            environment={
                **forwarder.environment,
                "RDSAUDIT_CHECKPOINT": f"s3://{dead_letters.bucket_name}/backfill-checkpoints",
            },
            description="rdsaudit backfill: one S3 object of historical audit logs per invocation",
        )
        role = self.function.role
        assert role is not None
        # Any prefix of the archive may be named by an execution; listing it also makes a vanished object 404.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[archive.bucket_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[archive.arn_for_objects("*")])
        )
        forwarder.allow_dead_letters(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[dead_letters.arn_for_objects("backfill-checkpoints/*")],
            )
        )
        # The first read of an object's checkpoint meets a missing key: S3 answers 404 only to a caller that may
        # list the bucket, else 403 ("GetObject", Amazon S3 API Reference). Listing is limited to that prefix.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[dead_letters.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["backfill-checkpoints/*"]}},
            )
        )
        forwarder.key.grant(role, "kms:Decrypt")  # reading its checkpoints back (written under the bucket's key)
        dl = f"<{forwarder.dead_letter_id()}.Arn>"
        for resource, reason in (
            (f"arn:<AWS::Partition>:s3:::{archive_bucket}/*", "Reads any object of the archive it is asked to index."),
            (f"{dl}/backfill-checkpoints/*", "One checkpoint object per source object, under its own prefix."),
        ):
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        domain.allow_writer(role, [forwarder.environment["RDSAUDIT_INDEX_PREFIX"]])

        invoke = tasks.LambdaInvoke(
            self,
            "BackfillObject",
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(
                {"Bucket": sfn.JsonPath.string_at("$.bucket"), "Key": sfn.JsonPath.string_at("$.item.Key")}
            ),
            payload_response_only=True,
        )
        # A timed-out or throttled invocation resumes from its checkpoint; unreadable content is not retried.
        invoke.add_retry(
            errors=["IncompleteWrite", "Lambda.TooManyRequestsException", "Lambda.ServiceException", "States.Timeout"],
            interval=Duration.seconds(30),
            backoff_rate=2,
            max_attempts=6,
        )
        each = sfn.DistributedMap(
            self,
            "EachObject",
            max_concurrency=max_concurrency,
            item_reader=sfn.S3ObjectsItemReader(bucket=archive, prefix=sfn.JsonPath.string_at("$.prefix")),
            item_selector={"bucket.$": "$.bucket", "item.$": "$$.Map.Item.Value"},
            tolerated_failure_percentage=0,
        )
        each.item_processor(invoke)
        log_group = retained_log_group(self, "Logs")
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(each),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )
        fn_id = Stack.of(self).get_logical_id(self.function.node.default_child)  # type: ignore[arg-type]
        sm_id = Stack.of(self).get_logical_id(self.state_machine.node.default_child)  # type: ignore[arg-type]
        execution = (
            f'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{{"Fn::Select":[6,'
            f'{{"Fn::Split":[":",{{"Ref":"{sm_id}"}}]}}]}}'
        )
        for finding, reason in (
            (f"Resource::<{fn_id}.Arn>:*", "Step Functions invokes the backfill function's versions and aliases."),
            ("Resource::*", "X-Ray tracing and CloudWatch Logs delivery for the state machine are account-wide APIs."),
            (f"Resource::{execution}:*", "The Distributed Map manages its own child executions."),
            (f"Resource::{execution}/*:*", "The Distributed Map manages its own child executions."),
        ):
            acknowledge(self.state_machine, f"AwsSolutions-IAM5[{finding}]", reason)
