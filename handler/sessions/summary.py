"""A session's summary: aggregations over its events, exact (composite pages, terms sized far above what one
connection can hold and checked for a remainder), for one session or for every (server, connid) of a period at once."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handler.read.events import saved_search
from handler.read.period import iso, parse_timestamp
from handler.read.queries import Query, all_of, between
from handler.read.reader import Reader
from handler.sessions.bounds import pair_query
from handler.sessions.key import session_key
from handler.sessions.model import TABLE_EVENTS, Bounds, SessionSummary, describe_bounds, span_notes
from handler.transforms.sql_secrets import mask_sql

Pair = tuple[str, int]
TOP_TABLES = 10
_TERMS_SIZE = 10_000  # per connection: operations, users, clients, databases, return codes, rules
CHANGE_FIELDS = ["@timestamp", "server", "connid", "operation", "user", "db", "sql", "retcode"]
PAIR_SOURCES = [
    {"server": {"terms": {"field": "server"}}},
    {"connid": {"terms": {"field": "connid"}}},
]


def _terms(name: str) -> dict[str, Any]:
    return {"terms": {"field": name, "size": _TERMS_SIZE}}


FAILED_STATEMENT: Query = {
    "bool": {
        "filter": [{"term": {"operation": "QUERY"}}, {"exists": {"field": "retcode"}}],
        "must_not": [{"term": {"retcode": 0}}],
    }
}
_TABLE_EVENT: Query = {"terms": {"operation": list(TABLE_EVENTS)}}
_HAS_TABLE: Query = {"exists": {"field": "table"}}
# Where a table event's table name is aggregatable: `table` (documents since template version 2 added it), else
# `sql.keyword` (indices made with version 1, which mapped it; `table` is unmapped there, so even a newer
# document in such an index falls to this branch). Disjoint by construction, so a mix of indices counts each
# event exactly once; an event in neither (a pre-`table` document in a version 2 index) is counted by `build`.
TABLE_NAMES: list[tuple[Query, str]] = [
    (all_of(_TABLE_EVENT, _HAS_TABLE), "table"),
    ({"bool": {"filter": [_TABLE_EVENT], "must_not": [_HAS_TABLE]}}, "sql.keyword"),
]
AGGS = {
    "operations": _terms("operation"),
    "users": _terms("user"),
    "clients": _terms("client"),
    "databases": _terms("db"),
    "cluster": _terms("cluster"),
    "instance": _terms("instance"),
    "owner": _terms("owner"),
    "detections": _terms("detections"),  # the rule ids detections tag events with (unmapped until then: empty)
    "failed": {"filter": FAILED_STATEMENT, "aggs": {"codes": _terms("retcode")}},
    "failed_logins": {"filter": {"term": {"operation": "FAILED_CONNECT"}}},
}


@dataclass
class Partial:
    """What the aggregations say about one pair's events in the range read."""

    events: int = 0
    terms: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failed: int = 0
    failed_logins: int = 0
    tables: Counter[str] = field(default_factory=Counter)
    changes: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def _counts(agg: dict[str, Any], name: str) -> Counter[str]:
    if agg.get("sum_other_doc_count"):
        raise RuntimeError(f"more than {_TERMS_SIZE} distinct {name} values in one connection")
    return Counter({str(b.get("key_as_string", b["key"])): int(b["doc_count"]) for b in agg["buckets"]})


def _fill(part: Partial, b: dict[str, Any]) -> None:
    part.events = int(b["doc_count"])
    for name in ("operations", "users", "clients", "databases", "cluster", "instance", "owner", "detections"):
        part.terms[name] = _counts(b[name], name)
    part.failed = int(b["failed"]["doc_count"])
    part.terms["codes"] = _counts(b["failed"]["codes"], "return code")
    part.failed_logins = int(b["failed_logins"]["doc_count"])
    for i in range(len(TABLE_NAMES)):
        if f"tables_{i}" in b:
            part.tables.update(_counts(b[f"tables_{i}"]["t"], "table"))


