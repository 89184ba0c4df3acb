"""Every session with an event in a period, exactly: the period's (server, connid) pairs by composite pages, their
opening and closing events by `search_after`, and, where a pair is not simply one CONNECT … DISCONNECT inside the
period (a session across the period's edges, an id reused after a restart, no CONNECT), the bounds searched
through every index as `find_session` does, so a session is the same whatever period lists it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from handler.read.period import Period
from handler.read.privileged import configured_privileged
from handler.read.queries import Query, Scope, all_of
from handler.read.reader import Reader
from handler.sessions.bounds import FIELDS, bounds_of, earliest, pair_query
from handler.sessions.gaps import GAP_MINUTES, during, server_gaps
from handler.sessions.model import BOUNDARIES, CLOSER, OPENERS, Bounds, Event, SessionSummary
from handler.sessions.summary import PAIR_SOURCES, Pair, Partial, aggregate, build, summarise_many


@dataclass(frozen=True)
class Filters:
    users: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    login_failed: bool = False
    privileged: bool = False

    def keep(self, s: SessionSummary) -> bool:
        return (
            (not self.users or bool(set(self.users) & set(s.users)))
            and (not self.clients or bool(set(self.clients) & set(s.clients)))
            and (not self.login_failed or s.login_failed)
            and (not self.privileged or s.privileged)
        )


def _edge(order: str) -> dict[str, Any]:
    return {"top_hits": {"size": 1, "sort": [{"@timestamp": {"order": order}}], "_source": FIELDS}}


def _event(agg: dict[str, Any]) -> Event:
    return Event.of_hit(agg["hits"]["hits"][0])


def _pairs(reader: Reader, query: Query) -> dict[Pair, tuple[Event, Event]]:
    """Each pair's first and last event in the period."""
    aggs = {"first": _edge("asc"), "last": _edge("desc")}
    return {
        (str(b["key"]["server"]), int(b["key"]["connid"])): (_event(b["first"]), _event(b["last"]))
        for b in reader.composite(query, PAIR_SOURCES, aggs)
    }


def _boundaries(reader: Reader, query: Query) -> dict[Pair, list[Event]]:
    out: dict[Pair, list[Event]] = defaultdict(list)
    for row in reader.documents(
        all_of(query, {"terms": {"operation": list(BOUNDARIES)}}), [*FIELDS, "server", "connid"]
    ):
        hit = {"_id": row["_id"], "_source": row}
        out[(str(row["server"]), int(row["connid"]))].append(Event.of_hit(hit))
    for events in out.values():
        events.sort(key=Event.order)
    return out


def _simple(first: Event, last: Event, bounds: list[Event]) -> bool:
    """One CONNECT (or failed login) … DISCONNECT wholly inside the period and nothing else of the pair in it."""
    return (
        len(bounds) == 2
        and bounds[0].operation in OPENERS
        and bounds[1].operation == CLOSER
        and first.at == bounds[0].at
        and last.at == bounds[1].at
    )


def _walk(reader: Reader, pair: Pair, first: Event, period_query: Query) -> list[Bounds]:
    """Sessions of one pair from its first event in the period on, each bounded through every index."""
    found, event = [], first
    while True:
        bounds = bounds_of(reader, *pair, event)
        found.append(bounds)
        after = {"range": {"@timestamp": {"gt": bounds.last.timestamp}}}
        nxt = earliest(reader, all_of(period_query, pair_query(*pair), after))
        if nxt is None:
            return found
        event = nxt


def list_sessions(
    reader: Reader,
    period: Period,
    clusters: Sequence[str] = (),
    filters: Filters = Filters(),
    privileged_users: Iterable[str] | None = None,
    gap_minutes: int = GAP_MINUTES,
    having: Query | None = None,
) -> list[SessionSummary]:
    """Every session with an event in the period (and the clusters), newest first; with `having`, only the
    sessions with an event in the period that matches it (the report's privileged sessions). Privileged users:
    default, the shipped catalog's (handler/read/privileged.py); a caller with RDSAUDIT_DETECTIONS passes its own."""
    privileged = tuple(configured_privileged() if privileged_users is None else privileged_users)
    query = Scope(period, clusters).query()
    if having is not None:
        return _having(reader, period, all_of(query, having), filters, privileged, gap_minutes)
    pairs = _pairs(reader, query)
    bounds_by_pair = _boundaries(reader, query)
    partials = aggregate(reader, query)
    simple, walked = [], []
    for pair, (first, last) in pairs.items():
        bounds = bounds_by_pair.get(pair, [])
        if _simple(first, last, bounds):
            simple.append(Bounds(*pair, bounds[0], bounds[1], opened=True, closed=True))
        else:
            walked.extend(_walk(reader, pair, first, query))
    gaps = server_gaps(reader, [*simple, *walked], gap_minutes)
    out = [
        build(b, partials.get(b.pair, Partial()), privileged, period.since, period.until, during(gaps[b.server], b))
        for b in simple
    ]
    out += summarise_many(reader, walked, privileged, period.since, period.until, gaps=gaps)
    return _newest_first([s for s in out if filters.keep(s)])


def _having(
    reader: Reader, period: Period, query: Query, filters: Filters, privileged: tuple[str, ...], gap_minutes: int
) -> list[SessionSummary]:
    walked = [b for pair, (first, _) in _pairs(reader, query).items() for b in _walk(reader, pair, first, query)]
    out = summarise_many(reader, walked, privileged, period.since, period.until, gap_minutes)
    return _newest_first([s for s in out if filters.keep(s)])


def _newest_first(found: list[SessionSummary]) -> list[SessionSummary]:
    return sorted(found, key=lambda s: (s.start_at, s.key), reverse=True)
