"""A statement's fingerprint: the statement with its literals replaced, what DBAs group by ("top statements"), and
its hash. Pure, and on the hot path: one regular expression pass over the literals (C), with no Python call per
literal; a statement without backticks or comments (most) needs only the string pattern, or a split on its quotes.

`SELECT * FROM t WHERE id = 42 AND name = 'bob'` → `SELECT * FROM t WHERE id = ? AND name = ?`;
`… IN (1, 2, 3)` and `VALUES (1, 'a'), (2, 'b')` → `… IN (?+)`, `VALUES (?+)`. Comments go (a commented-out
statement may hold anything), whitespace runs become one space; keywords and identifiers keep their case.

The literals are read as the masker's lexer reads them (handler/transforms/sql_secrets/lexer.py: the same string,
backtick and comment patterns), and the fingerprint is taken of the masked statement: a credential the masker
found in an unquoted position (`IDENTIFIED BY P@ss!word` in a failed statement) is `'***'` by then, a literal
like any other. Nothing of a literal or a comment survives, so the fingerprint never carries one.
"""

from __future__ import annotations

import hashlib
import re

from handler.transforms.sql_secrets.lexer import (
    BLOCK_COMMENT,
    DASH_COMMENT,
    EXECUTABLE_MARKERS,
    quoted_pattern,
    string_pattern,
)

# The fingerprint of a very long statement (a bulk INSERT of thousands of rows) is taken of its first characters:
# the part that tells statements apart, at a bounded cost per event.
MAX_SCANNED = 512
# Names, strings (an introducer or prefix stays: _utf8mb4'…' → _utf8mb4?, X'…' → X?), comments and executable
# comments' markers, in the lexer's order. Each alternative starts with its own character rather than a group, so
# the engine skips to the next of those characters instead of trying every position; `split` hands back each
# match's groups without a Python call per match: the text after a name's opening backtick, and an empty group
# set when a string matched (a comment sets neither).
_NAME, _SINGLE, _DOUBLE = (quoted_pattern(q)[1:] for q in "`'\"")  # each after its opening character
_LEXED = re.compile(
    f"`({_NAME})|'(){_SINGLE}|\"(){_DOUBLE}" + rf"|{EXECUTABLE_MARKERS}|{BLOCK_COMMENT}|{DASH_COMMENT}|#[^\n]*"
)
_STRINGS = re.compile(string_pattern())
# A number that is not part of a name (t1, col_2, `x`.5): decimal, exponent, hexadecimal, bit. It starts with the
# digit and looks back from there, so the engine skips to digits rather than trying every position.
_NUMBER = re.compile(r"\d(?<![\w$.]\d)(?:x[0-9a-fA-F]+|b[01]+|\d*\.?\d*(?:[eE][+-]?\d+)?)(?![\w$])")
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")  # (?, ?, ?) and (?)
_ROWS = re.compile(r"\(\?\+\)(?:\s*,\s*\(\?\+\))+")  # VALUES (?+), (?+), …


def fingerprint(sql: str) -> str:
    """`sql` must already be masked (handler/transforms/sql_secrets.mask_sql)."""
    text = sql[:MAX_SCANNED]
    # A search for one character is cheap; one for two, in text that holds any non-ASCII character, first converts
    # the needle to the text's width (an allocation each time): it runs only where its first character is.
    if "`" in text or "#" in text or ("-" in text and "--" in text) or ("/" in text and ("/*" in text or "*/" in text)):
        text = _lexed(text)
    elif "\\" in text or ("'" in text and '"' in text):
        # Nothing else the lexer reads can start here: its string matches are all there is, and a constant
        # replacement keeps the pass in C (a Python call per literal was most of the fingerprint's cost).
        text = _STRINGS.sub("?", text)
    else:
        text = _split_literals(text)
    for digit in "0123456789":
        if digit in text:
            text = _NUMBER.sub("?", text)
            break
    if "(" in text:
        text = _LIST.sub("(?+)", text)
        if "+" in text and "(?+)" in text:  # rows are lists first
            text = _ROWS.sub("(?+)", text)
    return " ".join(text.split())


def _lexed(text: str) -> str:
    """Names kept as written, strings `?`, comments and markers a space."""
    parts = _LEXED.split(text)  # code, name, string, string, code, …, code
    for i in range(1, len(parts), 4):
        name = parts[i]
        if name is not None:
            parts[i] = "`" + name
        else:
            parts[i] = " " if parts[i + 1] is None and parts[i + 2] is None else "?"
        parts[i + 1] = parts[i + 2] = ""
    return "".join(parts)


def _split_literals(text: str) -> str:
    """Text without a backslash, backtick, comment or both kinds of quote (most statements) has its literals
    between two quotes of one kind: splitting on that quote (C speed) gives what the regular expression would."""
    for quote in "'\"":
        if quote in text:
            parts = text.split(quote)
            # '' inside a literal (a doubled quote) leaves two literals side by side: one `?`, as the lexer reads it
            text = "?".join(parts[::2]) + ("?" if len(parts) % 2 == 0 else "")
            while "??" in text:
                text = text.replace("??", "?")
            return text
    return text


def fingerprint_hash(fp: str) -> str:
    """16 hex digits: a keyword to group and filter by, far cheaper to index than the fingerprint itself."""
    return _blake2b(fp.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


_blake2b = hashlib.blake2b
