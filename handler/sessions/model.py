"""What a session is made of: its bounds (found in the indices) and its summary (aggregated over them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handler.read.period import iso, parse_timestamp
from handler.transforms.document import TABLE_OPERATIONS

OPENERS = ("CONNECT", "FAILED_CONNECT")
CLOSER = "DISCONNECT"
BOUNDARIES = (*OPENERS, CLOSER)
TABLE_EVENTS = tuple(sorted(TABLE_OPERATIONS))
LONG = timedelta(days=1)


def rank(operation: str | None) -> int:
    """Order within one timestamp: opening events first, DISCONNECT last."""
    return 0 if operation in OPENERS else 2 if operation == CLOSER else 1


@dataclass(frozen=True)
class Event:
    """One stored event where it matters for bounds: its time, order and operation."""

    timestamp: str  # as stored
    operation: str | None
    doc_id: str
    user: str | None = None
    client: str | None = None

    @property
    def at(self) -> datetime:
        return parse_timestamp(self.timestamp)

    def order(self) -> tuple[datetime, int, str]:
        return self.at, rank(self.operation), self.doc_id

    @staticmethod
    def of_hit(hit: dict[str, Any]) -> Event:
        source = hit.get("_source", {})
        timestamp, doc_id = str(source["@timestamp"]), str(hit["_id"])
        return Event(timestamp, source.get("operation"), doc_id, source.get("user"), source.get("client"))


@dataclass(frozen=True)
class Bounds:
    """One session's first and last event, and how each was known."""

    server: str
    connid: int
    first: Event
    last: Event
    opened: bool  # the first event is a CONNECT or FAILED_CONNECT (else: the first event seen)
    closed: bool  # the last event is a DISCONNECT (else: the last event seen, end unknown)

    @property
    def pair(self) -> tuple[str, int]:
        return self.server, self.connid


@dataclass(frozen=True)
class SessionSummary:
    key: str
    server: str
    connid: int
    cluster: str | None
    instance: str | None
    owner: str | None
    user: str | None  # who logged in (the first event's user)
    users: list[str]  # every user seen, the first one first
    changed_user_to: list[str]  # CHANGEUSER's new users, in order
    client: str | None
    clients: list[str]
    databases: list[str]
    start: str
    end: str
    duration_seconds: float
    start_seen: str  # "connect" | "failed_connect" | "first event seen"
    end_seen: str  # "disconnect" | "last event seen"
    closed: bool
    events: int
    operations: dict[str, int]
    failed_statements: int
    failed_codes: dict[str, int]  # return code → statements
    account_changes: list[dict[str, Any]]  # time, statement (masked), retcode
    schema_changes: list[dict[str, Any]]
    tables: list[dict[str, Any]]  # the tables touched most: table, events
    login_failed: bool
    privileged: bool
    detections: dict[str, int]
    stream_gaps: list[dict[str, str]] = field(default_factory=list)  # server silent: since, until
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def start_at(self) -> datetime:
        return parse_timestamp(self.start)

    @property
    def end_at(self) -> datetime:
        return parse_timestamp(self.end)


def describe_bounds(bounds: Bounds) -> tuple[str, str]:
    start_seen = str(bounds.first.operation).lower() if bounds.opened else "first event seen"
    return start_seen, "disconnect" if bounds.closed else "last event seen"


def span_notes(bounds: Bounds, since: datetime | None, until: datetime | None) -> list[str]:
    """What a reader must know to read the session right (sessions longer than a day, cut by the period)."""
    notes = []
    first, last = bounds.first.at, bounds.last.at
    if not bounds.opened:
        notes.append("no CONNECT seen: starts at its first event seen")
    if not bounds.closed:
        notes.append("no DISCONNECT seen: end unknown (still open, or its end was not logged)")
    if last - first > LONG:
        notes.append(f"longer than a day ({iso(first)[:10]} to {iso(last)[:10]})")
    if since is not None and first < since:
        notes.append(f"started before the period ({iso(since)})")
    if until is not None and last >= until:
        notes.append(f"went on after the period ({iso(until)})")
    return notes
