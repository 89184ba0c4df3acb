"""One audit line → an AuditRecord, or a ParseFailure with the reason. Pure: no I/O, no environment.

Three dialects share fields 1-8 (timestamp, serverhost, username, host, connectionid, queryid, operation,
database); the ninth, the object, is single-quoted SQL for QUERY events, with the plugin's backslash escapes.
The dialect is decided per line: a 16-digit epoch-microsecond timestamp is Aurora; `YYYYMMDD HH:MM:SS` is the
RDS MySQL fork when a connection-type field follows the return code, MariaDB otherwise.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from handler.transforms.anchors import CONNECTION_TYPES, KNOWN_OPS, QUERY, readings
from handler.transforms.unescape import unescape

AURORA = "aurora"
RDS_MYSQL = "rds_mysql"
MARIADB = "mariadb"

# A quoted object up to its closing quote, escapes skipped (the "unrolled loop" form: no per-character alternation).
_QUOTED = re.compile(r"'([^'\\]*(?:\\.[^'\\]*)*)'", re.S)
_EXPORT_PREFIX = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z ", re.ASCII)
_RDS_TIME = re.compile(r"\d{8} \d\d:\d\d:\d\d", re.ASCII)
_INT = re.compile(r"-?\d+", re.ASCII)

# date_nanos stores nanoseconds since the epoch in a long: nothing at or past 2262-04-11 fits.
_MAX_EPOCH_SECONDS = 9_214_646_400  # 2262-01-01


class AuditRecord(NamedTuple):
    timestamp: str  # ISO 8601, UTC, microseconds kept where the line has them
    day: str  # YYYY.MM.DD of the timestamp, for the daily index
    dialect: str
    server: str
    user: str
    client: str
    connid: int
    queryid: int
    operation: str
    db: str
    obj: str  # unescaped: SQL for QUERY events, a table for TABLE events
    retcode: int | None
    connection_type: str


class ParseFailure(NamedTuple):
    reason: str


def decode_line(data: bytes) -> str:
    """Bytes of one line → text; a cut inside a multi-byte character becomes U+FFFD, never an error."""
    return data.decode("utf-8", "replace")


def split_export_prefix(line: str) -> tuple[str, int | None]:
    """Strip the `YYYY-MM-DDTHH:MM:SS.mmmZ ` prefix of CloudWatch export lines; return it as epoch ms."""
    if len(line) < 25 or line[10] != "T" or line[23] != "Z":
        return line, None
    m = _EXPORT_PREFIX.match(line)
    if m is None:
        return line, None
    y, mo, d, h, mi, s, ms = (int(g) for g in m.groups())
    try:
        seconds = (datetime(y, mo, d, h, mi, s) - _EPOCH).total_seconds()
    except ValueError:
        return line, None
    return line[25:], int(seconds) * 1000 + ms


_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=8192)
def _aurora_second(text: str) -> tuple[str, str] | ParseFailure:
    """`YYYY-MM-DDTHH:MM:SS` and `YYYY.MM.DD` of the first ten digits of an Aurora timestamp, once per second."""
    seconds = int(text)
    if seconds >= _MAX_EPOCH_SECONDS:
        return ParseFailure("timestamp out of range")
    t = time.gmtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t), time.strftime("%Y.%m.%d", t)


@lru_cache(maxsize=8192)
def _rds_second(text: str) -> tuple[str, str] | ParseFailure:
    """The same for a 17-character `YYYYMMDD HH:MM:SS`, shape check included: a second's lines share one call."""
    if _RDS_TIME.fullmatch(text) is None:
        return ParseFailure(f"unrecognised timestamp {text!r}")
    try:
        dt = datetime.strptime(text, "%Y%m%d %H:%M:%S")
    except ValueError:
        return ParseFailure(f"invalid timestamp {text!r}")
    return dt.strftime("%Y-%m-%dT%H:%M:%S"), dt.strftime("%Y.%m.%d")


def _to_int(text: str) -> int | None:
    """A decimal that fits OpenSearch's `long`, else None."""
    # isdigit() alone accepts "¹" and other digits int() refuses; ASCII only.
    if not ((text.isascii() and text.isdigit()) or _INT.fullmatch(text)) or len(text) > 20:
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _closes(rest: str, end: int) -> bool:
    """Is the quote at `end` an unescaped closing quote followed by `,<retcode>`?"""
    if end + 1 >= len(rest) or rest[end + 1] != ",":
        return False
    backslashes = 0
    i = end - 1
    while i > 0 and rest[i] == "\\":
        backslashes += 1
        i -= 1
    if backslashes % 2:
        return False
    return _is_code(rest[end + 2 :].split(",", 1)[0])


