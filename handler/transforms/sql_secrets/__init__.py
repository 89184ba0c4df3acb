"""Credentials masked out of SQL: in a statement (`mask_sql`) and in any other text (`mask_raw_line`). Pure.

Each literal in a credential position (see `positions`, and `postgresql` for `dialect="postgresql"`) becomes
`'***'`; every other character is kept as it was. Both functions are idempotent. Text with a backslash is read
twice, with backslash escapes and as under NO_BACKSLASH_ESCAPES (PostgreSQL: standard_conforming_strings on and
off), and the union of what either reading finds is masked: the session's settings are not in the log, and a
literal that ends earlier under one reading would otherwise shift every later token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from handler.transforms.sql_secrets.positions import secret_spans
from handler.transforms.sql_secrets.raw_line import raw_secret_spans
from handler.transforms.sql_secrets.scan import Span

MASK = "'***'"
ESCAPED_MASK = "\\'***\\'"
_RAW_PASSES = 8
Dialect = Literal["mysql", "postgresql"]
_PASSWORD_PREFIXES = (b"old_", b"master_", b"source_", b"ed25519_")
# Grant-table columns (mysql.slave_master_info's User_password, User_attributes' "additional_password"): read
# like the bare keyword, since applications have columns of these names too.
_COLUMN_PREFIXES = (b"user_", b"additional_")
_NAME_FOLLOWS = re.compile(rb"\s*(?:[,);.`]|\Z)")
_PASSWORD_WORD = re.compile(r"(?<![\w$])password(?![\w$])", re.IGNORECASE)


_last_lowered: tuple[str, bytes, int] = ("", b"", -1)


def ascii_lowered(text: str) -> tuple[bytes, int]:
    """The text's ASCII characters, lowercased (what the keyword searches read), and where `mysql` first is in
    them (-1: nowhere).

    A memo of one, by identity: the transform's masker and then its event rules (handler/detect/event_rules.py)
    ask for the same statement in turn, and lowering and this search (FEDERATED URLs here, the grant tables
    there) are the costly part of both."""
    global _last_lowered
    last = _last_lowered
    if last[0] is text:
        return last[1], last[2]
    lowered = text.encode("ascii", "ignore").lower()
    at = lowered.find(b"mysql")
    _last_lowered = (text, lowered, at)
    return lowered, at


def might_hold_secrets(text: str, dialect: Dialect = "mysql") -> bool:
    """False for nearly every statement, at the cost of one lower() and a few substring searches in C.

    The keywords are ASCII, so dropping every other character never splits one (it may join two harmless words,
    which costs a tokenization, not a miss); lowering and searching bytes is several times cheaper than text that
    holds any non-ASCII character. `mysql://` is a FEDERATED table's URL, the only scheme FEDERATED takes;
    `authentication_string` a grant table's hash column.
    """
    lowered, mysql = ascii_lowered(text)
    if dialect == "postgresql":  # not on the audit log's path: the keyword anywhere, and URIs
        return b"password" in lowered or b"://" in lowered
    # bytes.find, not `in`: on CPython 3.11 `needle in lowered` tries the needle as an integer first, and that
    # costs ~0.2 µs a test, more than the search itself (measured; four tests per statement on the hot path)
    find = lowered.find
    if find(b"identified") >= 0 or find(b"rds_") >= 0 or (mysql >= 0 and find(b"mysql://", mysql) >= 0):
        return True
    if find(b"authentication_string") >= 0:
        return True
    # Apps have columns such as password_hash: only the keyword is worth tokenizing for, looked at where it is.
    at, column, joined = lowered.find(b"password"), False, False
    while at >= 0:
        keyword = _is_password_keyword(lowered, at)
        if keyword is None:
            column = True
        elif keyword:
            return True
        joined = True
        at = lowered.find(b"password", at + 8)
    # The dropped character may have been what set the keyword apart (`SET\xa0PASSWORD`): the text itself tells.
    if joined and len(lowered) < len(text) and _PASSWORD_WORD.search(text):
        return True
    # a password column of a grant table: INSERT INTO mysql.user (Host, User, Password) VALUES (…)
    return column and mysql >= 0


def _is_password_keyword(lowered: bytes, at: int) -> bool | None:
    """`password`, old_/master_/source_/ed25519_/user_/additional_password as a word of its own at `at`.

    A bare `password` (or user_/additional_password) followed by `,`, `)`, a backtick, `;`, `.` or nothing is a
    column or a table in every statement form, as in the column lists ORMs write for each login: not worth
    tokenizing unless the statement names the grant tables' schema (None: such a column).
    """
    if _word_byte(lowered[at + 8 : at + 9]):
        return False
    begin, column = at, True
    for prefix in _PASSWORD_PREFIXES + _COLUMN_PREFIXES:
        if at >= len(prefix) and lowered.startswith(prefix, at - len(prefix)):
            begin, column = at - len(prefix), prefix in _COLUMN_PREFIXES
            break
    if column and _NAME_FOLLOWS.match(lowered, at + 8):
        return None
    # in a raw line the plugin writes a newline or tab right before it as \n, \t
    return not _word_byte(lowered[begin - 1 : begin] if begin else b"") or lowered[begin - 2 : begin - 1] == b"\\"


def _word_byte(b: bytes) -> bool:
    return b.isalnum() or b in (b"_", b"$")


def mask_sql(sql: str, dialect: Dialect = "mysql") -> str:
    """The statement (unescaped, as in the document's `sql`) with its credentials replaced by '***'.

    For PostgreSQL the second reading is with standard_conforming_strings off (backslashes escape in '…').
    """
    if not might_hold_secrets(sql, dialect):  # the plugin masks only statements this finds too
        return sql
    if "\0" in sql:
        sql = _cut_after_plugin_mask(sql, MASK)
    spans = secret_spans(sql, backslash_escapes=dialect == "mysql", dialect=dialect)
    if "\\" in sql:  # without a backslash both readings are the same
        spans += secret_spans(sql, backslash_escapes=dialect != "mysql", dialect=dialect)
    return _replace(sql, ((s, e, MASK) for s, e in spans)) if spans else sql


def mask_raw_line(line: str, dialect: Dialect = "mysql") -> str:
    """A raw audit line with the credentials in its object masked, written as the plugin escapes them (\\'***\\').

    Also for lines the parser rejects and any other text that may quote SQL (a general log line, an error
    message, a dead letter's strings): whatever in it reads as a credential is masked.
    """
    if not might_hold_secrets(line, dialect):
        return line
    if "\0" in line:
        closing = line.rfind("'")
        cut = _cut_after_plugin_mask(line[:closing], ESCAPED_MASK)
        line = cut + line[closing:] if closing > 0 and len(cut) < closing else line
    # On a broken line a mask can change which quote closes the object, and with it what the next reading finds:
    # masking again until nothing changes keeps the function idempotent. Parse failures only, so cost is no issue.
    for _ in range(_RAW_PASSES):
        spans = raw_secret_spans(line, dialect)
        masked = _replace(line, ((s, e, ESCAPED_MASK if escaped else MASK) for s, e, escaped in spans))
        if masked == line:
            break
        line = masked
    return line


# MariaDB's server_audit masks some passwords itself as `*****`; when the literal ran past
# server_audit_query_log_limit it then copies bytes from outside the statement (NULs, binary, and the end of the
# password itself: docs/mariadb-server-audit.md). A statement holds no NUL: from the mask on, nothing is SQL.
def _cut_after_plugin_mask(text: str, mask: str) -> str:
    nul = text.find("\0")
    at = text.rfind("*****", 0, nul) if nul >= 0 else -1
    return text if at < 0 else text[:at] + mask


def _replace(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """Overlapping or touching spans are merged (`'***''***'` would read as one literal); the first span's replacement
    is used for the merged one."""
    out: list[str] = []
    pos = 0
    cur: tuple[int, int, str] | None = None
    for s, e, mask in sorted(spans):
        if cur is not None and s <= cur[1]:
            cur = (cur[0], max(cur[1], e), cur[2])
            continue
        if cur is not None:
            out.append(text[pos : cur[0]])
            out.append(cur[2])
            pos = cur[1]
        cur = (s, e, mask)
    if cur is not None:
        out.append(text[pos : cur[0]])
        out.append(cur[2])
        pos = cur[1]
    out.append(text[pos:])
    return "".join(out)


__all__ = ["ESCAPED_MASK", "MASK", "Dialect", "Span", "mask_raw_line", "mask_sql", "might_hold_secrets"]
