"""`rdsaudit backfill`: historical audit logs from S3 or local files, resumable, with a checkpoint keyed on
everything that decides the result and checked against the cluster before it is trusted."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from handler.cli.environment import positive, time_arg


def add(sub: Any, common: argparse.ArgumentParser) -> None:
    b = sub.add_parser("backfill", parents=[common], help="index historical audit logs from S3 or local files")
    b.add_argument("sources", nargs="+", metavar="SOURCE", help="s3://bucket/prefix or a local file or directory")
    b.add_argument("--since", type=time_arg, help="only records at or after this UTC time (ISO 8601)")
    b.add_argument("--until", type=time_arg, help="only records before this UTC time (ISO 8601)")
    b.add_argument("--workers", type=positive, default=1, help="objects processed in parallel (processes)")
    b.add_argument("--dry-run", action="store_true", help="read, parse and count; index nothing")
    b.add_argument(
        "--checkpoint",
        help="manifest file or s3://bucket/prefix (default: one per run under $XDG_CACHE_HOME/rdsaudit/backfill/)",
    )
    b.add_argument("--restart", action="store_true", help="ignore what an earlier run recorded and start over")
    b.add_argument("--force", action="store_true", help="index inputs that do not look like audit logs")
    b.add_argument("--log-group", help="log group of CloudWatch export objects, for the context fields")
    b.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX")
    b.add_argument("--segment-events", type=positive, default=20_000, help="events written between checkpoints")
    b.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.backfill.checkpoint import default_manifest_path, open_checkpoint, run_identity
    from handler.backfill.process import BackfillOptions
    from handler.backfill.runner import run_backfill
    from handler.cli.environment import require, runtime_for, settings_for
    from handler.errors import Interrupted

    settings = settings_for(args)
    require(
        not (args.since and args.until and args.since >= args.until),
        "--since must be before --until",
    )
    runtime = runtime_for(args)
    options = BackfillOptions(
        since=args.since,
        until=args.until,
        dry_run=args.dry_run,
        force=args.force,
        log_group=args.log_group,
        segment_events=args.segment_events,
    )
    identity = run_identity(
        args.sources,
        options,
        endpoint=settings.opensearch_url,
        index_prefix=settings.index_prefix,
        mask=settings.mask_secrets,
    )
    location = args.checkpoint or str(default_manifest_path(settings.cache_dir, identity))
    checkpoint = None
    if not args.dry_run:
        if args.restart:
            require(not location.startswith("s3://"), "--restart needs a local checkpoint; delete the S3 one instead")
            _forget(location)
        checkpoint = open_checkpoint(location, identity, runtime.aws("s3") if location.startswith("s3://") else None)
        runtime.ensure_template()  # an unreachable or refusing cluster stops the run here, in one line
    try:
        summary = run_backfill(args.sources, runtime, options=options, workers=args.workers, checkpoint=checkpoint)
    except Interrupted as e:
        where = f" (checkpoint: {location})" if checkpoint is not None else ""
        raise Interrupted(f"{e}{where}") from None
    for line in summary.notes:
        print(line)
    for line in summary.lines():
        print(line)
    if args.dry_run:
        print("dry run: nothing was indexed")
    else:
        print(f"checkpoint: {location}" + (" (started over: --restart)" if args.restart else ""))
        if note := runtime.make_searchable(summary.counts.present):
            print(note)
    if summary.failed:
        print(
            f"rdsaudit backfill: {summary.failed} of {summary.objects} objects failed (listed above); "
            "fix the cause and rerun the same command: finished objects are not read again",
            file=sys.stderr,
        )
    return 1 if summary.failed else 0


def _forget(location: str) -> None:
    from pathlib import Path

    if not location.startswith("s3://"):
        Path(location).unlink(missing_ok=True)
