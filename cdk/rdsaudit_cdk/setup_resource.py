"""The setup function, and the custom resource that runs it before any subscription exists.

When the people's role is the domain's master (`rdsaudit:adminRoleArn` on a created domain), nothing in the stack
may map roles on a new domain, so there is no custom resource: the admins map the setup role to rdsaudit_setup
once and invoke the function (README, "Security"). On a Serverless collection there is nothing to map (no security
plugin): the custom resource always runs, and names the collection whose lifecycle policy keeps the retention."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, CustomResource, Duration, Fn, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from rdsaudit_cdk.bundling import rdsaudit_function, source_hash
from rdsaudit_cdk.log_groups import retained_log_group
from rdsaudit_cdk.nag import acknowledge
from rdsaudit_cdk.search import SearchBackend


class Setup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        search: SearchBackend,
        writer_roles: list[iam.IRole],
        environment: dict[str, str],
        retention_days: Any,
        activity_prefix: str,
        detector_roles: list[iam.IRole] | None = None,
        findings_retention_days: Any = 400,
    ) -> None:
        super().__init__(scope, construct_id)
        search.setup_role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
        )
        acknowledge(
            search.setup_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CloudWatch Logs write access for the setup function's own logs, and nothing else.",
        )
        function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.setup_handler",
            role=search.setup_role,
            timeout=Duration.minutes(5),
            memory_size=256,
            environment={**environment, "RDSAUDIT_ENSURE_TEMPLATE": "false"},
            description="rdsaudit setup: index template, ISM policy, roles, Dashboards objects",
        )
        self.function = function
        search.allow_setup(environment["RDSAUDIT_INDEX_PREFIX"], activity_prefix)
        self.resource: CustomResource | None = None
        if search.setup_by_admins:
            CfnOutput(
                self,
                "InvokeOnce",
                description="After mapping the setup role to rdsaudit_setup: aws lambda invoke --payload <this>",
                value=Fn.join(
                    "",
                    [
                        '{"RequestType":"Create","ResourceProperties":{"RetentionDays":"',
                        Token.as_string(retention_days),
                        '","FindingsRetentionDays":"',
                        Token.as_string(findings_retention_days),
                        '","RoleArns":',
                        Fn.to_json_string([r.role_arn for r in writer_roles]),
                        ',"DetectorRoleArns":',
                        Fn.to_json_string([r.role_arn for r in detector_roles or []]),
                        "}}",
                    ],
                ),
            )
            return
        provider = cr.Provider(
            self, "Provider", on_event_handler=function, log_group=retained_log_group(self, "ProviderLogs")
        )
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
                "FindingsRetentionDays": findings_retention_days,
                "RoleArns": [r.role_arn for r in writer_roles],
                # the detect job reads as rdsaudit_reader and writes findings as rdsaudit_detector
                "DetectorRoleArns": [r.role_arn for r in detector_roles or []],
                **search.setup_properties(),
                # re-run setup whenever the code or the mappings change
                "Version": source_hash()[:16],
            },
        )
