"""`rdsaudit detect`: run every detection rule over a period and print its findings (new and already known).

Without --since it is the scheduled run: the period since the previous run's end, with an overlap for late data
(the state is kept in `<prefix>-findings-state`). With --since (and --until) it covers that period, historical data
included, and leaves the state alone. Exit 0 with or without findings; --fail-on-findings exits 3 when the period
has any (for scripts); 1 when the run could not finish, 2 for a wrong command line or setting."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

FINDINGS_EXIT = 3


def add(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "detect", parents=[common], help="run the detection rules and print the findings", description=__doc__
    )
    p.add_argument(
        "--since", help="start of the period (ISO 8601, UTC unless a zone is given); default: the scheduled period"
    )
    p.add_argument("--until", help="end of the period, excluded; default: now")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or JSON")
    p.add_argument(
        "--fail-on-findings", action="store_true", help=f"exit {FINDINGS_EXIT} when the period has any finding"
    )
    p.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.cli.environment import runtime_for, settings_for
    from handler.cli.sessions import _time
    from handler.detect.job import run as detect
    from handler.errors import UsageError
    from handler.read.period import iso

    settings_for(args)
    since = _time("--since", args.since) if args.since else None
    until = _time("--until", args.until) if args.until else None
    if until is not None and since is None:
        raise UsageError("--until needs --since (the scheduled period always ends now)")
    if since is not None and until is not None and until <= since:
        raise UsageError(f"--until ({iso(until)}) must be after --since ({iso(since)})")
    result = detect(runtime_for(args), since, until)
    if args.format == "json":
        json.dump(result.as_dict(), sys.stdout, default=str)
        sys.stdout.write("\n")
    else:
        _table(result)
    return FINDINGS_EXIT if args.fail_on_findings and result.findings else 0


def _table(result: Any) -> None:
    new = set(result.new)
    period = result.period.as_dict()
    print(f"{len(result.findings)} finding(s) with an event in [{period['since']}, {period['until']}), {len(new)} new")
    rows = [["FIRST", "SEVERITY", "RULE", "COUNT", "KEY", ""]]
    for f in result.findings:
        rows.append(
            [f["first"], f["severity"], f["rule"], str(f["count"]), f["key"], "new" if f["finding_id"] in new else ""]
        )
    if len(rows) == 1:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip())
