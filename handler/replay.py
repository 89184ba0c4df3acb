"""Re-drive dead letters once their cause is fixed — every kind we write: rejected documents (audit and Activity
Streams), payloads that could not be decoded, Activity Streams records and events — and whole events from the
forwarder's on-failure queue (SQS). Idempotent: documents keep their ids, so one indexed meanwhile is counted as
already present, never written twice. Everything goes through the same pipeline as live data."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from handler.errors import DecodeError
from handler.forward import forward_event
from handler.model import Action, Context, Counts
from handler.pipeline import ACTIVITY, AUDIT
from handler.transforms.batch import create_body

if TYPE_CHECKING:
    from handler.runtime import Runtime
    from handler.sinks.dead_letter import DeadLetterStore


class ReplaySummary:
    def __init__(self) -> None:
        self.counts = Counts()
        self.unreadable = 0  # records that still cannot be decoded or decrypted
        self.reasons: dict[str, int] = {}

    def failing(self, reason: str, n: int = 1) -> None:
        self.reasons[reason[:200]] = self.reasons.get(reason[:200], 0) + n

    @property
    def still_failing(self) -> int:
        return self.counts.dead_lettered + self.counts.pending + self.unreadable

    def lines(self) -> list[str]:
        out = [self.counts.line() + f"  unreadable: {self.unreadable:,}  still failing: {self.still_failing:,}"]
        reasons = dict(self.reasons)
        for reason, n in self.counts.rejections.items():
            reasons[f"rejected by OpenSearch, dead-lettered again: {reason}"] = n
        out += [f"  still failing ({n}): {reason}" for reason, n in sorted(reasons.items())]
        return out


def replay_store(store: DeadLetterStore, runtime: Runtime, summary: ReplaySummary, *, keep: bool = False) -> None:
    for location in list(store.locations("documents")):
        _replay_documents(store, location, runtime, summary, keep)
    for location in list(store.locations("payloads")):
        remaining = [r for r in store.read(location) if not _forward(r.get("event"), runtime, summary, r.get("region"))]
        if not keep:
            store.rewrite(location, remaining)
    for location in list(store.locations("activity")):
        remaining = [kept for r in store.read(location) for kept in _replay_activity(r, runtime, summary)]
        if not keep:
            store.rewrite(location, remaining)


def _replay_documents(
    store: DeadLetterStore, location: str, runtime: Runtime, summary: ReplaySummary, keep: bool
) -> None:
    """Each stored document written again under its index and id. Rejected again, it is dead-lettered anew (under
    the same name, so today's copy replaces the old one); still pending, it stays where it was."""
    records = store.read(location)
    key = PurePosixPath(location).name.removesuffix(".ndjson")
    remaining: list[dict[str, Any]] = []
    rewritten = False
    for family in (AUDIT, ACTIVITY):
        batch = [r for r in records if r.get("family", AUDIT) == family]
        if not batch:
            continue
        actions = [_action(r, runtime.options.document_ids) for r in batch]
        counts = runtime.pipeline(family).write(Context(), actions, key=key)
        summary.counts.add(counts)
        if counts.dead_lettered:
            rewritten = rewritten or location in counts.dead_letters
        if counts.pending:
            summary.failing(counts.pending_reason, counts.pending)
            remaining += [r for r in batch if r["id"] in counts.pending_ids]
    if keep:
        return
    if rewritten:
        # The new dead letters landed on this very object: keep them, and add what is still pending.
        remaining = store.read(location) + remaining
    store.rewrite(location, remaining)


def _action(record: dict[str, Any], with_id: bool) -> Action:
    document = {k: v for k, v in record["document"].items() if k != "event_hash"}
    return Action(
        record["index"],
        record["id"],
        create_body(record["index"], record["id"], document, with_id=with_id),
        record.get("line", ""),
        str(document.get("@timestamp", "")),
        record.get("event_ms"),
        "parse_error" in document,
    )


def _forward(event: Any, runtime: Runtime, summary: ReplaySummary, region: str | None = None) -> bool:
    """True when every line of the event is now indexed, present, or dead-lettered anew. `region`: a Kinesis
    record's (handler/collect.py), whose payload does not say it."""
    from handler.sources.cloudwatch import decode_subscription_event

    try:
        decode_subscription_event(event)
    except DecodeError as e:
        summary.unreadable += 1
        summary.failing(str(e))
        return False
    outcome = forward_event(
        event, runtime.pipeline(), runtime.options, region=region if isinstance(region, str) else None
    )
    summary.counts.add(outcome.counts)
    if outcome.counts.pending:
        summary.failing(outcome.counts.pending_reason, outcome.counts.pending)
        return False
    return True


def _replay_activity(record: dict[str, Any], runtime: Runtime, summary: ReplaySummary) -> list[dict[str, Any]]:
    """An Activity Streams record decrypted again (the key or its policy may have been fixed), or an event whose
    time could not be read. Its usable events are written; what stays in the store is returned: the record when
    it still cannot be read or some of it is pending, else only its events that are still unusable."""
    import base64
    import binascii

    from handler.activity import decryptors, event_actions, record_actions

    settings = runtime.settings
    prefix, mask, with_id = settings.activity_prefix, settings.mask_secrets, runtime.options.document_ids
    try:
        if record.get("kind") == "activity_event":
            actions, unusable, _ = event_actions(
                [record.get("event")],
                cluster=record.get("cluster"),
                instance=record.get("instance"),
                version=record.get("version"),
                prefix=prefix,
                mask=mask,
                with_id=with_id,
            )
        else:
            raw = record.get("record", {})
            data = raw.get("kinesis", {}).get("data") or raw.get("data", "")
            decrypt = decryptors(runtime)(raw.get("eventSourceARN"))
            plain = base64.b64decode(data, validate=True)
            actions, unusable, _ = record_actions(plain, decrypt, prefix=prefix, mask=mask, with_id=with_id)
    except (DecodeError, binascii.Error, ValueError) as e:
        summary.unreadable += 1
        summary.failing(str(e))
        return [record]
    counts = runtime.pipeline(ACTIVITY).write(Context(), actions, key=f"replay-{record.get('sequence', 'activity')}")
    summary.counts.add(counts)
    if counts.pending:
        summary.failing(counts.pending_reason, counts.pending)
        return [record]
    if unusable:
        summary.unreadable += len(unusable)
        summary.failing(unusable[0]["reason"], len(unusable))
    return unusable


def replay_queue(queue_url: str, runtime: Runtime, summary: ReplaySummary, *, keep: bool = False) -> int:
    """Events Lambda gave up on, from the on-failure destination (or an async dead-letter queue).

    A message is deleted once its event is fully written; otherwise it becomes visible again later.
    Returns the number of messages read.
    """
    sqs = runtime.aws("sqs")
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
                summary.unreadable += 1
                summary.failing("queue message is not JSON")
                continue
            # On-failure destination records wrap the event; a plain dead-letter queue holds the event itself.
            event = body.get("requestPayload", body) if isinstance(body, dict) else body
            if _forward(event, runtime, summary) and not keep:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