def _is_code(code: str) -> bool:
    return not code or code.isdigit() or (code[0] == "-" and code[1:].isdigit())


def _quoted_object(rest: str) -> tuple[str, str | None] | None:
    """The object and what follows it, for a quoted object: (unescaped object, tail or None), None if unterminated."""
    # The tail after the object holds no quotes, so the last quote is the closing one when it is not escaped
    # and a return code (or nothing) follows: found in C, checked here; otherwise scan escape by escape.
    end = rest.rfind("'")
    if end > 0 and _closes(rest, end):
        return unescape(rest[1:end]), (rest[end + 2 :] if end + 1 < len(rest) else None)
    m = _QUOTED.match(rest)
    if m is not None and (m.end() == len(rest) or rest[m.end()] == ","):
        return unescape(m.group(1)), (rest[m.end() + 1 :] if m.end() < len(rest) else None)
    # The plugin cuts long SQL at a byte limit and then closes the quote; a cut right after a backslash
    # makes that quote look escaped. The tail never holds a quote, so the last one closes the object — but only
    # if what follows reads as the plugin's tail: a line cut inside the object itself (no closing quote at all)
    # would otherwise lend the rest of a statement, a password perhaps, to the return code or connection type.
    if end <= 0 or (end + 1 < len(rest) and rest[end + 1] != ","):
        return None
    tail = rest[end + 2 :] if end + 1 < len(rest) else None
    if tail is not None and not _plugin_tail(tail):
        return None
    return unescape(rest[1:end]), tail


# What RDS for MySQL writes after the return code (the documented CONNECTION_TYPE values), or nothing.
_CONNECTION_TYPES = frozenset(("", "UNDEFINED", "TCP/IP", "SOCKET", "NAMED_PIPE", "SSL", "SHARED_MEMORY"))


def _plugin_tail(tail: str) -> bool:
    code, *rest = tail.split(",")
    return _is_code(code) and all(field in _CONNECTION_TYPES for field in rest)


def _timestamp(ts_raw: str) -> tuple[str, str, str] | ParseFailure:
    """ISO timestamp, day and dialect (MariaDB's until the tail says RDS MySQL) of the first field."""
    if len(ts_raw) == 16 and ts_raw.isdigit() and ts_raw.isascii():
        second_day = _aurora_second(ts_raw[:10])
        if isinstance(second_day, ParseFailure):
            return second_day
        return second_day[0] + "." + ts_raw[10:] + "Z", second_day[1], AURORA  # the last 6 digits: microseconds
    if len(ts_raw) == 17:
        second_day = _rds_second(ts_raw)
        if isinstance(second_day, ParseFailure):
            return second_day
        return second_day[0] + "Z", second_day[1], MARIADB
    return ParseFailure(f"unrecognised timestamp {ts_raw[:40]!r}")


# A NamedTuple's generated __new__ is Python code; tuple.__new__ builds the same record in C (per line, it counts).
_record = tuple.__new__

_scan: Callable[[str], tuple[Any, ...] | None] | None
try:  # the optional compiled scanner (handler/transforms/_scan.c): python -m handler.transforms.accelerator
    from handler.transforms._scan import scan as _scan
except ImportError:
    _scan = None


def parse_line(line: str) -> AuditRecord | ParseFailure:
    """Parse one audit line (no export prefix, no line terminator). Never raises.

    With the compiled scanner built, a line of the common shape is split and unescaped in C and only its time
    and dialect are decided here; it declines every other line, which `parse_line_python` parses.
    """
    if _scan is None or (scanned := _scan(line)) is None:
        return parse_line_python(line)
    ts_raw, server, user, client, connid, queryid, operation, db, obj, retcode, ctype = scanned
    if operation not in KNOWN_OPS or (ctype and ctype not in CONNECTION_TYPES):
        return parse_line_python(line)  # perhaps a comma in a name: the anchors decide
    when = _timestamp(ts_raw)
    if isinstance(when, ParseFailure):
        return when
    timestamp, day, dialect = when
    if ctype is None or dialect == AURORA:
        ctype = ""
    else:
        dialect = RDS_MYSQL
    fields = (timestamp, day, dialect, server, user, client, connid, queryid, operation, db, obj, retcode, ctype)
    return _record(AuditRecord, fields)


