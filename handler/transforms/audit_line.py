"""One audit line → an AuditRecord, or a ParseFailure with the reason. Pure: no I/O, no environment.

Three dialects share fields 1-8 (timestamp, serverhost, username, host, connectionid, queryid, operation,
database); the ninth, the object, is single-quoted SQL for QUERY events, with the plugin's backslash escapes.
The dialect is decided per line: a 16-digit epoch-microsecond timestamp is Aurora; `YYYYMMDD HH:MM:SS` is the
RDS MySQL fork when a connection-type field follows the return code, MariaDB otherwise.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

AURORA = "aurora"
RDS_MYSQL = "rds_mysql"
MARIADB = "mariadb"

# The fork of the plugin writes these escapes; any other backslash pair is kept as written.
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", "\\": "\\"}
_ESCAPE_PAIR = re.compile(r"\\(.)", re.S)
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


_SENTINEL = "\ue000"  # a private-use character stands in for escaped backslashes while the others are replaced


def unescape(text: str) -> str:
    """A backslash takes the next character; the plugin's escapes become their characters, others stay as written.

    Chained str.replace runs in C and pairs backslashes left to right exactly as a scan would: `\\\\` is replaced
    first, so what remains after a backslash is always the escaped character.
    """
    if "\\" not in text:
        return text
    if _SENTINEL in text:
        return _ESCAPE_PAIR.sub(_unescape_pair, text)
    return (
        text.replace("\\\\", _SENTINEL)
        .replace("\\'", "'")
        .replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\t", "\t")
        .replace("\\b", "\b")
        .replace("\\f", "\f")
        .replace(_SENTINEL, "\\")
    )


def _unescape_pair(m: re.Match[str]) -> str:
    return _UNESCAPES.get(m.group(1), m.group(0))


@lru_cache(maxsize=8192)
def _epoch_second(seconds: int) -> tuple[str, str]:
    t = time.gmtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t), time.strftime("%Y.%m.%d", t)


@lru_cache(maxsize=8192)
def _rds_second(text: str) -> tuple[str, str] | None:
    try:
        dt = datetime.strptime(text, "%Y%m%d %H:%M:%S")
    except ValueError:
        return None
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
    code = rest[end + 2 :].split(",", 1)[0]
    return not code or code.isdigit() or (code[0] == "-" and code[1:].isdigit())


def parse_line(line: str) -> AuditRecord | ParseFailure:
    """Parse one audit line (no export prefix, no line terminator). Never raises."""
    parts = line.split(",", 8)
    if len(parts) < 9:
        return ParseFailure(f"expected at least 10 comma-separated fields, found {len(parts)}")
    ts_raw, server, user, client, connid_raw, queryid_raw, operation, db, rest = parts

    if len(ts_raw) == 16 and ts_raw.isascii() and ts_raw.isdigit():
        seconds, micros = divmod(int(ts_raw), 1_000_000)
        if seconds >= _MAX_EPOCH_SECONDS:
            return ParseFailure("timestamp out of range")
        second, day = _epoch_second(seconds)
        timestamp = f"{second}.{micros:06d}Z"
        dialect = AURORA
    elif len(ts_raw) == 17 and _RDS_TIME.fullmatch(ts_raw):
        parsed = _rds_second(ts_raw)
        if parsed is None:
            return ParseFailure(f"invalid timestamp {ts_raw!r}")
        second, day = parsed
        timestamp = second + "Z"
        dialect = MARIADB  # refined below once the tail is known
    else:
        return ParseFailure(f"unrecognised timestamp {ts_raw[:40]!r}")

    connid = _to_int(connid_raw)
    if connid is None:
        return ParseFailure(f"connection id is not an integer: {connid_raw[:40]!r}")
    queryid = _to_int(queryid_raw)
    if queryid is None:
        return ParseFailure(f"query id is not an integer: {queryid_raw[:40]!r}")

    if rest.startswith("'"):
        # The tail after the object holds no quotes, so the last quote is the closing one when it is not escaped
        # and a return code (or nothing) follows: found in C, checked here; otherwise scan escape by escape.
        end = rest.rfind("'")
        if end > 0 and _closes(rest, end):
            obj = unescape(rest[1:end])
            tail = rest[end + 2 :] if end + 1 < len(rest) else None
        elif (m := _QUOTED.match(rest)) is not None and (m.end() == len(rest) or rest[m.end()] == ","):
            obj = unescape(m.group(1))
            tail = rest[m.end() + 1 :] if m.end() < len(rest) else None
        else:
            # The plugin cuts long SQL at a byte limit and then closes the quote; a cut right after a backslash
            # makes that quote look escaped. The tail never holds a quote, so the last one closes the object.
            end = rest.rfind("'")
            if end <= 0 or (end + 1 < len(rest) and rest[end + 1] != ","):
                return ParseFailure("unterminated quoted object")
            obj = unescape(rest[1:end])
            tail = rest[end + 2 :] if end + 1 < len(rest) else None
    else:
        obj, sep, tail_text = rest.partition(",")
        tail = tail_text if sep else None
    if tail is None:
        return ParseFailure("missing return code field")

    fields = tail.split(",")
    retcode_raw = fields[0]
    if retcode_raw:
        retcode = _to_int(retcode_raw)
        if retcode is None or not -(2**31) <= retcode < 2**31:
            return ParseFailure(f"return code is not an integer: {retcode_raw[:40]!r}")
    else:
        retcode = None

    connection_type = ""
    if dialect != AURORA and len(fields) >= 2:
        dialect = RDS_MYSQL
        connection_type = fields[1]

    return AuditRecord(
        timestamp=timestamp,
        day=day,
        dialect=dialect,
        server=server,
        user=user,
        client=client,
        connid=connid,
        queryid=queryid,
        operation=operation,
        db=db,
        obj=obj,
        retcode=retcode,
        connection_type=connection_type,
    )
