"""One session by its server, connection id and a moment in it: what a finding links to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from handler.read.period import iso
from handler.read.privileged import configured_privileged
from handler.read.reader import Reader
from handler.sessions.bounds import anchor, bounds_of
from handler.sessions.gaps import GAP_MINUTES
from handler.sessions.model import Bounds, SessionSummary
from handler.sessions.summary import summarise_one


def find_bounds(reader: Reader, server: str, connid: int, at: datetime | str | None = None) -> Bounds | None:
    """The session of the pair's last event at or before `at` (its latest session without `at`); None if the
    pair has no event then."""
    moment = iso(at) if isinstance(at, datetime) else at
    event = anchor(reader, server, int(connid), moment)
    return bounds_of(reader, server, int(connid), event) if event else None


def find_session(
    reader: Reader,
    server: str,
    connid: int,
    at: datetime | str | None = None,
    *,
    privileged_users: Iterable[str] | None = None,
    gap_minutes: int = GAP_MINUTES,
) -> SessionSummary | None:
    """The summary of the session of `server`'s connection `connid` that holds the moment `at` (a datetime or a
    stored `@timestamp`: the session of the connection's last event at or before it), or its latest session
    without `at`. None when the connection has no event then. `reader` is an open handler.read.reader.Reader."""
    bounds = find_bounds(reader, server, connid, at)
    if bounds is None:
        return None
    users = configured_privileged() if privileged_users is None else privileged_users
    return summarise_one(reader, bounds, users, gap_minutes=gap_minutes)
