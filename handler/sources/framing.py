"""Bytes → lines → raw events: the only line reader, used by `rdsaudit parse`, backfill and the exporter's
indexing, so they accept the same inputs and yield the same events. Streaming; the format is decided per object
from its content:

1. raw audit files (plain or gzip, multi-member gzip included), e.g. `RDS/<instance>/audit/<YYYY-MM-DD>/…`;
   Firehose objects with plain message lines have the same shape;
2. CloudWatch Logs export objects: `<ISO time> <message>` lines, with continuation lines for messages that held
   newlines; `<prefix>/<taskId>/<stream>/000000.gz`;
3. Firehose objects: back-to-back gzip members of concatenated subscription payloads `{…}{…}`.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

from handler.errors import DecodeError
from handler.model import Context, RawEvent
from handler.sources.cloudwatch import CONTROL_MESSAGE, parse_payload
from handler.transforms.audit_line import decode_line, split_export_prefix
from handler.transforms.context import cloudwatch_context

RAW = "raw"
EXPORT = "export"
FIREHOSE = "firehose"

TRUNCATION_MARKER = " [Your log message was truncated]"  # kept in the line: see raw_events
WRITE_TEST_OBJECT = "aws-logs-write-test"
_READ = 1 << 20
_BLANK = " \t\r"
_GZIP_MAGIC = b"\x1f\x8b"
_EXPORT_LINE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
_DUMP_LAYOUT = re.compile(r"(?:^|/)RDS/([^/]+)/audit/")
_EXPORT_LAYOUT = re.compile(r"(?:^|/)([^/]+)/([^/]+)/\d{6}(?:\.gz)?$")


@dataclass
class Batch:
    """Events that share a context and an id scope: a whole raw or export object, or one Firehose payload."""

    ctx: Context
    events: Iterator[RawEvent]
    name: str  # distinguishes the batches of one object (dead-letter names)


class PeekedStream:
    """A byte stream whose first bytes were read to detect the format, readable again from the start."""

    def __init__(self, raw: IO[bytes], head: bytes) -> None:
        self._raw = raw
        self._head = head

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            if len(data) < n:
                data += self._raw.read(n - len(data))
            return data
        return self._raw.read(n)


def decompressed(raw: IO[bytes]) -> IO[bytes]:
    """Gunzip when the content starts with the gzip magic bytes (every member read), else pass through."""
    head = raw.read(2)
    stream = PeekedStream(raw, head)
    if head == _GZIP_MAGIC:
        return cast(IO[bytes], gzip.GzipFile(fileobj=cast(Any, stream), mode="rb"))
    return cast(IO[bytes], stream)


def read_piece(stream: IO[bytes], n: int = _READ) -> bytes:
    """At most `n` bytes; a corrupt or cut compressed stream is a DecodeError with the reason."""
    try:
        return stream.read(n)
    except (OSError, EOFError, zlib.error) as e:
        raise DecodeError(f"unreadable content: {e}") from None


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines without their terminator, read in bounded pieces (a huge object never sits in memory)."""
    rest = b""
    while True:
        block = read_piece(stream)
        if not block:
            break
        block = rest + block
        lines = block.split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def detect_format(first_bytes: bytes) -> str:
    stripped = first_bytes.lstrip()
    if stripped.startswith(b"{"):
        return FIREHOSE
    if _EXPORT_LINE.match(stripped):
        return EXPORT
    return RAW


def object_context(key: str, fmt: str, log_group: str | None = None) -> Context:
    if fmt == EXPORT:
        m = _EXPORT_LAYOUT.search(key)
        stream = m.group(2) if m else None
        ctx = cloudwatch_context(log_group, stream, None)
        if ctx.instance is None and stream:
            # Without the group, the stream still names the instance: `<instance>.audit.log…` or `<instance>`.
            ctx = Context(log_group=log_group, log_stream=stream, instance=stream.split(".", 1)[0])
        return ctx
    m = _DUMP_LAYOUT.search(key)
    if log_group:
        return cloudwatch_context(log_group, m.group(1) if m else None, None)
    return Context(instance=m.group(1) if m else None)


