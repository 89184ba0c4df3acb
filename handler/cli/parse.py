"""`rdsaudit parse`: what the forwarder would index, one JSON object per line. The same framing as backfill
(gzip, exports, Firehose objects), the same context rules, transform and encoder, so `parse FILE` and a backfill
of FILE agree document for document."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from handler.cli.environment import positive


def add(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("parse", parents=[common], help="print, one JSON object per line, what would be indexed")
    p.add_argument("file", nargs="?", default="-", help="an audit file (plain or gzip, raw or export); - for stdin")
    p.add_argument("--log-group", help="context as if the lines came from this log group")
    p.add_argument("--log-stream", help="context as if the lines came from this log stream")
    p.add_argument("--owner", help="account id for the context")
    p.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX (default rdsaudit)")
    p.add_argument("--no-mask", action="store_true", help="do not mask passwords in SQL (forensic use)")
    p.add_argument("--force", action="store_true", help="also read a file that does not look like an audit log")
    p.add_argument(
        "--workers", type=positive, help="processes for a large raw file (default: up to 2, the CPUs there are)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.cli.environment import settings_for
    from handler.detect.event_rules import event_rules
    from handler.errors import UsageError
    from handler.parse_output import ParseRequest, default_workers, write_records
    from handler.sources.framing import is_skipped_object
    from handler.sources.objects import local_ref
    from handler.transforms.batch import TransformOptions

    settings = settings_for(args)  # the forwarder's settings: prefix and masking as it would index
    options = TransformOptions(
        index_prefix=settings.index_prefix,
        mask_secrets=settings.mask_secrets and not args.no_mask,
        detections=event_rules(settings.detections),
    )
    if args.file == "-" and sys.stdin.isatty():
        raise UsageError("give an audit file, or pipe lines in (rdsaudit parse FILE, or … | rdsaudit parse -)")
    ref = None if args.file == "-" else local_ref(args.file)
    if ref is not None and is_skipped_object(ref.key):
        print(f"rdsaudit parse: skipped {args.file}: CloudWatch's export write test, not audit lines", file=sys.stderr)
        return 0
    name = "standard input" if ref is None else args.file
    fallback_ms = ref.last_modified_ms if ref else None
    request = ParseRequest(options, args.log_group, args.log_stream, args.owner, fallback_ms, name, args.force)
    workers, size = args.workers or default_workers(), ref.size if ref else 0
    with sys.stdin.buffer if ref is None else open(ref.uri, "rb") as stream:
        write_records(stream, ref.key if ref else "", sys.stdout.buffer, request, size=size, workers=workers)
    return 0
