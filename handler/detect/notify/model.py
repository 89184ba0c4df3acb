"""A finding document as the notifier reads it: the fields it needs, whichever of the two shapes the document has
(the detect core's `window: {start, end}`, `connection`, `dashboards.discover`, or flat `window_start`, `connid`,
`link`). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("sns", "events", "securityhub")


@dataclass(frozen=True)
class Finding:
    id: str
    index: str
    rule: str
    title: str
    severity: str
    key: str
    window_start: str
    window_end: str
    first: str
    last: str
    count: int
    user: str | None = None
    client: str | None = None
    server: str | None = None
    cluster: str | None = None
    instance: str | None = None
    account: str | None = None
    region: str | None = None
    connid: int | None = None
    session: str | None = None
    mitre: str | None = None
    description: str = ""
    response: str = ""
    link: str = ""  # absolute where the Dashboards URL is known, else the path after it
    detected_at: str = ""
    examples: tuple[dict[str, Any], ...] = ()
    notified: dict[str, str] = field(default_factory=dict)  # channel → when it accepted the finding
    suppressed: dict[str, dict[str, str]] = field(default_factory=dict)  # channel → {at, by}: covered by another

    @property
    def group(self) -> tuple[str, str]:
        """What the re-notify interval counts per: a rule watching one thing (a client, a user and client, …)."""
        return self.rule, self.key

    def handled(self, channel: str) -> bool:
        return channel in self.notified or channel in self.suppressed


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def from_document(doc: dict[str, Any], dashboards_url: str = "") -> Finding:
    """`doc` is `_source` plus `_id` and `_index` (handler/read's reader hands documents over so)."""
    window = doc.get("window") or {}
    connection = doc.get("connection") or {}
    link = doc.get("link") or (doc.get("dashboards") or {}).get("discover") or ""
    if link.startswith("/") and dashboards_url:
        link = dashboards_url.rstrip("/") + link
    connid = doc.get("connid", connection.get("connid"))
    examples = []
    for e in doc.get("examples") or []:
        examples.append(
            {
                "id": e.get("id", e.get("_id")),
                "index": e.get("index", e.get("_index")),
                "@timestamp": e.get("@timestamp"),
                "sql": e.get("sql"),
            }
        )
    return Finding(
        id=str(doc["_id"]),
        index=str(doc["_index"]),
        rule=str(doc["rule"]),
        title=str(doc.get("title") or doc["rule"]),
        severity=str(doc.get("severity") or "medium").lower(),
        key=str(doc.get("key") or ""),
        window_start=str(doc.get("window_start") or window.get("start") or doc.get("@timestamp") or ""),
        window_end=str(doc.get("window_end") or window.get("end") or ""),
        first=str(doc.get("first") or ""),
        last=str(doc.get("last") or ""),
        count=int(doc.get("count") or 0),
        user=_text(doc.get("user")),
        client=_text(doc.get("client")),
        server=_text(doc.get("server", connection.get("server"))),
        cluster=_text(doc.get("cluster")),
        instance=_text(doc.get("instance")),
        account=_text(doc.get("account", doc.get("owner"))),
        region=_text(doc.get("region")),
        connid=int(connid) if connid is not None else None,
        session=_text(doc.get("session")),
        mitre=_text(doc.get("mitre")),
        description=str(doc.get("description") or ""),
        response=str(doc.get("response") or ""),
        link=link,
        detected_at=str(doc.get("detected_at") or ""),
        examples=tuple(examples),
        notified={k: str(v) for k, v in (doc.get("notified") or {}).items()},
        suppressed={k: dict(v) for k, v in (doc.get("suppressed") or {}).items() if isinstance(v, dict)},
    )
