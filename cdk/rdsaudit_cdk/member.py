"""Organisation-wide collection, member side (`rdsaudit:sendTo=<destination ARN>`): subscribe every RDS audit log
group of this account and region to the central destination, those that exist at deploy time and those created
later, with only the permissions that takes. Deployable in every account and region with CloudFormation StackSets:
give the destination ARN with `*` as its region and each stack instance sends to its own region's destination
(a destination serves the log groups of its region only).

What CloudWatch Logs needs here ("Cross-account cross-Region subscriptions using Kinesis Data Streams", Amazon
CloudWatch Logs User Guide):
- a role in the sending account that CloudWatch Logs assumes, named in each subscription filter, when the
  destination admits an organisation ("Step 2: (Only if using an organization) Create an IAM role": trusted by
  logs.amazonaws.com, allowed logs:PutLogEvents); it is harmless with a destination that lists accounts, so the
  member always uses it. Its trust is held to this account's log groups (aws:SourceArn, "Confused deputy
  prevention");
- whoever creates the filter needs logs:PutSubscriptionFilter on the log group and on the destination ("Step 3:
  Add/validate IAM permissions for the cross-account destination") and iam:PassRole for that role
  (PutSubscriptionFilter: "you must also have the iam:PassRole permission").
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CustomResource, Duration, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from rdsaudit_cdk.autosubscribe import new_audit_log_group_rule
from rdsaudit_cdk.bundling import rdsaudit_function, source_hash
from rdsaudit_cdk.log_groups import retained_log_group, retention_parameter
from rdsaudit_cdk.nag import acknowledge

SUBSCRIPTION_ROLE_NAME = "rdsaudit-subscription"


def destination_in_region(stack: Stack, arn: str) -> str:
    """The destination ARN, its region `*` replaced by the stack's own (StackSets across regions)."""
    parts = arn.split(":")
    if len(parts) != 7 or parts[2] != "logs" or parts[5] != "destination" or not parts[6] or len(parts[4]) != 12:
        raise ValueError(f"rdsaudit:sendTo must be a CloudWatch Logs destination ARN, got {arn!r}")
    if parts[3] == "*":
        return Fn.join(":", [*parts[:3], stack.region, *parts[4:]])
    return arn


class MemberStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, send_to: str, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="rdsaudit member: RDS audit log groups of this account and region to the central destination",
            **kwargs,
        )
        retention_parameter(self)
        destination = destination_in_region(self, send_to)
        groups = f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws/rds/*"
        self.subscription_role = iam.Role(
            self,
            "SubscriptionRole",
            role_name=f"{SUBSCRIPTION_ROLE_NAME}-{self.region}",
            assumed_by=iam.PrincipalWithConditions(
                iam.ServicePrincipal("logs.amazonaws.com"),
                {"StringLike": {"aws:SourceArn": f"arn:{self.partition}:logs:{self.region}:{self.account}:*"}},
            ),
            description="CloudWatch Logs sends this account's RDS audit log events to the central destination",
        )
        self.subscription_role.add_to_policy(iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[groups]))
        acknowledge(
            self.subscription_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/rds/*]",
            "The audit log groups of RDS clusters and instances, including those created later.",
        )
        self.function = rdsaudit_function(
            self,
            "Subscribe",
            handler="handler.app.subscribe_handler",
            timeout=Duration.minutes(5),
            memory_size=256,
            environment={
                "RDSAUDIT_DESTINATION_ARN": destination,
                "RDSAUDIT_DESTINATION_ROLE_ARN": self.subscription_role.role_arn,
            },
            description="rdsaudit member: subscribe RDS audit log groups to the central destination",
        )
        role = self.function.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:PutSubscriptionFilter", "logs:DescribeSubscriptionFilters"], resources=[groups]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:PutSubscriptionFilter"], resources=[destination])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:DescribeLogGroups"],
                resources=["*"],  # the action has no resource type: IAM authorizes it on "*" only
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.subscription_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "logs.amazonaws.com"}},
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/rds/*]",
            "Log groups of RDS clusters that may not exist yet; the function only subscribes names ending in /audit.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "logs:DescribeLogGroups has no resource type (IAM authorizes it on * only); it lists names, and the "
            "call asks for /aws/rds/ groups only.",
        )
        # New groups: CloudTrail's CreateLogGroup (needs CloudTrail management events in the region).
        new_audit_log_group_rule(self, self.function)
        # Existing groups: one scan when the stack is created or updated.
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            log_group=retained_log_group(self, "ProviderLogs"),
        )
        acknowledge(
            provider, "AwsSolutions-L1", "The provider framework's runtime is chosen and kept current by aws-cdk-lib."
        )
        fn_id = self.get_logical_id(self.function.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            provider,
            f"AwsSolutions-IAM5[Resource::<{fn_id}.Arn>:*]",
            "The provider framework invokes the subscribe function's versions and aliases.",
        )
        acknowledge(
            self,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "Lambda functions' own CloudWatch Logs: the subscribe function and the provider framework's.",
        )
        self.scan = CustomResource(
            self,
            "SubscribeExisting",
            service_token=provider.service_token,
            resource_type="Custom::RdsAuditSubscribeExisting",
            properties={"Destination": destination, "Version": source_hash()[:16]},
        )
