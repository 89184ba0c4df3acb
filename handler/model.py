"""Small frozen values passed between stages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Context:
    """Where lines came from; shared by every line of one payload or object."""

    log_group: str | None = None
    log_stream: str | None = None
    owner: str | None = None
    cluster: str | None = None
    instance: str | None = None


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One audit line as received, with the source's own time for it (epoch ms) when there is one."""

    line: str
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One document ready for a bulk `create`, with what is needed to dead-letter it.

    The document is kept only in its encoded form: a batch holds tens of thousands of these, and the dict is
    needed again only for the rare dead letter.
    """

    index: str
    doc_id: str
    body: bytes  # the action line and the document line, newline-terminated
    line: str
    timestamp: str = ""  # the document's @timestamp
    event_ms: int | None = None  # the source's own time for the line (CloudWatch event time), when it has one

    def document(self) -> Any:
        return json.loads(self.body.split(b"\n", 2)[1])


@dataclass(slots=True)
class Rejection:
    """A document OpenSearch refused for a reason retrying will not fix."""

    action: Action
    status: int | str
    error: Any


@dataclass(slots=True)
class SinkResult:
    indexed: int = 0
    already_present: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    pending: list[Action] = field(default_factory=list)  # still retryable when time or attempts ran out
    pending_reason: str = ""
    indices: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
