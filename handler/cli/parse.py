"""`rdsaudit parse`: what the forwarder would index, one JSON object per line. The same framing as backfill
(gzip, exports, Firehose objects), the same context rules, transform and encoder, so `parse FILE` and a backfill
of FILE agree document for document."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from handler.model import Action


def add(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("parse", parents=[common], help="print, one JSON object per line, what would be indexed")
    p.add_argument("file", nargs="?", default="-", help="an audit file (plain or gzip, raw or export); - for stdin")
    p.add_argument("--log-group", help="context as if the lines came from this log group")
    p.add_argument("--log-stream", help="context as if the lines came from this log stream")
    p.add_argument("--owner", help="account id for the context")
    p.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX (default rdsaudit)")
    p.add_argument("--no-mask", action="store_true", help="do not mask passwords in SQL (forensic use)")
    p.add_argument("--force", action="store_true", help="also read a file that does not look like an audit log")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.cli.environment import settings_for
    from handler.errors import UsageError
    from handler.sources.framing import is_skipped_object, read_batches
    from handler.sources.objects import local_ref
    from handler.transforms.batch import BatchTransformer, TransformOptions
    from handler.transforms.context import cloudwatch_context
    from handler.transforms.sniff import audit_lines_only

    settings = settings_for(args)  # the forwarder's settings: prefix and masking as it would index
    options = TransformOptions(
        index_prefix=settings.index_prefix, mask_secrets=settings.mask_secrets and not args.no_mask
    )
    if args.file == "-" and sys.stdin.isatty():
        raise UsageError("give an audit file, or pipe lines in (rdsaudit parse FILE, or … | rdsaudit parse -)")
    ref = None if args.file == "-" else local_ref(args.file)
    if ref is not None and is_skipped_object(ref.key):
        print(f"rdsaudit parse: skipped {args.file}: CloudWatch's export write test, not audit lines", file=sys.stderr)
        return 0
    out = sys.stdout.buffer
    name = "standard input" if ref is None else args.file
    with sys.stdin.buffer if ref is None else open(ref.uri, "rb") as stream:
        for batch in read_batches(stream, ref.key if ref else "", args.log_group):
            ctx = batch.ctx
            if args.log_stream or args.owner:
                ctx = cloudwatch_context(args.log_group or ctx.log_group, args.log_stream, args.owner)
            transformer = BatchTransformer(ctx, options, fallback_ms=ref.last_modified_ms if ref else None)
            block: list[bytes] = []
            for action in transformer.actions(audit_lines_only(batch.events, name, force=args.force)):
                block.append(parse_record(action))
                if len(block) >= 1000:
                    out.write(b"".join(block))
                    block.clear()
            out.write(b"".join(block))
    out.flush()
    return 0


def parse_record(action: Action) -> bytes:
    """`{"index":…,"id":…,"doc":…}` built from the bulk body's own bytes: no decoding and encoding again."""
    doc = action.body.split(b"\n", 2)[1]
    return b'{"index":"%s","id":"%s","doc":%s}\n' % (action.index_name.encode(), action.doc_id.encode(), doc)
