"""Where the credentials are in PostgreSQL text (Aurora PostgreSQL's Activity Streams). Pure.

From the PostgreSQL manual ("CREATE ROLE", "ALTER ROLE", "CREATE USER MAPPING", "CREATE SUBSCRIPTION", "Connection
Strings" of libpq):
- `[ENCRYPTED | UNENCRYPTED] PASSWORD '…'` of CREATE|ALTER ROLE|USER|GROUP, hashed (`'md5…'`,
  `'SCRAM-SHA-256$…'`) or not; `PASSWORD NULL` stays. `password` right before a literal is masked wherever it is:
  it is also the option of user mappings and foreign servers (`OPTIONS (password '…')`, `(SET password '…')`), and
  no other statement puts a literal right after the word `password` (a column is compared with `=`, `LIKE`, …);
- in a role statement, a password typed without quotes (a syntax error, logged with its text);
- a string holding a libpq connection string with a password (`'host=h user=u password=…'`: CREATE SUBSCRIPTION's
  CONNECTION, dblink) or a `postgres[ql]://user:password@…` URI: whole;
- dollar-quoted bodies (`DO $$ … $$`, a function's `AS $fn$ … $fn$`) are read as code, and what is found there is
  masked in place: the body is verbatim, so nothing else of it is lost. A quoted string holding a credential
  statement (EXECUTE '…'), and operands completing one left open (`' PASSWORD ''' || '…' || ''''`), as in MySQL.
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets import pg_lexer
from handler.transforms.sql_secrets.lexer import BACKTICK, STRING, WORD, Token
from handler.transforms.sql_secrets.scan import MAX_NESTING, Scan, Span

_ROLES = frozenset({"role", "user", "group"})
_CONNINFO_PASSWORD = re.compile(r"(?:^|\s)password\s*=", re.IGNORECASE)
_URI_USER = re.compile(r"postgres(?:ql)?://[^/@:\s'\"]*:", re.IGNORECASE)
_DOLLAR_NESTING = 4  # bodies within bodies, each with its own tag; each level is shorter than the last


class PostgresScan(Scan):
    def __init__(self, sql: str, backslash: bool, depth: int, *, names: bool = True) -> None:
        self.comments: list[Span] = []
        toks = pg_lexer.tokens(sql, backslash_escapes=backslash, names=names, comments=self.comments)
        super().__init__(sql, toks, backslash, depth)

    def run(self) -> list[Span]:
        role, i = False, 0
        while i < self.n:
            tok = self.toks[i]
            if tok.kind == STRING:
                i = self.literal(i)
                continue
            if tok.kind == WORD and tok.text == "password":
                i = self.password(i + 1, role)
                continue
            if tok.kind == WORD and tok.text in ("create", "alter") and self.word(i + 1) in _ROLES:
                role = True
            elif tok.kind == BACKTICK and '""' not in self.sql[tok.start : tok.end - 1]:
                self.verbatim(tok.start + 1, tok.end - 1 if tok.end - tok.start > 1 else tok.end)
            elif self.punct(i, ";"):
                role = False
            i += 1
        for start, end in self.comments:
            self.verbatim(start, end)
        return self.spans

    def verbatim(self, start: int, end: int) -> None:
        """A comment, or a quoted name (an error's CONTEXT quotes the statement: `SQL statement "ALTER ROLE …"`):
        a credential statement there is masked in place, read one level deeper so that prose keeps its words."""
        if self.depth < MAX_NESTING and "password" in self.sql[start:end].lower():
            self.spans += [(start + s, start + e) for s, e in self.inner(self.sql[start:end])[0]]

    def password(self, i: int, role: bool) -> int:
        if self.word(i) == "null":
            return i + 1
        if i >= self.n:  # `… PASSWORD ' || quote_literal(…)`: the operand after the string
            self.dangling = ""
        end = self.literal_end(i)
        if end > i:
            return self.mask(i, end)
        return self.bare(i) if role and self.depth == 0 else i

    def literal(self, i: int) -> int:
        tok = self.toks[i]
        text = self.sql[tok.start : tok.end]
        offset, content = pg_lexer.body(tok, text, backslash_escapes=self.backslash)
        if tok.text.startswith("$"):
            if self.depth < _DOLLAR_NESTING:
                inner = PostgresScan(content, self.backslash, self.depth + 1)
                base = tok.start + offset
                self.spans += [(base + s, base + e) for s, e in inner.run()]
            return i + 1
        uri = _URI_USER.search(content)
        if _CONNINFO_PASSWORD.search(content) or (uri and ("@" in content[uri.end() :] or self.is_open(tok))):
            return self.mask(i, i + 1)
        if "password" not in content.lower() or self.depth >= MAX_NESTING:
            return i + 1
        return super().literal(i)

    def is_open(self, tok: Token) -> bool:
        literal = self.sql[tok.start : tok.end]
        return not pg_lexer.is_closed(tok, literal, backslash_escapes=self.backslash)

    def unquote(self, tok: Token) -> str:
        return pg_lexer.body(tok, self.sql[tok.start : tok.end], backslash_escapes=self.backslash)[1]

    def inner(self, text: str) -> tuple[list[Span], str | None]:
        scan = PostgresScan(text, self.backslash, self.depth + 1)
        return scan.run(), scan.dangling
