"""One export run: for each instance, copy the new complete lines of every audit file to S3, exactly once.

For each file: read the state; record the object about to be written (`pending`) with a conditional write;
stream the file, skip what was copied before, gzip the complete lines after it into one multipart upload; then
advance the file's offset and clear `pending`, again conditionally. A crash between the two writes is repaired
by the next run, which rewrites the same object from the same offset (a superset, never a second copy).
"""

from __future__ import annotations

import functools
import hashlib
import time
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from handler.errors import IncompleteWrite
from handler.export.rds_logs import FileGone, LogFile, download, list_audit_files
from handler.export.state import ConcurrentRun, ExportState
from handler.model import Counts

if TYPE_CHECKING:
    from handler.runtime import Runtime


class LineStream:
    """A file-like view of `pieces` after skipping `skip` bytes, ending at the last complete line, gzipped.

    Feeds boto3's multipart upload without holding the file: memory is one piece plus one part.
    """

    def __init__(self, pieces: Iterator[bytes], skip: int, on_lines: Callable[[bytes], None] | None = None) -> None:
        self._pieces = pieces
        self._skip = skip
        self._rest = b""
        self._out = b""
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._done = False
        self.emitted = 0  # uncompressed bytes of complete lines written
        self.on_lines = on_lines

    def _next_lines(self) -> bytes | None:
        """Complete lines from the next piece(s), or None at the end (an incomplete last line is held back)."""
        for raw in self._pieces:
            piece = raw
            if self._skip:
                cut = min(self._skip, len(piece))
                piece, self._skip = piece[cut:], self._skip - cut
            data = self._rest + piece
            end = data.rfind(b"\n") + 1
            self._rest = data[end:]
            if end:
                return data[:end]
        return None

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._out) < size):
            lines = self._next_lines()
            if lines is None:
                self._out += self._gzip.flush()
                self._done = True
                break
            self.emitted += len(lines)
            if self.on_lines is not None:
                self.on_lines(lines)
            self._out += self._gzip.compress(lines)
        if size < 0:
            size = len(self._out)
        out, self._out = self._out[:size], self._out[size:]
        return out


def identity(first_line: bytes) -> str:
    return hashlib.blake2b(first_line, digest_size=16).hexdigest()


def _peek_first_line(pieces: Iterator[bytes]) -> tuple[bytes | None, Iterator[bytes]]:
    head = b""
    for piece in pieces:
        head += piece
        if b"\n" in head:
            break
    first = head.split(b"\n", 1)[0] if b"\n" in head else None

    def again() -> Iterator[bytes]:
        if head:
            yield head
        yield from pieces

    return first, again()


def object_key(prefix: str, instance: str, f: LogFile, ident: str, start: int) -> str:
    """`<prefix>/RDS/<instance>/audit/<YYYY-MM-DD>/<file>-<last written>-<file id>-<offset>.log.gz`.

    Name and LastWritten alone can repeat (a rotated-in file can carry the same name and millisecond), so the
    file's identity and the starting offset make the key unique to the bytes it holds.
    """
    day = time.strftime("%Y-%m-%d", time.gmtime(f.last_written / 1000))
    base = f.name.rsplit("/", 1)[-1]
    lead = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    return f"{lead}RDS/{instance}/audit/{day}/{base}-{f.last_written}-{ident[:12]}-{start}.log.gz"


