"""Sections of the report, built from what was read (`Raw`) and what was asked (`ReportOptions`). Pure: every
function takes values and returns JSON-ready values (str, int, bool, None, lists and dicts of them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from handler.read.events import SAVED_SEARCHES, lucene
from handler.read.period import DAY_NAMES, bucket_starts, iso, parse_timestamp, series_interval
from handler.report.model import Raw, ReportOptions, Row
from handler.report.privileged import privileged_section, sessions_section
from handler.report.rules import SECTIONS
from handler.report.statements import top_statements
from handler.transforms.sql_secrets import mask_sql

FORMAT = "rdsaudit-report/1"


def build_data(
    raw: Raw, options: ReportOptions, *, endpoint: str, pattern: str, generated_at: str, version: str
) -> dict[str, Any]:
    return {
        "coverage": coverage(
            raw, options, endpoint=endpoint, pattern=pattern, generated_at=generated_at, version=version
        ),
        "account_changes": table(raw.account_rows, options),
        "schema_changes": table(raw.schema_rows, options),
        "failed_logins": failed_logins(raw, options),
        "privileged_activity": {"rule": options.rules.note("privileged"), **privileged_section(raw)},
        "privileged_sessions": sessions_section(raw),
        "outside_business_hours": outside_hours(raw, options),
        "new_clients": new_clients(raw, options),
        "top_statements": top_statements(raw),
    }


def _ms(epoch_ms: int) -> str:
    return iso(datetime.fromtimestamp(epoch_ms / 1000, UTC))


def coverage(
    raw: Raw, options: ReportOptions, *, endpoint: str, pattern: str, generated_at: str, version: str
) -> dict[str, Any]:
    consistency = None
    if raw.total_after is not None:
        consistency = {
            "documents_at_start": raw.total,
            "documents_at_end": raw.total_after,
            "unchanged": raw.total == raw.total_after,
        }
    return {
        "period": options.period.as_dict(),
        "previous_period": options.period.previous().as_dict(),
        "times": "UTC",
        "endpoint": endpoint,
        "engine": raw.engine,
        "index_pattern": pattern,
        "clusters_filter": list(options.clusters),
        "accounts_filter": list(options.accounts),
        "regions_filter": list(options.regions),
        "paging": {
            "method": raw.paging.method,
            "detail": raw.paging.detail,
            "page_size": options.page_size,
            "requests": raw.requests,
        },
        "consistency": consistency,
        "documents": raw.total,
        "indices": [{"index": name, "documents": n} for name, n in sorted(raw.indices)],
        "sources": [
            {"account": a, "region": r, "cluster": c, "instance": i, "documents": n}
            for a, r, c, i, n in sorted(raw.sources, key=lambda s: tuple(v or "" for v in s[:4]))
        ],
        "generated_at": generated_at,
        "rdsaudit_version": version,
        "definitions": {section: lucene(section) for section in SAVED_SEARCHES},
        "settings": {
            "business_hours": options.hours.describe(),
            "burst": {
                "failures": options.rules.burst_failures,
                "window_seconds": options.rules.burst_window_seconds,
            },
            "new_client_days": options.rules.new_client_days,
            "privileged_users": list(options.privileged_users),
            # each section's detection rule, its parameters and where each came from (catalog or a flag)
            "rules": {section: options.rules.note(section) for section in SECTIONS},
        },
    }


def table(rows: list[Row], options: ReportOptions) -> dict[str, Any]:
    """A complete, time-ordered table of the documents (as read: oldest first), statements as stored (masked)."""
    out = []
    for row in rows:
        out.append(
            {
                "time": row["@timestamp"],
                "user": row.get("user"),
                "client": row.get("client"),
                "account": row.get("owner"),
                "region": row.get("region"),
                "cluster": row.get("cluster"),
                "instance": row.get("instance") or row.get("server"),
                "db": row.get("db"),
                "operation": row.get("operation"),
                # masked again: an index written with RDSAUDIT_MASK_SECRETS=false must not put a password in a
                # report that travels to tickets and reviewers (masking what is masked changes nothing)
                "statement": mask_sql(row["sql"]) if isinstance(row.get("sql"), str) else row.get("sql"),
                "retcode": row.get("retcode"),
                "outside_business_hours": not options.hours.contains(parse_timestamp(row["@timestamp"])),
            }
        )
    return {"count": len(out), "rows": out}


def _ranked(pairs: list[tuple[str | None, int]], key: str) -> list[dict[str, Any]]:
    ordered = sorted(pairs, key=lambda p: (-p[1], p[0] is None, p[0] or ""))
    return [{key: name, "failures": n} for name, n in ordered]


def failed_logins(raw: Raw, options: ReportOptions) -> dict[str, Any]:
    interval = series_interval(options.period)
    counts = {_ms(start): n for start, n in raw.failed_series}
    series = [{"start": iso(s), "count": counts.pop(iso(s), 0)} for s in bucket_starts(options.period, interval)]
    if counts:  # cannot happen unless the engine buckets differently; never hide a count
        raise ValueError(f"failed-login buckets outside the series: {sorted(counts)}")
    return {
        "total": raw.failed_total,
        "distinct_users": sum(1 for u, _ in raw.failed_by_user if u is not None),
        "distinct_clients": sum(1 for c, _ in raw.failed_by_client if c is not None),
        "series": {"interval": interval, "buckets": series},
        "by_user": _ranked(raw.failed_by_user, "user"),
        "by_client": _ranked(raw.failed_by_client, "client"),
        "bursts": {
            "rule": options.rules.note("bursts"),
            "definition": f"{options.rules.burst_failures} or more failures from one client within one window of "
            f"{options.rules.burst_window_seconds} s (aligned, as rdsaudit detect's findings)",
            "not_counted": {"failures": raw.bursts_not_counted, **options.rules.burst_exclusions()},
            "list": raw.bursts,
        },
    }


def outside_hours(raw: Raw, options: ReportOptions) -> dict[str, Any]:
    tz = options.hours.tz()
    by_hour: list[dict[str, Any]] = [{"hour": h, "inside": 0, "outside": 0} for h in range(24)]
    by_day: list[dict[str, Any]] = [{"day": DAY_NAMES[d].title(), "inside": 0, "outside": 0} for d in range(7)]
    by_user: dict[str | None, int] = defaultdict(int)
    for start_ms, user, count in raw.hourly:
        local = datetime.fromtimestamp(start_ms / 1000, UTC).astimezone(tz)
        where = "inside" if options.hours.contains_local(local) else "outside"
        by_hour[local.hour][where] += count
        by_day[local.weekday()][where] += count
        if where == "outside":
            by_user[user] += count
    users = sorted(by_user.items(), key=lambda p: (-p[1], p[0] is None, p[0] or ""))
    return {
        "rule": options.rules.note("outside_business_hours"),
        "business_hours": options.hours.describe(),
        "events": sum(by_user.values()),
        "by_user": [{"user": u, "events": n} for u, n in users],
        "by_local_hour": by_hour,
        "by_local_weekday": by_day,
        "account_changes": sum(
            1 for r in raw.account_rows if not options.hours.contains(parse_timestamp(r["@timestamp"]))
        ),
        "schema_changes": sum(
            1 for r in raw.schema_rows if not options.hours.contains(parse_timestamp(r["@timestamp"]))
        ),
    }


def new_clients(raw: Raw, options: ReportOptions) -> dict[str, Any]:
    failures = {c: n for c, n in raw.failed_by_client if c is not None}
    clients: dict[str, dict[str, Any]] = {}
    rule, catalog = options.rules.rule("new_clients"), options.rules.catalog
    for client, user, count, first, last in raw.clients_now:
        if catalog.skips(rule, user, client, None):  # the rule's allow list and internal accounts, as detect's
            continue
        entry = clients.setdefault(
            client, {"client": client, "events": 0, "first_seen": first, "last_seen": last, "users": []}
        )
        entry["events"] += count
        entry["first_seen"] = min(entry["first_seen"], first)
        entry["last_seen"] = max(entry["last_seen"], last)
        entry["users"].append({"user": user, "events": count})
    new = []
    for client in sorted(set(clients) - raw.clients_before):
        entry = clients[client]
        entry["users"].sort(key=lambda u: (-u["events"], u["user"] is None, u["user"] or ""))
        entry["failed_logins"] = failures.get(client, 0)
        new.append(entry)
    new.sort(key=lambda e: (e["first_seen"], e["client"]))
    return {
        "rule": options.rules.note("new_clients"),
        "lookback": {**options.rules.lookback(options.period).as_dict(), "days": options.rules.new_client_days},
        "clients_in_period": len(clients),
        "clients_in_lookback": len(raw.clients_before),
        "new": new,
    }
