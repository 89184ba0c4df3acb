"""Record → document, index name and id: the one place for each of these rules. Pure."""

from __future__ import annotations

import hashlib
import re
import time
from binascii import b2a_base64
from typing import Any

from handler.model import Context
from handler.transforms.audit_line import AuditRecord, ParseFailure, parse_line
from handler.transforms.context import context_fields
from handler.transforms.fingerprint import fingerprint, fingerprint_hash
from handler.transforms.sql_secrets import mask_raw_line, mask_sql

PARSE_FAILURE_TAG = "parse_failure"
# `sql_lower`: the statement's first characters, lowercase, a keyword for "starts with" and exact matches
# (mappings/index-template.json): a keyword of the whole statement would cost more than the rest of the document.
SQL_LOWER_CHARS = 256
# The plugin's table events, whose object is a table name (RENAME: `old|newdb.new`): kept in `table` as well, a
# short keyword that sessions aggregate "tables touched" on, since `sql` has no keyword copy (template version 2).
TABLE_OPERATIONS = frozenset(("READ", "WRITE", "CREATE", "ALTER", "DROP", "RENAME"))
_QUOTED_EXCERPT = re.compile(r"""['"].*\Z""", re.S)


def index_name(prefix: str, day: str) -> str:
    """`<prefix>-YYYY.MM.DD`, the day in UTC; `day` is already `YYYY.MM.DD`."""
    return f"{prefix}-{day}"


def day_of_epoch_ms(timestamp_ms: int) -> str:
    return time.strftime("%Y.%m.%d", time.gmtime(timestamp_ms // 1000))


def iso_of_epoch_ms(timestamp_ms: int) -> str:
    seconds, millis = divmod(timestamp_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def line_digest(line: str, secret: bool = False, rec: AuditRecord | ParseFailure | None = None) -> bytes:
    """128-bit digest of the raw line (no export prefix, no line terminator); raises on lone surrogates.

    A line that holds a credential (`secret`: its document needed masking) is not digested with it: the id is a
    fast, unkeyed hash that everyone who reads the document can recompute from the document's fields, so it would
    let anyone test password guesses offline. Such a line is identified by its fields without the statement
    (time, server, user, client, connection and query ids, operation, database, return code: one event), which
    no later change of the masker can alter; a line that does not even parse, by its masked text."""
    if secret:
        rec = parse_line(line) if rec is None else rec
        if isinstance(rec, AuditRecord):
            fields = (rec.timestamp, rec.server, rec.user, rec.client, rec.connid, rec.queryid, rec.operation, rec.db)
            line = "\x00".join(map(str, ("credential", *fields, rec.retcode, rec.connection_type)))
        else:
            line = mask_raw_line(line)
    return hashlib.blake2b(line.encode("utf-8"), digest_size=16).digest()


def holds_secret(line: str, rec: AuditRecord | ParseFailure | None = None) -> bool:
    """Does the line's document need masking? The one rule for ids, whatever RDSAUDIT_MASK_SECRETS says."""
    rec = parse_line(line) if rec is None else rec
    if isinstance(rec, AuditRecord):
        return bool(rec.obj) and mask_sql(rec.obj) != rec.obj
    return mask_raw_line(line) != line


def document_id(line: str, occurrence: int = 0) -> str:
    """Derived from the line alone, so the live forwarder and a backfill of the same line agree.

    `occurrence` counts earlier byte-identical lines in the same batch, so true repeats are kept apart.
    """
    return id_from_digest(line_digest(line, holds_secret(line)), occurrence)


def id_from_digest(digest: bytes, occurrence: int = 0) -> str:
    """URL-safe base64 of the digest, unpadded: 22 characters for 16 bytes (what urlsafe_b64encode and rstrip
    would give, without their Python-level calls)."""
    if occurrence:
        digest = hashlib.blake2b(digest + b"\x00%d" % occurrence, digest_size=16).digest()
    return b2a_base64(digest, newline=False).rstrip(b"=").translate(_URLSAFE).decode("ascii")


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def audit_document(rec: AuditRecord, ctx: Context, *, mask: bool = True) -> dict[str, Any]:
    """Empty audit fields are left out rather than indexed as empty strings.

    The key order is part of the output (documents are compared byte for byte): one literal in that order, the
    usually empty fields deleted after it, which is less work per line than testing each field on the way in.
    """
    timestamp, _, _, server, user, client, connid, queryid, operation, db, sql, retcode, ctype = rec
    doc: dict[str, Any] = {
        "@timestamp": timestamp,
        "server": server,
        "user": user,
        "client": client,
        "connid": connid,
        "queryid": queryid,
        "operation": operation,
        "db": db,
        "sql": sql,
        "retcode": retcode,
        "connection_type": ctype,
    }
    if not (server and user and client and operation and db):
        for name in ("server", "user", "client", "operation", "db"):
            if not doc[name]:
                del doc[name]
    if rec.obj:
        masked = mask_sql(rec.obj)
        stored = doc["sql"] = masked if mask else rec.obj
        doc["sql_lower"] = stored[:SQL_LOWER_CHARS].lower()
        if operation in TABLE_OPERATIONS:
            doc["table"] = stored
        if operation.startswith("QUERY"):  # QUERY, and MariaDB's QUERY_DDL, QUERY_DML, QUERY_DCL, …
            # of the masked statement even when masking is off: a fingerprint is never a place for a credential
            fp = doc["sql_fingerprint"] = fingerprint(masked)
            doc["sql_fingerprint_hash"] = fingerprint_hash(fp)
    else:
        del doc["sql"]
    if retcode is None:
        del doc["retcode"]
    if not ctype:
        del doc["connection_type"]
    doc.update(context_fields(ctx))
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
    doc.update(context_fields(ctx))
    return doc
