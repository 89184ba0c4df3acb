"""Stretches in which a server logged nothing at all: its audit stream may have a gap there (an Aurora instance
logs its own `rdsadmin` connections every few minutes, so a long silence is rarely a quiet database)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from handler.read.period import iso, parse_timestamp
from handler.read.queries import all_of, between
from handler.read.reader import Reader
from handler.sessions.model import Bounds, Event

GAP_MINUTES = 30


def stream_gaps(reader: Reader, server: str, first: str, last: str, minutes: int = GAP_MINUTES) -> list[dict[str, str]]:
    """Every silence of at least `minutes` between two of the server's events in [first, last] (0: none looked for).

    Buckets half the gap wide: a silence of the full length always leaves a bucket empty, and the exact ends come
    from the neighbouring buckets' first and last events."""
    if minutes <= 0 or first == last:
        return []
    width = max(1, minutes // 2)
    histogram = {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": f"{width}m"}}}
    aggs = {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}
    query = all_of({"term": {"server": server}}, between(first, last))
    gaps, previous = [], None
    for bucket in reader.composite(query, [histogram], aggs):
        if previous is not None and bucket["key"]["t"] - previous["key"]["t"] > width * 60_000:
            since, until = _value(previous["last"]), _value(bucket["first"])
            if (parse_timestamp(until) - parse_timestamp(since)).total_seconds() >= minutes * 60:
                gaps.append({"since": iso(parse_timestamp(since)), "until": iso(parse_timestamp(until))})
        previous = bucket
    return gaps


def server_gaps(reader: Reader, spans: Iterable[Bounds], minutes: int = GAP_MINUTES) -> dict[str, list[dict[str, str]]]:
    """The silences of each server during any of the sessions: one histogram per server over each stretch the
    sessions cover together (overlapping sessions merged), not one per session."""
    by_server: dict[str, list[tuple[Event, Event]]] = defaultdict(list)
    for b in spans:
        by_server[b.server].append((b.first, b.last))
    out: dict[str, list[dict[str, str]]] = {}
    for server, intervals in by_server.items():
        intervals.sort(key=lambda i: i[0].at)
        merged: list[tuple[Event, Event]] = []
        for first, last in intervals:
            if merged and first.at <= merged[-1][1].at:
                if last.at > merged[-1][1].at:
                    merged[-1] = (merged[-1][0], last)
            else:
                merged.append((first, last))
        out[server] = [
            g for first, last in merged for g in stream_gaps(reader, server, first.timestamp, last.timestamp, minutes)
        ]
    return out


def during(gaps: list[dict[str, str]], bounds: Bounds) -> list[dict[str, str]]:
    return [
        g
        for g in gaps
        if parse_timestamp(g["since"]) < bounds.last.at and parse_timestamp(g["until"]) > bounds.first.at
    ]


def _value(agg: dict[str, Any]) -> str:
    return str(agg["value_as_string"])
