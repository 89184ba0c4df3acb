"""`rdsaudit sessions` (the sessions of a period) and `rdsaudit session SERVER CONNID` (one session's timeline).
Read completely from the audit indices; expected failures are one line (exit 1; a wrong command line 2)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from handler.cli.environment import positive

LIST_DESCRIPTION = """The sessions (one connection on one server, from its CONNECT or first event seen to its
DISCONNECT or last event seen) with an event in a period, newest first, each summarised: user, client, databases,
events by operation, failed statements, account and schema changes, tables touched most. Exact: composite pages and
search_after across daily indices. Connection settings come from the same variables as the forwarder."""
ONE_DESCRIPTION = """One session's timeline: its summary, then every event in order, statements masked, pauses
called out. The session is the one holding the connection's last event at or before --at (default: its latest)."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or JSON")
    p.add_argument(
        "--privileged-user",
        action="append",
        default=[],
        help="a privileged account (repeatable; replaces the users of detection rule privileged-remote, default "
        "admin, root); whoever ran account or privilege statements in a session is always privileged",
    )
    p.add_argument("--gap", type=positive, default=30, help="minutes of server silence called a stream gap (30)")
    p.add_argument("--index-prefix", help="overrides RDSAUDIT_INDEX_PREFIX")
    p.add_argument("--page-size", type=positive, default=1000, help="documents or buckets per request (1000)")


def add(subparsers: Any, common: argparse.ArgumentParser) -> None:
    many: argparse.ArgumentParser = subparsers.add_parser(
        "sessions", parents=[common], help="list the sessions of a period", description=LIST_DESCRIPTION
    )
    many.add_argument("--since", help="start of the period (ISO 8601, UTC unless a zone is given); default: a day ago")
    many.add_argument("--until", help="end of the period, excluded; default: now")
    many.add_argument("--user", action="append", default=[], help="only sessions of this user (repeatable)")
    many.add_argument("--client", action="append", default=[], help="only sessions from this client (repeatable)")
    many.add_argument("--cluster", action="append", default=[], help="only this cluster or instance (repeatable)")
    many.add_argument("--instance", action="append", default=[], help="only this instance (repeatable)")
    many.add_argument("--failed", action="store_true", help="only sessions whose login failed")
    many.add_argument("--privileged", action="store_true", help="only sessions of privileged accounts")
    _common(many)
    many.set_defaults(run=run_list)
    one: argparse.ArgumentParser = subparsers.add_parser(
        "session", parents=[common], help="print one session's timeline", description=ONE_DESCRIPTION
    )
    one.add_argument("server", metavar="SERVER", help="the audit lines' server (an Aurora instance, an RDS host)")
    one.add_argument("connid", metavar="CONNID", type=int, help="the connection id")
    one.add_argument("--at", help="a moment in the session (ISO 8601); default: the connection's latest session")
    one.add_argument("--pause", type=positive, default=5, help="call out pauses of this many minutes or more (5)")
    _common(one)
    one.set_defaults(run=run_one)


def _reader(args: argparse.Namespace) -> tuple[Any, str]:
    from handler.cli.environment import runtime_for, settings_for
    from handler.read.reader import NoIndices, Reader, require_indices

    settings = settings_for(args)
    client = runtime_for(args).client
    from handler.read.patterns import audit_pattern

    pattern = audit_pattern(settings.index_prefix)
    try:
        require_indices(client, pattern)
    except NoIndices as e:
        from handler.errors import InputError

        raise InputError(f"{e} on {settings.opensearch_url} (check RDSAUDIT_INDEX_PREFIX or --index-prefix)") from e
    return Reader(client, pattern, args.page_size), pattern


def _privileged(args: argparse.Namespace) -> tuple[str, ...]:
    """--privileged-user wins; else rule privileged-remote's users, with RDSAUDIT_DETECTIONS as `rdsaudit detect`."""
    from handler.cli.environment import settings_for
    from handler.read.privileged import configured_privileged

    settings = getattr(args, "settings", None) or settings_for(args)
    return tuple(dict.fromkeys(args.privileged_user)) or configured_privileged(settings.detections)


def _time(option: str, text: str) -> datetime:
    from handler.errors import UsageError
    from handler.read.period import parse_time

    try:
        return parse_time(text)
    except Exception as e:
        raise UsageError(f"{option}: {e}") from None


