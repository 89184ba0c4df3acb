"""One session's events in order, streamed (a session of a million events never sits in memory: pages of the
reader, and within one timestamp only the events that share it), every statement masked, pauses called out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from handler.read.period import iso, parse_timestamp
from handler.read.reader import Reader
from handler.sessions.model import Bounds, rank
from handler.sessions.summary import span_query
from handler.transforms.sql_secrets import mask_sql

EVENT_FIELDS = ["@timestamp", "operation", "user", "client", "db", "sql", "retcode", "queryid", "detections"]
PAUSE_MINUTES = 5


def _ordered(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The reader's order (@timestamp, _id), with each run of one timestamp put in the session's order: opening
    events first, DISCONNECT last, statements by query id (RDS for MySQL writes whole seconds)."""
    run: list[dict[str, Any]] = []
    for row in rows:
        if run and row["@timestamp"] != run[0]["@timestamp"]:
            yield from sorted(run, key=_within)
            run = []
        run.append(row)
    yield from sorted(run, key=_within)


def _within(row: dict[str, Any]) -> tuple[int, int, str]:
    return rank(row.get("operation")), int(row.get("queryid") or 0), str(row["_id"])


def _event(row: dict[str, Any]) -> dict[str, Any]:
    sql = row.get("sql")
    return {
        "kind": "event",
        "time": iso(parse_timestamp(str(row["@timestamp"]))),
        "operation": row.get("operation"),
        "user": row.get("user"),
        "client": row.get("client"),
        "db": row.get("db"),
        "retcode": row.get("retcode"),
        "queryid": row.get("queryid"),
        # masked again: an index written with RDSAUDIT_MASK_SECRETS=false must not print a password
        "statement": mask_sql(sql) if isinstance(sql, str) else sql,
        "detections": row.get("detections"),
        "index": row["_index"],
        "id": row["_id"],
    }


def _pause(since: datetime, until: datetime, silent: list[dict[str, str]]) -> dict[str, Any]:
    server_silent = [g for g in silent if parse_timestamp(g["since"]) <= since and parse_timestamp(g["until"]) >= until]
    return {
        "kind": "pause",
        "since": iso(since),
        "until": iso(until),
        "seconds": (until - since).total_seconds(),
        "server_silent": bool(server_silent),  # the whole server logged nothing: the stream may have a gap
    }


def timeline(
    reader: Reader, bounds: Bounds, stream_gaps: list[dict[str, str]] | None = None, pause_minutes: int = PAUSE_MINUTES
) -> Iterator[dict[str, Any]]:
    """Every event of the session in order; between two events further apart than `pause_minutes`, a pause."""
    previous: datetime | None = None
    silent = stream_gaps or []
    for row in _ordered(reader.documents(span_query(bounds), EVENT_FIELDS)):
        event = _event(row)
        at = parse_timestamp(event["time"])
        if previous is not None and pause_minutes > 0 and (at - previous).total_seconds() >= pause_minutes * 60:
            yield _pause(previous, at, silent)
        previous = at
        yield event
