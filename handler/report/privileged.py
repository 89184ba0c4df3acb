"""Privileged accounts' activity, for the report. Pure. Which accounts are privileged: handler/read/privileged.py."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from handler.report.model import Raw

CONNECTS = {"CONNECT"}
FAILED = {"FAILED_CONNECT"}
STATEMENTS = {"QUERY"}


SESSION_FIELDS = (
    "key", "server", "connid", "cluster", "instance", "user", "users", "client", "start", "end", "duration_seconds",
    "start_seen", "end_seen", "closed", "events", "failed_statements", "login_failed", "notes", "timeline",
    "dashboards",
)  # fmt: skip


def sessions_section(raw: Raw) -> dict[str, Any]:
    """Each session with privileged activity once, newest first, with its timeline one step away."""
    sessions = [
        {
            **{name: s[name] for name in SESSION_FIELDS},
            "account_changes": len(s["account_changes"]),
            "schema_changes": len(s["schema_changes"]),
        }
        for s in raw.privileged_sessions
    ]
    return {"count": len(sessions), "sessions": sessions}


def privileged_section(raw: Raw) -> dict[str, Any]:
    per_user: dict[str, dict[str, Any]] = {}
    for user, why in raw.privileged_names:
        per_user[user] = {
            "user": user,
            "why": why,
            "events": 0,
            "connections": 0,
            "failed_logins": 0,
            "statements": 0,
            "first_seen": None,
            "last_seen": None,
            "operations": [],
            "clients": [],
        }
    for user, operation, count, first, last in raw.privileged_ops:
        entry = per_user[user]
        entry["events"] += count
        entry["connections"] += count if operation in CONNECTS else 0
        entry["failed_logins"] += count if operation in FAILED else 0
        entry["statements"] += count if operation in STATEMENTS else 0
        entry["operations"].append({"operation": operation, "events": count})
        entry["first_seen"] = first if entry["first_seen"] is None else min(entry["first_seen"], first)
        entry["last_seen"] = last if entry["last_seen"] is None else max(entry["last_seen"], last)
    clients: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for user, client, count in raw.privileged_clients:
        clients[user].append({"client": client, "events": count})
    for user, entry in per_user.items():
        entry["operations"].sort(key=lambda o: (-o["events"], o["operation"] or ""))
        entry["clients"] = sorted(clients[user], key=lambda c: (-c["events"], c["client"] or ""))
    users = sorted(per_user.values(), key=lambda e: (-e["events"], e["user"]))
    return {
        "users": users,
        "active_users": sum(1 for u in users if u["events"]),
        "events": sum(u["events"] for u in users),
    }
