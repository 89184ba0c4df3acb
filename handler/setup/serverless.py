"""Retention on OpenSearch Serverless: a data lifecycle policy set through the AWS API (opensearchserverless),
since collections have no ISM. Only time series collections support lifecycle policies ("Using data lifecycle
policies with Amazon OpenSearch Serverless")."""

from __future__ import annotations

import json
from typing import Any

from handler.setup.cluster import Change
from handler.setup.engine import Engine


def lifecycle_rules(collection: str, prefixes: list[str], retention_days: int) -> dict[str, Any]:
    """The policy document: each prefix's daily indices kept at least `retention_days`."""
    retention = f"{retention_days}d"
    return {
        "Rules": [
            {"ResourceType": "index", "Resource": [f"index/{collection}/{p}-*"], "MinIndexRetention": retention}
            for p in prefixes
        ]
    }


def lifecycle_policy(
    engine: Engine,
    collection: str | None,
    prefixes: list[str],
    retention_days: int,
    *,
    dry_run: bool = False,
    client: Any = None,
) -> Change:
    name = f"{prefixes[0]}-retention"[:32]
    what = f"lifecycle policy {name}"
    if not collection:
        return Change(what, "skipped", "no --aoss-collection given: retention is not managed")
    if engine.collection_type != "timeseries":
        return Change(what, "skipped", f"{engine.collection_type} collections have no lifecycle policies")
    if client is None:
        import boto3

        client = boto3.client("opensearchserverless")
    wanted = lifecycle_rules(collection, prefixes, retention_days)
    found = client.batch_get_lifecycle_policy(identifiers=[{"name": name, "type": "retention"}])
    details = found.get("lifecyclePolicyDetails") or []
    current = details[0] if details else None
    detail = f"keep {retention_days} days"
    if current is not None and _policy(current.get("policy")) == wanted:
        return Change(what, "unchanged")
    if dry_run:
        return Change(what, "would update" if current else "would create", detail)
    document = json.dumps(wanted)
    if current is None:
        client.create_lifecycle_policy(name=name, type="retention", policy=document, description="rdsaudit retention")
        return Change(what, "created", detail)
    client.update_lifecycle_policy(name=name, type="retention", policy=document, policyVersion=current["policyVersion"])
    return Change(what, "updated", detail)


def _policy(value: Any) -> Any:
    # The API returns the document as a JSON value; accept a string too.
    return json.loads(value) if isinstance(value, str) else value
