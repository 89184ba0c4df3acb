"""Optional: subscribe the audit log group of a newly created cluster or instance automatically.

RDS creates `/aws/rds/{cluster,instance}/<name>/audit` when it first publishes the audit log; CloudTrail records
the CreateLogGroup call and EventBridge hands it to a small function that adds the subscription filter. Needs
CloudTrail management events in the region (the default event history does not reach EventBridge)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function
from rdsaudit_cdk.nag import acknowledge


class AutoSubscribe(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, forwarder: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        self.function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.subscribe_handler",
            timeout=Duration.seconds(30),
            memory_size=256,
            environment={"RDSAUDIT_FORWARDER_ARN": forwarder.function_arn},
            description="rdsaudit: subscribe new RDS audit log groups to the forwarder",
        )
        stack = Stack.of(self)
        groups = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws/rds/*"
        role = self.function.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:PutSubscriptionFilter", "logs:DescribeSubscriptionFilters"], resources=[groups]
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
            "log-group:/aws/rds/*]",
            "Log groups of RDS clusters that do not exist yet; the function only subscribes names ending in /audit.",
        )
        new_audit_log_group_rule(self, self.function)


def new_audit_log_group_rule(scope: Construct, function: lambda_.IFunction) -> events.Rule:
    """CloudTrail's CreateLogGroup of an RDS log group → the subscribe function (here and in the member stack)."""
    return events.Rule(
        scope,
        "NewAuditLogGroup",
        event_pattern=events.EventPattern(
            source=["aws.logs"],
            detail_type=["AWS API Call via CloudTrail"],
            detail={
                "eventSource": ["logs.amazonaws.com"],
                "eventName": ["CreateLogGroup"],
                "requestParameters": {"logGroupName": [{"prefix": "/aws/rds/"}]},
            },
        ),
        targets=[targets.LambdaFunction(function)],
    )
