"""How values read in the rendered report (HTML and Markdown alike): times, results, places, section titles."""

from __future__ import annotations

from typing import Any

TITLES = {
    "account_changes": "Account and privilege changes",
    "schema_changes": "Schema changes (DDL)",
    "failed_logins": "Failed logins",
    "privileged_activity": "Activity of privileged accounts",
    "privileged_sessions": "Sessions with privileged activity",
    "outside_business_hours": "Activity outside business hours",
    "new_clients": "Clients seen for the first time",
    "top_statements": "Top statements",
}


def rule(note: dict[str, Any]) -> str:
    """Which detection rule a section follows and with what: `Detection rule brute-force: threshold 10, …`."""

    def value(v: Any) -> str:
        return ", ".join(v) if isinstance(v, list) else str(v)

    params = "; ".join(f"{name} {value(v)}" for name, v in note["parameters"].items())
    flags = sorted({f for f in note["set_by"].values() if f != "catalog"})
    source = "the detection catalog (with RDSAUDIT_DETECTIONS)" + (f"; set by {', '.join(flags)}" if flags else "")
    return f"Detection rule {note['id']}: {params} (from {source})."


def bursts_note(bursts: dict[str, Any]) -> str:
    """What the burst rows leave out and how they overlap (the section's `not_counted`; handler/detect/bursts.py)."""
    skipped = bursts["not_counted"]
    allowed = "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in skipped["allowed"].items())
    internal = ", ".join(skipped["internal_users"])
    who = f"internal accounts ({internal})" if internal else "no internal accounts (the rule counts them)"
    return (
        f"Not counted: failures of {who} and of the rule's allow list ({allowed}); "
        f"{skipped['failures']:,} failed logins from allowed clients or internal accounts are not counted. "
        "Each row holds the bursts that start in one aligned window, with all their failures: a burst that starts "
        "near a window's end reaches into the next, so consecutive rows of one client can share failures "
        "(do not add rows up)."
    )


SESSIONS_LEAD = (
    "Each session (one connection from login to logout) in which a privileged account had an event in the period "
    "(RDS's own rdsadmin only when it changed accounts or privileges), once, newest first. Its timeline: the "
    "command shown, or Discover on the saved search `rdsaudit: one session` at the path shown (after the "
    "Dashboards URL)."
)


def session_place(s: dict[str, Any]) -> str:
    return f"{s['server']} #{s['connid']}"


def session_flags(s: dict[str, Any]) -> str:
    marks = [
        "login failed" if s["login_failed"] else "",
        "" if s["closed"] else "no DISCONNECT seen",
        "no CONNECT seen" if s["start_seen"] == "first event seen" else "",
        *(n for n in s["notes"] if n.startswith(("longer than", "started before", "went on after", "the server"))),
    ]
    return "; ".join(m for m in marks if m)


def when(timestamp: str | None) -> str:
    """`2026-07-01T08:00:00.123456Z` → `2026-07-01 08:00:00.123456` (the header says times are UTC)."""
    return "" if not timestamp else timestamp.replace("T", " ").rstrip("Z")


def result(retcode: Any) -> str:
    if retcode is None:
        return ""
    return "ok" if retcode == 0 else f"error {retcode}"


def place(row: dict[str, Any]) -> str:
    """`cluster / instance`, after the account (and region) when the documents have one: clusters of one name in
    two accounts are not one."""
    cluster, instance = row.get("cluster"), row.get("instance")
    where = f"{cluster} / {instance}" if cluster and instance else str(cluster or instance or "")
    origin = " ".join(str(v) for v in (row.get("account"), row.get("region")) if v)
    return f"{origin}: {where}" if origin else where


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


def statements_lead(s: dict[str, Any]) -> str:
    text = f"{s['events']:,} statements in {s['distinct']:,} shapes (fingerprints: literals replaced by ?)."
    if s["without_fingerprint"]:
        text += (
            f" {s['without_fingerprint']:,} statements are in indices written before fingerprints existed"
            " (template version 1) and are not grouped here."
        )
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
