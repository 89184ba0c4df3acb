"""Record → document, index name and id: the one place for each of these rules. Pure."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any

from handler.model import Context
from handler.transforms.audit_line import AuditRecord
from handler.transforms.sql_secrets import mask_raw_line, mask_sql

PARSE_FAILURE_TAG = "parse_failure"
_QUOTED_EXCERPT = re.compile(r"""['"].*\Z""", re.S)


def index_name(prefix: str, day: str) -> str:
    """`<prefix>-YYYY.MM.DD`, the day in UTC; `day` is already `YYYY.MM.DD`."""
    return f"{prefix}-{day}"


def day_of_epoch_ms(timestamp_ms: int) -> str:
    return time.strftime("%Y.%m.%d", time.gmtime(timestamp_ms // 1000))


def iso_of_epoch_ms(timestamp_ms: int) -> str:
    seconds, millis = divmod(timestamp_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def line_digest(line: str) -> bytes:
    """128-bit digest of the raw line (no export prefix, no line terminator); raises on lone surrogates."""
    return hashlib.blake2b(line.encode("utf-8"), digest_size=16).digest()


def document_id(line: str, occurrence: int = 0) -> str:
    """Derived from the raw line alone, so the live forwarder and a backfill of the same line agree.

    `occurrence` counts earlier byte-identical lines in the same batch, so true repeats are kept apart.
    """
    return id_from_digest(line_digest(line), occurrence)


def id_from_digest(digest: bytes, occurrence: int = 0) -> str:
    if occurrence:
        digest = hashlib.blake2b(digest + b"\x00%d" % occurrence, digest_size=16).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _add_context(doc: dict[str, Any], ctx: Context) -> None:
    if ctx.log_group:
        doc["log_group"] = ctx.log_group
    if ctx.log_stream:
        doc["log_stream"] = ctx.log_stream
    if ctx.owner:
        doc["owner"] = ctx.owner
    if ctx.cluster:
        doc["cluster"] = ctx.cluster
    if ctx.instance:
        doc["instance"] = ctx.instance


def audit_document(rec: AuditRecord, ctx: Context, *, mask: bool = True) -> dict[str, Any]:
    """Empty audit fields are left out rather than indexed as empty strings."""
    doc: dict[str, Any] = {"@timestamp": rec.timestamp}
    if rec.server:
        doc["server"] = rec.server
    if rec.user:
        doc["user"] = rec.user
    if rec.client:
        doc["client"] = rec.client
    doc["connid"] = rec.connid
    doc["queryid"] = rec.queryid
    if rec.operation:
        doc["operation"] = rec.operation
    if rec.db:
        doc["db"] = rec.db
    if rec.obj:
        doc["sql"] = mask_sql(rec.obj) if mask else rec.obj
    if rec.retcode is not None:
        doc["retcode"] = rec.retcode
    if rec.connection_type:
        doc["connection_type"] = rec.connection_type
    _add_context(doc, ctx)
    return doc


def failure_document(line: str, reason: str, timestamp: str, ctx: Context, *, mask: bool = True) -> dict[str, Any]:
    """An unparseable line is still indexed: the raw text, flagged, at the source's time for it."""
    message = mask_raw_line(line) if mask else line
    if message != line:
        # The reason quotes a field of the line ('return code is not an integer: …'), and on a line cut inside a
        # credential that field can be part of it.
        reason = _QUOTED_EXCERPT.sub("'***'", reason, count=1)
    doc: dict[str, Any] = {
        "@timestamp": timestamp,
        "message": message,
        "tags": [PARSE_FAILURE_TAG],
        "parse_error": reason,
    }
    _add_context(doc, ctx)
    return doc
