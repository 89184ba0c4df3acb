"""Where one session begins and ends, found in the indices with a few sorted searches (rules in the package
docstring). Every search covers the whole index pattern, never only a period, so bounds do not depend on it."""

from __future__ import annotations

from typing import Any

from handler.read.queries import Query, all_of
from handler.read.reader import Reader
from handler.sessions.model import BOUNDARIES, CLOSER, OPENERS, Bounds, Event

FIELDS = ["@timestamp", "operation", "user", "client"]


def pair_query(server: str, connid: int) -> Query:
    return all_of({"term": {"server": server}}, {"term": {"connid": connid}})


def _range(**ends: str) -> Query:
    return {"range": {"@timestamp": ends}}


def _ops(operations: tuple[str, ...]) -> Query:
    return {"terms": {"operation": list(operations)}}


def _one(reader: Reader, query: Query, descending: bool) -> Event | None:
    order = "desc" if descending else "asc"
    body: dict[str, Any] = {
        "size": 1,
        "track_total_hits": False,
        "query": query,
        "sort": [{"@timestamp": {"order": order}}],  # ties: the rank rules of earliest and latest
        "_source": FIELDS,
    }
    hits = reader.search(body)["hits"]["hits"]
    return Event.of_hit(hits[0]) if hits else None


def earliest(reader: Reader, query: Query) -> Event | None:
    """The first event in the pair's order: within its timestamp an opening event comes first."""
    event = _one(reader, query, descending=False)
    if event is None or event.operation in OPENERS:
        return event
    return _one(reader, all_of(query, _range(gte=event.timestamp, lte=event.timestamp), _ops(OPENERS)), False) or event


def latest(reader: Reader, query: Query) -> Event | None:
    """The last event in the pair's order: within its timestamp a DISCONNECT comes last."""
    event = _one(reader, query, descending=True)
    if event is None or event.operation == CLOSER:
        return event
    return _one(reader, all_of(query, _range(gte=event.timestamp, lte=event.timestamp), _ops((CLOSER,))), True) or event


def start_of(reader: Reader, pair: Query, event: Event) -> tuple[Event, bool]:
    """The first event of the session that holds `event`, and whether it is an opening event."""
    if event.operation in OPENERS:
        return event, True
    same = _range(gte=event.timestamp, lte=event.timestamp)
    opener = _one(reader, all_of(pair, same, _ops(OPENERS)), descending=False)
    if opener:
        return opener, True
    boundary = latest(reader, all_of(pair, _range(lt=event.timestamp), _ops(BOUNDARIES)))
    if boundary and boundary.operation in OPENERS:
        return boundary, True
    # After a DISCONNECT (or with none at all) the session starts at the pair's next event: the first seen.
    after = all_of(pair, _range(gt=boundary.timestamp)) if boundary else pair
    return earliest(reader, after) or event, False


def end_of(reader: Reader, pair: Query, first: Event) -> tuple[Event, bool]:
    """The last event of the session that starts at `first`, and whether it is a DISCONNECT."""
    if first.operation == CLOSER:
        return first, True
    same = _range(gte=first.timestamp, lte=first.timestamp)
    closer = _one(reader, all_of(pair, same, _ops((CLOSER,))), descending=False)
    if closer:
        return closer, True
    boundary = earliest(reader, all_of(pair, _range(gt=first.timestamp), _ops(BOUNDARIES)))
    if boundary and boundary.operation == CLOSER:
        return boundary, True
    # The next opening event belongs to another session (an id reused after a restart): this one ended before it.
    before = _range(gte=first.timestamp, lt=boundary.timestamp) if boundary else _range(gte=first.timestamp)
    return latest(reader, all_of(pair, before)) or first, False


def bounds_of(reader: Reader, server: str, connid: int, event: Event) -> Bounds:
    pair = pair_query(server, connid)
    first, opened = start_of(reader, pair, event)
    last, closed = end_of(reader, pair, first)
    return Bounds(server, connid, first, last, opened, closed)


def anchor(reader: Reader, server: str, connid: int, at: str | None) -> Event | None:
    """The pair's last event at or before `at` (its last event at all without `at`)."""
    pair = pair_query(server, connid)
    return latest(reader, all_of(pair, _range(lte=at)) if at else pair)
