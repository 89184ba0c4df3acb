"""Where the functions write: a managed OpenSearch domain (domain.py) or an OpenSearch Serverless collection
(serverless.py). The rest of the stack sees only this interface: the settings that point the functions at it, the
role that runs `rdsaudit setup`, and how to let a writer or setup do exactly what its code sends — which each
backend expresses in its own terms (es:ESHttp<Method> on request paths; aoss data access policy permissions)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct


class SearchBackend(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, admin_role_arn: str = "") -> None:
        super().__init__(scope, construct_id)
        self.setup_role = iam.Role(
            self,
            "AdminRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="rdsaudit setup: installs templates, policies, roles and Dashboards objects",
        )
        self.admin_role_arn = admin_role_arn  # the people administering it (`rdsaudit:adminRoleArn`)
        self.url = ""
        self.arn = ""

    @property
    def environment(self) -> dict[str, str]:
        """The functions' settings that say where the engine is and how to sign for it (handler/config.py)."""
        raise NotImplementedError

    @property
    def setup_by_admins(self) -> bool:
        """True when nothing in the stack may run setup (the admins map its role first, then invoke it once)."""
        return False

    @property
    def keeps_document_ids(self) -> bool:
        """Whether documents keep the ids the functions give them, as the detect job's findings need."""
        return True

    def setup_properties(self) -> dict[str, str]:
        """What the setup custom resource passes besides retention and roles (handler/setup/custom_resource.py)."""
        return {}

    def allow_writer(self, role: iam.IRole, templates: list[str]) -> None:
        """A writer of the index families named by `templates` (template name = index prefix): `_bulk` into
        `<prefix>-*`, and the cold-start check of those templates (handler/runtime.py `ensure_template`)."""
        raise NotImplementedError

    def allow_refresh(self, role: iam.IRole, prefixes: list[str]) -> None:
        """An operator's command that makes what it wrote searchable before it exits (`rdsaudit replay`). Nothing
        on Serverless, which has no refresh and is never sent one."""

    def allow_detector(self, role: iam.IRole, prefix: str) -> None:
        """The detect job (handler/detect): read the audit and findings indices `<prefix>-*` through one point in
        time, and write findings and their notification marks (`_bulk`)."""
        raise NotImplementedError

    def allow_setup(self, audit_prefix: str, activity_prefix: str) -> None:
        """The setup role: what `rdsaudit setup` sends for these two index families (handler/setup/run.py)."""
        raise NotImplementedError
