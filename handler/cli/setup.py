"""`rdsaudit setup`: index template, retention policy, roles and Dashboards objects (idempotent)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from handler.cli.environment import positive


def add(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "setup", parents=[common], help="index template, retention policy, roles and Dashboards objects (idempotent)"
    )
    s.add_argument(
        "--retention-days", type=positive, default=90, help="delete daily audit indices after this many days"
    )
    s.add_argument(
        "--findings-retention-days",
        type=positive,
        default=400,
        help="delete daily findings indices after this many days (their own ISM policy)",
    )
    s.add_argument(
        "--warm-after-days",
        type=positive,
        help="make indices read-only and force-merge them to one segment after N days (default 2)",
    )
    s.add_argument(
        "--ultrawarm-after-days",
        type=positive,
        help="Amazon OpenSearch Service: move indices to UltraWarm after N days",
    )
    s.add_argument(
        "--cold-after-days", type=positive, help="Amazon OpenSearch Service: move indices to cold storage after N days"
    )
    s.add_argument(
        "--role-arn",
        action="append",
        default=[],
        help="IAM role mapped to rdsaudit_writer (security plugin); repeat for forwarder, backfill, …",
    )
    s.add_argument(
        "--detector-role-arn",
        action="append",
        default=[],
        help="IAM role of the detect job, mapped to rdsaudit_reader and rdsaudit_detector (security plugin)",
    )
    s.add_argument("--dashboards-url", help="OpenSearch Dashboards URL to import the saved objects into")
    s.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX")
    s.add_argument("--aoss-collection", help="Serverless time series collection to set the retention policy of")
    s.add_argument("--dry-run", action="store_true", help="print the requests instead of sending them")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.cli.environment import require, runtime_for, settings_for
    from handler.config import has_userinfo
    from handler.setup import SetupOptions, run_setup

    settings = settings_for(args)
    require(
        not (args.dashboards_url and has_userinfo(args.dashboards_url)),
        "--dashboards-url must not carry credentials (user:password@): setup signs or authenticates the import "
        "with the same settings as OpenSearch (OPENSEARCH_AUTH …)",
    )
    require(
        args.warm_after_days is None or args.warm_after_days < args.retention_days,
        f"--warm-after-days ({args.warm_after_days}) must be less than --retention-days ({args.retention_days})",
    )
    for name in ("ultrawarm_after_days", "cold_after_days"):
        days = getattr(args, name)
        flag = "--" + name.replace("_", "-")
        require(
            days is None or days < args.retention_days,
            f"{flag} ({days}) must be less than --retention-days ({args.retention_days})",
        )
    options = SetupOptions(
        retention_days=args.retention_days,
        findings_retention_days=args.findings_retention_days,
        warm_after_days=args.warm_after_days,
        ultrawarm_after_days=args.ultrawarm_after_days,
        cold_after_days=args.cold_after_days,
        role_arns=args.role_arn,
        detector_role_arns=args.detector_role_arn,
        dashboards_url=args.dashboards_url,
        dry_run=args.dry_run,
        aoss_collection=args.aoss_collection,
    )
    changes, requests = run_setup(settings, options, runtime_for(args).client)
    for change in changes:
        print(change)
    for method, path, body in requests:
        print(f"\n{method} {path}\n{json.dumps(body, indent=2)}")
    return 0
