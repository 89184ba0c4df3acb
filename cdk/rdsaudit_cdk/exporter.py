"""RDS log-file exporter on a schedule: audit log files of the named instances into the archive bucket (the
layout the backfill reads), exactly once across runs."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function
from rdsaudit_cdk.domain import SearchDomain
from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.nag import acknowledge


class Exporter(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        forwarder: Forwarder,
        domain: SearchDomain,
        instances: list[str],
        archive_bucket: str,
        index: bool = False,
        every_minutes: int = 15,
    ) -> None:
        super().__init__(scope, construct_id)
        if archive_bucket:
            self.archive: s3.IBucket = s3.Bucket.from_bucket_name(self, "Archive", archive_bucket)
            bucket_ref = f"arn:<AWS::Partition>:s3:::{archive_bucket}"
        else:
            created = s3.Bucket(
                self,
                "Archive",
                encryption=s3.BucketEncryption.KMS,
                encryption_key=forwarder.key.key,
                bucket_key_enabled=True,
                enforce_ssl=True,
                versioned=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                removal_policy=RemovalPolicy.RETAIN,
                server_access_logs_bucket=forwarder.access_logs,
                server_access_logs_prefix="archive/",
                lifecycle_rules=[
                    s3.LifecycleRule(
                        transitions=[
                            s3.Transition(
                                storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                                transition_after=Duration.days(90),
                            )
                        ]
                    )
                ],
            )
            self.archive = created
            bucket_ref = f"<{Stack.of(self).get_logical_id(created.node.default_child)}.Arn>"  # type: ignore[arg-type]
        self.function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.export_handler",
            timeout=Duration.minutes(15),
            memory_size=512,
            environment={
                # with indexing (`rdsaudit:exportIndex`), the forwarder's settings say where and how
                **(forwarder.environment if index else {}),
                "RDSAUDIT_EXPORT_BUCKET": self.archive.bucket_name,
                "RDSAUDIT_EXPORT_INSTANCES": ",".join(instances),
                "RDSAUDIT_EXPORT_PREFIX": "",
                "RDSAUDIT_EXPORT_INDEX": "true" if index else "false",
            },
            description="rdsaudit: RDS audit log files to S3, exactly once",
        )
        role = self.function.role
        assert role is not None
        stack = Stack.of(self)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["rds:DescribeDBLogFiles", "rds:DownloadDBLogFilePortion", "rds:DownloadCompleteDBLogFile"],
                resources=[
                    stack.format_arn(
                        service="rds", resource="db", resource_name=i, arn_format=ArnFormat.COLON_RESOURCE_NAME
                    )
                    for i in instances
                ],
            )
        )
        # It writes archive objects (multipart) and its state; it reads back only its state.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.archive.arn_for_objects("RDS/*"), self.archive.arn_for_objects("state/*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:AbortMultipartUpload"], resources=[self.archive.arn_for_objects("RDS/*")])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.archive.arn_for_objects("state/*")])
        )
        # The first run of an instance reads a state object that does not exist yet: S3 answers 404 only to a
        # caller that may list the bucket, else 403 ("GetObject", Amazon S3 API Reference). Only that prefix.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.archive.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["state/*"]}},
            )
        )
        if archive_bucket == "":
            # the created archive encrypts with the stack's key: state objects are read back and written under it
            forwarder.key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        if index:
            # --index writes through the one pipeline, which checks the template before the first document
            domain.allow_writer(role, [forwarder.environment["RDSAUDIT_INDEX_PREFIX"]])
        for path, reason in (
            ("RDS/*", "Archive objects under RDS/<instance>/audit/."),
            ("state/*", "One state object per instance."),
        ):
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{bucket_ref}/{path}]", reason)
        events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.rate(Duration.minutes(every_minutes)),
            targets=[targets.LambdaFunction(self.function)],
        )
