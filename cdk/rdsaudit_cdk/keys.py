"""The customer-managed KMS key of the data the stack keeps: the domain, the dead-letter bucket, the on-failure
queues and a created archive bucket. Created with rotation on, or brought with `rdsaudit:kmsKeyArn` (then its key
policy must let this account's IAM policies grant its use, as KMS's default key policy does)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class DataKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key_arn: str = "") -> None:
        super().__init__(scope, construct_id)
        self.created = not key_arn
        if key_arn:
            self.key: kms.IKey = kms.Key.from_key_arn(self, "Key", key_arn)
        else:
            self.key = kms.Key(
                self,
                "Key",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,  # data encrypted with it outlives the stack
                description="rdsaudit: domain, dead letters, on-failure queues, archive",
            )
        Stack.of(self).rdsaudit_data_key = self  # type: ignore[attr-defined]

    def grant(self, role: iam.IRole, *actions: str) -> None:
        """IAM-side grant on this key only (the key policy delegates to IAM)."""
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=[self.key.key_arn]))

    @staticmethod
    def of(scope: Construct) -> DataKey:
        key: DataKey = Stack.of(scope).rdsaudit_data_key  # type: ignore[attr-defined]
        return key


def service_statement(
    service: str, actions: list[str], source_arn: str, *, account: str, extra: dict[str, object] | None = None
) -> iam.PolicyStatement:
    """A key policy statement for an AWS service principal, limited to this account and to the resources that
    act for it (aws:SourceAccount and aws:SourceArn): the service cannot use the key for anyone else."""
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal(service)],
        actions=actions,
        resources=["*"],
        conditions={
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": source_arn},
            **(extra or {}),
        },
    )