def _changes(reader: Reader, query: Query) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, document) of the account and schema changes and CHANGEUSER events `query` matches."""
    for name in ("account_changes", "schema_changes", "changed_user"):
        clause = {"term": {"operation": "CHANGEUSER"}} if name == "changed_user" else saved_search(name)
        for row in reader.documents(all_of(query, clause), CHANGE_FIELDS):
            yield name, row


def _pair(row: dict[str, Any]) -> Pair:
    return str(row["server"]), int(row["connid"])


def aggregate(reader: Reader, query: Query) -> dict[Pair, Partial]:
    """Per (server, connid): everything a summary needs of the events `query` matches (composite pages)."""
    out: dict[Pair, Partial] = defaultdict(Partial)
    for b in reader.composite(query, PAIR_SOURCES, AGGS):
        _fill(out[_pair(b["key"])], b)
    for named, name_field in TABLE_NAMES:
        table_source = {"table": {"terms": {"field": name_field}}}
        for b in reader.composite(all_of(query, named), [*PAIR_SOURCES, table_source]):
            out[_pair(b["key"])].tables[str(b["key"]["table"])] += int(b["doc_count"])
    for name, row in _changes(reader, query):
        out[_pair(row)].changes[name].append(row)
    return dict(out)


SPAN_AGGS = {
    **AGGS,
    **{f"tables_{i}": {"filter": named, "aggs": {"t": _terms(f)}} for i, (named, f) in enumerate(TABLE_NAMES)},
}


def aggregate_spans(reader: Reader, batch: list[Bounds]) -> list[Partial]:
    """Each session's aggregations, for a batch of sessions in one request: a `filters` aggregation with one
    bucket per session (complete by construction: every filter answers), terms checked for a remainder."""
    parts = [Partial() for _ in batch]
    if not batch:
        return parts
    spans = [span_query(b) for b in batch]
    either = {"bool": {"should": spans, "minimum_should_match": 1}}
    filters = {"filters": {"filters": {str(i): q for i, q in enumerate(spans)}}, "aggs": SPAN_AGGS}
    answer = reader.search({"size": 0, "track_total_hits": False, "query": either, "aggs": {"s": filters}})
    for i, bucket in answer["aggregations"]["s"]["buckets"].items():
        _fill(parts[int(i)], bucket)
    for name, row in _changes(reader, either):
        at = parse_timestamp(str(row["@timestamp"]))
        for part, b in zip(parts, batch, strict=True):
            if _pair(row) == b.pair and b.first.at <= at <= b.last.at:
                part.changes[name].append(row)
    return parts


def span_query(bounds: Bounds) -> Query:
    return all_of(pair_query(bounds.server, bounds.connid), between(bounds.first.timestamp, bounds.last.timestamp))


def _change(row: dict[str, Any]) -> dict[str, Any]:
    sql = row.get("sql")
    # masked again: an index written with RDSAUDIT_MASK_SECRETS=false must not put a password in a summary
    return {
        "time": iso(parse_timestamp(str(row["@timestamp"]))),
        "operation": row.get("operation"),
        "statement": mask_sql(sql) if isinstance(sql, str) else sql,
        "retcode": row.get("retcode"),
    }


def _first(counts: Counter[str]) -> str | None:
    return min(counts, key=lambda k: (-counts[k], k)) if counts else None


def _first_first(first: str | None, seen: Counter[str]) -> list[str]:
    return ([first] if first is not None and first in seen else []) + sorted(v for v in seen if v != first)


def build(
    bounds: Bounds,
    part: Partial,
    privileged_users: Iterable[str],
    since: datetime | None = None,
    until: datetime | None = None,
    stream_gaps: list[dict[str, str]] | None = None,
) -> SessionSummary:
    t = part.terms
    user = bounds.first.user or _first(t["users"])
    client = bounds.first.client or _first(t["clients"])
    account = [_change(r) for r in part.changes["account_changes"]]
    start_seen, end_seen = describe_bounds(bounds)
    first, last = bounds.first.at, bounds.last.at
    operations = dict(sorted(t["operations"].items()))
    notes = span_notes(bounds, since, until)
    gaps = stream_gaps or []
    if gaps:
        notes.append(f"the server logged nothing for {len(gaps)} stretch(es) during the session: events may be missing")
    unnamed = sum(t["operations"][op] for op in TABLE_EVENTS) - sum(part.tables.values())
    if unnamed:
        notes.append(f"{unnamed} table event(s) without a stored table name: not in the tables touched")
    privileged = set(privileged_users)
    return SessionSummary(
        key=session_key(bounds.server, bounds.connid, bounds.first.timestamp),
        server=bounds.server,
        connid=bounds.connid,
        cluster=_first(t["cluster"]),
        instance=_first(t["instance"]),
        owner=_first(t["owner"]),
        user=user,
        users=_first_first(user, t["users"]),
        changed_user_to=[str(r.get("user")) for r in part.changes["changed_user"]],
        client=client,
        clients=_first_first(client, t["clients"]),
        databases=sorted(t["databases"]),
        start=iso(first),
        end=iso(last),
        duration_seconds=(last - first).total_seconds(),
        start_seen=start_seen,
        end_seen=end_seen,
        closed=bounds.closed,
        events=part.events,
        operations=operations,
        failed_statements=part.failed,
        failed_codes=dict(sorted(t["codes"].items())),
        account_changes=account,
        schema_changes=[_change(r) for r in part.changes["schema_changes"]],
        tables=[
            {"table": name, "events": n} for name, n in sorted(part.tables.items(), key=lambda kv: (-kv[1], kv[0]))
        ][:TOP_TABLES],
        login_failed=part.failed_logins > 0,
        privileged=bool(account) or bool(privileged & set(t["users"])),
        detections=dict(sorted(t["detections"].items())),
        stream_gaps=gaps,
        notes=notes,
    )


BATCH = 200  # sessions aggregated by one request: a bool query of their spans


def summarise_many(
    reader: Reader,
    found: list[Bounds],
    privileged_users: Iterable[str],
    since: datetime | None = None,
    until: datetime | None = None,
    gap_minutes: int = 0,
    gaps: dict[str, list[dict[str, str]]] | None = None,
) -> list[SessionSummary]:
    """Summaries of many sessions, aggregated in batches. `gaps`: the servers' silences, when already known."""
    from handler.sessions.gaps import during, server_gaps

    parts = [p for i in range(0, len(found), BATCH) for p in aggregate_spans(reader, found[i : i + BATCH])]
    if gaps is None:
        gaps = server_gaps(reader, found, gap_minutes)
    return [
        build(b, part, privileged_users, since, until, during(gaps.get(b.server, []), b))
        for b, part in zip(found, parts, strict=True)
    ]


def summarise_one(
    reader: Reader,
    bounds: Bounds,
    privileged_users: Iterable[str],
    since: datetime | None = None,
    until: datetime | None = None,
    gap_minutes: int = 0,
) -> SessionSummary:
    from handler.sessions.gaps import stream_gaps

    (part,) = aggregate_spans(reader, [bounds])
    gaps = stream_gaps(reader, bounds.server, bounds.first.timestamp, bounds.last.timestamp, gap_minutes)
    return build(bounds, part, privileged_users, since, until, gaps)
