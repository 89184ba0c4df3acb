"""Every log group of the stack — one per function, the state machine's, the domain's — keeps its events for
the `LogRetentionDays` stack parameter, and is kept (RETAIN) when the stack is deleted: logs are audit evidence."""

from __future__ import annotations

from aws_cdk import CfnParameter, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

# The values CloudWatch Logs accepts for RetentionInDays ("PutRetentionPolicy", CloudWatch Logs API Reference).
RETENTION_VALUES = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                    3288, 3653]  # fmt: skip


def retention_parameter(stack: Stack) -> CfnParameter:
    found = stack.node.try_find_child("LogRetentionDays")
    if isinstance(found, CfnParameter):
        return found
    return CfnParameter(
        stack,
        "LogRetentionDays",
        type="Number",
        default="90",
        allowed_values=[str(v) for v in RETENTION_VALUES],
        description="Keep the functions', the state machine's and the domain's logs this many days",
    )


def retained_log_group(scope: Construct, construct_id: str) -> logs.LogGroup:
    group = logs.LogGroup(scope, construct_id, removal_policy=RemovalPolicy.RETAIN)
    # The retention is a parameter (a token), which LogGroup's enum cannot carry: set it on the template.
    cfn = group.node.default_child
    cfn.add_property_override("RetentionInDays", retention_parameter(Stack.of(scope)).value_as_number)  # type: ignore[union-attr]
    return group
