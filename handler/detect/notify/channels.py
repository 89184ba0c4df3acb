"""The three channels, each sending a batch of decided sends and saying, send by send, which its service accepted.
A whole call refused or unreachable fails all of its sends; a partial failure (PutEvents' FailedEntryCount,
BatchImportFindings' FailedFindings) fails only the entries it names. Nothing here retries: what failed is decided
again on the next run, which the schedule brings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from handler.detect.notify.asff import to_asff
from handler.detect.notify.decide import Send
from handler.detect.notify.message import body, detail, subject
from handler.detect.notify.resources import resources

SOURCE = "rdsaudit"
DETAIL_TYPE = "rdsaudit finding"
EVENTS_PER_CALL = 10  # PutEvents: 1 to 10 entries (Amazon EventBridge API Reference, PutEvents)
EVENTS_CALL_BYTES = 256 * 1024  # "The total entry size must be less than 256KB" (Amazon EventBridge User Guide)
FINDINGS_PER_CALL = 100  # BatchImportFindings: "up to 100 findings" per request (AWS Security Hub API Reference)


@dataclass
class Outcome:
    accepted: list[Send] = field(default_factory=list)
    failed: list[tuple[Send, str]] = field(default_factory=list)


def _error(e: Exception) -> str:
    code = getattr(e, "response", {}).get("Error", {}).get("Code") if hasattr(e, "response") else None
    return f"{code or type(e).__name__}: {str(e)[:200]}"


def _connection_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def sns(client: Any, topic_arn: str, sends: Sequence[Send]) -> Outcome:
    out = Outcome()
    for s in sends:
        try:
            client.publish(TopicArn=topic_arn, Subject=subject(s.finding), Message=body(s.finding, s.covers))
        except _connection_errors() as e:
            out.failed.append((s, _error(e)))
        else:
            out.accepted.append(s)
    return out


def _event(s: Send, bus: str, account: str, region: str) -> dict[str, Any]:
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail(s.finding, s.covers), separators=(",", ":")),
        "Resources": [r.id for r in resources(s.finding, account, region) if r.id.startswith("arn:")],
        "EventBusName": bus,
    }


def _entry_size(entry: dict[str, Any]) -> int:
    """PutEvents' size rule ("Calculating PutEvents event entry size"): Source, DetailType, Detail and each
    Resources entry as UTF-8, and 14 bytes for a Time."""
    sizes = [entry["Source"], entry["DetailType"], entry["Detail"], *entry["Resources"]]
    return sum(len(x.encode()) for x in sizes) + 14


def _chunks(entries: list[tuple[Send, dict[str, Any]]]) -> Iterator[list[tuple[Send, dict[str, Any]]]]:
    chunk: list[tuple[Send, dict[str, Any]]] = []
    size = 0
    for item in entries:
        n = _entry_size(item[1])
        if chunk and (len(chunk) == EVENTS_PER_CALL or size + n > EVENTS_CALL_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += n
    if chunk:
        yield chunk


def events(client: Any, bus: str, sends: Sequence[Send], account: str, region: str) -> Outcome:
    out = Outcome()
    for chunk in _chunks([(s, _event(s, bus, account, region)) for s in sends]):
        try:
            answer = client.put_events(Entries=[entry for _, entry in chunk])
        except _connection_errors() as e:
            out.failed.extend((s, _error(e)) for s, _ in chunk)
            continue
        # Entries answer the request's entries in order: an EventId where accepted, an ErrorCode where not.
        results = answer.get("Entries", [])
        for i, (s, _) in enumerate(chunk):
            result = results[i] if i < len(results) else {}
            if result.get("EventId") and not result.get("ErrorCode"):
                out.accepted.append(s)
            else:
                reason = f"{result.get('ErrorCode', 'NoResult')}: {result.get('ErrorMessage', '')}".strip()
                out.failed.append((s, reason))
    return out


def securityhub(client: Any, sends: Sequence[Send], account: str, region: str, now: str) -> Outcome:
    out = Outcome()
    for i in range(0, len(sends), FINDINGS_PER_CALL):
        chunk = list(sends[i : i + FINDINGS_PER_CALL])
        findings = [to_asff(s.finding, account=account, region=region, now=now) for s in chunk]
        try:
            answer = client.batch_import_findings(Findings=findings)
        except _connection_errors() as e:
            out.failed.extend((s, _error(e)) for s in chunk)
            continue
        refused = {
            f.get("Id"): f"{f.get('ErrorCode')}: {f.get('ErrorMessage', '')}" for f in answer.get("FailedFindings", [])
        }
        for s in chunk:
            if s.finding.id in refused:
                out.failed.append((s, refused[s.finding.id]))
            else:
                out.accepted.append(s)
    return out
