"""Credentials masked out of SQL: in a statement (`mask_sql`) and in a raw audit line (`mask_raw_line`). Pure.

Each literal in a credential position (see `positions`) becomes `'***'`; every other character is kept as it was.
Both functions are idempotent. Text with a backslash is read twice, with backslash escapes and as under
NO_BACKSLASH_ESCAPES, and the union of what either reading finds is masked: the session's sql_mode is not in the
log, and a literal that ends earlier under one reading would otherwise shift every later token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from handler.transforms.sql_secrets.positions import Span, secret_spans
from handler.transforms.sql_secrets.raw_line import raw_secret_spans

MASK = "'***'"
ESCAPED_MASK = "\\'***\\'"
_RAW_PASSES = 8
_PASSWORD_PREFIXES = (b"old_", b"master_", b"source_", b"ed25519_")
_NAME_FOLLOWS = re.compile(rb"\s*(?:[,);.`]|\Z)")


def might_hold_secrets(text: str) -> bool:
    """False for nearly every statement, at the cost of one lower() and a few substring searches in C.

    The keywords are ASCII, so dropping every other character never splits one (it may join two harmless words,
    which costs a tokenization, not a miss); lowering and searching bytes is several times cheaper than text that
    holds any non-ASCII character. `mysql://` is a FEDERATED table's URL, the only scheme FEDERATED takes.
    """
    lowered = text.encode("ascii", "ignore").lower()
    if b"identified" in lowered or b"rds_" in lowered or b"mysql://" in lowered:
        return True
    # Apps have columns such as password_hash: only the keyword is worth tokenizing for, looked at where it is.
    at = lowered.find(b"password")
    while at >= 0:
        if _is_password_keyword(lowered, at):
            return True
        at = lowered.find(b"password", at + 8)
    return False


def _is_password_keyword(lowered: bytes, at: int) -> bool:
    """`password`, old_/master_/source_/ed25519_password as a word of its own at `at`.

    A bare `password` followed by `,`, `)`, a backtick, `;`, `.` or nothing is a column or a table in every
    statement form, as in the column lists ORMs write for each login: not worth tokenizing.
    """
    if _word_byte(lowered[at + 8 : at + 9]):
        return False
    begin = at
    for prefix in _PASSWORD_PREFIXES:
        if at >= len(prefix) and lowered.startswith(prefix, at - len(prefix)):
            begin = at - len(prefix)
            break
    if begin == at and _NAME_FOLLOWS.match(lowered, at + 8):
        return False
    # in a raw line the plugin writes a newline or tab right before it as \n, \t
    return not _word_byte(lowered[begin - 1 : begin] if begin else b"") or lowered[begin - 2 : begin - 1] == b"\\"


def _word_byte(b: bytes) -> bool:
    return b.isalnum() or b in (b"_", b"$")


def mask_sql(sql: str) -> str:
    """The statement (unescaped, as in the document's `sql`) with its credentials replaced by '***'."""
    if not might_hold_secrets(sql):
        return sql
    spans = secret_spans(sql)
    if "\\" in sql:  # without a backslash both readings are the same
        spans += secret_spans(sql, backslash_escapes=False)
    return _replace(sql, ((s, e, MASK) for s, e in spans)) if spans else sql


def mask_raw_line(line: str) -> str:
    """A raw audit line with the credentials in its object masked, written as the plugin escapes them (\\'***\\').

    Also for lines the parser rejects: whatever in the line reads as a credential is masked.
    """
    if not might_hold_secrets(line):
        return line
    # On a broken line a mask can change which quote closes the object, and with it what the next reading finds:
    # masking again until nothing changes keeps the function idempotent. Parse failures only, so cost is no issue.
    for _ in range(_RAW_PASSES):
        spans = raw_secret_spans(line)
        masked = _replace(line, ((s, e, ESCAPED_MASK if escaped else MASK) for s, e, escaped in spans))
        if masked == line:
            break
        line = masked
    return line


def _replace(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """Overlapping spans are merged; the first span's replacement is used for the merged one."""
    out: list[str] = []
    pos = 0
    cur: tuple[int, int, str] | None = None
    for s, e, mask in sorted(spans):
        if cur is not None and s < cur[1]:
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


__all__ = ["ESCAPED_MASK", "MASK", "Span", "mask_raw_line", "mask_sql", "might_hold_secrets"]
