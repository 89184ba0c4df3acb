"""Findings: what a rule found, with its evidence, as the document stored in `<prefix>-findings-YYYY.MM.DD`. Pure.

A finding's id is a digest of (rule, key, window start): the key names what the rule watches (a client, a user
and client, a connection, an instance) and the window is fixed by the data, never by when a run started, so a
rerun or an overlapping run writes the same id again (an update, never a second finding).
"""

from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from handler.detect.catalog import Rule
from handler.read.period import iso
from handler.transforms.sql_secrets import mask_sql

EXAMPLES = 5
EXAMPLE_FIELDS = [
    "@timestamp",
    "user",
    "client",
    "server",
    "cluster",
    "instance",
    "owner",
    "region",
    "connid",
    "operation",
    "db",
    "sql",
    "retcode",
]
# finding field → the audit documents' field it is taken from
CONTEXT = {"user": "user", "client": "client", "server": "server", "cluster": "cluster", "instance": "instance"}
CONTEXT.update({"account": "owner", "region": "region", "connid": "connid"})


@dataclass
class Finding:
    rule: Rule
    key: dict[str, Any]  # what the rule watches, e.g. {"client": "203.0.113.9"}
    window_start: str  # UTC ISO; with `key` and the rule, the finding's identity
    window_end: str
    count: int
    first: str
    last: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # the events, or the first few of them
    query: str = ""  # Lucene that finds the events in Dashboards (within window_start..last)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.key.items())

    @property
    def id(self) -> str:
        return finding_id(self.rule.id, self.key_text, self.window_start)

    @property
    def day(self) -> str:
        return self.window_start[:10].replace("-", ".")


def finding_id(rule_id: str, key_text: str, window_start: str) -> str:
    digest = hashlib.blake2b(f"{rule_id}\x00{key_text}\x00{window_start}".encode(), digest_size=16).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def ms_iso(epoch_ms: int) -> str:
    return iso(datetime.fromtimestamp(epoch_ms / 1000, UTC))


def _values(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return sorted({r[name] for r in rows if r.get(name) is not None}, key=str)


def example(row: dict[str, Any]) -> dict[str, Any]:
    """An event as evidence: its index and id (to open it), and its statement masked again (an index written
    with RDSAUDIT_MASK_SECRETS=false must not put a password in a notification)."""
    out: dict[str, Any] = {"id": row.get("_id"), "index": row.get("_index")}
    for name in ("@timestamp", "operation", "user", "client", "db"):
        if row.get(name) is not None:
            out[name] = row[name]
    if isinstance(row.get("sql"), str):
        out["sql"] = mask_sql(row["sql"])[:1000]
    return out


def discover_path(query: str, start: str, end: str, pattern_id: str) -> str:
    """The Dashboards Discover path (after the Dashboards endpoint) that opens the finding's events."""
    q = quote(query.replace("'", "!'"), safe="")
    return (
        f"/app/discover#/?_g=(time:(from:'{start}',to:'{end}'))"
        f"&_a=(index:'{pattern_id}',query:(language:lucene,query:'{q}'))"
    )


def lucene_value(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def key_query(key: dict[str, Any], base: str = "") -> str:
    parts = [f"{name}:{lucene_value(value)}" for name, value in key.items() if name in QUERY_FIELDS]
    if base:
        parts.insert(0, f"({base})")
    return " AND ".join(parts)


QUERY_FIELDS = ("user", "client", "server", "instance", "connid", "detections")


def document(finding: Finding, *, now: str, pattern_id: str, catalog_version: int) -> dict[str, Any]:
    """The finding as stored (README "Detections" lists the fields). `notified` is the notifier's (one timestamp
    per channel): never written here, so that rewriting a finding keeps it."""
    rule, rows = finding.rule, finding.rows
    query = finding.query or key_query(finding.key)
    end = finding.last if finding.last > finding.first else finding.window_end
    doc: dict[str, Any] = {
        "@timestamp": finding.first,
        "finding_id": finding.id,
        "rule": rule.id,
        "kind": rule.kind,
        "title": rule.title,
        "severity": rule.severity,
        "mitre": rule.mitre,
        "description": rule.description,
        "response": rule.response,
        "key": finding.key_text,
        "window_start": finding.window_start,
        "window_end": finding.window_end,
        "first": finding.first,
        "last": finding.last,
        "count": finding.count,
    }
    for name, source in CONTEXT.items():
        doc[name] = _single(rows, source, finding.key, name)
    doc.update(
        {
            "session": None,
            "examples": [example(r) for r in rows[:EXAMPLES]],
            "query": query,
            "link": discover_path(query, finding.first, _after(end), pattern_id),
            "parameters": dict(rule.parameters),
            "catalog_version": catalog_version,
            "detected_at": now,
            "updated_at": now,
            **finding.extra,
        }
    )
    return doc


def _after(stamp: str) -> str:
    """Discover's `to` excludes nothing at millisecond precision: one second later keeps the last event in view."""
    from datetime import timedelta

    from handler.read.period import parse_timestamp

    return iso(parse_timestamp(stamp) + timedelta(seconds=1))


def _single(rows: list[dict[str, Any]], source: str, key: dict[str, Any], name: str) -> Any:
    """The key's value, else the one value all the finding's events share (None when they differ)."""
    if name in key:
        return key[name]
    values = _values(rows, source)
    return values[0] if len(values) == 1 else None
