"""Readings of an audit line whose names hold commas, found from the fields that cannot (the anchors).

The MariaDB audit plugin (and the forks RDS and Aurora run) writes user, database and table names raw: a comma in
one adds fields, and splitting on the first eight commas then reads every later field wrong (observed with
MariaDB 10.11's server_audit: docs/mariadb-server-audit.md). What cannot move: the timestamp and the server host
(no commas), the host (never holds a comma: an IP or a DNS name), the two integer ids after it, the operation (a
known keyword), a QUERY's quoted object, the return code. Every place where `,host,int,int,OPERATION,` fits is a
candidate; each is kept only when the rest of the line reads as that operation's tail. One reading: the line's
fields. Several: the line is ambiguous (kept raw and flagged, never guessed). None: not a comma problem.

Only lines the fast path finds suspect come here (audit_line.parse_line_python), so the common path pays nothing.
"""

from __future__ import annotations

import re
from typing import NamedTuple

CONNECTION_OPS = ("CONNECT", "DISCONNECT", "FAILED_CONNECT", "CHANGEUSER", "PROXY_CONNECT")
TABLE_OPS = ("READ", "WRITE", "CREATE", "ALTER", "DROP", "RENAME")
QUERY = "QUERY"
KNOWN_OPS = frozenset((QUERY, *CONNECTION_OPS, *TABLE_OPS))
# RDS for MySQL's connection types (the documented values); "" is the QUERY tail's `,retcode,,`.
CONNECTION_TYPES = frozenset(("UNDEFINED", "TCP/IP", "SOCKET", "NAMED_PIPE", "SSL", "SHARED_MEMORY"))

# At every comma: the host (no comma), the two ids, a known operation, then a comma.
_ANCHOR = re.compile(
    r"(?=,([^,]*),([0-9]{1,19}),([0-9]{1,19}),(" + "|".join(sorted(KNOWN_OPS, key=len, reverse=True)) + "),)"
)
_LONG = 2**63
_QUOTED = re.compile(r"'[^'\\]*(?:\\.[^'\\]*)*'", re.S)


class Reading(NamedTuple):
    user: str
    client: str
    connid: int
    queryid: int
    operation: str
    db: str
    obj_raw: str  # as written: still escaped for a QUERY
    tail: list[str]  # return code, then connection type (RDS for MySQL) when there is one


def valid_tail(tail: list[str]) -> bool:
    """The plugin's tails: `code`, `code,TYPE` (RDS for MySQL connection events), `code,,` (its QUERY events)."""
    code = tail[0]
    if code and not (code.isdigit() and code.isascii() and len(code) < 10):
        return False
    if len(tail) == 1:
        return True
    if len(tail) == 2:
        return tail[1] in CONNECTION_TYPES
    return len(tail) == 3 and tail[1] == "" and tail[2] == ""


def _rest_readings(operation: str, rest: str) -> list[tuple[str, str, list[str]]]:
    """(db, raw object, tail) for every way `rest` (what follows the operation's comma) reads as its tail."""
    found: list[tuple[str, str, list[str]]] = []
    if operation == QUERY:
        at = rest.find(",'")  # a database name holds no quote
        if at < 0:
            return found
        m = _QUOTED.match(rest, at + 1)
        if m is None or m.end() >= len(rest) or rest[m.end()] != ",":
            return found
        tail = rest[m.end() + 1 :].split(",")
        if valid_tail(tail):
            found.append((rest[:at], m.group()[1:-1], tail))
        return found
    if operation in TABLE_OPS:  # `db,table,code`: the pair splits at any of its commas
        pair, sep, code = rest.rpartition(",")
        if sep and "'" not in pair and valid_tail([code]):
            found.extend((pair[:i], pair[i + 1 :], [code]) for i, c in enumerate(pair) if c == ",")
        return found
    # connection events: `db,object,code[,TYPE]`, the object (empty, a TLS version) without a comma
    for n_tail in (1, 2):
        parts = rest.rsplit(",", n_tail + 1)
        if len(parts) == n_tail + 2 and valid_tail(parts[2:]) and (n_tail == 1 or parts[3]):
            found.append((parts[0], parts[1], parts[2:]))
    return found


def readings(body: str) -> list[Reading]:
    """Every reading of `body`: the line after `timestamp,server,` (user first)."""
    out: list[Reading] = []
    text = "," + body  # so the user, like every other field, starts after a comma
    for m in _ANCHOR.finditer(text):
        client, connid, queryid, operation = m.groups()
        if m.start() == 0:  # the anchor's host is the first field: there is no user field at all
            continue
        user = text[1 : m.start()]
        ids = int(connid), int(queryid)
        if max(ids) >= _LONG:  # the ids are OpenSearch longs
            continue
        rest = text[m.end() + len(client) + len(connid) + len(queryid) + len(operation) + 5 :]
        out.extend(
            Reading(user, client, *ids, operation, db, obj, tail) for db, obj, tail in _rest_readings(operation, rest)
        )
    return out
