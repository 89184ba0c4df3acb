"""Query definitions, in one place: the saved searches' own Lucene (read from mappings/dashboards.ndjson, so the
report and Dashboards can never disagree on what a failed login, a schema change or an account change is), and
the filters that scope every request of a report to its period and clusters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from handler.report.period import Period, iso

# section → the saved search (mappings/dashboards.ndjson) whose query defines it
SAVED_SEARCHES = {
    "failed_logins": "rdsaudit-search-failed-logins",
    "schema_changes": "rdsaudit-search-ddl",
    "account_changes": "rdsaudit-search-privileges",
}

Query = dict[str, Any]


@cache
def lucene(section: str) -> str:
    from handler.mappings import saved_objects

    wanted = SAVED_SEARCHES[section]
    for obj in saved_objects():
        if obj["type"] == "search" and obj["id"] == wanted:
            source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            return str(source["query"]["query"])
    raise LookupError(f"saved search {wanted} not found in dashboards.ndjson")


def saved_search(section: str) -> Query:
    """As Dashboards runs it: a Lucene query string over the fields it names."""
    return {"query_string": {"query": lucene(section)}}


def in_period(period: Period) -> Query:
    return {"range": {"@timestamp": {"gte": iso(period.since), "lt": iso(period.until)}}}


def between(first: str, last: str) -> Query:
    """Both ends included: the stored timestamps of the first and last document of a span."""
    return {"range": {"@timestamp": {"gte": first, "lte": last}}}


def in_clusters(names: Sequence[str]) -> Query:
    """`--cluster NAME` matches the Aurora cluster or, for RDS instances (which have no cluster), the instance."""
    return {
        "bool": {
            "should": [{"terms": {"cluster": list(names)}}, {"terms": {"instance": list(names)}}],
            "minimum_should_match": 1,
        }
    }


def term(field: str, value: str | None) -> Query:
    """A field's value, or its absence for None (composite aggregations' missing bucket)."""
    if value is None:
        return {"bool": {"must_not": [{"exists": {"field": field}}]}}
    return {"term": {field: value}}


def all_of(*clauses: Query) -> Query:
    return {"bool": {"filter": list(clauses)}}


class Scope:
    """The filters every request of one report carries: its period and, optionally, clusters."""

    def __init__(self, period: Period, clusters: Sequence[str] = ()) -> None:
        self.period = period
        self.clusters = tuple(clusters)

    def filters(self, period: Period | None = None) -> list[Query]:
        clauses = [in_period(period or self.period)]
        if self.clusters:
            clauses.append(in_clusters(self.clusters))
        return clauses

    def query(self, *clauses: Query, period: Period | None = None) -> Query:
        return all_of(*self.filters(period), *clauses)
