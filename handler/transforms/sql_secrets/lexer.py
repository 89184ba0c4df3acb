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


def _quoted(q: str, backslash: bool) -> str:
    # Unrolled loops (no alternation per character): the doubled quote and, when escapes are on, a backslash pair
    # are the only ways to stay inside. A missing closing quote ends the literal at the end of the text.
    if backslash:
        return rf"{q}[^{q}\\]*(?:(?:\\[\s\S]|{q}{q})[^{q}\\]*)*(?:{q}|\\?\Z)"
    return rf"{q}[^{q}]*(?:{q}{q}[^{q}]*)*(?:{q}|\Z)"


def _pattern(backslash: bool) -> re.Pattern[str]:
    string = _quoted("'", backslash) + "|" + _quoted('"', backslash)
    backtick = _quoted("`", False)
    # One capturing group per kind, the most frequent first; their first characters differ, except that a
    # comment must be tried before the punctuation that starts it.
    return re.compile(
        r"(\s+)"
        r"|([\w$]+)"
        rf"|({string})"
        r"|(/\*M?![0-9]*"  # opens an executable comment: what follows is code
        r"|/\*[\s\S]*?(?:\*/|\Z)"
        r"|--(?=\s|\Z)[^\n]*"  # MySQL needs whitespace after `--`; `--x` is two minus signs
        r"|#[^\n]*"
        r"|\*/)"  # closes an executable comment
        rf"|({backtick})"
        rf"|(@@?(?:[\w$.]+|{string}|{backtick})?)"
        r"|([\s\S])"
    )


_PATTERNS = {True: _pattern(True), False: _pattern(False)}
_SPACE, _WORD, _STRING, _COMMENT, _BACKTICK, _VARIABLE, _PUNCT = range(1, 8)


def tokens(sql: str, *, backslash_escapes: bool = True) -> list[Token]:
    """The significant tokens of `sql`. With `backslash_escapes=False` it reads as under NO_BACKSLASH_ESCAPES."""
    out: list[Token] = []
    append = out.append
    for m in _PATTERNS[backslash_escapes].finditer(sql):
        group = m.lastindex
        if group in (_SPACE, _COMMENT):
            continue
        start, end = m.span()
        if group == _WORD:
            append(Token(WORD, start, end, m.group().lower()))
        elif group == _PUNCT:
            append(Token(PUNCT, start, end, m.group()))
        elif group == _STRING:
            append(Token(STRING, start, end, ""))
        else:
            append(Token(BACKTICK if group == _BACKTICK else VARIABLE, start, end, ""))
    return out