def run_list(args: argparse.Namespace) -> int:
    from handler.errors import UsageError
    from handler.read.period import Period, iso
    from handler.sessions.listing import Filters, list_sessions

    until = _time("--until", args.until) if args.until else datetime.now(UTC)
    since = _time("--since", args.since) if args.since else until - timedelta(days=1)
    if until <= since:
        raise UsageError(f"--until ({iso(until)}) must be after --since ({iso(since)})")
    filters = Filters(tuple(args.user), tuple(args.client), args.failed, args.privileged)
    reader, _ = _reader(args)
    with reader:
        found = list_sessions(
            reader, Period(since, until), [*args.cluster, *args.instance], filters, _privileged(args), args.gap
        )
    if args.format == "json":
        json.dump({"since": iso(since), "until": iso(until), "sessions": [s.as_dict() for s in found]}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    _print_list(found, iso(since), iso(until))
    return 0


def _duration(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.3g}s"
    return f"{days}d{text}" if days else text


def flags(summary: Any) -> str:
    marks = [
        "login failed" if summary.login_failed else "",
        "privileged" if summary.privileged else "",
        "open" if not summary.closed else "",
        "no connect" if summary.start_seen == "first event seen" else "",
        "stream gap" if summary.stream_gaps else "",
    ]
    return ", ".join(m for m in marks if m)


def _table(rows: Iterable[list[str]], heads: list[str]) -> None:
    rows = [heads, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(heads) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


def _print_list(found: list[Any], since: str, until: str) -> None:
    print(f"{len(found)} session(s) with an event in [{since}, {until}), newest first")
    if not found:
        return
    heads = ["START", "DURATION", "SERVER", "CONNID", "USER", "CLIENT", "EVENTS", "FAILED", "NOTES"]
    _table(
        (
            [
                s.start,
                _duration(s.duration_seconds),
                s.server,
                str(s.connid),
                s.user or "-",
                s.client or "-",
                str(s.events),
                str(s.failed_statements),
                flags(s),
            ]
            for s in found
        ),
        heads,
    )
    print("timeline: rdsaudit session SERVER CONNID --at START")


def run_one(args: argparse.Namespace) -> int:
    from handler.errors import InputError
    from handler.sessions.lookup import find_bounds
    from handler.sessions.summary import summarise_one
    from handler.sessions.timeline import timeline

    at = _time("--at", args.at) if args.at else None
    reader, pattern = _reader(args)
    with reader:
        bounds = find_bounds(reader, args.server, args.connid, at)
        if bounds is None:
            when = f" at or before {args.at}" if args.at else ""
            raise InputError(
                f"no event of connection {args.connid} on server {args.server}{when} in {pattern} "
                "(list them with rdsaudit sessions)"
            )
        summary = summarise_one(reader, bounds, _privileged(args), gap_minutes=args.gap)
        items = timeline(reader, bounds, summary.stream_gaps, args.pause)
        if args.format == "json":
            print(json.dumps({"kind": "session", **summary.as_dict()}))
            for item in items:
                print(json.dumps(item))
        else:
            _print_one(summary, items)
    return 0


def _print_one(s: Any, items: Iterable[dict[str, Any]]) -> None:
    context = ", ".join(f"{k} {v}" for k, v in (("cluster", s.cluster), ("instance", s.instance)) if v)
    print(f"session {s.key}")
    print(f"  {s.user or '-'} from {s.client or '-'} on {s.server}{f' ({context})' if context else ''}")
    print(f"  {s.start} ({s.start_seen}) to {s.end} ({s.end_seen}): {_duration(s.duration_seconds)}, {s.events} events")
    ops = ", ".join(f"{op} {n}" for op, n in s.operations.items())
    print(f"  operations: {ops}")
    if s.changed_user_to:
        print(f"  changed user to: {', '.join(s.changed_user_to)}")
    if s.failed_statements:
        codes = ", ".join(f"{code} ×{n}" for code, n in s.failed_codes.items())
        print(f"  failed statements: {s.failed_statements} ({codes})")
    changes = f"account or privilege changes {len(s.account_changes)}, schema changes {len(s.schema_changes)}"
    print(f"  {changes}{', login failed' if s.login_failed else ''}{', privileged' if s.privileged else ''}")
    if s.tables:
        tables = ", ".join(f"{t['table']} {t['events']}" for t in s.tables)
        print(f"  tables touched most: {tables}")
    for note in s.notes:
        print(f"  note: {note}")
    print()
    for item in items:
        if item["kind"] == "pause":
            silent = "; the whole server logged nothing: events may be missing" if item["server_silent"] else ""
            print(f"  … {_duration(item['seconds'])} without events{silent}")
            continue
        statement = (item["statement"] or "").replace("\n", "\\n")
        ret = "" if item["retcode"] is None else str(item["retcode"])
        head = f"{item['time']}  {item['operation'] or '-':<14} {item['user'] or '-':<12} {item['db'] or '-':<10}"
        print(f"{head} {ret:>5}  {statement}".rstrip())
