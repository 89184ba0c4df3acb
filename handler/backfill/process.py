"""One object, start to finish (or from where an earlier run stopped): read, transform, filter, write."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from handler.errors import DecodeError, IncompleteWrite
from handler.model import Action, Context
from handler.pipeline import rejection_record
from handler.sinks.bulk import BulkWriter
from handler.sinks.dead_letter import DeadLetterStore
from handler.sources.objects import ObjectRef
from handler.sources.s3 import read_batches
from handler.transforms.batch import BatchTransformer, TransformOptions


@dataclass(frozen=True)
class BackfillOptions:
    since: str | None = None  # sortable UTC timestamps (see sortable_time); since inclusive, until exclusive
    until: str | None = None
    dry_run: bool = False
    log_group: str | None = None
    segment_events: int = 20_000  # progress is recorded after each segment is written


@dataclass
class ObjectResult:
    uri: str
    size: int = 0
    events: int = 0  # events read in this run (after the resume point)
    indexed: int = 0
    already_present: int = 0
    flagged: int = 0
    dead_lettered: int = 0
    outside_window: int = 0
    resumed_from: int = 0
    position: int = 0
    error: str = ""
    skipped: str = ""  # why the object was not processed at all (finished earlier, write-test object)
    dead_letters: list[str] = field(default_factory=list)


def sortable_time(timestamp: str) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.f]Z` → `YYYY-MM-DDTHH:MM:SS.ffffff`, so strings compare as times."""
    base, frac = timestamp[:19], timestamp[19:].rstrip("Z")
    return base + (frac + "000000")[1:7].rjust(6, "0") if frac.startswith(".") else base + "000000"


def process_object(
    ref: ObjectRef,
    raw: IO[bytes],
    *,
    writer: BulkWriter | None,
    dead_letters: DeadLetterStore | None,
    transform: TransformOptions,
    options: BackfillOptions,
    resume_from: int = 0,
    on_progress: Callable[[int], None] = lambda position: None,
    deadline: float | None = None,
) -> ObjectResult:
    """Write every event of the object once; raise IncompleteWrite if some could not be written in time."""
    result = ObjectResult(uri=ref.uri, size=ref.size, resumed_from=resume_from, position=resume_from)
    name = hashlib.blake2b(ref.uri.encode(), digest_size=8).hexdigest()
    position = 0
    try:
        for batch in read_batches(raw, ref.key, options.log_group):
            transformer = BatchTransformer(batch.ctx, transform, fallback_ms=ref.last_modified_ms)
            segment: list[Action] = []
            start = max(position, resume_from)
            for event in batch.events:
                if position < resume_from:
                    transformer.skip(event)
                    position += 1
                    continue
                action = transformer.action(event)
                position += 1
                result.events += 1
                if _outside(action.timestamp, options):
                    result.outside_window += 1
                else:
                    segment.append(action)
                if len(segment) >= options.segment_events:
                    _flush(segment, batch.ctx, f"{name}-{batch.name}-{start}", result, writer, dead_letters, deadline)
                    segment, start = [], position
                    result.position = position
                    on_progress(position)
            _flush(segment, batch.ctx, f"{name}-{batch.name}-{start}", result, writer, dead_letters, deadline)
            result.flagged += transformer.parse_failures
            result.position = position
            on_progress(position)
    except DecodeError as e:
        result.error = str(e)
    return result


def _outside(timestamp: str, options: BackfillOptions) -> bool:
    if options.since is None and options.until is None:
        return False
    t = sortable_time(timestamp)
    return (options.since is not None and t < options.since) or (options.until is not None and t >= options.until)


def _flush(
    segment: list[Action],
    ctx: Context,
    key: str,
    result: ObjectResult,
    writer: BulkWriter | None,
    dead_letters: DeadLetterStore | None,
    deadline: float | None,
) -> None:
    if not segment or writer is None:  # dry run: counted, not written
        return
    written = writer.write(segment, deadline)
    result.indexed += written.indexed
    result.already_present += written.already_present
    if written.rejected:
        assert dead_letters is not None
        records = [rejection_record(r, ctx) for r in written.rejected]
        result.dead_letters.append(dead_letters.write("documents", key, records))
        result.dead_lettered += len(records)
    if written.pending:
        raise IncompleteWrite(len(written.pending), written.pending_reason)
