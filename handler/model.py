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
    owner: str | None = None  # the AWS account the log group belongs to (the subscription payload's `owner`)
    cluster: str | None = None
    instance: str | None = None
    region: str | None = None  # the log group's region, when known (organisation-wide collection: handler/collect.py)


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
    flagged: bool = False  # a line that could not be parsed, indexed raw with tags: ["parse_failure"]

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
        self.indices: dict[str, int] = {}  # documents indexed, per index
        self.already: dict[str, int] = {}  # documents found already there (409), per index
        self.requests = 0
        self.retries = 0


COUNT_NAMES = ("received", "indexed", "already_present", "flagged", "dead_lettered", "pending")


class Counts:
    """What one write (or a whole job) did with its documents, in the one vocabulary every log line, summary and
    replay uses: received = indexed + already_present + dead_lettered + pending. `flagged` counts the received
    lines that could not be parsed (indexed raw and tagged, so they are also in one of the other four)."""

    def __init__(self) -> None:
        self.received = 0
        self.indexed = 0
        self.already_present = 0
        self.flagged = 0
        self.dead_lettered = 0
        self.pending = 0
        self.pending_reason = ""
        self.pending_ids: set[str] = set()  # which documents are pending (a Kinesis batch maps them to records)
        self.indices: dict[str, int] = {}  # documents indexed, per index
        self.present: dict[str, int] = {}  # documents indexed or already there, per index (checkpoints)
        self.dead_letters: list[str] = []  # where rejected documents were stored
        self.rejections: dict[str, int] = {}  # why, reason → documents
        self.requests = 0
        self.retries = 0

    def add(self, other: Counts) -> Counts:
        for name in COUNT_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.pending_reason = other.pending_reason or self.pending_reason
        self.pending_ids |= other.pending_ids
        for index, n in other.indices.items():
            self.indices[index] = self.indices.get(index, 0) + n
        for index, n in other.present.items():
            self.present[index] = self.present.get(index, 0) + n
        self.dead_letters += other.dead_letters
        for reason, n in other.rejections.items():
            self.rejections[reason] = self.rejections.get(reason, 0) + n
        self.requests += other.requests
        self.retries += other.retries
        return self

    def balanced(self) -> bool:
        return self.received == self.indexed + self.already_present + self.dead_lettered + self.pending

    def as_log(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in COUNT_NAMES}
        if self.pending_reason:
            out["pending_reason"] = self.pending_reason
        if self.indices:
            out["indices"] = dict(self.indices)
        if self.dead_letters:
            out["dead_letters"] = list(self.dead_letters)
        out["requests"], out["retries"], out["balanced"] = self.requests, self.retries, self.balanced()
        return out

    def line(self) -> str:
        """The counts as people read them: `received: 10  indexed: 9  …`."""
        return "  ".join(f"{name.replace('_', ' ')}: {getattr(self, name):,}" for name in COUNT_NAMES)
