"""The OpenSearch domain: an existing one imported by endpoint and ARN, or a new one created secure by default.

`setup_role` runs `rdsaudit setup`. On a created domain the fine-grained access control master is the people's
role (`rdsaudit:adminRoleArn`) when given — then no function holds the master's rights, and the admins map the
setup role to `rdsaudit_setup` once (README) — or else the setup role, so that setup can create the roles and
map the writers. Every role is allowed only the request paths its code sends (es:ESHttp<Method> on the domain ARN
followed by the path), in its identity policy and in the domain's access policy.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from rdsaudit_cdk.keys import DataKey
from rdsaudit_cdk.log_groups import retained_log_group
from rdsaudit_cdk.nag import acknowledge
from rdsaudit_cdk.network import Network
from rdsaudit_cdk.search import SearchBackend

# What `rdsaudit setup` sends (handler/setup/cluster.py): {audit} and {activity} are the index prefixes.
SETUP_PATHS = {
    "es:ESHttpGet": [
        "",  # GET /: which engine and version answer (handler/setup/engine.py)
        "_cat/plugins",
        "_index_template/{audit}",
        "_index_template/{activity}",
        "_index_template/{audit}-findings",
        "_plugins/_ism/policies/{audit}-retention",
        "_plugins/_ism/policies/{audit}-findings-retention",
        "_plugins/_security/api/roles/rdsaudit_*",
        "_plugins/_security/api/rolesmapping/rdsaudit_*",  # the writer's, the reader's and the detector's
        # which policy manages the findings and the state index, and their write blocks (handler/setup/ism_move.py)
        "_plugins/_ism/explain/{audit}-findings-*",
        "{audit}-findings-state/_settings/index.blocks.write",
        "{audit}-findings-2*/_settings/index.blocks.write",
    ],
    "es:ESHttpPost": [  # moving, once, what an older release's audit policy took (handler/setup/ism_move.py)
        "_plugins/_ism/remove/{audit}-findings-state",
        "_plugins/_ism/change_policy/{audit}-findings-2*",
    ],
    "es:ESHttpPut": [
        "_index_template/{audit}",
        "_index_template/{activity}",
        "_index_template/{audit}-findings",
        "_plugins/_ism/policies/{audit}-retention",
        "_plugins/_ism/policies/{audit}-findings-retention",
        "_plugins/_security/api/roles/rdsaudit_*",
        "_plugins/_security/api/rolesmapping/rdsaudit_*",  # the writer's, the reader's and the detector's
        "{audit}-findings-state/_settings",  # lifts the write block the old policy's read_only left on the state
    ],
}
_SETUP_WHY = (
    "Setup's own objects by name: the security-plugin roles named rdsaudit_*, and the daily findings indices (with "
    "ISM's explain answer for them) that an older release's audit policy took and setup moves to the findings policy."
)


class SearchDomain(SearchBackend):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: str = "",
        arn: str = "",
        network: Network | None = None,
        admin_role_arn: str = "",
    ) -> None:
        super().__init__(scope, construct_id, admin_role_arn=admin_role_arn)
        self.created = not (endpoint and arn)
        if not self.created:
            self.url = endpoint if endpoint.startswith("https://") else f"https://{endpoint}"
            self.arn = arn
            self.domain: opensearch.IDomain = opensearch.Domain.from_domain_attributes(
                self, "Domain", domain_arn=arn, domain_endpoint=self.url
            )
            return
        logs = {name: retained_log_group(self, f"{name}Logs") for name in ("Audit", "Slow", "App")}
        master = admin_role_arn or self.setup_role.role_arn
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
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True, kms_key=DataKey.of(self).key),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=master),
            logging=opensearch.LoggingOptions(
                audit_log_enabled=True,  # who searched and changed what, as the security plugin records it
                audit_log_group=logs["Audit"],
                slow_search_log_enabled=True,
                slow_search_log_group=logs["Slow"],
                slow_index_log_enabled=True,
                slow_index_log_group=logs["Slow"],
                app_log_enabled=True,
                app_log_group=logs["App"],
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
        if admin_role_arn:
            # The people administering the domain reach Dashboards and every API; their own IAM policy decides.
            domain.add_access_policies(
                iam.PolicyStatement(
                    principals=[iam.ArnPrincipal(admin_role_arn)], actions=["es:ESHttp*"], resources=[f"{self.arn}/*"]
                )
            )

    @property
    def environment(self) -> dict[str, str]:
        return {"OPENSEARCH_URL": self.url, "OPENSEARCH_SERVICE": "es"}

    @property
    def setup_by_admins(self) -> bool:
        # The admins' role is the master of a created domain: only they can map the setup role.
        return self.created and bool(self.admin_role_arn)

    def nag_arn(self) -> str:
        """The domain ARN as cdk-nag writes it in findings."""
        if not self.created:
            return self.arn
        return f"<{Stack.of(self).get_logical_id(self.domain.node.default_child)}.Arn>"  # type: ignore[arg-type]

    def allow_paths(
        self,
        role: iam.IRole,
        paths: dict[str, list[str]],
        why: str = "One family of security-plugin objects, all named rdsaudit_*, that setup creates and compares.",
    ) -> None:
        """Identity policy (and, on a created domain, access policy) for exactly these verbs on these paths."""
        for action, resources in paths.items():
            arns = [f"{self.arn}/{p}" for p in resources]
            role.add_to_principal_policy(iam.PolicyStatement(actions=[action], resources=arns))
            if self.created:
                assert isinstance(self.domain, opensearch.Domain)
                self.domain.add_access_policies(
                    iam.PolicyStatement(principals=[iam.ArnPrincipal(role.role_arn)], actions=[action], resources=arns)
                )
        for path in {p for ps in paths.values() for p in ps if "*" in p and not Token.is_unresolved(p)}:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{self.nag_arn()}/{path}]",
                why,
            )

    def allow_writer(self, role: iam.IRole, templates: list[str]) -> None:
        """A writer: `_bulk`, and the first-write check of its own index template (GET / for the engine, GET the
        template, and PUT when missing or older)."""
        paths = {"es:ESHttpPost": ["_bulk"]}
        if templates:
            paths |= {
                "es:ESHttpGet": ["", *(f"_index_template/{t}" for t in templates)],
                "es:ESHttpPut": [f"_index_template/{t}" for t in templates],
            }
        self.allow_paths(role, paths)

    def allow_refresh(self, role: iam.IRole, prefixes: list[str]) -> None:
        # `POST <index>,<index>…/_refresh` of what an operator's command wrote (handler/runtime.py make_searchable):
        # the path's first segment lists the daily indices, which `<prefix>-*` covers.
        self.allow_paths(
            role,
            {"es:ESHttpPost": [f"{p}-*/_refresh" for p in prefixes]},
        )
        for p in prefixes:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{self.nag_arn()}/{nag_text(Stack.of(self).resolve(f'{p}-*/_refresh'))}]",
                "The daily indices of the family the command wrote; a refresh changes no data.",
            )

    def allow_detector(self, role: iam.IRole, prefix: str) -> None:
        # handler/read's Reader: GET / (the engine), a point in time on the pattern, searches in it (POST /_search),
        # its close; _bulk for findings and their marks.
        # The job (handler/detect/job.py, store.py): its findings template, its state document, the period's findings.
        # The notifier (handler/detect/notify/lease.py): its lease document, read and written by id.
        state = f"{prefix}-findings-state/_doc/detect"
        lease = f"{prefix}-findings-state/_doc/notify"
        self.allow_paths(
            role,
            {
                "es:ESHttpGet": ["", f"{state}", lease, f"_index_template/{prefix}-findings"],
                "es:ESHttpPost": [
                    f"{prefix}-*/_search/point_in_time",
                    "_search",
                    "_bulk",
                    f"{prefix}-findings-*/_search",
                ],
                "es:ESHttpPut": [f"_index_template/{prefix}-findings", state, lease],
                "es:ESHttpDelete": ["_search/point_in_time"],
            },
        )
        for path, reason in (
            (
                "<IndexPrefix>-*/_search/point_in_time",
                "A point in time over the stack's daily audit and findings indices.",
            ),
            ("<IndexPrefix>-findings-*/_search", "The findings of a period, in the stack's daily findings indices."),
        ):
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{self.nag_arn()}/{path}]", reason)

    def allow_setup(self, audit_prefix: str, activity_prefix: str) -> None:
        self.allow_paths(
            self.setup_role,
            {
                action: [p.format(audit=audit_prefix, activity=activity_prefix) for p in paths]
                for action, paths in SETUP_PATHS.items()
            },
            why=_SETUP_WHY,
        )
        if Token.is_unresolved(audit_prefix):  # the IndexPrefix parameter: cdk-nag names it `<IndexPrefix>`
            for path in {p for ps in SETUP_PATHS.values() for p in ps if "*" in p.replace("rdsaudit_*", "")}:
                nag_path = path.format(audit="<IndexPrefix>", activity="<ActivityPrefix>")
                acknowledge(self.setup_role, f"AwsSolutions-IAM5[Resource::{self.nag_arn()}/{nag_path}]", _SETUP_WHY)


def nag_text(resolved: Any) -> str:
    """A resolved string as cdk-nag writes it in a finding's id: a parameter's Ref as `<Name>`, an attribute as
    `<Name.Attr>` (a path that holds the index prefix parameter)."""
    if isinstance(resolved, str):
        return resolved
    if "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if "Fn::GetAtt" in resolved:
        return f"<{'.'.join(resolved['Fn::GetAtt'])}>"
    separator, parts = resolved["Fn::Join"]
    return separator.join(nag_text(p) for p in parts)
