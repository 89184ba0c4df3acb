"""The organisation-wide collector's job: one Kinesis batch of CloudWatch Logs subscription payloads (from the
destinations member accounts subscribe to) → documents through the forwarder's transform and the one write path.

Each record is decoded and transformed exactly as the same payload delivered straight to the forwarder (same
context, same occurrence counting per payload, so the same documents and ids), plus the region the stream collects
(handler/sources/kinesis.py). A record that cannot be decoded is dead-lettered alone (kind `payloads`, replayable)
and the rest of the batch is indexed; control messages carry nothing. Documents still pending after the bulk
loop's retries (throttling, an outage) make their records batch item failures, so Lambda delivers those records
again — never dropped; ids are derived from the lines, so what was indexed meanwhile is counted as already present.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

from handler.errors import DecodeError
from handler.model import Action, Context, Counts
from handler.pipeline import Pipeline
from handler.sinks.dead_letter import payload_record
from handler.sources.cloudwatch import CONTROL_MESSAGE, SubscriptionPayload
from handler.sources.kinesis import Record, decode_record, event_records, record_key, region_of_stream
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context


class Collected:
    """The outcome of one batch: the counts, the records to deliver again, and what was dead-lettered whole."""

    def __init__(self) -> None:
        self.counts = Counts()
        self.records = 0
        self.control = 0
        self.failures: list[str] = []  # sequence numbers of records with documents still pending
        self.undecodable: list[str] = []  # reasons, one per record dead-lettered whole
        self.dead_letters: list[str] = []
        self.accounts: set[str] = set()
        self.regions: set[str] = set()
        self.duration_ms = 0

    def response(self) -> dict[str, Any]:
        """Lambda's partial batch response (ReportBatchItemFailures)."""
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in self.failures]}

    def as_log(self) -> dict[str, Any]:
        out: dict[str, Any] = {"records": self.records, "control_messages": self.control}
        if self.undecodable:
            out["records_dead_lettered"] = len(self.undecodable)
            out["record_reasons"] = sorted(set(self.undecodable))[:5]
            out["payload_dead_letters"] = self.dead_letters
        out["failed_records"] = len(self.failures)
        out["accounts"], out["regions"] = sorted(self.accounts), sorted(self.regions)
        return {**out, **self.counts.as_log(), "duration_ms": self.duration_ms}


def forward_kinesis(
    event: Any, pipeline: Pipeline, options: TransformOptions, deadline: float | None = None
) -> Collected:
    started = time.monotonic()
    out = Collected()
    try:
        records = event_records(event)
    except DecodeError as e:
        # Nothing in it can be named to Lambda: kept whole, as the forwarder keeps a payload it cannot read.
        out.undecodable.append(str(e))
        key = hashlib.blake2b(repr(event).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        whole = payload_record(event, str(e), mask=options.mask_secrets)
        out.dead_letters.append(pipeline.dead_letters.write("payloads", key, [whole]))
        out.duration_ms = int((time.monotonic() - started) * 1000)
        return out
    out.records = len(records)
    decoded: list[tuple[Record, SubscriptionPayload, str | None]] = []
    for record in records:
        region = region_of_stream(record.stream_arn)
        try:
            payload = decode_record(record)
        except DecodeError as e:
            out.undecodable.append(str(e))
            out.dead_letters.append(_dead_letter(pipeline, record, region, str(e), options.mask_secrets))
            continue
        if payload.message_type == CONTROL_MESSAGE:
            out.control += 1
            continue
        decoded.append((record, payload, region))
    ids: list[tuple[str, list[str]]] = []  # (sequence, ids of its documents), filled as the writer reads
    key = hashlib.blake2b("".join(p.key for _, p, _ in decoded).encode(), digest_size=16).hexdigest()
    if decoded:
        out.counts = pipeline.write(Context(), _actions(decoded, options, ids, out), key=key, deadline=deadline)
    if out.counts.pending:
        pending = out.counts.pending_ids
        # The writer reads every action, also past its deadline (the rest is pending): every record is in `ids`.
        out.failures = [seq for seq, doc_ids in ids if any(i in pending for i in doc_ids)]
    out.duration_ms = int((time.monotonic() - started) * 1000)
    return out


def _actions(
    decoded: list[tuple[Record, SubscriptionPayload, str | None]],
    options: TransformOptions,
    ids: list[tuple[str, list[str]]],
    out: Collected,
) -> Iterator[Action]:
    for record, payload, region in decoded:
        ctx = cloudwatch_context(payload.log_group, payload.log_stream, payload.owner, region)
        if payload.owner:
            out.accounts.add(payload.owner)
        if region:
            out.regions.add(region)
        doc_ids: list[str] = []
        ids.append((record.sequence, doc_ids))
        for action in BatchTransformer(ctx, options).actions(payload.events):
            doc_ids.append(action.doc_id)
            yield action


def _dead_letter(pipeline: Pipeline, record: Record, region: str | None, reason: str, mask: bool) -> str:
    """The record as a forwarder event (its data is what `awslogs.data` would hold), so replay forwards it again
    with the region it was collected from."""
    dead = payload_record({"awslogs": {"data": record.data}}, reason, mask=mask)
    dead.update({"source": "kinesis", "sequence": record.sequence, "stream": record.stream_arn, "region": region})
    return pipeline.dead_letters.write("payloads", record_key(record), [dead])
