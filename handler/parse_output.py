"""`rdsaudit parse`: the documents the forwarder would index, as `{"index":…,"id":…,"doc":…}` lines, written in
large blocks from the bulk body's own bytes (one encoder for both).

A large raw audit file is transformed by several processes, its output still in file order and byte-identical to
one process's. Everything in a file shares one id scope, so the split keeps the two pieces of per-batch state:
- the occurrence counter of byte-identical lines (part of the id): each worker reports its lines' digests and
  writes every id as a first occurrence; this process runs the one counter over all digests in file order and
  rewrites the ids of the repeats (rare: a repeat needs the same microsecond, or second, connection and query);
- the time of the last parsed line (the time of an unparseable line that has none): this process finds it at the
  end of each block before handing the next block out, so each worker starts from it.
Other formats (exports, whose messages span lines, and Firehose objects), stdin and small files are read by one
process through `read_batches`, as backfill reads them.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import tempfile
from array import array
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import accumulate, islice
from typing import IO, NamedTuple

from handler.model import Action, Context
from handler.sources.framing import (
    RAW,
    decompressed,
    detect_format,
    iter_lines,
    object_context,
    raw_events,
    read_batches,
    read_piece,
)
from handler.transforms.audit_line import AuditRecord, parse_line
from handler.transforms.batch import BatchTransformer, Occurrences, TransformOptions
from handler.transforms.context import cloudwatch_context
from handler.transforms.document import id_from_digest
from handler.transforms.sniff import SAMPLE, audit_lines_only

PARALLEL_FROM_BYTES = 16 << 20  # below this a second process costs more than it saves
BLOCK_BYTES = 4 << 20  # what one worker transforms at a time: whole lines, a few thousand of them
_RECORD_HEAD = b'{"index":"%s","id":"%s","doc":'


class ParseRequest(NamedTuple):
    """What `rdsaudit parse` was asked for, besides the input."""

    options: TransformOptions
    log_group: str | None = None
    log_stream: str | None = None
    owner: str | None = None
    fallback_ms: int | None = None  # the file's time: for an unparseable line before any parsed one
    name: str = "-"  # what to call the input when it does not look like an audit log
    force: bool = False  # print it even then


def default_workers() -> int:
    """Both cores where there are two; more rarely pay here, since this process writes every record."""
    return min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def write_records(
    raw: IO[bytes], key: str, out: IO[bytes], request: ParseRequest, *, size: int = 0, workers: int = 1
) -> None:
    """Records for every line of `raw` (named `key`, `size` bytes when known) onto `out`."""
    if workers > 1 and size >= PARALLEL_FROM_BYTES and raw.seekable():
        if detect_format(read_piece(decompressed(raw), 64)) == RAW:
            _check_audit_lines(raw, request)
            raw.seek(0)
            stream = decompressed(raw)
            ctx = _context(object_context(key, RAW, request.log_group), request)
            # A plain file is handed out as (offset, length) ranges that the workers read themselves, rather
            # than sent through a pipe; decompressed content is sent.
            path = None if isinstance(stream, gzip.GzipFile) else getattr(raw, "name", None)
            _write_parallel(raw, stream, path if isinstance(path, str) else None, ctx, out, request, workers)
            return
        raw.seek(0)
    for batch in read_batches(raw, key, request.log_group):
        transformer = BatchTransformer(_context(batch.ctx, request), request.options, fallback_ms=request.fallback_ms)
        block: list[bytes] = []
        for action in transformer.actions(audit_lines_only(batch.events, request.name, force=request.force)):
            block.append(parse_record(action))
            if len(block) == 2000:
                out.write(b"".join(block))
                block.clear()
        out.write(b"".join(block))
    out.flush()


def parse_record(action: Action) -> bytes:
    """`{"index":…,"id":…,"doc":…}` around the document's bytes in the bulk body: no decoding, no encoding again."""
    body = action.body
    doc = body[body.index(b"\n") + 1 : -1]
    return _RECORD_HEAD % (action.index_name.encode(), action.doc_id.encode()) + doc + b"}\n"


