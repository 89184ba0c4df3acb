"""Findings in and out of `<prefix>-findings-YYYY.MM.DD`, and the job's state document.

A finding is written as a bulk `update` with `upsert`: the first write creates it (`detected_at` then), a later
one (a rerun, an overlapping window) refreshes its evidence and keeps `detected_at` and the notifier's `notified`.
The bulk answer's `result` tells which findings are new."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from handler.errors import InputError
from handler.read.patterns import findings_index, findings_pattern, state_index
from handler.read.period import Period, iso

STATE_ID = "detect"
KEPT = ("detected_at", "notified")  # never overwritten by a rewrite


def write(client: Any, prefix: str, docs: Iterable[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(ids created, indices written). A finding that could not be written is an error: never dropped."""
    import orjson

    lines: list[bytes] = []
    indices: set[str] = set()
    for doc in docs:
        index = findings_index(prefix, doc["window_start"][:10].replace("-", "."))
        indices.add(index)
        update = {k: v for k, v in doc.items() if k not in KEPT}
        lines.append(orjson.dumps({"update": {"_index": index, "_id": doc["finding_id"], "retry_on_conflict": 3}}))
        lines.append(orjson.dumps({"doc": update, "upsert": doc}))
    created: set[str] = set()
    for start in range(0, len(lines), 1000):
        body = b"\n".join(lines[start : start + 1000]) + b"\n"
        answer = client.transport.perform_request("POST", "/_bulk", body=body, params={"refresh": "wait_for"})
        for item in answer["items"]:
            result = item["update"]
            if result.get("error"):
                raise InputError(f"could not write finding {result['_id']} to {result['_index']}: {result['error']}")
            if result.get("result") == "created":
                created.add(result["_id"])
    return created, indices


def period_findings(client: Any, prefix: str, period: Period, size: int = 1000) -> list[dict[str, Any]]:
    """Every finding with an event in the period, oldest first (paged to the end)."""
    query = {
        "bool": {
            "filter": [
                {"exists": {"field": "rule"}},
                {"range": {"last": {"gte": iso(period.since)}}},
                {"range": {"first": {"lt": iso(period.until)}}},
            ]
        }
    }
    out: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": size, "query": query, "sort": [{"window_start": "asc"}, {"finding_id": "asc"}]}
        if after is not None:
            body["search_after"] = after
        hits = client.transport.perform_request(
            "POST",
            f"/{findings_pattern(prefix)}/_search",
            body=body,
            params={"allow_no_indices": "true", "ignore_unavailable": "true"},
        )["hits"]["hits"]
        if not hits:
            return out
        out.extend(h["_source"] for h in hits)
        after = hits[-1]["sort"]


def read_state(client: Any, prefix: str) -> datetime | None:
    """The end of the last scheduled run's period, or None before the first."""
    from opensearchpy.exceptions import NotFoundError

    from handler.read.period import parse_timestamp

    try:
        doc = client.transport.perform_request("GET", f"/{state_index(prefix)}/_doc/{STATE_ID}")
    except NotFoundError:
        return None
    until = doc.get("_source", {}).get("state", {}).get("until")
    return parse_timestamp(until) if until else None


def write_state(client: Any, prefix: str, run: Period, now: datetime) -> None:
    body = {"state": {"since": iso(run.since), "until": iso(run.until), "ran_at": iso(now)}}
    client.transport.perform_request(
        "PUT", f"/{state_index(prefix)}/_doc/{STATE_ID}", body=body, params={"refresh": "wait_for"}
    )
