"""The AWS resources a finding is about (the DB cluster and instance ARNs), for EventBridge `Resources` and ASFF
`Resources`. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from handler.detect.notify.model import Finding


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class Resource:
    type: str  # ASFF resource type: AwsRdsDbCluster | AwsRdsDbInstance | Other
    id: str  # an ARN where one can be named
    region: str
    partition: str


def resources(f: Finding, account: str, region: str) -> list[Resource]:
    """The cluster and instance a finding names; their account and region are the finding's where the audit
    document recorded them (log groups of other accounts, collected centrally), else the caller's."""
    acct, reg = f.account or account, f.region or region
    part = partition(reg)
    out = []
    if f.cluster:
        out.append(Resource("AwsRdsDbCluster", f"arn:{part}:rds:{reg}:{acct}:cluster:{f.cluster}", reg, part))
    if f.instance and f.instance != f.cluster:
        out.append(Resource("AwsRdsDbInstance", f"arn:{part}:rds:{reg}:{acct}:db:{f.instance}", reg, part))
    if not out:  # ASFF needs at least one resource; an audit log without a DB name still has its server
        out.append(Resource("Other", f.server or f.key or f.rule, reg, part))
    return out
