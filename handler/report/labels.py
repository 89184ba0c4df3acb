"""How values read in the rendered report (HTML and Markdown alike): times, results, places, section titles."""

from __future__ import annotations

from typing import Any

TITLES = {
    "account_changes": "Account and privilege changes",
    "schema_changes": "Schema changes (DDL)",
    "failed_logins": "Failed logins",
    "privileged_activity": "Activity of privileged accounts",
    "outside_business_hours": "Activity outside business hours",
    "new_clients": "Clients seen for the first time",
}


def when(timestamp: str | None) -> str:
    """`2026-07-01T08:00:00.123456Z` → `2026-07-01 08:00:00.123456` (the header says times are UTC)."""
    return "" if not timestamp else timestamp.replace("T", " ").rstrip("Z")


def result(retcode: Any) -> str:
    if retcode is None:
        return ""
    return "ok" if retcode == 0 else f"error {retcode}"


def place(row: dict[str, Any]) -> str:
    cluster, instance = row.get("cluster"), row.get("instance")
    if cluster and instance:
        return f"{cluster} / {instance}"
    return str(cluster or instance or "")


def name(value: Any) -> str:
    """A user or client as shown; absent values are said to be absent rather than left blank."""
    return "(none)" if value is None or value == "" else str(value)


def bucket_label(start: str, interval: str) -> str:
    if interval == "hour":
        return f"{start[5:10]} {start[11:13]}h"
    if interval == "day":
        return start[5:10]
    if interval == "week":
        return start[:10]
    return start[:7]


def statement(row: dict[str, Any]) -> str:
    """The stored (already masked) statement; a table event names its table: `CREATE` on `db`.`table`."""
    text = str(row.get("statement") or "")
    if row.get("operation") not in (None, "QUERY") and text and " " not in text.strip():
        return f"{row['operation']} table {row.get('db') or '?'}.{text}"
    return text


def paging(coverage: dict[str, Any]) -> str:
    method = {"point_in_time": "point in time + search_after", "search_after": "search_after, no point in time"}
    p = coverage["paging"]
    return (
        f"{method.get(p['method'], p['method'])}: {p['detail']} (pages of {p['page_size']}, {p['requests']} requests)"
    )


def consistency(coverage: dict[str, Any]) -> str:
    c = coverage.get("consistency")
    if c is None:
        return "one snapshot (point in time)"
    if c["unchanged"]:
        return f"the period held {c['documents_at_end']:,} documents at the start and at the end of the run"
    return (
        f"WARNING: the period's documents changed during the run ({c['documents_at_start']:,} → "
        f"{c['documents_at_end']:,}): sections may disagree; run the report again"
    )
