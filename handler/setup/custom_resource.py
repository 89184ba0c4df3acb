"""The CDK custom resource's properties → setup options."""

from __future__ import annotations

from typing import Any

from handler.setup.run import SetupOptions


def options_from_properties(props: dict[str, Any]) -> SetupOptions:
    warm = props.get("WarmAfterDays")
    return SetupOptions(
        retention_days=int(props.get("RetentionDays", 90)),
        findings_retention_days=int(props.get("FindingsRetentionDays", 400)),
        warm_after_days=int(warm) if warm not in (None, "") else None,
        role_arns=[r for r in props.get("RoleArns", []) if r],
        detector_role_arns=[r for r in props.get("DetectorRoleArns", []) if r],
        dashboards_url=props.get("DashboardsUrl") or None,
        # Serverless (CDK `rdsaudit:serverless`): the collection whose lifecycle policy keeps the retention
        aoss_collection=props.get("AossCollection") or None,
    )
