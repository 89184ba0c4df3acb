"""Source → transform → sink for one subscription event, with the accounting. Builds no clients."""

from __future__ import annotations

import time
from typing import Any

from handler.errors import DecodeError
from handler.model import Context, Rejection
from handler.sinks.bulk import BulkWriter
from handler.sinks.dead_letter import DeadLetterStore
from handler.sources.cloudwatch import CONTROL_MESSAGE, decode_subscription_event, payload_key
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context


class Outcome:
    """Every event is accounted for: received = indexed + already_present + dead_lettered + pending."""

    def __init__(self) -> None:
        self.message_type = ""
        self.log_group: str | None = None
        self.received = 0
        self.indexed = 0
        self.already_present = 0
        self.parse_failures = 0
        self.dead_lettered = 0
        self.pending = 0
        self.pending_reason = ""
        self.payload_dead_lettered = ""  # the reason, when the whole payload could not be decoded
        self.indices: dict[str, int] = {}
        self.dead_letters: list[str] = []
        self.requests = 0
        self.retries = 0
        self.duration_ms = 0

    def balanced(self) -> bool:
        return self.received == self.indexed + self.already_present + self.dead_lettered + self.pending

    def as_log(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in ("", None)}
        out["balanced"] = self.balanced()
        return out


def forward_subscription_event(
    event: Any,
    *,
    writer: BulkWriter,
    dead_letters: DeadLetterStore,
    options: TransformOptions,
    deadline: float | None = None,
) -> Outcome:
    started = time.monotonic()
    outcome = Outcome()
    try:
        payload = decode_subscription_event(event)
    except DecodeError as e:
        outcome.payload_dead_lettered = str(e)
        record = {"kind": "payload", "reason": str(e), "event": event}
        outcome.dead_letters.append(dead_letters.write("payloads", payload_key(event), [record]))
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        return outcome

    outcome.message_type = payload.message_type
    outcome.log_group = payload.log_group
    if payload.message_type == CONTROL_MESSAGE:
        return outcome
    ctx = cloudwatch_context(payload.log_group, payload.log_stream, payload.owner)
    outcome.received = len(payload.events)
    transformer = BatchTransformer(ctx, options)
    result = writer.write(transformer.actions(payload.events), deadline)

    outcome.parse_failures = transformer.parse_failures
    outcome.indexed, outcome.already_present = result.indexed, result.already_present
    outcome.indices, outcome.requests, outcome.retries = result.indices, result.requests, result.retries
    outcome.pending, outcome.pending_reason = len(result.pending), result.pending_reason
    if result.rejected:
        records = [rejection_record(r, ctx) for r in result.rejected]
        outcome.dead_letters.append(dead_letters.write("documents", payload.key, records))
        outcome.dead_lettered = len(records)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def rejection_record(rejection: Rejection, ctx: Context) -> dict[str, Any]:
    action = rejection.action
    return {
        "kind": "document",
        "reason": _reason(rejection.error),
        "status": rejection.status,
        "error": rejection.error,
        "index": action.index_name,
        "id": action.doc_id,
        "line": action.line,
        "event_ms": action.event_ms,
        "document": action.document(),
        "log_group": ctx.log_group,
        "log_stream": ctx.log_stream,
        "owner": ctx.owner,
    }


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            reason += f" (caused by {cause.get('type', '')}: {cause.get('reason', '')})"
        return reason
    return str(error)
