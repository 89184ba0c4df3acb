"""`rdsaudit` command line: thin argument parsing over the pipeline stages."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from handler.model import COUNT_NAMES
from handler.transforms.batch import TransformOptions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rdsaudit", description="RDS and Aurora MySQL audit logs into OpenSearch")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="print, one JSON object per line, what the forwarder would index")
    p.add_argument("file", nargs="?", default="-", help="raw audit lines (export prefixes accepted); - for stdin")
    p.add_argument("--log-group", help="context as if the lines came from this log group")
    p.add_argument("--log-stream", help="context as if the lines came from this log stream")
    p.add_argument("--owner", help="account id for the context")
    p.add_argument("--index-prefix", default="rdsaudit")
    p.add_argument("--no-mask", action="store_true", help="do not mask passwords in SQL")
    p.add_argument("--workers", type=int, help="processes for a large raw file (default: up to 2, the CPUs there are)")
    p.set_defaults(func=cmd_parse)

    b = sub.add_parser("backfill", help="index historical audit logs from S3 or local files")
    b.add_argument("sources", nargs="+", metavar="SOURCE", help="s3://bucket/prefix or a local file or directory")
    b.add_argument("--since", type=_time_arg, help="only records at or after this UTC time (ISO 8601)")
    b.add_argument("--until", type=_time_arg, help="only records before this UTC time (ISO 8601)")
    b.add_argument("--workers", type=int, default=1, help="objects processed in parallel (processes)")
    b.add_argument("--dry-run", action="store_true", help="read, parse and count; index nothing")
    b.add_argument("--checkpoint", help="manifest file or s3://bucket/prefix (default: derived from the sources)")
    b.add_argument("--log-group", help="log group of CloudWatch export objects, for the context fields")
    b.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX")
    b.add_argument("--segment-events", type=int, default=20_000, help="events written between checkpoints")
    b.set_defaults(func=cmd_backfill)

    r = sub.add_parser("replay", help="re-drive dead letters and the on-failure queue once the cause is fixed")
    r.add_argument("--dead-letter", help="s3://bucket/prefix or a directory (default: RDSAUDIT_DEAD_LETTER)")
    r.add_argument("--queue", help="URL of the forwarder's on-failure SQS queue")
    r.add_argument("--keep", action="store_true", help="leave replayed dead letters and messages in place")
    r.set_defaults(func=cmd_replay)

    s = sub.add_parser("setup", help="index template, retention policy, roles and Dashboards objects (idempotent)")
    s.add_argument("--retention-days", type=int, default=90, help="delete daily indices after this many days")
    s.add_argument("--warm-after-days", type=int, help="make indices read-only and force-merge them after N days")
    s.add_argument(
        "--role-arn",
        action="append",
        default=[],
        help="IAM role mapped to rdsaudit_writer (security plugin); repeat for forwarder, backfill, …",
    )
    s.add_argument("--dashboards-url", help="OpenSearch Dashboards URL to import the saved objects into")
    s.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX")
    s.add_argument("--dry-run", action="store_true", help="print the requests instead of sending them")
    s.set_defaults(func=cmd_setup)

    e = sub.add_parser(
        "export", help="copy RDS audit log files to S3, exactly once, resuming where the last run stopped"
    )
    e.add_argument("--instance", action="append", required=True, help="DB instance identifier (repeatable)")
    e.add_argument("--bucket", required=True, help="archive bucket")
    e.add_argument("--prefix", default="", help="key prefix in the bucket")
    e.add_argument("--portions", action="store_true", help="use DownloadDBLogFilePortion instead of complete files")
    e.add_argument("--index", action="store_true", help="also index the lines into OpenSearch (OPENSEARCH_URL …)")
    e.add_argument(
        "--lease-seconds",
        type=float,
        default=900,
        help="how long an unfinished run's claim on an instance is honoured (default: Lambda's maximum)",
    )
    e.set_defaults(func=cmd_export)

    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def _time_arg(text: str) -> str:
    from handler.backfill.process import sortable_time

    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return sortable_time(dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def cmd_backfill(args: argparse.Namespace) -> int:
    import logging

    from handler.backfill.checkpoint import default_manifest_path
    from handler.backfill.process import BackfillOptions
    from handler.backfill.runner import run_backfill

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _settings("backfill", args.index_prefix)
    if settings is None:
        return 2
    from handler.runtime import build_runtime

    if args.workers < 1:
        print("rdsaudit backfill: --workers must be at least 1", file=sys.stderr)
        return 2
    options = BackfillOptions(
        since=args.since,
        until=args.until,
        dry_run=args.dry_run,
        log_group=args.log_group,
        segment_events=max(1, args.segment_events),
    )
    checkpoint = args.checkpoint or str(default_manifest_path(args.sources))
    summary = run_backfill(
        args.sources, build_runtime(settings), options=options, workers=args.workers, checkpoint_location=checkpoint
    )
    for line in summary.lines():
        print(line)
    if args.dry_run:
        print("dry run: nothing was indexed")
    return 1 if summary.failed else 0


def _settings(command: str, index_prefix: str | None = None) -> Any:
    """Settings from the environment, with an --index-prefix override; None (after saying why) when invalid."""
    from handler.config import Settings, valid_index_prefix
    from handler.errors import ConfigError

    try:
        settings = Settings.from_env()
        if index_prefix:
            if not valid_index_prefix(index_prefix):
                raise ConfigError(f"--index-prefix {index_prefix!r} is not a valid index prefix")
            settings = settings._replace(index_prefix=index_prefix)
    except ConfigError as e:
        print(f"rdsaudit {command}: {e}", file=sys.stderr)
        return None
    return settings


def cmd_setup(args: argparse.Namespace) -> int:
    from handler.setup import SetupOptions, run_setup

    settings = _settings("setup", args.index_prefix)
    if settings is None:
        return 2
    if args.retention_days < 1 or (
        args.warm_after_days is not None and not 0 < args.warm_after_days < args.retention_days
    ):
        print(
            "rdsaudit setup: need --retention-days >= 1 and 0 < --warm-after-days < --retention-days", file=sys.stderr
        )
        return 2
    from handler.runtime import build_runtime

    options = SetupOptions(args.retention_days, args.warm_after_days, args.role_arn, args.dashboards_url, args.dry_run)
    changes, requests = run_setup(settings, options, build_runtime(settings).client)
    for change in changes:
        print(change)
    for method, path, body in requests:
        print(f"\n{method} {path}\n{json.dumps(body, indent=2)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from handler.export.run import export_all
    from handler.runtime import build_runtime

    settings = _settings("export")
    if settings is None:
        return 2
    failed = 0
    results = export_all(
        build_runtime(settings),
        args.instance,
        bucket=args.bucket,
        prefix=args.prefix,
        complete_file=not args.portions,
        lease_seconds=args.lease_seconds,
        index=args.index,
    )
    for summary in results:
        if "error" in summary:
            failed += 1
            print(f"{summary['instance']}: FAILED {summary['error']}")
        else:
            print(
                f"{summary['instance']}: {summary['objects']} objects, {summary['bytes']} bytes, "
                f"{summary['files']} files seen, {summary['gone']} rotated away during the run"
            )
        if "counts" in summary:
            c = summary["counts"]
            print("  indexed: " + "  ".join(f"{k.replace('_', ' ')}: {c[k]:,}" for k in COUNT_NAMES))
    return 1 if failed else 0


def cmd_replay(args: argparse.Namespace) -> int:
    import logging

    from handler.replay import ReplaySummary, replay_queue, replay_store
    from handler.runtime import Runtime, build_runtime
    from handler.sinks.dead_letter import dead_letter_store

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _settings("replay")
    if settings is None:
        return 2
    location = args.dead_letter or settings.dead_letter
    runtime: Runtime = build_runtime(settings._replace(dead_letter=location))
    summary = ReplaySummary()
    store = dead_letter_store(location, lambda: runtime.aws("s3"))
    replay_store(store, runtime, summary, keep=args.keep)
    print(f"dead letters in {location}:")
    for line in summary.lines():
        print("  " + line)
    failing = summary.still_failing
    if args.queue:
        queue_summary = ReplaySummary()
        n = replay_queue(args.queue, runtime, queue_summary, keep=args.keep)
        print(f"on-failure queue {args.queue}: {n} messages")
        for line in queue_summary.lines():
            print("  " + line)
        failing += queue_summary.still_failing
    return 1 if failing else 0


def cmd_parse(args: argparse.Namespace) -> int:
    """What the forwarder would index: the same framing as backfill (gzip, exports, Firehose objects), the same
    context rules, transform and encoder, so `parse FILE` and a backfill of FILE agree document for document."""
    from handler.config import valid_index_prefix
    from handler.parse_output import ParseRequest, default_workers, write_records
    from handler.sources.framing import is_skipped_object
    from handler.sources.objects import local_ref

    if not valid_index_prefix(args.index_prefix):
        print(f"rdsaudit parse: invalid --index-prefix {args.index_prefix!r}", file=sys.stderr)
        return 2
    options = TransformOptions(index_prefix=args.index_prefix, mask_secrets=not args.no_mask)
    ref = None if args.file == "-" else local_ref(args.file)
    if ref is not None and is_skipped_object(ref.key):
        print(f"rdsaudit parse: skipped {args.file}: CloudWatch's export write test, not audit lines", file=sys.stderr)
        return 0
    request = ParseRequest(options, args.log_group, args.log_stream, args.owner, ref.last_modified_ms if ref else None)
    stream = sys.stdin.buffer if ref is None else open(ref.uri, "rb")  # noqa: SIM115
    try:
        size, workers = (ref.size if ref else 0), args.workers or default_workers()
        write_records(stream, ref.key if ref else "", sys.stdout.buffer, request, size=size, workers=workers)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return 0
