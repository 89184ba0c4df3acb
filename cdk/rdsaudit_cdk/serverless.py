"""An OpenSearch Serverless collection instead of a domain (`rdsaudit:serverless=timeseries|search`).

Serverless has no security plugin: who may do what inside the collection is a *data access policy*, and IAM only
lets a role reach the collection's data plane at all (aoss:APIAccessAll on the collection ARN: "Actions, resources,
and condition keys for Amazon OpenSearch Serverless", Service Authorization Reference). Both are granted here, each
role exactly what its code sends on Serverless, where the functions know the engine from their settings and so
never send `GET /` (handler/setup/engine.py `for_settings`):

- a writer (forwarder, replay, backfill, activity consumer, exporter with index) sends `POST _bulk` into its daily
  `<prefix>-YYYY.MM.DD` indices and, at cold start, `GET`/`PUT _index_template/<prefix>` (handler/runtime.py
  `ensure_template` → handler/setup/cluster.py `ClusterSetup.template`);
- setup sends `GET`/`PUT _index_template/<prefix>` for both families and, on a time series collection, sets the
  retention as a lifecycle policy through the opensearchserverless API (handler/setup/serverless.py).

Permission names and what each allows, as AWS documents them ("Data access control for Amazon OpenSearch
Serverless": supported policy permissions, "alias and template permissions are at the collection level";
"Supported operations and plugins in Amazon OpenSearch Serverless": the operations each permission allows):
aoss:WriteDocument (`POST _bulk`), aoss:CreateIndex (`PUT <index>`: creating the daily index), aoss:DescribeIndex
(`GET <index>`, `GET _cat/indices`), aoss:ReadDocument (search, get, count), aoss:DescribeCollectionItems
("describe aliases and index templates": `GET _index_template`), aoss:UpdateCollectionItems ("update aliases and
index templates": `PUT _index_template`). aoss:CreateCollectionItems is documented for creating collection items
(`POST _aliases`); the table found does not say whether a `PUT _index_template` that creates a template needs it
rather than UpdateCollectionItems, so whoever installs a template gets both. Collection-level permissions cannot
name a template: they cover every template and alias of the collection, which is why the collection is this
stack's own.

Network: with `rdsaudit:vpcId` the collection is reachable only through an OpenSearch Serverless VPC endpoint in the
functions' subnets, admitting HTTPS from their security group; without it the collection endpoint is public and
only the data access policy and IAM (SigV4 on every request) limit who gets in ("Network access for Amazon
OpenSearch Serverless"). Dashboards are reachable only with `rdsaudit:serverlessDashboards=true`, then from the
same network as the collection (AWS requires the same access type for both endpoints).
"""

from __future__ import annotations

import re
from typing import Any

import jsii
from aws_cdk import CfnOutput, IStableStringProducer, Lazy, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct

from rdsaudit_cdk.keys import DataKey
from rdsaudit_cdk.nag import acknowledge
from rdsaudit_cdk.network import Network
from rdsaudit_cdk.search import SearchBackend

COLLECTION_TYPES = {"timeseries": "TIMESERIES", "search": "SEARCH"}
# Collection names are 3-32 of a-z, 0-9 and '-', starting with a letter (CreateCollection, Serverless API
# Reference); 27 at most here so that the policies named after the collection (`<name>-vpce`) fit in 32 too.
NAME = re.compile(r"[a-z][a-z0-9-]{2,26}")

# Data access policy permissions (see the module docstring for the operations each one allows).
DESCRIBE_ITEMS = "aoss:DescribeCollectionItems"  # GET _index_template/<name>
TEMPLATE_WRITE = ("aoss:CreateCollectionItems", "aoss:UpdateCollectionItems")  # PUT _index_template/<name>
# POST _bulk, creating the day's index on its first document, and DescribeIndex: the index metadata a writer may
# ask for (backfill's checkpoint recheck lists `_cat/indices`; the operations table does not say which checks a
# `_bulk` that creates its index makes beyond CreateIndex).
WRITE_INDEX = ("aoss:CreateIndex", "aoss:WriteDocument", "aoss:DescribeIndex")
READ_INDEX = ("aoss:ReadDocument", "aoss:DescribeIndex")
# The retention of a time series collection: handler/setup/serverless.py reads the policy, then creates or updates
# it. These actions have no resource type, so Resource must be "*" (Service Authorization Reference).
LIFECYCLE = ["aoss:BatchGetLifecyclePolicy", "aoss:CreateLifecyclePolicy", "aoss:UpdateLifecyclePolicy"]


