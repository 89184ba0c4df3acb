"""`rdsaudit report`: its arguments and the command. Expected failures are one line on stderr and exit 1; usage
errors exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DESCRIPTION = """Evidence for a periodic access review: account and privilege changes, schema changes, failed logins
(bursts included), privileged accounts' activity, activity outside business hours and new clients, for one period,
read completely from the audit indices. Connection settings come from the same variables as the forwarder."""


def add(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    r: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        parents=[common],
        help="write an audit report for a period (HTML, JSON or Markdown)",
        description=DESCRIPTION,
    )
    r.add_argument("--since", help="start of the period, UTC unless a zone is given (ISO 8601), included; required")
    r.add_argument("--until", help="end of the period (ISO 8601), excluded; required (except with --verify)")
    r.add_argument("--cluster", action="append", default=[], help="only this cluster or instance (repeatable)")
    r.add_argument(
        "--account",
        action="append",
        default=[],
        help="only this AWS account id (repeatable); with --cluster, that account's cluster of that name",
    )
    r.add_argument("--region", action="append", default=[], help="only log groups of this region (repeatable)")
    r.add_argument("--out", help="file to write (default: rdsaudit-report-SINCE-UNTIL.FORMAT); - for stdout")
    r.add_argument("--format", choices=("html", "json", "md"), help="default: from --out's extension, else html")
    r.add_argument(
        "--privileged-user",
        action="append",
        default=[],
        help="a privileged account (repeatable; replaces the users of detection rule privileged-remote, default "
        "admin, root). Users who ran account or privilege statements are always added",
    )
    rule = "default: detection rule {} (RDSAUDIT_DETECTIONS overrides it, this flag wins)".format
    r.add_argument("--business-hours", help=f"local whole hours START-END, e.g. 08-18 ({rule('ddl-off-hours')})")
    r.add_argument("--business-days", help=f"e.g. mon-fri, sun-thu, mon,tue,wed ({rule('ddl-off-hours')})")
    r.add_argument(
        "--timezone", help=f"IANA time zone of the business hours, e.g. Europe/Paris ({rule('ddl-off-hours')})"
    )
    r.add_argument(
        "--burst-failures", type=int, help=f"failed logins from one client that make a burst ({rule('brute-force')})"
    )
    r.add_argument("--burst-window", type=int, help=f"…within one window of this many seconds ({rule('brute-force')})")
    r.add_argument(
        "--new-client-days",
        type=int,
        help=f"a client is new when it sent nothing in this many days before the period ({rule('new-client')})",
    )
    r.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX")
    r.add_argument("--page-size", type=int, default=1000, help="documents or buckets per request (default 1000)")
    r.add_argument(
        "--top", type=int, default=25, help="rows shown in ranked tables of HTML and Markdown (default 25; JSON: all)"
    )
    r.add_argument("--verify", metavar="FILE", help="check a JSON or HTML report's SHA-256 against its data, and exit")
    r.set_defaults(run=run)
    return r


def _verify(path: str) -> int:
    from handler.errors import InputError
    from handler.report.integrity import verify

    try:
        ok, stated, actual = verify(Path(path).read_text(encoding="utf-8"))
    except ValueError as e:
        raise InputError(f"{path}: {e}") from None
    if not ok:
        raise InputError(
            f"{path}: data does not match its SHA-256 (stated {stated}, data {actual}): edited after it was made"
        )
    print(f"{path}: data matches its SHA-256 {stated}")
    return 0


def _options(args: argparse.Namespace, detections: str) -> Any:
    """`detections`: RDSAUDIT_DETECTIONS as read, the detect job's overrides; flags win over them."""
    from handler.detect.catalog import load_catalog
    from handler.read.period import make_period
    from handler.report.model import ReportOptions
    from handler.report.rules import report_rules

    for option, value, low in (
        ("--burst-failures", args.burst_failures, 2),
        ("--burst-window", args.burst_window, 1),
        ("--new-client-days", args.new_client_days, 1),
        ("--page-size", args.page_size, 1),
        ("--top", args.top, 1),
    ):
        if value is not None and value < low:
            raise ValueError(f"{option} must be at least {low}, got {value}")
    rules = report_rules(
        load_catalog(detections),
        burst_failures=args.burst_failures,
        burst_window=args.burst_window,
        business_hours=args.business_hours,
        business_days=args.business_days,
        timezone=args.timezone,
        new_client_days=args.new_client_days,
        privileged_users=tuple(dict.fromkeys(args.privileged_user)),
    )
    return ReportOptions(
        period=make_period(args.since, args.until),
        clusters=tuple(args.cluster),
        accounts=_accounts(args.account),
        regions=tuple(args.region),
        rules=rules,
        page_size=args.page_size,
    )


def _accounts(values: list[str]) -> tuple[str, ...]:
    for value in values:
        if not (len(value) == 12 and value.isdigit()):
            raise ValueError(f"--account must be a 12-digit AWS account id, got {value!r}")
    return tuple(values)


def run(args: argparse.Namespace) -> int:
    """Expected failures raise; the command line's error boundary says them in one line (exit 1, usage 2)."""
    from handler.cli.environment import runtime_for, settings_for
    from handler.errors import UsageError

    if args.verify:
        return _verify(args.verify)
    if not (args.since and args.until):
        raise UsageError("--since and --until are required (or --verify FILE)")
    settings = settings_for(args)
    try:
        options = _options(args, settings.detections)
    except ValueError as e:
        raise UsageError(str(e)) from None
    fmt = args.format or _format_of(args.out)
    if args.out and args.out != "-" and not args.format and Path(args.out).suffix.lower() not in _SUFFIXES:
        raise UsageError(f"--out {args.out}: the report is written as HTML (.html), JSON (.json) or Markdown (.md)")
    out = args.out or f"rdsaudit-report-{args.since[:10]}-{args.until[:10]}.{fmt}"
    text = produce(settings, options, fmt, args.top, runtime_for(args).client)
    if out == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as e:
        from handler.errors import InputError

        raise InputError(f"cannot write {out}: {e.strerror or e}") from None
    print(out)
    return 0


def produce(settings: Any, options: Any, fmt: str, top: int = 25, client: Any = None) -> str:
    from handler.errors import InputError
    from handler.read.queries import Scope
    from handler.read.reader import NoIndices
    from handler.report.build import make_report, render

    if client is None:
        from handler.sinks.opensearch import build_client

        client = build_client(settings)
    from handler.read.patterns import audit_pattern

    pattern = audit_pattern(settings.index_prefix)
    try:
        report = make_report(client, pattern=pattern, endpoint=settings.opensearch_url, options=options)
    except NoIndices as e:
        raise InputError(f"{e} on {settings.opensearch_url} (check RDSAUDIT_INDEX_PREFIX or --index-prefix)") from e
    if report["data"]["coverage"]["documents"] == 0:
        # Evidence that nothing happened must not come from a typo: say it, and go on.
        clusters = Scope(
            options.period, options.clusters, accounts=options.accounts, regions=options.regions
        ).describe()
        print(
            f"rdsaudit report: warning: no documents in {pattern} for the period{clusters}: the report is empty "
            "(check --since/--until, --cluster, --account, --region and the index prefix)",
            file=sys.stderr,
        )
    return render(report, fmt, top)


_SUFFIXES = (".html", ".htm", ".json", ".md", ".markdown")


def _format_of(out: str | None) -> str:
    suffix = Path(out).suffix.lower().lstrip(".") if out and out != "-" else ""
    return (
        {"htm": "html", "markdown": "md"}.get(suffix, suffix)
        if suffix in ("html", "htm", "json", "md", "markdown")
        else "html"
    )