def export_instance(
    instance: str,
    *,
    rds: Any,
    s3: Any,
    credentials: Any,
    bucket: str,
    prefix: str = "",
    complete_file: bool = True,
    index_lines: Callable[[str, bytes], None] | None = None,
    lease_seconds: float = 900,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Returns counts; raises ConcurrentRun when another run holds or advanced the state.

    A `pending` object younger than `lease_seconds` (default: Lambda's longest run) belongs to a run that may still
    be writing it; an older one is a crashed run's, and is completed here.
    """
    state_key = f"{prefix.strip('/') + '/' if prefix.strip('/') else ''}state/{instance}.json"
    state = ExportState(s3, bucket, state_key).load()
    summary: dict[str, Any] = {"instance": instance, "files": 0, "objects": 0, "bytes": 0, "gone": 0}
    if state.pending and clock() - float(state.pending.get("since", 0)) < lease_seconds:
        age = int(clock() - float(state.pending.get("since", 0)))
        raise ConcurrentRun(f"an export of {instance} started {age} s ago is still within its lease")
    for f in list_audit_files(rds, instance):
        if f.size == 0:
            continue
        summary["files"] += 1
        try:
            first, pieces = _peek_first_line(download(rds, credentials, instance, f.name, complete_file=complete_file))
        except FileGone:
            summary["gone"] += 1  # rotated since the listing: the next listing names it again
            continue
        if first is None:
            continue  # not even one complete line yet
        ident = identity(first)
        copied = int(state.files.get(ident, {}).get("copied", 0))
        pending = state.pending if state.pending and state.pending["identity"] == ident else None
        key = pending["key"] if pending else object_key(prefix, instance, f, ident, copied)
        if pending is None:
            if f.size <= copied:
                continue
            state.pending = {"identity": ident, "start": copied, "key": key, "since": clock()}
            state.save()
        on_lines = functools.partial(index_lines, key) if index_lines is not None else None
        stream = LineStream(pieces, copied, on_lines)
        first_block = stream.read(1)
        if stream.emitted == 0:
            state.pending = None  # nothing complete beyond what was copied: no object
            state.save()
            continue
        s3.upload_fileobj(
            _Prepend(first_block, stream),
            bucket,
            key,
            # No ServerSideEncryption here: the bucket's default applies (the stack's KMS key on a created archive).
            ExtraArgs={"ContentType": "application/gzip"},
        )
        state.files[ident] = {"copied": copied + stream.emitted, "name": f.name, "last_written": f.last_written}
        state.pending = None
        state.save()
        summary["objects"] += 1
        summary["bytes"] += stream.emitted
    return summary


class _Prepend:
    def __init__(self, head: bytes, stream: LineStream) -> None:
        self._head, self._stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            if size < 0:
                return out + self._stream.read()
            return out + self._stream.read(max(0, size - len(out)))
        return self._stream.read(size)


def opensearch_indexer(instance: str, runtime: Runtime, counts: Counts) -> Callable[[str, bytes], None]:
    """Index exported lines through the pipeline: one batch per archive object, read by the same framing as a
    later backfill of that object, so the ids agree and the backfill adds nothing."""
    from handler.sources.framing import RAW, object_context, raw_events
    from handler.transforms.batch import BatchTransformer

    pipeline = runtime.pipeline()
    transformers: dict[str, BatchTransformer] = {}

    def index(key: str, lines: bytes) -> None:
        if key not in transformers:
            transformers[key] = BatchTransformer(object_context(key, RAW), runtime.options)
        t = transformers[key]
        written = pipeline.write(t.ctx, t.actions(raw_events(lines.split(b"\n"))), key=_dead_letter_key(key))
        counts.add(written)
        if written.pending:
            # The upload is abandoned with it; its claim stays, and the next run rewrites and re-indexes it.
            raise IncompleteWrite(written.pending, written.pending_reason)

    return index


def _dead_letter_key(object_key: str) -> str:
    return "export-" + hashlib.blake2b(object_key.encode(), digest_size=12).hexdigest()


def export_all(
    runtime: Runtime,
    instances: list[str],
    *,
    bucket: str,
    prefix: str = "",
    complete_file: bool = True,
    lease_seconds: float = 900,
    index: bool = False,
) -> list[dict[str, Any]]:
    """The CLI's and the scheduled Lambda's shared job: each instance in turn, failures reported per instance."""
    rds, s3, credentials = runtime.aws("rds"), runtime.aws("s3"), runtime.aws_credentials()
    results = []
    for instance in instances:
        counts = Counts()
        try:
            summary = export_instance(
                instance,
                rds=rds,
                s3=s3,
                credentials=credentials,
                bucket=bucket,
                prefix=prefix,
                complete_file=complete_file,
                lease_seconds=lease_seconds,
                index_lines=opensearch_indexer(instance, runtime, counts) if index else None,
            )
        except ConcurrentRun as e:
            summary = {"instance": instance, "error": f"another export is running: {e}"}
        except IncompleteWrite as e:
            summary = {"instance": instance, "error": f"indexing stopped, the next run resumes: {e}"}
        if index:
            summary["counts"] = counts.as_log()
        results.append(summary)
    return results


def export_from_event(event: Any, runtime: Runtime) -> list[dict[str, Any]]:
    """The scheduled Lambda's job: instances from the event or RDSAUDIT_EXPORT_INSTANCES; raises when every
    instance failed, so the schedule's failure metric and alarm see it."""
    from handler.errors import ConfigError, RdsAuditError

    settings = runtime.settings
    instances = list((event or {}).get("instances") or settings.export_instances)
    if not settings.export_bucket:
        raise ConfigError("RDSAUDIT_EXPORT_BUCKET is required: the archive bucket")
    if not instances:
        raise ConfigError('no instances: set RDSAUDIT_EXPORT_INSTANCES or pass {"instances": [...]}')
    results = export_all(
        runtime, instances, bucket=settings.export_bucket, prefix=settings.export_prefix, index=settings.export_index
    )
    failed = [r for r in results if "error" in r]
    if failed and len(failed) == len(results):
        raise RdsAuditError(f"export failed for every instance: {failed}")
    return results