@jsii.implements(IStableStringProducer)
class _Producer:
    """The data access policy document, produced at synthesis: writers are added after the collection exists."""

    def __init__(self, produce: Any) -> None:
        self._produce = produce

    def produce(self) -> str | None:
        result: str = self._produce()
        return result


class ServerlessCollection(SearchBackend):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        collection_type: str,
        name: str = "rdsaudit",
        network: Network | None = None,
        admin_role_arn: str = "",
        reader_role_arn: str = "",
        dashboards: bool = False,
    ) -> None:
        if collection_type not in COLLECTION_TYPES:
            raise ValueError(f"rdsaudit:serverless must be one of {sorted(COLLECTION_TYPES)}, not {collection_type!r}")
        if not NAME.fullmatch(name):
            raise ValueError(
                f"rdsaudit:collectionName {name!r}: 3 to 27 lowercase letters, digits and '-', starting with a letter"
            )
        super().__init__(scope, construct_id, admin_role_arn=admin_role_arn)
        self.name = name
        self.collection_type = collection_type
        # principal → {(resource type, resource pattern) → permissions}; written out at synthesis
        self._grants: dict[str, dict[tuple[str, str], set[str]]] = {}
        self.collection_resource = f"collection/{name}"
        stack = Stack.of(self)

        # Encryption at rest under the stack's customer-managed key (or `rdsaudit:kmsKeyArn`), which must be in this
        # account ("Encryption in Amazon OpenSearch Serverless"). The deploying principal needs kms:DescribeKey and
        # kms:CreateGrant on it; the default key policy lets IAM grant those.
        encryption = aoss.CfnSecurityPolicy(
            self,
            "Encryption",
            name=f"{name}-enc",
            type="encryption",
            description="rdsaudit: the collection's data under the stack's customer-managed key",
            policy=stack.to_json_string(
                {
                    "Rules": [{"ResourceType": "collection", "Resource": [self.collection_resource]}],
                    "AWSOwnedKey": False,
                    "KmsARN": DataKey.of(self).key.key_arn,
                }
            ),
        )
        access: dict[str, Any] = {"AllowFromPublic": True}
        self.endpoint: aoss.CfnVpcEndpoint | None = None
        if network is not None:
            self.endpoint = aoss.CfnVpcEndpoint(
                self,
                "VpcEndpoint",
                name=f"{name}-vpce",
                vpc_id=network.vpc.vpc_id,
                subnet_ids=[s.subnet_id for s in network.subnets.subnets or []],
                security_group_ids=[network.domain.security_group_id],  # HTTPS from the functions only
            )
            access = {"AllowFromPublic": False, "SourceVPCEs": [self.endpoint.ref]}
        rules = [{"ResourceType": "collection", "Resource": [self.collection_resource]}]
        if dashboards:
            rules.append({"ResourceType": "dashboard", "Resource": [self.collection_resource]})
        network_policy = aoss.CfnSecurityPolicy(
            self,
            "NetworkPolicy",
            name=f"{name}-net",
            type="network",
            description="rdsaudit: "
            + ("the VPC endpoint only" if network else "public endpoint, access by data access policy")
            + ("; Dashboards likewise" if dashboards else "; no Dashboards"),
            policy=stack.to_json_string([{"Rules": rules, **access}]),
        )
        self.collection = aoss.CfnCollection(
            self,
            "Collection",
            name=name,
            type=COLLECTION_TYPES[collection_type],
            description="rdsaudit: RDS and Aurora MySQL audit logs",
        )
        # Audit data outlives the stack; so do the two policies attached to it (they cannot be deleted while a
        # collection uses them). The data access policy names this stack's roles and goes with them.
        for resource in (self.collection, encryption, network_policy):
            resource.apply_removal_policy(RemovalPolicy.RETAIN)
        self.url = self.collection.attr_collection_endpoint  # https://<id>.<region>.aoss.amazonaws.com
        self.arn = self.collection.attr_arn

        if admin_role_arn:  # the people administering it: every data-plane permission, on this collection only
            self._grant(admin_role_arn, "collection", self.collection_resource, "aoss:*")
            self._grant(admin_role_arn, "index", f"index/{name}/*", "aoss:*")
        self._reader = reader_role_arn
        data_access = aoss.CfnAccessPolicy(
            self,
            "DataAccess",
            name=f"{name}-data",
            type="data",
            description="rdsaudit: each role only what its code sends",
            policy=Lazy.string(_Producer(self._policy_document)),
        )
        # A collection is created only if an encryption policy matches its name, and must not be reachable before
        # its network policy says from where: both exist first. So does the data access policy: AWS enforces a new
        # one after up to a minute ("Data access control for Amazon OpenSearch Serverless"), which the collection's
        # creation covers, so setup (the custom resource, which needs the collection) is not refused meanwhile.
        self.collection.node.add_dependency(encryption, network_policy, data_access)
        CfnOutput(self, "CollectionEndpoint", value=self.url, description="The collection's OpenSearch endpoint")
        if dashboards:
            CfnOutput(
                self,
                "DashboardsEndpoint",
                value=self.collection.attr_dashboard_endpoint,
                description="OpenSearch Dashboards: for principals of the data access policy allowed "
                "aoss:DashboardsAccessAll by their own IAM policy",
            )

    @property
    def environment(self) -> dict[str, str]:
        return {
            "OPENSEARCH_URL": self.url,
            "OPENSEARCH_SERVICE": "aoss",
            # time series collections generate document ids and take a `date` @timestamp (handler/mappings.py)
            "RDSAUDIT_AOSS_COLLECTION_TYPE": self.collection_type,
        }

    def setup_properties(self) -> dict[str, str]:
        return {"AossCollection": self.name}  # setup's --aoss-collection: the lifecycle policy's collection

    def allow_writer(self, role: iam.IRole, templates: list[str]) -> None:
        self._allow_data_plane(role)
        self._grant(role.role_arn, "collection", self.collection_resource, DESCRIBE_ITEMS, *TEMPLATE_WRITE)
        for prefix in templates:
            self._grant(role.role_arn, "index", f"index/{self.name}/{prefix}-*", *WRITE_INDEX)
            if self._reader:  # the reader may read every family something writes
                self._grant(self._reader, "index", f"index/{self.name}/{prefix}-*", *READ_INDEX)
                self._grant(self._reader, "collection", self.collection_resource, DESCRIBE_ITEMS)

    @property
    def keeps_document_ids(self) -> bool:
        # Time series collections generate ids and refuse ours (handler/setup/engine.py, Engine.generates_ids).
        return self.collection_type == "search"

    def allow_detector(self, role: iam.IRole, prefix: str) -> None:
        self._allow_data_plane(role)
        self._grant(role.role_arn, "index", f"index/{self.name}/{prefix}-*", *READ_INDEX)
        self._grant(role.role_arn, "index", f"index/{self.name}/{prefix}-findings-*", *WRITE_INDEX)
        # the job installs the findings template (GET, then PUT when missing or older)
        self._grant(role.role_arn, "collection", self.collection_resource, DESCRIBE_ITEMS, *TEMPLATE_WRITE)

    def allow_setup(self, audit_prefix: str, activity_prefix: str) -> None:
        role = self.setup_role
        self._allow_data_plane(role)
        # Both families' templates; no index is touched, and there are no security-plugin roles to map.
        self._grant(role.role_arn, "collection", self.collection_resource, DESCRIBE_ITEMS, *TEMPLATE_WRITE)
        if self.collection_type == "timeseries":  # only time series collections have lifecycle policies
            role.add_to_principal_policy(iam.PolicyStatement(actions=LIFECYCLE, resources=["*"]))
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "The lifecycle policy actions have no resource type (Service Authorization Reference, aoss): setup "
                "reads and writes the one retention policy named after the index prefix.",
            )

    def _allow_data_plane(self, role: iam.IRole) -> None:
        # IAM lets the role reach this collection's data plane; the data access policy decides what it may do there.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["aoss:APIAccessAll"], resources=[self.arn]))

    def _grant(self, principal: str, resource_type: str, resource: str, *permissions: str) -> None:
        rules = self._grants.setdefault(principal, {})
        rules.setdefault((resource_type, resource), set()).update(permissions)

    def _policy_document(self) -> str:
        """One statement per set of principals that share the same rules."""
        by_rules: dict[tuple[Any, ...], list[str]] = {}
        for principal, rules in self._grants.items():
            key = tuple(sorted((t, r, tuple(sorted(p))) for (t, r), p in rules.items()))
            by_rules.setdefault(key, []).append(principal)
        statements = [
            {
                "Rules": [{"ResourceType": t, "Resource": [r], "Permission": list(p)} for t, r, p in key],
                "Principal": principals,
            }
            for key, principals in by_rules.items()
        ]
        return Stack.of(self).to_json_string(statements)