def read_batches(raw: IO[bytes], key: str, log_group: str | None = None) -> Iterator[Batch]:
    """The batches of one object. Raises DecodeError when its content cannot be read."""
    try:
        stream = decompressed(raw)
        head = stream.read(64)
    except (OSError, EOFError, zlib.error) as e:
        raise DecodeError(f"unreadable content: {e}") from None
    fmt = detect_format(head)
    stream = cast(IO[bytes], PeekedStream(stream, head))
    if fmt == FIREHOSE:
        yield from _firehose_batches(stream)
        return
    ctx = object_context(key, fmt, log_group)
    events = _export_events(iter_lines(stream)) if fmt == EXPORT else raw_events(iter_lines(stream))
    yield Batch(ctx, events, "all")


def is_skipped_object(key: str) -> bool:
    return key.rsplit("/", 1)[-1] == WRITE_TEST_OBJECT


def is_blank(line: str) -> bool:
    """Empty, or only spaces, tabs and CR. (str.strip would also take control characters such as \\x1d, which
    are content: such a line is indexed and flagged, not dropped.)"""
    return not line.strip(_BLANK)


def raw_events(lines: Iterable[bytes]) -> Iterator[RawEvent]:
    """Lines of a raw audit file; blank lines skipped.

    A line may carry CloudWatch's `YYYY-MM-DDTHH:MM:SS.mmmZ ` prefix on its own (copied from the console or from
    `aws logs filter-log-events` output into a raw file): no audit line starts with an ISO-8601 time, so the
    prefix is stripped wherever it is, and its time kept as the line's event time. Unlike an export object there
    are no continuation lines here: each line is one record.
    """
    for data in lines:
        # A download page over 1 MB ends in TRUNCATION_MARKER, and the rest of its last line is gone. The line is
        # kept as it is, marker included: it cannot parse, so it is indexed flagged and says itself what happened,
        # instead of passing for a complete line.
        line, timestamp_ms = split_export_prefix(decode_line(data).rstrip("\r"))
        if not is_blank(line):  # as in an export object, a prefix with an empty message is no event
            yield RawEvent(line, timestamp_ms)


def _export_events(lines: Iterator[bytes]) -> Iterator[RawEvent]:
    pending: RawEvent | None = None
    for data in lines:
        line = decode_line(data).rstrip("\r")
        message, timestamp_ms = split_export_prefix(line)
        if timestamp_ms is None:
            if pending is not None:
                # a message that held newlines continues on lines without the time prefix
                pending = RawEvent(pending.line + "\n" + line, pending.timestamp_ms)
            elif not is_blank(line):
                pending = RawEvent(line, None)
            continue
        if pending is not None and not is_blank(pending.line):
            yield pending
        pending = RawEvent(message, timestamp_ms)
    if pending is not None and not is_blank(pending.line):
        yield pending


def _firehose_batches(stream: IO[bytes]) -> Iterator[Batch]:
    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8")("replace")  # a block may end inside a character
    buffer = ""
    n = 0
    eof = False
    while True:
        buffer = buffer.lstrip()
        if not buffer:
            if eof:
                return
            block = read_piece(stream)
            if not block:
                return
            buffer = text.decode(block)
            continue
        try:
            payload, end = decoder.raw_decode(buffer)
        except json.JSONDecodeError:
            if eof:
                raise DecodeError(f"Firehose object: payload {n} is not valid JSON") from None
            block = read_piece(stream)
            if not block:
                eof = True
                buffer += text.decode(b"", final=True)
            else:
                buffer += text.decode(block)
            continue
        buffer = buffer[end:]
        parsed = parse_payload(payload, f"firehose-{n}")
        n += 1
        if parsed.message_type == CONTROL_MESSAGE:
            continue
        ctx = cloudwatch_context(parsed.log_group, parsed.log_stream, parsed.owner)
        yield Batch(ctx, iter(parsed.events), f"payload-{n - 1}")
