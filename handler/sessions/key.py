"""The session key (definition in the package docstring). Pure."""

from __future__ import annotations

from datetime import datetime

from handler.errors import InputError
from handler.read.period import iso, parse_time, parse_timestamp


def session_key(server: str, connid: int, start: str | datetime) -> str:
    """`SERVER/CONNID/START`; `start` is the start event's stored `@timestamp` (or that time as a datetime)."""
    moment = parse_timestamp(start) if isinstance(start, str) else start
    return f"{server}/{int(connid)}/{iso(moment)}"


def parse_key(key: str) -> tuple[str, int, datetime]:
    """(server, connid, start) of a key; a malformed key is an InputError (one line, exit 1)."""
    server, _, rest = key.strip().partition("/")
    connid, _, start = rest.partition("/")
    if not (server and connid.isdigit() and start):
        example = "db-1/42/2026-07-01T10:00:00Z"
        raise InputError(f"not a session key: {key!r} (expected SERVER/CONNID/START, e.g. {example})")
    try:
        return server, int(connid), parse_time(start)
    except Exception:
        raise InputError(f"not a session key: {key!r} (its start {start!r} is not an ISO 8601 time)") from None
