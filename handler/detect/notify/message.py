"""What a person reads: the SNS subject and body of a finding, and the EventBridge detail programs read. Pure.

Statements are masked again on the way out (a finding written from an index kept with RDSAUDIT_MASK_SECRETS=false,
or by an older version, must not put a password in a mail)."""

from __future__ import annotations

import re
from typing import Any

from handler.detect.notify.model import Finding
from handler.transforms.sql_secrets import mask_sql

# "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long"
# (Amazon SNS API Reference, Publish, Subject).
SUBJECT_MAX = 99
SQL_SHOWN = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def subject(f: Finding) -> str:
    text = one_line(f"rdsaudit {f.severity.upper()}: {f.title} ({f.key})" if f.key else f"rdsaudit: {f.title}")
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3].rstrip() + "..."


def masked(sql: Any) -> str:
    return mask_sql(sql)[:SQL_SHOWN] if isinstance(sql, str) else ""


def body(f: Finding, covers: tuple[Finding, ...] = ()) -> str:
    rule = f"{f.rule} (MITRE ATT&CK {f.mitre})" if f.mitre else f.rule
    lines = [
        f"rdsaudit finding: {one_line(f.title)}",
        f"Severity: {f.severity.upper()}    Rule: {rule}",
        f"Key: {one_line(f.key)}",
        f"Events: {f.count}, first {f.first}, last {f.last} (window {f.window_start} to {f.window_end})",
    ]
    where = [
        f"{name}: {one_line(str(value))}"
        for name, value in (
            ("User", f.user),
            ("Client", f.client),
            ("Cluster", f.cluster),
            ("Instance", f.instance),
            ("Account", f.account),
            ("Region", f.region),
        )
        if value
    ]
    if where:
        lines.append("    ".join(where))
    if f.server and f.connid is not None:
        lines.append(f"Connection: server {one_line(f.server)}, connection id {f.connid}")
    if f.session:
        lines.append(f"Session: {one_line(f.session)}")
    if covers:
        lines.append(
            f"Also stands for {len(covers)} earlier finding(s) of this rule and key: "
            + ", ".join(c.id for c in covers[:10])
            + (" …" if len(covers) > 10 else "")
        )
    if f.description:
        lines += ["", f"What it means: {f.description}"]
    if f.response:
        lines.append(f"What to do: {f.response}")
    if f.examples:
        lines += ["", "Example events (statements masked):"]
        for e in f.examples:
            lines.append(
                f"  {e.get('@timestamp') or ''} {one_line(masked(e.get('sql')))}  [{e.get('index')}/{e.get('id')}]"
            )
    if f.link:
        lines += ["", f"Open in Dashboards: {f.link}"]
    lines.append(f"Finding {f.id} in {f.index}")
    return "\n".join(lines) + "\n"


def detail(f: Finding, covers: tuple[Finding, ...] = ()) -> dict[str, Any]:
    """The EventBridge event's detail: the finding's fields, for rules to match on (e.g. severity)."""
    out: dict[str, Any] = {
        "id": f.id,
        "index": f.index,
        "rule": f.rule,
        "title": f.title,
        "severity": f.severity,
        "key": f.key,
        "window": {"start": f.window_start, "end": f.window_end},
        "first": f.first,
        "last": f.last,
        "count": f.count,
        "user": f.user,
        "client": f.client,
        "server": f.server,
        "cluster": f.cluster,
        "instance": f.instance,
        "account": f.account,
        "region": f.region,
        "connid": f.connid,
        "session": f.session,
        "mitre": f.mitre,
        "link": f.link or None,
        "examples": [{**e, "sql": masked(e.get("sql"))} for e in f.examples],
        "covers": [c.id for c in covers],
    }
    return {k: v for k, v in out.items() if v is not None}
