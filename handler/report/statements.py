"""Top statements: what runs most, for whom, and what fails, grouped by fingerprint (the statement with its literals
replaced, `sql_fingerprint`, and its hash `sql_fingerprint_hash`, written by the forwarder since template version 2).

Read exactly (one composite aggregation over user and fingerprint, every bucket), then ranked here. Documents
indexed before fingerprints existed have none: they are counted, and the section says how many it could not group.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from handler.read.queries import Scope
from handler.read.reader import Reader
from handler.report.model import Raw

HASH, TEXT = "sql_fingerprint_hash", "sql_fingerprint"
TOP = 100  # statements kept in each ranking of the JSON data (the renderers show fewer)
PER_USER = 10
_FAILED = {"filter": {"bool": {"must": [{"exists": {"field": "retcode"}}], "must_not": [{"term": {"retcode": 0}}]}}}


def collect_statements(reader: Reader, scope: Scope, raw: Raw) -> None:
    fingerprinted = scope.query({"exists": {"field": HASH}})
    sources: list[dict[str, Any]] = [
        {"user": {"terms": {"field": "user", "missing_bucket": True}}},
        {HASH: {"terms": {"field": HASH}}},
    ]
    raw.statement_counts = [
        (b["key"]["user"], b["key"][HASH], b["doc_count"], b["failed"]["doc_count"])
        for b in reader.composite(fingerprinted, sources, {"failed": _FAILED})
    ]
    queries = scope.query({"prefix": {"operation": "QUERY"}}, {"bool": {"must_not": [{"exists": {"field": HASH}}]}})
    raw.statements_without_fingerprint = reader.count(queries)
    wanted = sorted(_shown(raw.statement_counts))
    if wanted:
        # One document per fingerprint for its text: an exact terms aggregation, since the query keeps only these.
        body = {
            "size": 0,
            "query": scope.query({"terms": {HASH: wanted}}),
            "aggs": {
                "h": {
                    "terms": {"field": HASH, "size": len(wanted)},
                    "aggs": {"one": {"top_hits": {"size": 1, "_source": [TEXT]}}},
                }
            },
        }
        buckets = reader.search(body)["aggregations"]["h"]["buckets"]
        raw.statement_texts = {
            b["key"]: b["one"]["hits"]["hits"][0]["_source"].get(TEXT, "") for b in buckets if b["one"]["hits"]["hits"]
        }


def _totals(counts: list[tuple[str | None, str, int, int]]) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, h, n, failed in counts:
        totals[h][0] += n
        totals[h][1] += failed
    return totals


def _per_user(counts: list[tuple[str | None, str, int, int]]) -> dict[str | None, list[tuple[str, int, int]]]:
    users: dict[str | None, list[tuple[str, int, int]]] = defaultdict(list)
    for user, h, n, failed in counts:
        users[user].append((h, n, failed))
    for rows in users.values():
        rows.sort(key=lambda r: (-r[1], r[0]))
    return users


def _shown(counts: list[tuple[str | None, str, int, int]]) -> set[str]:
    totals = _totals(counts)
    by_count = sorted(totals, key=lambda h: (-totals[h][0], h))[:TOP]
    by_failures = sorted((h for h in totals if totals[h][1]), key=lambda h: (-totals[h][1], h))[:TOP]
    per_user = {h for rows in _per_user(counts).values() for h, _, _ in rows[:PER_USER]}
    return set(by_count) | set(by_failures) | per_user


def top_statements(raw: Raw) -> dict[str, Any]:
    totals, texts = _totals(raw.statement_counts), raw.statement_texts
    users_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for user, h, n, _ in raw.statement_counts:
        users_of[h].append({"user": user, "events": n})

    def row(h: str) -> dict[str, Any]:
        users = sorted(users_of[h], key=lambda u: (-u["events"], u["user"] is None, u["user"] or ""))
        events, failures = totals[h]
        fp = texts.get(h, "")
        return {"hash": h, "fingerprint": fp, "events": events, "failures": failures, "users": users[:PER_USER]}

    by_count = sorted(totals, key=lambda h: (-totals[h][0], h))[:TOP]
    by_failures = sorted((h for h in totals if totals[h][1]), key=lambda h: (-totals[h][1], h))[:TOP]
    per_user = _per_user(raw.statement_counts)
    return {
        "distinct": len(totals),
        "events": sum(t[0] for t in totals.values()),
        "without_fingerprint": raw.statements_without_fingerprint,
        "by_count": [row(h) for h in by_count],
        "by_failures": [row(h) for h in by_failures],
        "by_user": [
            {
                "user": user,
                "events": sum(n for _, n, _ in rows),
                "statements": [
                    {"hash": h, "fingerprint": texts.get(h, ""), "events": n, "failures": f}
                    for h, n, f in rows[:PER_USER]
                ],
            }
            for user, rows in sorted(
                per_user.items(), key=lambda p: (-sum(n for _, n, _ in p[1]), p[0] is None, p[0] or "")
            )
        ],
    }