def _check_audit_lines(raw: IO[bytes], request: ParseRequest) -> None:
    """The check one process makes on the first lines of a batch (NotAuditLog unless most are audit lines), made
    on the file's first lines before they are handed out."""
    raw.seek(0)
    first = islice(raw_events(iter_lines(decompressed(raw))), SAMPLE)
    for _ in audit_lines_only(first, request.name, force=request.force):
        pass


def _context(ctx: Context, request: ParseRequest) -> Context:
    """--log-stream or --owner: the context as if the lines had come from that stream."""
    if request.log_stream or request.owner:
        return cloudwatch_context(request.log_group or ctx.log_group, request.log_stream, request.owner)
    return ctx


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """Whole lines, about BLOCK_BYTES at a time (a longer line makes a longer block)."""
    rest = b""
    while piece := read_piece(stream, BLOCK_BYTES):
        data = rest + piece
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        rest = data[cut:]
    if rest:
        yield rest


def _ranges(raw: IO[bytes], size: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of whole-line blocks of a plain file, found by reading only around each cut."""
    start = 0
    while start < size:
        cut = start + BLOCK_BYTES
        while cut < size:
            raw.seek(cut)
            newline = raw.read(1 << 16).find(b"\n")
            if newline >= 0:
                cut += newline + 1
                break
            cut += 1 << 16
        cut = min(cut, size)
        yield start, cut - start
        start = cut


class _BlockResult(NamedTuple):
    records: str  # a file holding the block's records, in order (written by the worker, removed by the parent)
    lengths: array[int]  # of each record, to find one whose id changes
    digests: bytes  # 16 bytes a line, in order: this process assigns the occurrences


class _Digests(Occurrences):
    """Records each line's digest and calls every line a first occurrence (the parent, which sees the whole file,
    assigns the real ones afterwards)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bytes] = []

    def next(self, digest: bytes) -> int:
        self.seen.append(digest)
        return 0


class _Worker(NamedTuple):
    ctx: Context
    request: ParseRequest
    spool: str  # where blocks of records are left for the parent
    fd: int | None  # the plain file being parsed


_worker: _Worker | None = None


def _start_worker(ctx: Context, request: ParseRequest, spool: str, path: str | None) -> None:
    global _worker
    _worker = _Worker(ctx, request, spool, None if path is None else os.open(path, os.O_RDONLY))


def _transform_block(block: bytes | tuple[int, int], last: tuple[str, str] | None) -> _BlockResult:
    """One block's records, from its lines or (a plain file, which workers read themselves rather than have it
    sent through a pipe) from where they are in the file. The records go to a file in the spool, which the parent
    copies to its output in the kernel: sending them back through a pipe copied them three more times."""
    assert _worker is not None
    data = block if isinstance(block, bytes) else _pread(_worker.fd, *block)
    digests = _Digests()
    transformer = BatchTransformer(
        _worker.ctx, _worker.request.options, fallback_ms=_worker.request.fallback_ms, occurrences=digests, last=last
    )
    records = [parse_record(a) for a in transformer.actions(raw_events(iter_lines(io.BytesIO(data))))]
    fd, path = tempfile.mkstemp(dir=_worker.spool)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(records))
    return _BlockResult(path, array("L", map(len, records)), b"".join(digests.seen))


def _pread(fd: int | None, offset: int, length: int) -> bytes:
    assert fd is not None
    pieces = []
    while length > 0 and (piece := os.pread(fd, length, offset)):
        pieces.append(piece)
        offset, length = offset + len(piece), length - len(piece)
    return b"".join(pieces)


