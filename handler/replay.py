"""Re-drive dead letters once their cause is fixed: rejected documents from the dead-letter store, and whole
events from the forwarder's on-failure queue (SQS). Idempotent: ids are kept, so a document indexed meanwhile is
reported as already indexed, never written twice."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handler.errors import DecodeError
from handler.model import RawEvent
from handler.pipeline import forward_subscription_event, rejection_record
from handler.sources.cloudwatch import decode_subscription_event
from handler.transforms.batch import BatchTransformer
from handler.transforms.context import cloudwatch_context

if TYPE_CHECKING:
    from handler.app import Runtime
    from handler.sinks.dead_letter import DeadLetterStore


@dataclass
class ReplaySummary:
    replayed: int = 0
    already_indexed: int = 0
    still_failing: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def failing(self, reason: str, n: int = 1) -> None:
        self.still_failing += n
        self.reasons[reason[:200]] = self.reasons.get(reason[:200], 0) + n

    def lines(self) -> list[str]:
        out = [
            f"replayed: {self.replayed}  already indexed: {self.already_indexed}  still failing: {self.still_failing}"
        ]
        out += [f"  still failing ({n}): {reason}" for reason, n in sorted(self.reasons.items())]
        return out


def replay_documents(store: DeadLetterStore, runtime: Runtime, summary: ReplaySummary, *, keep: bool = False) -> None:
    """Rebuild each rejected document from its original line (so parser fixes apply), with its original id."""
    for location in list(store.locations("documents")):
        records = store.read(location)
        remaining = []
        by_context: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for r in records:
            by_context.setdefault((r.get("log_group"), r.get("log_stream"), r.get("owner")), []).append(r)
        for (group, stream, owner), group_records in by_context.items():
            transformer = BatchTransformer(cloudwatch_context(group, stream, owner), runtime.options)
            actions = [
                transformer.action(RawEvent(r["line"], r.get("event_ms")), doc_id=r["id"]) for r in group_records
            ]
            result = runtime.writer.write(actions)
            summary.replayed += result.indexed
            summary.already_indexed += result.already_present
            ctx = transformer.ctx
            for rejection in result.rejected:
                record = rejection_record(rejection, ctx)
                remaining.append(record)
                summary.failing(record["reason"])
            for action in result.pending:
                remaining.append(next(r for r in group_records if r["id"] == action.doc_id))
                summary.failing(result.pending_reason)
        if not keep:
            store.rewrite(location, remaining)


def replay_payloads(store: DeadLetterStore, runtime: Runtime, summary: ReplaySummary, *, keep: bool = False) -> None:
    """Whole events that could not be decoded: replayed only if they decode now."""
    for location in list(store.locations("payloads")):
        remaining = []
        for record in store.read(location):
            if not _forward(record.get("event"), runtime, summary):
                remaining.append(record)
        if not keep:
            store.rewrite(location, remaining)


def replay_queue(
    queue_url: str, runtime: Runtime, summary: ReplaySummary, *, sqs: Any = None, keep: bool = False
) -> int:
    """Events Lambda gave up on, from the on-failure destination (or an async dead-letter queue).

    A message is deleted once its event is fully written; otherwise it becomes visible again later.
    Returns the number of messages read.
    """
    if sqs is None:
        import boto3

        sqs = boto3.client("sqs")
    messages = 0
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=300
        )
        received = batch.get("Messages", [])
        if not received:
            return messages
        for message in received:
            messages += 1
            try:
                body = json.loads(message["Body"])
            except ValueError:
                summary.failing("queue message is not JSON")
                continue
            # On-failure destination records wrap the event; a plain dead-letter queue holds the event itself.
            event = body.get("requestPayload", body) if isinstance(body, dict) else body
            if _forward(event, runtime, summary) and not keep:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _forward(event: Any, runtime: Runtime, summary: ReplaySummary) -> bool:
    """True when every line of the event is now indexed, present, or dead-lettered anew."""
    try:
        decode_subscription_event(event)
    except DecodeError as e:
        summary.failing(str(e))
        return False
    outcome = forward_subscription_event(
        event, writer=runtime.writer, dead_letters=runtime.dead_letters, options=runtime.options
    )
    summary.replayed += outcome.indexed
    summary.already_indexed += outcome.already_present
    if outcome.dead_lettered:
        summary.failing("rejected again by OpenSearch (dead-lettered anew)", outcome.dead_lettered)
    if outcome.pending:
        summary.failing(outcome.pending_reason, outcome.pending)
        return False
    return True
