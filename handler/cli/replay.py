"""`rdsaudit replay`: re-drive dead letters and the on-failure queue once the cause is fixed."""

from __future__ import annotations

import argparse
from typing import Any


def add(sub: Any, common: argparse.ArgumentParser) -> None:
    r = sub.add_parser(
        "replay", parents=[common], help="re-drive dead letters and the on-failure queue once the cause is fixed"
    )
    r.add_argument("--dead-letter", help="s3://bucket/prefix or a directory (default: RDSAUDIT_DEAD_LETTER)")
    r.add_argument("--queue", help="URL of the forwarder's on-failure SQS queue")
    r.add_argument("--keep", action="store_true", help="leave replayed dead letters and messages in place")
    r.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handler.cli.environment import runtime_for, settings_for
    from handler.errors import InputError
    from handler.replay import ReplaySummary, replay_queue, replay_store

    settings = settings_for(args)
    location = args.dead_letter or settings.dead_letter
    if not location.startswith("s3://"):
        path = Path(location)
        if path.exists() and not path.is_dir():
            raise InputError(f"{location} is not a directory of dead letters (give --dead-letter DIR or s3://…)")
        if not path.exists():
            if args.dead_letter or settings.dead_letter_configured:
                raise InputError(
                    f"no dead letters at {location}: no such directory (check --dead-letter or RDSAUDIT_DEAD_LETTER)"
                )
            if not args.queue:
                print(f"nothing to replay: {location} does not exist, so nothing was dead-lettered here yet")
                return 0
    args.settings = settings = settings._replace(dead_letter=location)
    runtime = runtime_for(args)
    summary = ReplaySummary()
    if location.startswith("s3://") or Path(location).is_dir():
        replay_store(runtime.dead_letters, runtime, summary, keep=args.keep)
        print(f"dead letters in {location}:")
        for line in summary.lines():
            print("  " + line)
    failing = summary.still_failing
    written = list(summary.counts.present)
    if args.queue:
        queue_summary = ReplaySummary()
        n = replay_queue(args.queue, runtime, queue_summary, keep=args.keep)
        print(f"on-failure queue {args.queue}: {n} messages")
        for line in queue_summary.lines():
            print("  " + line)
        failing += queue_summary.still_failing
        written += queue_summary.counts.present
    if note := runtime.make_searchable(written):
        print(note)
    return 1 if failing else 0
