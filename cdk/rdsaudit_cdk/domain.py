"""The OpenSearch domain: an existing one imported by endpoint and ARN, or a new one created secure by default.

Either way `admin_role` is the role the setup function runs as; on a created domain it is the fine-grained
access control master, so setup can create the roles and map the forwarder's role to rdsaudit_writer. On an
imported domain, map it to all_access once (see the README).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from rdsaudit_cdk.nag import acknowledge
from rdsaudit_cdk.network import Network


class SearchDomain(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint: str = "", arn: str = "", network: Network | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.admin_role = iam.Role(
            self,
            "AdminRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="rdsaudit setup: installs templates, policies, roles and Dashboards objects",
        )
        self.created = not (endpoint and arn)
        if not self.created:
            self.url = endpoint if endpoint.startswith("https://") else f"https://{endpoint}"
            self.arn = arn
            self.domain: opensearch.IDomain = opensearch.Domain.from_domain_attributes(
                self, "Domain", domain_arn=arn, domain_endpoint=self.url
            )
            return
        slow_logs = logs.LogGroup(
            self, "DomainLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.RETAIN
        )
        domain = opensearch.Domain(
            self,
            "Domain",
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            capacity=opensearch.CapacityConfig(
                data_nodes=2,
                data_node_instance_type="r7g.large.search",
                master_nodes=3,
                master_node_instance_type="m7g.large.search",
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=True, availability_zone_count=2),
            ebs=opensearch.EbsOptions(volume_size=100, volume_type=ec2.EbsDeviceVolumeType.GP3),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=self.admin_role.role_arn),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=slow_logs,
                slow_index_log_enabled=True,
                slow_index_log_group=slow_logs,
                app_log_enabled=True,
                app_log_group=slow_logs,
            ),
            removal_policy=RemovalPolicy.RETAIN,
            **(
                {"vpc": network.vpc, "vpc_subnets": [network.subnets], "security_groups": [network.domain]}
                if network
                else {}
            ),
        )
        self.domain = domain
        acknowledge(
            domain,
            "AwsSolutions-IAM5[Resource::*]",
            "CDK's own custom resource that lets OpenSearch write its logs sets a log-group resource policy.",
        )
        self.url = f"https://{domain.domain_endpoint}"
        self.arn = domain.domain_arn
        acknowledge(
            domain,
            "AwsSolutions-OS3",
            "Callers are Lambda functions without fixed addresses; access is limited by IAM principals (and, with "
            "rdsaudit:vpcId, by a security group admitting only this stack's functions).",
        )
        if network is None:
            acknowledge(
                domain,
                "AwsSolutions-OS1",
                "Public endpoint because no VPC was given (rdsaudit:vpcId); every request is SigV4-signed, the "
                "access policy names only this stack's roles, and fine-grained access control is on.",
            )

    def nag_arn(self) -> str:
        """The domain ARN as cdk-nag writes it in findings."""
        if not self.created:
            return self.arn
        return f"<{Stack.of(self).get_logical_id(self.domain.node.default_child)}.Arn>"  # type: ignore[arg-type]

    def allow(self, role: iam.IRole, actions: list[str]) -> None:
        """Identity policy on `role` for exactly these es:ESHttp* verbs, on this domain only."""
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[self.arn, f"{self.arn}/*"]))
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{self.nag_arn()}/*]",
            "OpenSearch HTTP verbs need index paths under the domain; the domain itself is named.",
        )
        if self.created:
            assert isinstance(self.domain, opensearch.Domain)
            self.domain.add_access_policies(
                iam.PolicyStatement(
                    principals=[iam.ArnPrincipal(role.role_arn)], actions=actions, resources=[f"{self.arn}/*"]
                )
            )
