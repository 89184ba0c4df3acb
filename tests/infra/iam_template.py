"""A synthesized template as the IAM contract test needs it: each role's policies and each resource's policy, with
CloudFormation intrinsics resolved to concrete ARNs of one test account, the way CloudFormation would resolve them.

Names are made from logical ids (a bucket `ForwarderDeadLetters51377F11` is named `forwarderdeadletters51377f11`),
parameters take their defaults, and the pseudo parameters are the account and region moto uses. A role's managed
policies count like its inline ones: their documents are in managed_policies.json, each with the AWS page it was
copied from; a managed policy not there is Unresolved (the test learns its document rather than ignoring it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"  # moto's default account: the one the integration tests' calls were made in
REGION = "us-east-1"
PARTITION = "aws"
DOMAIN_NAME = "rdsaudit-test"
MANAGED_POLICIES: dict[str, Any] = json.loads((Path(__file__).with_name("managed_policies.json")).read_text())


class Unresolved(Exception):
    """An intrinsic or attribute this resolver does not know: the test must learn it rather than guess."""


@dataclass
class Role:
    logical_id: str
    arn: str
    policies: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "policy"}]: inline ones
    managed: list[str] = field(default_factory=list)


class Template:
    def __init__(self, template: dict[str, Any]) -> None:
        self.raw = template
        self.resources: dict[str, Any] = template["Resources"]
        self.parameters: dict[str, Any] = template.get("Parameters", {})

    # --- names and ARNs of resources, by type -------------------------------------------------------------------
    def _name(self, lid: str) -> str:
        return lid.lower()

    def ref(self, lid: str) -> str:
        pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION}
        if lid in pseudo:
            return pseudo[lid]
        if lid in self.parameters:
            if "Default" not in self.parameters[lid]:
                raise Unresolved(f"parameter {lid} has no default")
            return str(self.parameters[lid]["Default"])
        kind = self.resources[lid]["Type"]
        name = self._name(lid)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        if kind == "AWS::KMS::Key":
            return name
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        if kind == "AWS::OpenSearchService::Domain":
            return DOMAIN_NAME
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
        if kind == "AWS::OpenSearchServerless::VpcEndpoint":
            return f"vpce-{name}"
        return name  # buckets, functions, roles, log groups, Serverless collections (their id): their name

    def get_att(self, lid: str, attribute: str) -> str:
        kind = self.resources[lid]["Type"]
        name = self._name(lid)
        arns = {
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::OpenSearchService::Domain": f"arn:{PARTITION}:es:{REGION}:{ACCOUNT}:domain/{DOMAIN_NAME}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::OpenSearchServerless::Collection": f"arn:{PARTITION}:aoss:{REGION}:{ACCOUNT}:collection/{name}",
            "AWS::Kinesis::Stream": f"arn:{PARTITION}:kinesis:{REGION}:{ACCOUNT}:stream/{name}",
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        if kind == "AWS::S3::Bucket" and attribute == "RegionalDomainName":
            return f"{name}.s3.{REGION}.amazonaws.com"
        if kind == "AWS::OpenSearchService::Domain" and attribute == "DomainEndpoint":
            return f"search-{DOMAIN_NAME}.{REGION}.es.amazonaws.com"
        if kind == "AWS::OpenSearchServerless::Collection" and attribute == "CollectionEndpoint":
            return f"https://{name}.{REGION}.aoss.amazonaws.com"
        if kind == "AWS::OpenSearchServerless::Collection" and attribute == "DashboardEndpoint":
            return f"https://{name}.{REGION}.aoss.amazonaws.com/_dashboards"
        raise Unresolved(f"Fn::GetAtt {lid}.{attribute} ({kind})")

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic in `value`."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, arg)] = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                lid, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(lid, attribute)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in parts)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key.startswith("Fn::"):
                raise Unresolved(key)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        import re

        text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(m: re.Match[str]) -> str:
            ref = m.group(1)
            if ref in names:
                return str(self.resolve(names[ref]))
            if "." in ref:
                lid, attribute = ref.split(".", 1)
                return self.get_att(lid, attribute)
            return self.ref(ref)

        return re.sub(r"\$\{([^}!][^}]*)\}", one, text)

    # --- what the contract test reads ---------------------------------------------------------------------------
    def functions(self) -> dict[str, dict[str, Any]]:
        """Handler → the function's logical id, role logical id and resolved environment (our functions only)."""
        out = {}
        for lid, r in self.resources.items():
            props = r.get("Properties", {})
            handler = props.get("Handler", "")
            if r["Type"] == "AWS::Lambda::Function" and handler.startswith("handler.app."):
                role = props["Role"]["Fn::GetAtt"][0]
                env = self.resolve(props.get("Environment", {}).get("Variables", {}))
                out[handler.removeprefix("handler.app.")] = {"id": lid, "role": role, "env": env}
        return out

    def role(self, role_lid: str) -> Role:
        role = Role(role_lid, self.get_att(role_lid, "Arn"))
        props = self.resources[role_lid].get("Properties", {})
        role.managed = [str(self.resolve(m)) for m in props.get("ManagedPolicyArns", [])]
        for arn in role.managed:
            if arn not in MANAGED_POLICIES:
                raise Unresolved(f"managed policy {arn} of {role_lid}: add its document to managed_policies.json")
            role.policies.append({"name": arn.rsplit("/", 1)[-1], "policy": MANAGED_POLICIES[arn]["document"]})
        for p in props.get("Policies", []):
            role.policies.append({"name": p["PolicyName"], "policy": self.resolve(p["PolicyDocument"])})
        for lid, r in self.resources.items():
            if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                attached = r["Properties"].get("Roles", [])
                if {"Ref": role_lid} in attached:
                    role.policies.append({"name": lid, "policy": self.resolve(r["Properties"]["PolicyDocument"])})
        return role

    def roles_named(self, prefix: str) -> list[str]:
        return [lid for lid, r in self.resources.items() if r["Type"] == "AWS::IAM::Role" and lid.startswith(prefix)]

    def resource_policies(self) -> dict[str, dict[str, Any]]:
        """Resolved ARN → its resource policy: bucket policies, queue policies, key policies."""
        out: dict[str, dict[str, Any]] = {}
        for lid, r in self.resources.items():
            props = r.get("Properties", {})
            if r["Type"] == "AWS::S3::BucketPolicy":
                arn = f"arn:{PARTITION}:s3:::{self.resolve(props['Bucket'])}"
                out[arn] = self.resolve(props["PolicyDocument"])
            elif r["Type"] == "AWS::SQS::QueuePolicy":
                for url in props["Queues"]:
                    name = str(self.resolve(url)).rsplit("/", 1)[-1]
                    out[f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"] = self.resolve(props["PolicyDocument"])
            elif r["Type"] == "AWS::KMS::Key":
                out[self.get_att(lid, "Arn")] = self.resolve(props["KeyPolicy"])
        return out

    def bucket_key(self, bucket: str) -> str | None:
        """The KMS key ARN a bucket of this template encrypts new objects with by default, if any."""
        for lid, r in self.resources.items():
            if r["Type"] == "AWS::S3::Bucket" and self.ref(lid) == bucket:
                rules = r["Properties"].get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
                for rule in rules:
                    default = rule.get("ServerSideEncryptionByDefault", {})
                    if default.get("SSEAlgorithm") == "aws:kms" and "KMSMasterKeyID" in default:
                        return str(self.resolve(default["KMSMasterKeyID"]))
        return None

    def topic_key(self, topic_arn: str) -> str | None:
        for lid, r in self.resources.items():
            if r["Type"] == "AWS::SNS::Topic" and self.ref(lid) == topic_arn:
                key = r["Properties"].get("KmsMasterKeyId")
                return str(self.resolve(key)) if key is not None else None
        return None

    def queue_key(self, queue_arn: str) -> str | None:
        for lid, r in self.resources.items():
            if r["Type"] == "AWS::SQS::Queue" and self.get_att(lid, "Arn") == queue_arn:
                key = r["Properties"].get("KmsMasterKeyId")
                return str(self.resolve(key)) if key is not None else None
        return None


def load(path: str) -> Template:
    with open(path, encoding="utf-8") as f:
        return Template(json.load(f))
