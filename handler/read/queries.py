"""The filters every read of the audit indices is built from: a period, clusters or instances, accounts and
regions, a field's value.

What a failed login, an account change or a schema change *is* lives in `handler/read/events.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handler.read.period import Period, iso

Query = dict[str, Any]


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


def in_accounts(accounts: Sequence[str]) -> Query:
    """`--account ID`: documents of these AWS accounts (`owner`, the account the log group belongs to). Two
    accounts' clusters of one name are two clusters: combine with `in_clusters` to pick one of them."""
    return {"terms": {"owner": list(accounts)}}


def in_regions(regions: Sequence[str]) -> Query:
    """`--region NAME`: documents of log groups in these regions (`region`; documents written before it was
    recorded have none and match no region)."""
    return {"terms": {"region": list(regions)}}


def term(field: str, value: str | None) -> Query:
    """A field's value, or its absence for None (composite aggregations' missing bucket)."""
    if value is None:
        return {"bool": {"must_not": [{"exists": {"field": field}}]}}
    return {"term": {field: value}}


def all_of(*clauses: Query) -> Query:
    return {"bool": {"filter": list(clauses)}}


class Scope:
    """The filters every request of one read carries: its period and, optionally, clusters, accounts and regions
    (each a set to match any of; together, all must match). The report, sessions and detections share it."""

    def __init__(
        self,
        period: Period,
        clusters: Sequence[str] = (),
        *,
        accounts: Sequence[str] = (),
        regions: Sequence[str] = (),
    ) -> None:
        self.period = period
        self.clusters = tuple(clusters)
        self.accounts = tuple(accounts)
        self.regions = tuple(regions)

    def filters(self, period: Period | None = None) -> list[Query]:
        clauses = [in_period(period or self.period)]
        if self.clusters:
            clauses.append(in_clusters(self.clusters))
        if self.accounts:
            clauses.append(in_accounts(self.accounts))
        if self.regions:
            clauses.append(in_regions(self.regions))
        return clauses

    def query(self, *clauses: Query, period: Period | None = None) -> Query:
        return all_of(*self.filters(period), *clauses)

    def describe(self) -> str:
        """The scope's filters as people read them (` for prod in 111111111111`), empty for everything."""
        parts = [
            f"{what} {', '.join(names)}"
            for what, names in (("for", self.clusters), ("in", self.accounts), ("in", self.regions))
            if names
        ]
        return (" " + " ".join(parts)) if parts else ""
