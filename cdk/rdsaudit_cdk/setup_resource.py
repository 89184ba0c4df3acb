"""The custom resource that runs `rdsaudit setup` before any subscription exists."""

from __future__ import annotations

from typing import Any

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function, source_hash
from rdsaudit_cdk.domain import SearchDomain
from rdsaudit_cdk.nag import acknowledge


class Setup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: SearchDomain,
        writer_roles: list[iam.IRole],
        environment: dict[str, str],
        retention_days: Any,
    ) -> None:
        super().__init__(scope, construct_id)
        domain.admin_role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
        )
        acknowledge(
            domain.admin_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CloudWatch Logs write access for the setup function's own logs, and nothing else.",
        )
        function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.setup_handler",
            role=domain.admin_role,
            timeout=Duration.minutes(5),
            memory_size=256,
            environment={**environment, "RDSAUDIT_ENSURE_TEMPLATE": "false"},
            description="rdsaudit setup: index template, ISM policy, roles, Dashboards objects",
        )
        domain.allow(
            domain.admin_role, ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPut", "es:ESHttpPost", "es:ESHttpPatch"]
        )
        provider = cr.Provider(self, "Provider", on_event_handler=function)
        acknowledge(
            provider, "AwsSolutions-L1", "The provider framework's runtime is chosen and kept current by aws-cdk-lib."
        )
        fn_id = Stack.of(self).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            provider,
            f"AwsSolutions-IAM5[Resource::<{fn_id}.Arn>:*]",
            "The provider framework invokes the setup function's versions and aliases.",
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::RdsAuditSetup",
            properties={
                "RetentionDays": retention_days,
                "RoleArns": [r.role_arn for r in writer_roles],
                # re-run setup whenever the code or the mappings change
                "Version": source_hash()[:16],
            },
        )
