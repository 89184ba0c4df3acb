"""The role `rdsaudit replay` runs as: an operator assumes it (the admins' role when `rdsaudit:adminRoleArn` is
given, else any principal of this account whose own policy allows sts:AssumeRole on it) to re-drive dead letters
and the forwarder's on-failure queue once their cause is fixed. Nothing else in the stack reads them back."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from constructs import Construct

from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.nag import acknowledge
from rdsaudit_cdk.search import SearchBackend


class Operators(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, forwarder: Forwarder, search: SearchBackend) -> None:
        super().__init__(scope, construct_id)
        trusted: iam.IPrincipal = (
            iam.ArnPrincipal(search.admin_role_arn) if search.admin_role_arn else iam.AccountRootPrincipal()
        )
        self.replay_role = iam.Role(
            self,
            "ReplayRole",
            assumed_by=trusted,
            description="rdsaudit replay: re-drive dead letters and the forwarder's on-failure queue",
        )
        role = self.replay_role
        dead_letters = forwarder.dead_letters
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[dead_letters.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["forwarder/*"]}},
            )
        )
        # Read a dead letter, rewrite it with what still fails, delete it once everything is indexed.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[dead_letters.arn_for_objects("forwarder/*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sqs:ReceiveMessage", "sqs:DeleteMessage"], resources=[forwarder.on_failure.queue_arn]
            )
        )
        forwarder.key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")  # the bucket's and the queue's key
        search.allow_writer(role, [forwarder.environment["RDSAUDIT_INDEX_PREFIX"]])
        search.allow_refresh(role, [forwarder.environment["RDSAUDIT_INDEX_PREFIX"]])
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{forwarder.dead_letter_id()}.Arn>/forwarder/*]",
            "Dead letters are objects named by payload digest under the forwarder/ prefix of this bucket only.",
        )
        CfnOutput(self, "ReplayRoleArn", value=role.role_arn, description="Assume it to run `rdsaudit replay`")
