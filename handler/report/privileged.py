"""Privileged accounts: which they are, and what they did. Pure.

There is no field saying who the master user is, so besides the configured names (defaults: admin, root,
rdsadmin) every user who ran an account or privilege statement in the period counts as privileged: only an
account able to manage accounts can do that, and a refused attempt is worth a look too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from handler.report.model import Raw, ReportOptions, Row

DETECTED = "ran account or privilege statements"


def privileged_names(options: ReportOptions, account_rows: Iterable[Row]) -> list[tuple[str, str]]:
    why = "--privileged-user" if options.privileged_from_option else "default"
    names: dict[str, str] = dict.fromkeys(options.privileged_users, why)
    for row in account_rows:
        user = row.get("user")
        if user and user not in names:
            names[str(user)] = DETECTED
    return sorted(names.items())


CONNECTS = {"CONNECT"}
FAILED = {"FAILED_CONNECT"}
STATEMENTS = {"QUERY"}


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