def _last_time(block: bytes, before: tuple[str, str] | None, whole: bool = True) -> tuple[str, str] | None:
    """Timestamp and day of the last parsed line in `block` (the end of a block; all of it when `whole`), else
    `before`, or None when not `whole` (look at more). Almost always the very last line parses."""
    lines = block.split(b"\n")
    for data in reversed(lines if whole else lines[1:]):  # the first line of a partial tail may be cut
        for event in raw_events([data]):
            rec = parse_line(event.line)
            if isinstance(rec, AuditRecord):
                return rec.timestamp, rec.day
    return before if whole else None


def _range_last_time(raw: IO[bytes], block: tuple[int, int], before: tuple[str, str] | None) -> tuple[str, str] | None:
    offset, length = block
    tail = min(length, 1 << 16)
    raw.seek(offset + length - tail)
    found = _last_time(raw.read(tail), before, whole=tail == length)
    if found is None:
        raw.seek(offset)
        found = _last_time(raw.read(length), before)
    return found


def _write_parallel(
    raw: IO[bytes],
    stream: IO[bytes],
    path: str | None,
    ctx: Context,
    out: IO[bytes],
    request: ParseRequest,
    workers: int,
) -> None:
    """`path`: the plain file the workers read ranges of; None to send them the content of `stream`."""
    blocks: Iterator[bytes | tuple[int, int]]
    blocks = _blocks(stream) if path is None else _ranges(raw, os.fstat(raw.fileno()).st_size)
    occurrences = Occurrences()
    last: tuple[str, str] | None = None
    pending: deque[Future[_BlockResult]] = deque()
    # Records wait in memory where there is such a place; TemporaryDirectory makes a private (0700) directory.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
    with (
        tempfile.TemporaryDirectory(prefix="rdsaudit-parse-", dir=shm) as spool,
        ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(ctx, request, spool, path)) as pool,
    ):
        for block in blocks:
            pending.append(pool.submit(_transform_block, block, last))
            last = _last_time(block, last) if isinstance(block, bytes) else _range_last_time(raw, block, last)
            if len(pending) > 2 * workers:  # bounded read-ahead: a 10 GB file never sits in memory
                _write_block(pending.popleft().result(), occurrences, out)
        while pending:
            _write_block(pending.popleft().result(), occurrences, out)
    out.flush()


def _write_block(result: _BlockResult, occurrences: Occurrences, out: IO[bytes]) -> None:
    digests = result.digests
    repeats = []
    for i in range(0, len(digests), 16):
        occurrence = occurrences.next(digests[i : i + 16])
        if occurrence:
            repeats.append((i // 16, occurrence))
    try:
        if not repeats:
            _copy(result.records, out)
            return
        # Repeats of a line get ids that count the earlier identical lines, in this block or in earlier ones.
        with open(result.records, "rb") as f:
            data = f.read()
        ends = list(accumulate(result.lengths))
        records = [data[start:end] for start, end in zip([0, *ends], ends, strict=False)]
        for i, occurrence in repeats:
            digest = digests[16 * i : 16 * i + 16]
            first = b'"id":"%s"' % id_from_digest(digest).encode()
            records[i] = records[i].replace(first, b'"id":"%s"' % id_from_digest(digest, occurrence).encode(), 1)
        out.write(b"".join(records))
    finally:
        os.unlink(result.records)


def _copy(path: str, out: IO[bytes]) -> None:
    """The file's bytes onto `out`: by sendfile (kernel to kernel) when `out` is a file descriptor."""
    with open(path, "rb") as f:
        try:
            out_fd = out.fileno()
        except (AttributeError, OSError):  # not a real file, as in tests
            out.write(f.read())
            return
        out.flush()
        size, offset = os.fstat(f.fileno()).st_size, 0
        while offset < size:
            try:
                sent = os.sendfile(out_fd, f.fileno(), offset, size - offset)
            except OSError as e:
                if offset or e.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    raise
                out.write(f.read())  # an output sendfile cannot write to (a terminal, on some systems)
                return
            if sent == 0:
                raise OSError("sendfile wrote nothing")
            offset += sent
