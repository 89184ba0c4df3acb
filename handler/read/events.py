"""The event classes every reader shares: what a failed login, a schema change (DDL) and an account or privilege
change *is*. Each is the Lucene query of a saved search in mappings/dashboards.ndjson, read from there, so the
report, sessions, detections and Dashboards can never disagree on one."""

from __future__ import annotations

import json
from functools import cache

from handler.read.queries import Query

# event class → the saved search (mappings/dashboards.ndjson) whose query defines it
SAVED_SEARCHES = {
    "failed_logins": "rdsaudit-search-failed-logins",
    "schema_changes": "rdsaudit-search-ddl",
    "account_changes": "rdsaudit-search-privileges",
}


@cache
def lucene(event_class: str) -> str:
    from handler.mappings import saved_objects

    wanted = SAVED_SEARCHES[event_class]
    for obj in saved_objects():
        if obj["type"] == "search" and obj["id"] == wanted:
            source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            return str(source["query"]["query"])
    raise LookupError(f"saved search {wanted} not found in dashboards.ndjson")


def saved_search(event_class: str) -> Query:
    """As Dashboards runs it: a Lucene query string over the fields it names."""
    return {"query_string": {"query": lucene(event_class)}}
