"""Small values passed between stages.

NamedTuples and plain classes rather than dataclasses: this module is on the Lambda cold path, where the
dataclasses machinery (import and per-class code generation) costs ~12 ms.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class Context(NamedTuple):
    """Where lines came from; shared by every line of one payload or object."""

    log_group: str | None = None
    log_stream: str | None = None
    owner: str | None = None
    cluster: str | None = None
    instance: str | None = None


class RawEvent(NamedTuple):
    """One audit line as received, with the source's own time for it (epoch ms) when there is one."""

    line: str
    timestamp_ms: int | None = None


class Action(NamedTuple):
    """One document ready for a bulk `create`, with what is needed to dead-letter it.

    The document is kept only in its encoded form: a batch holds tens of thousands of these, and the dict is
    needed again only for the rare dead letter.
    """

    index_name: str  # not `index`: that would shadow tuple.index
    doc_id: str
    body: bytes  # the action line and the document line, newline-terminated
    line: str
    timestamp: str = ""  # the document's @timestamp
    event_ms: int | None = None  # the source's own time for the line (CloudWatch event time), when it has one

    def document(self) -> Any:
        return json.loads(self.body.split(b"\n", 2)[1])


class Rejection(NamedTuple):
    """A document OpenSearch refused for a reason retrying will not fix."""

    action: Action
    status: int | str
    error: Any


class SinkResult:
    """What a bulk write did with each action."""

    def __init__(self) -> None:
        self.indexed = 0
        self.already_present = 0
        self.rejected: list[Rejection] = []
        self.pending: list[Action] = []  # still retryable when time or attempts ran out
        self.pending_reason = ""
        self.indices: dict[str, int] = {}
        self.requests = 0
        self.retries = 0
