"""A MySQL/MariaDB tokenizer just precise enough to tell where a literal starts and ends. Pure.

Only significant tokens are returned: whitespace and comments are dropped, and so are the markers of executable
comments (`/*! … */`, `/*!80000 … */`, MariaDB's `/*M!100100 … */`), because the server runs what is inside them
and a credential written there must be found like any other.
"""

from __future__ import annotations

import re
from typing import NamedTuple

WORD = 0  # keywords, identifiers, numbers (0x… hashes included), introducers such as _utf8mb4
STRING = 1  # '…' or "…"; runs to the end of the text when the closing quote is missing (a truncated statement)
BACKTICK = 2  # `…`
VARIABLE = 3  # @name, @@name, @'name'
PUNCT = 4  # any other single character


class Token(NamedTuple):
    kind: int
    start: int
    end: int
    text: str  # lower-cased for WORD, the character for PUNCT, empty otherwise


def _quoted(q: str, backslash: bool, *, to_end: bool = True) -> str:
    # Unrolled loops (no alternation per character): the doubled quote and, when escapes are on, a backslash pair
    # are the only ways to stay inside. A missing closing quote ends the literal at the end of the text.
    if backslash:
        return rf"{q}[^{q}\\]*(?:(?:\\[\s\S]|{q}{q})[^{q}\\]*)*" + (rf"(?:{q}|\\?\Z)" if to_end else q)
    return rf"{q}[^{q}]*(?:{q}{q}[^{q}]*)*" + (rf"(?:{q}|\Z)" if to_end else q)


def string_pattern(backslash: bool = True) -> str:
    """A `'…'` or `"…"` literal (a missing closing quote ends it at the end of the text); the fingerprint's too."""
    return _quoted("'", backslash) + "|" + _quoted('"', backslash)


def backtick_pattern() -> str:
    return _quoted("`", False)


def quoted_pattern(quote: str) -> str:
    """One kind of `string_pattern`'s literals (`'` or `"`), or with a backtick `backtick_pattern`: it begins with
    the quote character itself."""
    return _quoted(quote, quote != "`")


# `--` starts a comment only when "followed by at least one whitespace or control character" (MySQL manual,
# "Comments"; sql_lex.cc tests my_isspace or my_iscntrl on the byte after it, the end of the text included): `--\x01`
# is a comment, `--x` and `--\xa0` (a byte of a non-ASCII character) are two minus signs, and what follows them is
# read as code.
DASH_COMMENT = r"--(?=[\x00-\x20\x7f]|\Z)[^\n]*"
BLOCK_COMMENT = r"/\*[\s\S]*?(?:\*/|\Z)"
EXECUTABLE_MARKERS = r"/\*M?![0-9]*|\*/"  # `/*!80000 … */`: what is inside is code, only the markers go


def _pattern(backslash: bool, hash_comments: bool = True) -> re.Pattern[str]:
    string = string_pattern(backslash)
    backtick = backtick_pattern()
    # One capturing group per kind, the most frequent first; their first characters differ, except that a
    # comment must be tried before the punctuation that starts it.
    return re.compile(
        r"(\s+)"
        r"|([\w$]+)"
        rf"|({string})"
        r"|(/\*M?![0-9]*"  # opens an executable comment: what follows is code
        rf"|{BLOCK_COMMENT}"
        rf"|{DASH_COMMENT}"  # `--` then whitespace or a control character; `--x` is two minus signs
        + (r"|#[^\n]*" if hash_comments else r"|(?<=[^\n])#[^\n]*")
        + r"|\*/)"  # closes an executable comment
        rf"|({backtick})"
        rf"|(@@?(?:[\w$.]+|{string}|{backtick})?)"
        r"|([\s\S])"
    )


_PATTERNS = {(b, h): _pattern(b, h) for b in (True, False) for h in (True, False)}
_CLOSED = {
    (q, backslash): re.compile(_quoted(q, backslash, to_end=False)) for q in "'\"`" for backslash in (True, False)
}
_SPACE, _WORD, _STRING, _COMMENT, _BACKTICK, _VARIABLE, _PUNCT = range(1, 8)


def tokens(
    sql: str,
    *,
    backslash_escapes: bool = True,
    hash_comments: bool = True,
    comments: list[tuple[int, int]] | None = None,
) -> list[Token]:
    """The significant tokens of `sql`. With `backslash_escapes=False` it reads as under NO_BACKSLASH_ESCAPES;
    without `hash_comments`, `#` starting a line is punctuation (the slow log's `# Query_time: …` lines).
    `comments` receives the (start, end) of each comment's text, markers excluded."""
    out: list[Token] = []
    append = out.append
    for m in _PATTERNS[backslash_escapes, hash_comments].finditer(sql):
        group = m.lastindex
        if group == _SPACE:
            continue
        start, end = m.span()
        if group == _COMMENT:
            if comments is not None:
                _comment_text(sql, start, end, comments)
            continue
        if group == _WORD:
            append(Token(WORD, start, end, m.group().lower()))
        elif group == _PUNCT:
            append(Token(PUNCT, start, end, m.group()))
        elif group == _STRING:
            append(Token(STRING, start, end, ""))
        else:
            append(Token(BACKTICK if group == _BACKTICK else VARIABLE, start, end, ""))
    return out


def is_closed(literal: str, *, backslash_escapes: bool = True) -> bool:
    """Whether a string token ends with its closing quote (a cut statement leaves the last one open)."""
    return _CLOSED[literal[0], backslash_escapes].fullmatch(literal) is not None


def _comment_text(sql: str, start: int, end: int, comments: list[tuple[int, int]]) -> None:
    if sql.startswith("#", start):
        comments.append((start + 1, end))
    elif sql.startswith("--", start):
        comments.append((start + 2, end))
    elif not sql.startswith(("/*!", "/*M!"), start) and sql.startswith("/*", start):  # not a marker of code
        comments.append((start + 2, end - 2 if end - start >= 4 and sql.endswith("*/", 0, end) else end))