def parse_line_python(line: str, strict: bool = True) -> AuditRecord | ParseFailure:
    """The parser, and the reference the compiled scanner is tested against.

    Written for speed (it runs once per line): the common shapes are decided inline with C-level string methods,
    and the rare ones go to the helpers above; the table and property tests pin the behaviour. A line whose split
    the anchors must check (a comma in a name shifts fields) goes to `_anchored`; `strict=False` is the split
    without those checks, what a line with no anchored reading is read as.
    """
    parts = line.split(",", 8)
    if len(parts) < 9:
        return ParseFailure(f"expected at least 10 comma-separated fields, found {len(parts)}")
    ts_raw, server, user, client, connid_raw, queryid_raw, operation, db, rest = parts
    when = _timestamp(ts_raw)
    if isinstance(when, ParseFailure):
        return when
    timestamp, day, dialect = when

    # Fewer than 19 ASCII digits always fit a long; anything else takes the careful path.
    if connid_raw.isdigit() and connid_raw.isascii() and len(connid_raw) < 19:
        connid: int | None = int(connid_raw)
    else:
        connid = _to_int(connid_raw)
        if connid is None:
            return _anchored(line, when, ParseFailure(f"connection id is not an integer: {connid_raw[:40]!r}"))
    if queryid_raw.isdigit() and queryid_raw.isascii() and len(queryid_raw) < 19:
        queryid: int | None = int(queryid_raw)
    else:
        queryid = _to_int(queryid_raw)
        if queryid is None:
            return _anchored(line, when, ParseFailure(f"query id is not an integer: {queryid_raw[:40]!r}"))

    fields: list[str] | None = None
    if rest[:1] == "'":
        # Nearly always the last quote closes the object: not escaped, and `,<return code>` follows it.
        end = rest.rfind("'")
        if end > 0 and rest[end - 1] != "\\" and rest[end + 1 : end + 2] == ",":
            fields = rest[end + 2 :].split(",")
            if _is_code(fields[0]):
                obj = unescape(rest[1:end])
            else:
                fields = None
        if fields is None:
            found = _quoted_object(rest)
            if found is None:
                return _anchored(line, when, ParseFailure("unterminated quoted object"))
            obj, tail = found
            if tail is None:
                return _anchored(line, when, ParseFailure("missing return code field"))
            fields = tail.split(",")
    else:
        obj, sep, tail_text = rest.partition(",")
        if not sep:
            return _anchored(line, when, ParseFailure("missing return code field"))
        fields = tail_text.split(",")
        if operation == QUERY and strict:  # a QUERY's object is quoted: a comma in the database name moved it
            return _anchored(line, when, None)

    retcode_raw = fields[0]
    if not retcode_raw:
        retcode = None
    elif retcode_raw.isdigit() and retcode_raw.isascii() and len(retcode_raw) < 10:
        retcode = int(retcode_raw)
    else:
        retcode = _to_int(retcode_raw)
        if retcode is None or not -(2**31) <= retcode < 2**31:
            return _anchored(line, when, ParseFailure(f"return code is not an integer: {retcode_raw[:40]!r}"))

    connection_type = ""
    n_fields = len(fields)
    if n_fields > 1:
        # The plugin's tails are `code`, `code,TYPE` and `code,,`; anything else (`n,1,` → "retcode 1") is what a
        # comma in a name makes of a line, and so is an operation that is no keyword.
        if strict and not (
            (fields[1] in CONNECTION_TYPES) if n_fields == 2 else (n_fields == 3 and not fields[1] and not fields[2])
        ):
            return _anchored(line, when, None)
        if dialect != AURORA:
            dialect = RDS_MYSQL
            connection_type = fields[1]
    if operation not in KNOWN_OPS and strict:
        return _anchored(line, when, None)

    return _record(
        AuditRecord,
        (timestamp, day, dialect, server, user, client, connid, queryid, operation, db, obj, retcode, connection_type),
    )


def _anchored(line: str, when: tuple[str, str, str], otherwise: ParseFailure | None) -> AuditRecord | ParseFailure:
    """A line the split on the first commas cannot vouch for, read from its anchors (handler/transforms/anchors.py):
    its one reading; a parse failure when it has several; when it has none, `otherwise` (None: the reading of the
    split, without the anchors' checks, as before them)."""
    found = readings(line.split(",", 2)[2])
    if len(found) > 1:
        return ParseFailure(
            f"ambiguous: {len(found)} readings (a comma in a user, database or table name; kept raw, not guessed)"
        )
    if not found:
        return otherwise if otherwise is not None else parse_line_python(line, strict=False)
    r = found[0]
    timestamp, day, dialect = when
    code = r.tail[0]
    connection_type = ""
    if dialect != AURORA and len(r.tail) > 1:
        dialect, connection_type = RDS_MYSQL, r.tail[1]
    obj = unescape(r.obj_raw) if r.operation == QUERY else r.obj_raw
    fields = (timestamp, day, dialect, line.split(",", 2)[1], r.user, r.client, r.connid, r.queryid, r.operation)
    return _record(AuditRecord, (*fields, r.db, obj, int(code) if code else None, connection_type))
