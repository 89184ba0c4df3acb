"""`rdsaudit export`: RDS audit log files to S3, exactly once, optionally indexed on the way."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add(sub: Any, common: argparse.ArgumentParser) -> None:
    e = sub.add_parser(
        "export",
        parents=[common],
        help="copy RDS audit log files to S3, exactly once, resuming where the last run stopped",
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
        help="seconds an unfinished run's claim on an instance is honoured (default 900: Lambda's longest run)",
    )
    e.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.cli.environment import runtime_for
    from handler.export.run import export_all
    from handler.model import COUNT_NAMES

    runtime = runtime_for(args)
    results = export_all(
        runtime,
        args.instance,
        bucket=args.bucket,
        prefix=args.prefix,
        complete_file=not args.portions,
        lease_seconds=args.lease_seconds,
        index=args.index,
    )
    written = [index for summary in results for index in summary.get("counts", {}).get("indices", {})]
    if note := runtime.make_searchable(written):
        print(note)
    failed = 0
    for summary in results:
        if "error" in summary:
            failed += 1
            print(f"rdsaudit export: {summary['instance']}: {summary['error']}", file=sys.stderr)
        else:
            print(
                f"{summary['instance']}: {summary['objects']} objects, {summary['bytes']:,} bytes, "
                f"{summary['files']} files seen, {summary['gone']} rotated away during the run"
            )
        if "counts" in summary:
            c = summary["counts"]
            print("  " + "  ".join(f"{k.replace('_', ' ')}: {c[k]:,}" for k in COUNT_NAMES))
    return 1 if failed else 0
