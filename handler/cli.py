"""`rdsaudit` command line: thin argument parsing over the pipeline stages."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from handler.model import RawEvent
from handler.transforms.audit_line import decode_line, split_export_prefix
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context


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
    p.set_defaults(func=cmd_parse)

    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def read_raw_events(stream: BinaryIO) -> Iterator[RawEvent]:
    """Lines of a raw audit file or CloudWatch export; blank lines skipped."""
    for data in stream:
        line = decode_line(data).rstrip("\r\n")
        if not line.strip():
            continue
        line, timestamp_ms = split_export_prefix(line)
        yield RawEvent(line, timestamp_ms)


def cmd_parse(args: argparse.Namespace) -> int:
    from handler.config import _PREFIX

    if not _PREFIX.fullmatch(args.index_prefix):
        print(f"rdsaudit parse: invalid --index-prefix {args.index_prefix!r}", file=sys.stderr)
        return 2
    ctx = cloudwatch_context(args.log_group, args.log_stream, args.owner)
    options = TransformOptions(index_prefix=args.index_prefix, mask_secrets=not args.no_mask)
    transformer = BatchTransformer(ctx, options)
    out = sys.stdout
    stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    try:
        for action in transformer.actions(read_raw_events(stream)):
            record = {"index": action.index, "id": action.doc_id, "doc": action.document()}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return 0
