"""The documented searches for bench.storage, and their timing: interleaved over the variants' indices, so a
search's time on a variant is compared with its time on the old index in the same round, never in another minute
of a shared machine's load."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from handler.read.events import lucene
from handler.transforms.document import SQL_LOWER_CHARS

Request = Callable[[str, str, Any], Any]
# Beyond this a search is slower than the issue allows (its new / old ratio)
SLOWER = 1.2


def _saved(event_class: str, old: bool) -> dict[str, Any]:
    query = lucene(event_class)
    # version 1's saved searches named sql.lower, the whole statement lowercased; the current ones match both
    return {"query_string": {"query": query.replace("sql\\*lower", "sql.lower") if old else query}}


def searches(docs: list[tuple[str, dict[str, Any]]], old: bool) -> dict[str, dict[str, Any]]:
    """Each search the README documents (tests/integration/readme_searches.py checks their answers), written as the
    template of its time lets one write it, on statements the corpus holds."""
    queries = [d for _, d in docs if d.get("operation") == "QUERY" and "sql" in d]
    short = min((d["sql"] for d in queries), key=len)
    out: dict[str, dict[str, Any]] = {
        "full text (match sql)": {"query": {"match": {"sql": "customers"}}},
        "phrase (match_phrase sql)": {"query": {"match_phrase": {"sql": "FROM orders"}}},
        # what Dashboards' Discover asks for a search: the newest 500 hits
        "Discover: newest 500 of a full-text search": {
            "size": 500,
            "sort": [{"@timestamp": "desc"}],
            "query": {"match": {"sql": "customers"}},
        },
        "exact statement, short": {"query": {"term": {"sql.keyword": short}}}
        if old
        else {"query": {"term": {"sql_lower": short.lower()}}},
    }
    long = next((d for d in queries if len(d["sql"]) > SQL_LOWER_CHARS), None)
    if long is not None:  # the README's way past sql_lower's length: the fingerprint's hash plus a phrase on sql
        same_shape = {"term": {"sql_fingerprint_hash": long["sql_fingerprint_hash"]}}
        phrase = {"match_phrase": {"sql": long["sql"]}}
        exact = {"term": {"sql.keyword": long["sql"]}} if old else {"bool": {"filter": [same_shape, phrase]}}
        out["exact statement, long (hash + phrase)"] = {"query": exact}
    statements = "sql.keyword" if old else "sql_fingerprint_hash"
    out |= {
        "starts with (sql\\*lower:create*)": {"query": {"query_string": {"query": "sql\\*lower:create*"}}},
        "saved: privilege and account changes": {"query": _saved("account_changes", old)},
        "saved: DDL": {"query": _saved("schema_changes", old)},
        "saved: failed logins": {"query": _saved("failed_logins", old)},
        "report: users by hour": {
            "size": 0,
            "aggs": {
                "h": {
                    "date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
                    "aggs": {"u": {"terms": {"field": "user"}}},
                }
            },
        },
        "report: clients": {"size": 0, "aggs": {"c": {"terms": {"field": "client", "size": 100}}}},
        "sessions and detections: (user, client) composite": {
            "size": 0,
            "aggs": {
                "c": {
                    "composite": {
                        "size": 1000,
                        "sources": [{"u": {"terms": {"field": "user"}}}, {"c": {"terms": {"field": "client"}}}],
                    }
                }
            },
        },
        "top statements": {"size": 0, "aggs": {"s": {"terms": {"field": statements, "size": 20}}}},
    }
    return out


def time_interleaved(
    request: Request,
    plan: dict[str, tuple[str, dict[str, dict[str, Any]]]],
    rounds: int,
    warmup: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, dict[str, dict[str, Any]]]:
    """`plan`: variant → (its index, its searches by name), the first variant the base (the old template).

    Each round runs every search on every variant back to back, the variants' order rotating so none is always
    first (caches warmed by the one before); the `warmup` rounds are not timed. Per variant and search: the hits,
    the median time and the median of the round-by-round ratios to the base."""
    names = list(plan)
    base = names[0]
    times: dict[str, dict[str, list[float]]] = {v: {s: [] for s in plan[v][1]} for v in names}
    hits: dict[str, dict[str, int]] = {v: {} for v in names}
    for r in range(warmup + rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for search in plan[base][1]:
            for variant in order:
                index, queries = plan[variant]
                body = {"track_total_hits": True, "size": queries[search].get("size", 10), **queries[search]}
                start = clock()
                resp = request("POST", f"/{index}/_search?request_cache=false", body)
                elapsed = clock() - start
                if r >= warmup:
                    times[variant][search].append(elapsed)
                hits[variant][search] = resp["hits"]["total"]["value"]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for variant in names:
        out[variant] = {}
        for search, measured in times[variant].items():
            entry: dict[str, Any] = {"hits": hits[variant][search], "ms": round(statistics.median(measured) * 1000, 2)}
            if variant != base:
                paired = [t / b for t, b in zip(measured, times[base][search], strict=True)]
                entry["ratio_to_old"] = round(statistics.median(paired), 2)
            out[variant][search] = entry
    return out


def slower(timed: dict[str, dict[str, Any]]) -> list[str]:
    """The searches a variant runs more than SLOWER times the old index's time."""
    return [s for s, e in timed.items() if e.get("ratio_to_old", 0) > SLOWER]
