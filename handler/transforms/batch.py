"""Raw events of one batch → bulk `create` actions. Pure: values in, values out."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from handler.model import Action, Context, RawEvent
from handler.transforms.audit_line import AuditRecord, parse_line
from handler.transforms.document import (
    audit_document,
    day_of_epoch_ms,
    failure_document,
    holds_secret,
    id_from_digest,
    index_name,
    iso_of_epoch_ms,
    line_digest,
)

if TYPE_CHECKING:
    from handler.detect.event_rules import EventRules

_SURROGATE = re.compile("[\ud800-\udfff]")


class TransformOptions(NamedTuple):
    index_prefix: str = "rdsaudit"
    mask_secrets: bool = True
    # False for OpenSearch Serverless time series and vector search collections, which assign ids themselves
    # and reject ours (handler.setup.engine.Engine.generates_ids).
    document_ids: bool = True
    # The event rules that tag documents (`detections`, `severity`); None: the shipped catalog's defaults.
    detections: EventRules | None = None
    # False only to measure what tagging costs (bench.transform's "untagged" path): every flow tags.
    tag: bool = True


# The action line of a bulk `create`, up to the id (index names and ids here need no JSON escaping).
_ACTION_HEAD = b'{"create":{"_index":"%s","_id":"'
_ACTION_TAIL = b'"}}\n'
_dumps = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE
# An Action per line: tuple.__new__ builds it in C, where the NamedTuple's generated __new__ is Python code.
_new_action = tuple.__new__


def default_event_rules() -> EventRules:
    from handler.detect.event_rules import shipped_event_rules

    return shipped_event_rules()


def create_body(index: str, doc_id: str, doc: dict[str, Any], *, with_id: bool = True) -> bytes:
    """The two NDJSON lines of a bulk `create`.

    Without an id, our id (the content hash) is kept as the document's `event_hash`, so the duplicates a
    redelivered payload creates can be found and removed."""
    if not with_id:
        return b'{"create":{"_index":"%s"}}\n%s\n' % (index.encode(), _dumps({**doc, "event_hash": doc_id}))
    return _ACTION_HEAD % index.encode() + doc_id.encode() + _ACTION_TAIL + _dumps(doc, option=_NEWLINE)


def _digest(line: str) -> tuple[str, bytes]:
    """The line as it will be stored, and its digest (the one of a line without a credential)."""
    try:
        return line, line_digest(line)
    except UnicodeEncodeError:
        # Lone surrogates (a JSON "\\ud800" in a payload) cannot be written as UTF-8.
        line = _SURROGATE.sub("\ufffd", line)
        return line, line_digest(line)


class Occurrences:
    """How often each line digest was seen, remembering at most `limit` distinct lines (oldest forgotten first).

    Byte-identical audit lines share their timestamp, so they arrive close together; a bounded memory keeps a
    backfill of a multi-GB object flat while covering every line of any subscription payload.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._counts: dict[bytes, int] = {}
        # Digests in the order they were first seen. Finding the dict's oldest key with next(iter(counts)) walks
        # over every slot deleted since the dict was last resized: once full, each new line cost ~40 µs and a
        # 200,000-line file spent seconds there. The deque pops it in constant time, in the same order.
        self._order: deque[bytes] = deque()

    def next(self, digest: bytes) -> int:
        counts = self._counts
        n = counts.get(digest)
        if n is None:
            if len(counts) >= self.limit:
                del counts[self._order.popleft()]
            counts[digest] = 1
            self._order.append(digest)
            return 0
        counts[digest] = n + 1
        return n


class BatchTransformer:
    """Turns the events of one batch (a payload, an object) into actions, in order.

    Keeps the per-batch state the rules need: how often each line was seen (ids of byte-identical lines) and the
    last parsed time (the time of an unparseable line that carries none of its own). A caller that splits one
    batch across processes passes each part the state it starts from (`last`) and its own `occurrences`.
    """

    def __init__(
        self,
        ctx: Context,
        options: TransformOptions,
        fallback_ms: int | None = None,
        *,
        occurrences: Occurrences | None = None,
        last: tuple[str, str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.options = options
        self._occurrences = Occurrences() if occurrences is None else occurrences
        self._last = last
        self._fallback_ms = fallback_ms
        self._heads: dict[str, tuple[str, bytes]] = {}  # day → index name, action line up to the id
        self._tag = (options.detections or default_event_rules()).tag if options.tag else None

    def actions(self, events: Iterable[RawEvent]) -> Iterator[Action]:
        action = self.action
        for event in events:
            yield action(event)

    def action(self, event: RawEvent, doc_id: str | None = None) -> Action:
        """`doc_id` overrides the derived id (a replay keeps the id the line was first given).

        One method per line, the digest's usual case inline: at a few microseconds a line, calls count."""
        line, timestamp_ms = event
        try:
            digest = line_digest(line)  # of the line as is: replaced below in the rare case it holds a credential
        except UnicodeEncodeError:
            line, digest = _digest(line)
        rec = parse_line(line)
        mask = self.options.mask_secrets
        if isinstance(rec, AuditRecord):
            doc = audit_document(rec, self.ctx, mask=mask)
            timestamp = rec.timestamp
            day = rec.day
            self._last = (timestamp, day)
            flagged = False
            # masking answered already: a changed `sql` holds a credential (the usual case returns the same str)
            sql = doc.get("sql", rec.obj)
            secret = (sql is not rec.obj and sql != rec.obj) if mask else holds_secret(line, rec)
            if self._tag is not None:
                hit = self._tag(doc)
                if hit is not None:
                    doc["detections"], doc["severity"] = hit
        else:
            timestamp, day = self._time_for_failure(timestamp_ms)
            doc = failure_document(line, rec.reason, timestamp, self.ctx, mask=mask)
            flagged = True
            secret = doc["message"] != line if mask else holds_secret(line, rec)
        if secret:
            digest = line_digest(line, True, rec)
        occurrence = self._occurrences.next(digest)
        head = self._heads.get(day)
        if head is None:
            index = index_name(self.options.index_prefix, day)
            head = self._heads[day] = (index, _ACTION_HEAD % index.encode())
        doc_id = doc_id or id_from_digest(digest, occurrence)
        if self.options.document_ids:
            body = head[1] + doc_id.encode() + _ACTION_TAIL + _dumps(doc, option=_NEWLINE)
        else:
            body = create_body(head[0], doc_id, doc, with_id=False)
        return _new_action(Action, (head[0], doc_id, body, line, timestamp, timestamp_ms, flagged))

    def skip(self, event: RawEvent) -> None:
        """Account for a line an earlier run already wrote, so the lines after it get the same ids and times."""
        line, plain = _digest(event.line)
        rec = parse_line(line)
        self._occurrences.next(line_digest(line, True, rec) if holds_secret(line, rec) else plain)
        if isinstance(rec, AuditRecord):
            self._last = (rec.timestamp, rec.day)

    def _time_for_failure(self, timestamp_ms: int | None) -> tuple[str, str]:
        if timestamp_ms is not None:
            return iso_of_epoch_ms(timestamp_ms), day_of_epoch_ms(timestamp_ms)
        if self._last is not None:
            return self._last
        ms = self._fallback_ms if self._fallback_ms is not None else int(time.time() * 1000)
        return iso_of_epoch_ms(ms), day_of_epoch_ms(ms)
