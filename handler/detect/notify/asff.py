"""A finding in the AWS Security Finding Format, for Security Hub's BatchImportFindings. Pure.

Field rules as the AWS Security Hub User Guide documents them ("AWS Security Finding Format (ASFF)", "Required
top-level attributes" and "ASFF types taxonomy"): SchemaVersion 2018-10-08; Id unique per product (the finding's
id, so a later import of the same finding replaces it); ProductArn of the account's default product
`arn:<partition>:securityhub:<region>:<account>:product/<account>/default`, whose AwsAccountId must be the caller's;
Title at most 256 characters, Description at most 1024; Types `namespace/category[/classifier]`; Severity.Label one
of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL; Resources at least one; CreatedAt and UpdatedAt ISO 8601."""

from __future__ import annotations

import ipaddress
from typing import Any

from handler.detect.notify.model import Finding
from handler.detect.notify.resources import partition, resources

SCHEMA_VERSION = "2018-10-08"
LABELS = {"informational": "INFORMATIONAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"}
# MITRE ATT&CK technique → ASFF type (TTPs categories are ATT&CK tactics; Effects for what was done to data).
TYPES = {
    "T1110": "TTPs/Credential Access/Brute Force",
    "T1003": "TTPs/Credential Access/OS Credential Dumping",
    "T1098": "TTPs/Persistence/Account Manipulation",
    "T1562": "TTPs/Defense Evasion/Impair Defenses",
    "T1078": "TTPs/Initial Access/Valid Accounts",
    "T1005": "TTPs/Collection/Data from Local System",
    "T1485": "Effects/Data Destruction",
}
DEFAULT_TYPE = "Unusual Behaviors/Database"


def product_arn(account: str, region: str) -> str:
    return f"arn:{partition(region)}:securityhub:{region}:{account}:product/{account}/default"


def finding_type(mitre: str | None) -> str:
    return TYPES.get((mitre or "").split(".")[0], DEFAULT_TYPE)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _network(client: str | None) -> dict[str, str] | None:
    try:
        address = ipaddress.ip_address(client or "")
    except ValueError:
        return None
    key = "SourceIpV4" if address.version == 4 else "SourceIpV6"
    return {"Direction": "IN", key: str(address)}


def to_asff(f: Finding, *, account: str, region: str, now: str) -> dict[str, Any]:
    description = f.description or f.title
    details = f"{f.count} events, {f.first} to {f.last}; {f.key}."
    out: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": f.id,
        "ProductArn": product_arn(account, region),
        "GeneratorId": f.rule,
        "AwsAccountId": account,
        "Types": [finding_type(f.mitre)],
        "CreatedAt": f.detected_at or now,
        "UpdatedAt": now,
        "Severity": {"Label": LABELS.get(f.severity, "MEDIUM"), "Original": f.severity},
        "Title": _cut(f"rdsaudit: {f.title}", 256),
        "Description": _cut(f"{description} {details}", 1024),
        "Resources": [
            {"Type": r.type, "Id": r.id, "Partition": r.partition, "Region": r.region}
            for r in resources(f, account, region)
        ],
        "ProductFields": {
            k: _cut(v, 2048)
            for k, v in {
                "rdsaudit/rule": f.rule,
                "rdsaudit/key": f.key,
                "rdsaudit/count": str(f.count),
                "rdsaudit/index": f.index,
                "rdsaudit/user": f.user or "",
                "rdsaudit/connection": f"{f.server} {f.connid}" if f.server and f.connid is not None else "",
            }.items()
            if v
        },
        "RecordState": "ACTIVE",
    }
    if f.first:
        out["FirstObservedAt"] = f.first
    if f.last:
        out["LastObservedAt"] = f.last
    if f.response:
        recommendation: dict[str, str] = {"Text": _cut(f.response, 512)}
        if f.link.startswith("https://"):
            recommendation["Url"] = f.link
        out["Remediation"] = {"Recommendation": recommendation}
    if f.link.startswith("https://"):
        out["SourceUrl"] = f.link
    network = _network(f.client)
    if network:
        out["Network"] = network
    return out
