"""A PostgreSQL tokenizer just precise enough to tell where a literal starts and ends. Pure.

From the PostgreSQL manual, "Lexical Structure" (sql-syntax-lexical.html) and src/backend/parser/scan.l:
- `'…'` doubles its quote to escape it; a backslash escapes only when standard_conforming_strings is off (the
  caller reads both ways, as for MySQL's NO_BACKSLASH_ESCAPES); `E'…'` always takes backslash escapes; `U&'…'`
  and the `B`/`X`/`N` prefixes take neither;
- `$tag$…$tag$` (the tag an identifier without `$`, possibly empty) holds its text verbatim up to the same tag;
- `"…"` is a quoted identifier, not a string; `$1` a parameter;
- `--` comments need no space after them; `/* … */` comments nest.
Token kinds are the MySQL lexer's; a dollar-quoted string has its delimiter (`$$`, `$fn$`) as its text, an
escape string `e`.
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets.lexer import BACKTICK, PUNCT, STRING, VARIABLE, WORD, Token


def _quoted(backslash: bool, *, to_end: bool = True) -> str:
    end = r"(?:'|\\?\Z)" if to_end else "'"
    if backslash:
        return r"'[^'\\]*(?:(?:\\[\s\S]|'')[^'\\]*)*" + end
    return r"'[^']*(?:''[^']*)*" + (r"(?:'|\Z)" if to_end else "'")


def _pattern(backslash: bool, names: bool) -> re.Pattern[str]:
    # without `names`, `"` is punctuation: in an error message it quotes a statement, which may hold one itself
    ident = r'"[^"]*(?:""[^"]*)*(?:"|\Z)' if names else "(?!)"
    return re.compile(
        r"(\s+|--[^\n]*)"
        rf"|([eE]{_quoted(True)})"  # before words: E'…' and U&'…' are one token; `name'x'` a word, a string
        rf"|((?:[uU]&)?{_quoted(backslash)})"
        r"|(\w[\w$]*)"
        r"|(\$(?:[^\W\d]\w*)?\$)"
        r"|(\$\d+)"
        rf"|({ident})"
        r"|(/\*)"
        r"|([\s\S])"
    )


_PATTERNS = {(b, n): _pattern(b, n) for b in (True, False) for n in (True, False)}
_CLOSED = {True: re.compile(_quoted(True, to_end=False)), False: re.compile(_quoted(False, to_end=False))}
_SPACE, _ESTRING, _STRING, _WORD, _DOLLAR, _PARAM, _IDENT, _COMMENT, _PUNCT = range(1, 10)
_COMMENT_MARKS = re.compile(r"/\*|\*/")


def tokens(
    sql: str, *, backslash_escapes: bool = False, names: bool = True, comments: list[tuple[int, int]] | None = None
) -> list[Token]:
    """The significant tokens of `sql`; `backslash_escapes` reads '…' as with standard_conforming_strings off;
    without `names`, `"` is punctuation. `comments` receives the (start, end) of each comment's text, markers
    excluded."""
    pattern = _PATTERNS[backslash_escapes, names]
    out: list[Token] = []
    pos, n = 0, len(sql)
    while pos < n:
        m = pattern.match(sql, pos)
        assert m is not None  # the last alternative takes any character
        group, start, pos = m.lastindex, m.start(), m.end()
        if group == _SPACE:
            if comments is not None and sql.startswith("--", start):
                comments.append((start + 2, pos))
            continue
        if group == _COMMENT:
            pos = _comment_end(sql, pos)
            if comments is not None:
                comments.append((start + 2, pos - 2 if sql.endswith("*/", 0, pos) and pos - start >= 4 else pos))
        elif group == _DOLLAR:
            close = sql.find(m.group(), pos)
            pos = n if close < 0 else close + len(m.group())
            out.append(Token(STRING, start, pos, m.group()))
        elif group in (_STRING, _ESTRING):
            out.append(Token(STRING, start, pos, "e" if group == _ESTRING else ""))
        elif group == _WORD:
            out.append(Token(WORD, start, pos, m.group().lower()))
        elif group == _PUNCT:
            out.append(Token(PUNCT, start, pos, m.group()))
        else:
            out.append(Token(BACKTICK if group == _IDENT else VARIABLE, start, pos, ""))
    return out


def _comment_end(sql: str, pos: int) -> int:
    depth = 1
    for m in _COMMENT_MARKS.finditer(sql, pos):
        depth += 1 if m.group() == "/*" else -1
        if depth == 0:
            return m.end()
    return len(sql)


def is_closed(tok: Token, literal: str, *, backslash_escapes: bool) -> bool:
    """Whether a string token ends with its closing quote or tag."""
    if tok.text.startswith("$"):
        return len(literal) >= 2 * len(tok.text) and literal.endswith(tok.text)
    body = literal[literal.index("'") :]
    return _CLOSED[backslash_escapes or tok.text == "e"].fullmatch(body) is not None


def body(tok: Token, literal: str, *, backslash_escapes: bool) -> tuple[int, str]:
    """(offset of the content in the literal, the content as the server reads it)."""
    if tok.text.startswith("$"):
        tag = len(tok.text)
        closed = is_closed(tok, literal, backslash_escapes=backslash_escapes)
        return tag, literal[tag : len(literal) - tag if closed else len(literal)]
    start = literal.index("'") + 1
    text = literal[start:-1] if is_closed(tok, literal, backslash_escapes=backslash_escapes) else literal[start:]
    text = text.replace("''", "'")
    if backslash_escapes or tok.text == "e":
        text = re.sub(r"\\([\s\S])", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text)
    return start, text
