"""The forwarder's job: one CloudWatch Logs subscription event → documents through the pipeline.

A payload that cannot be decoded is dead-lettered whole with the reason (retrying cannot fix it); control
messages are health checks and carry nothing."""

from __future__ import annotations

import time
from typing import Any

from handler.errors import DecodeError
from handler.model import Counts
from handler.pipeline import Pipeline
from handler.sinks.dead_letter import payload_record
from handler.sources.cloudwatch import CONTROL_MESSAGE, decode_subscription_event, payload_key
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context


class Forwarded:
    """The outcome of one event: the counts, and what the event was."""

    def __init__(self) -> None:
        self.counts = Counts()
        self.message_type = ""
        self.log_group: str | None = None
        self.payload_dead_lettered = ""  # the reason, when the whole payload could not be decoded
        self.dead_letter = ""
        self.duration_ms = 0

    def as_log(self) -> dict[str, Any]:
        meta = {
            "message_type": self.message_type,
            "log_group": self.log_group,
            "payload_dead_lettered": self.payload_dead_lettered,
            "payload_dead_letter": self.dead_letter,
        }
        return {**{k: v for k, v in meta.items() if v}, **self.counts.as_log(), "duration_ms": self.duration_ms}


def forward_event(
    event: Any, pipeline: Pipeline, options: TransformOptions, deadline: float | None = None, region: str | None = None
) -> Forwarded:
    """`region`: the log group's, when the event was collected from another region (a replayed Kinesis record)."""
    started = time.monotonic()
    out = Forwarded()
    try:
        payload = decode_subscription_event(event)
    except DecodeError as e:
        out.payload_dead_lettered = str(e)
        record = payload_record(event, str(e), mask=options.mask_secrets)
        out.dead_letter = pipeline.dead_letters.write("payloads", payload_key(event), [record])
        out.duration_ms = int((time.monotonic() - started) * 1000)
        return out
    out.message_type, out.log_group = payload.message_type, payload.log_group
    if payload.message_type != CONTROL_MESSAGE:
        ctx = cloudwatch_context(payload.log_group, payload.log_stream, payload.owner, region)
        actions = BatchTransformer(ctx, options).actions(payload.events)
        out.counts = pipeline.write(ctx, actions, key=payload.key, deadline=deadline)
    out.duration_ms = int((time.monotonic() - started) * 1000)
    return out
