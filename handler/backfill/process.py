"""One object, start to finish (or from where an earlier run stopped): read, transform, filter, write."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, cast

from handler.errors import DecodeError, IncompleteWrite
from handler.model import Action, Context, Counts
from handler.pipeline import Pipeline
from handler.sources.framing import read_batches
from handler.sources.objects import ObjectRef
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.sniff import audit_lines_only


@dataclass(frozen=True)
class BackfillOptions:
    since: str | None = None  # sortable UTC timestamps (see sortable_time); since inclusive, until exclusive
    until: str | None = None
    dry_run: bool = False
    force: bool = False  # index inputs that do not look like audit logs (as parse failures)
    log_group: str | None = None
    segment_events: int = 20_000  # progress is recorded after each segment is written


@dataclass
class ObjectResult:
    uri: str
    size: int = 0
    read: int = 0  # events read in this run (after the resume point)
    outside_window: int = 0  # read, but outside --since/--until: not written
    resumed_from: int = 0
    position: int = 0  # events of the object fully handled (written, present, dead-lettered or outside)
    bytes_read: int = 0
    error: str = ""
    incomplete: bool = False  # documents still pending when attempts or time ran out: a rerun resumes
    counts: Counts = field(default_factory=Counts)  # what was written in this run, failed or not


def sortable_time(timestamp: str) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.f]Z` → `YYYY-MM-DDTHH:MM:SS.ffffff`, so strings compare as times."""
    base, frac = timestamp[:19], timestamp[19:].rstrip("Z")
    return base + (frac + "000000")[1:7].rjust(6, "0") if frac.startswith(".") else base + "000000"


def process_object(
    ref: ObjectRef,
    raw: IO[bytes],
    *,
    pipeline: Pipeline | None,
    transform: TransformOptions,
    options: BackfillOptions,
    resume_from: int = 0,
    on_progress: Callable[[int, dict[str, int]], None] = lambda position, present: None,
    on_bytes: Callable[[int], None] = lambda n: None,
    deadline: float | None = None,
    result: ObjectResult | None = None,
) -> ObjectResult:
    """Write every event of the object once. Stops at the first segment that could not be written completely
    (`incomplete`, with the reason in `error`): progress up to the segment before it is recorded.

    `pipeline` None is a dry run: everything is read and transformed, nothing is written. `on_progress` gets the
    position and the documents known present per index after each segment; `on_bytes` the bytes read so far.
    Raises NotAuditLog (unless `options.force`) when the object's first lines are mostly not audit lines."""
    if result is None:
        result = ObjectResult(uri=ref.uri, size=ref.size)
    result.resumed_from = result.position = resume_from
    name = hashlib.blake2b(ref.uri.encode(), digest_size=8).hexdigest()
    position = 0
    counted = _CountingReader(raw, result, on_bytes)
    try:
        for batch in read_batches(cast(IO[bytes], counted), ref.key, options.log_group):
            transformer = BatchTransformer(batch.ctx, transform, fallback_ms=ref.last_modified_ms)
            segment: list[Action] = []
            start = max(position, resume_from)
            for event in audit_lines_only(batch.events, ref.uri, force=options.force):
                if position < resume_from:
                    transformer.skip(event)
                    position += 1
                    continue
                action = transformer.action(event)
                position += 1
                result.read += 1
                if _outside(action.timestamp, options):
                    result.outside_window += 1
                else:
                    segment.append(action)
                if len(segment) >= options.segment_events:
                    _write(pipeline, batch.ctx, segment, f"{name}-{batch.name}-{start}", result, deadline)
                    segment, start = [], position
                    result.position = position
                    on_progress(position, result.counts.present)
            _write(pipeline, batch.ctx, segment, f"{name}-{batch.name}-{start}", result, deadline)
            result.position = position
            on_progress(position, result.counts.present)
    except DecodeError as e:
        result.error = str(e)
    except IncompleteWrite as e:
        result.error, result.incomplete = str(e), True
    return result


class _CountingReader:
    """Counts the object's bytes as they are read (compressed, like its size), for progress inside an object."""

    def __init__(self, raw: IO[bytes], result: ObjectResult, on_bytes: Callable[[int], None]) -> None:
        self._raw, self._result, self._on_bytes = raw, result, on_bytes

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._result.bytes_read += len(data)
        self._on_bytes(self._result.bytes_read)
        return data


def _outside(timestamp: str, options: BackfillOptions) -> bool:
    if options.since is None and options.until is None:
        return False
    t = sortable_time(timestamp)
    return (options.since is not None and t < options.since) or (options.until is not None and t >= options.until)


def _write(
    pipeline: Pipeline | None,
    ctx: Context,
    segment: list[Action],
    key: str,
    result: ObjectResult,
    deadline: float | None,
) -> None:
    if not segment:
        return
    if pipeline is None:  # dry run: counted as received, not written
        result.counts.received += len(segment)
        result.counts.flagged += sum(a.flagged for a in segment)
        return
    written = pipeline.write(ctx, segment, key=key, deadline=deadline)
    result.counts.add(written)
    if written.pending:
        raise IncompleteWrite(written.pending, written.pending_reason)
