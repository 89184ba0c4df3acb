"""`rdsaudit setup` and the CDK custom resource: everything, in order, reported change by change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handler.config import Settings
from handler.setup.cluster import Change, ClusterSetup
from handler.setup.engine import for_settings


@dataclass(frozen=True)
class SetupOptions:
    retention_days: int = 90
    findings_retention_days: int = 400  # findings are the evidence auditors ask for, kept past the events' retention
    warm_after_days: int | None = None  # read-only and force-merged (default: mappings.CLOSED_AFTER_DAYS)
    ultrawarm_after_days: int | None = None  # Amazon OpenSearch Service only
    cold_after_days: int | None = None  # Amazon OpenSearch Service only
    role_arns: list[str] = field(default_factory=list)  # IAM roles that write (forwarder, backfill, …)
    detector_role_arns: list[str] = field(default_factory=list)  # IAM roles of the detect job
    dashboards_url: str | None = None
    dry_run: bool = False
    aoss_collection: str | None = None  # Serverless: the collection whose lifecycle policy keeps the retention


def run_setup(settings: Settings, options: SetupOptions, client: Any = None) -> tuple[list[Change], list[Any]]:
    """Returns the changes, and (dry run) the requests that would have been sent. Raises UnsupportedEngine (a
    ConfigError) before changing anything when the cluster runs an engine rdsaudit cannot write to."""
    if client is None:
        from handler.sinks.opensearch import build_client

        client = build_client(settings)
    cluster = ClusterSetup(
        client,
        settings.index_prefix,
        dry_run=options.dry_run,
        activity_prefix=settings.activity_prefix,
        engine=for_settings(settings),
    )
    engine = cluster.engine()  # GET / once (not on Serverless); refuses unsupported engines here
    from handler.mappings import activity_index_template, findings_index_template

    activity = ClusterSetup(client, settings.activity_prefix, dry_run=options.dry_run, engine=engine)
    prefix = settings.index_prefix
    changes = [
        cluster.template(),
        activity.template(activity_index_template(settings.activity_prefix), settings.activity_prefix),
        # installed here, as the audit one is, so the detect job (which may only read it) finds it in place
        cluster.template(findings_index_template(prefix), f"{prefix}-findings"),
    ]
    if engine.serverless:
        from handler.setup.serverless import lifecycle_policy

        prefixes = [settings.index_prefix, settings.activity_prefix]
        changes.append(
            lifecycle_policy(engine, options.aoss_collection, prefixes, options.retention_days, dry_run=options.dry_run)
        )
    else:
        changes.append(
            cluster.ism(
                options.retention_days, options.warm_after_days, options.ultrawarm_after_days, options.cold_after_days
            )
        )
        changes.append(cluster.findings_ism(options.findings_retention_days))
        from handler.setup.ism_move import move_managed

        changes += move_managed(cluster)  # indices an older release's audit policy took (handler/setup/ism_move.py)
    changes += cluster.roles(options.role_arns, options.detector_role_arns)
    if options.dashboards_url:
        from handler.setup.dashboards import dashboards_session, default_index_pattern, import_saved_objects

        auth = None
        if settings.auth == "basic":
            auth = (settings.username, settings.password)
        elif settings.auth == "sigv4":
            from handler.sinks.opensearch import sigv4_auth

            # Dashboards of a Serverless collection are signed for aoss, those of a managed domain for es.
            auth = sigv4_auth(settings.aws_region, settings.sigv4_service)
        session = dashboards_session(auth, settings.verify_certs)
        changes.append(
            import_saved_objects(
                session,
                options.dashboards_url,
                settings.index_prefix,
                activity_prefix=settings.activity_prefix,
                dry_run=options.dry_run,
            )
        )
        changes.append(
            default_index_pattern(session, options.dashboards_url, settings.index_prefix, dry_run=options.dry_run)
        )
    return changes, cluster.requests + activity.requests
