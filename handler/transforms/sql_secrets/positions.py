"""Where the credentials are: the spans of every literal in a credential position of one SQL text. Pure.

The grammar followed (MySQL 5.7/8.0/8.4, MariaDB 10.x/11.x):
- `IDENTIFIED BY [PASSWORD] <secret>`, `IDENTIFIED {WITH|VIA} <plugin> [{BY|AS|USING} <secret>]` with MariaDB's
  `OR <plugin> …` alternatives, then `REPLACE <secret>`; wherever it appears (CREATE/ALTER USER, GRANT, CLONE,
  MySQL 8's `AND IDENTIFIED`, `INITIAL AUTHENTICATION IDENTIFIED`, several users in one statement);
- `SET PASSWORD [FOR <user>] {= | TO} <secret> [REPLACE <secret>]`;
- `PASSWORD(…)`, `OLD_PASSWORD(…)`, `ED25519(…)`, `ED25519_PASSWORD(…)`: their literal arguments;
- `MASTER_PASSWORD` / `SOURCE_PASSWORD [=] <secret>` (CHANGE MASTER / CHANGE REPLICATION SOURCE);
- `PASSWORD [=] <secret>` in `START SLAVE|REPLICA|GROUP_REPLICATION` and in `CREATE|ALTER SERVER … OPTIONS (…)`;
- the URL of a FEDERATED table, `CONNECTION [=] '…://user:password@…'`, when it holds a user;
- the RDS/Aurora procedures that take a password as a positional argument (`procedures.password_argument`);
- a string literal that is itself such a statement (dynamic SQL for PREPARE, EXECUTE IMMEDIATE, SET @sql): whole.

A secret is a literal (string with its introducer, `N'…'`, `X'…'`, `B'…'`, a number or `0x…` hash, adjacent
strings that MySQL concatenates), or — where the grammar allows nothing else, so only a mistyped statement has it —
a bare word: the server logs a statement that failed to parse too.
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets.lexer import BACKTICK, PUNCT, STRING, WORD, Token, tokens
from handler.transforms.sql_secrets.procedures import password_argument

Span = tuple[int, int]

_FUNCTIONS = frozenset({"password", "old_password", "ed25519", "ed25519_password"})
# Before these a statement begins (inside BEGIN … END, IF … THEN, MariaDB's SET STATEMENT … FOR): an UPDATE's
# `SET password = …` is a column, a statement's `SET PASSWORD = …` is a credential.
_STATEMENT_STARTERS = frozenset({";", "begin", "then", "else", "do", "loop", "repeat", "for"})
_NOT_SECRETS = frozenset({"random", "password"})
# `CREATE TABLE password (…)`, `INSERT INTO password (…)`: a table named like the function, not a call.
_BEFORE_TABLE_NAMES = frozenset({"table", "into", "from", "join", "update", "exists", "references", "insert", "."})
_NESTED_HINTS = ("identified", "password", "rds_")
_MAX_NESTING = 2


def secret_spans(sql: str, *, backslash_escapes: bool = True, depth: int = 0) -> list[Span]:
    """Spans (start, end) of `sql` that hold credentials, in order, possibly overlapping."""
    return _Scan(sql, tokens(sql, backslash_escapes=backslash_escapes), backslash_escapes, depth).run()


class _Scan:
    def __init__(self, sql: str, toks: list[Token], backslash: bool, depth: int) -> None:
        self.sql = sql
        self.toks = toks
        self.n = len(toks)
        self.backslash = backslash
        self.depth = depth
        self.spans: list[Span] = []

    def word(self, i: int) -> str:
        return self.toks[i].text if i < self.n and self.toks[i].kind == WORD else ""

    def punct(self, i: int, char: str) -> bool:
        return i < self.n and self.toks[i].kind == PUNCT and self.toks[i].text == char

    def literal_end(self, i: int, *, numbers: bool = True) -> int:
        """Index after the literal starting at token i, or i when there is none.

        Without `numbers` only strings count: in `PASSWORD(…)` a number is more likely an index prefix length,
        `KEY (password(10))`, than a password.
        """
        if i >= self.n:
            return i
        tok = self.toks[i]
        if tok.kind == WORD and i + 1 < self.n and self.toks[i + 1].kind in (STRING, WORD):
            nxt = self.toks[i + 1]
            introducer = tok.text[0] == "_" and (nxt.kind == STRING or nxt.text[0].isdigit())
            prefix = tok.text in ("n", "x", "b") and nxt.kind == STRING and nxt.start == tok.end
            if introducer or prefix:
                if nxt.kind == STRING:
                    return self._strings_end(i + 1)
                return i + 2 if numbers else i
        if tok.kind == STRING:
            return self._strings_end(i)
        if numbers and tok.kind == WORD and tok.text[0].isdigit():
            return i + 1
        return i

    def _strings_end(self, i: int) -> int:
        # 'a' 'b' is one literal in MySQL: the password is "ab".
        while i < self.n and self.toks[i].kind == STRING:
            i += 1
        return i

    def mask(self, first: int, end: int) -> int:
        """Tokens first..end-1 are a secret; returns the index after what was masked.

        Strings right after it go too: '***' 'x' would read as one literal next time, and masking must be
        idempotent. A literal left open by truncation already runs to the end of the text.
        """
        end = self._strings_end(end)
        self.spans.append((self.toks[first].start, self.toks[end - 1].end))
        return end

    def value(self, i: int, *, bare: bool) -> int:
        """Mask the secret at token i; returns the index after it."""
        if self.word(i) in _FUNCTIONS and self.punct(i + 1, "("):
            return self.arguments(i + 1, every_word=False)
        end = self.literal_end(i)
        if end > i:
            return self.mask(i, end)
        if bare and self.depth == 0 and i < self.n:
            tok = self.toks[i]
            if tok.kind == BACKTICK or (tok.kind == WORD and tok.text not in _NOT_SECRETS):
                return self.mask(i, i + 1)
        return i

    def arguments(self, open_paren: int, *, every_word: bool, which: int | None = None) -> int:
        """Mask the literals between the parenthesis at `open_paren` and its match (or the end of the statement).

        `which` limits masking to one comma-separated argument; `every_word` masks bare words there too (a column
        name where a procedure expects a password is still the password), except names of functions.
        """
        depth, arg, i = 0, 0, open_paren
        while i < self.n:
            tok = self.toks[i]
            if tok.kind == PUNCT:
                if tok.text == "(":
                    depth += 1
                elif tok.text == ")":
                    depth -= 1
                    if depth == 0:
                        return i + 1
                elif tok.text == "," and depth == 1:
                    arg += 1
                elif tok.text == ";":
                    return i
                i += 1
                continue
            if which is not None and arg != which:
                i += 1
                continue
            end = self.literal_end(i, numbers=every_word)
            if end > i:
                i = self.mask(i, end)
            elif every_word and tok.kind in (WORD, BACKTICK) and not self.punct(i + 1, "("):
                i = self.mask(i, i + 1)
            else:
                i += 1
        return i

    def at_statement_start(self, i: int) -> bool:
        if i == 0:
            return True
        prev = self.toks[i - 1]
        return prev.text in _STATEMENT_STARTERS and prev.kind in (WORD, PUNCT)

    def run(self) -> list[Span]:
        mode = ""  # "start", "server" or "table" while inside such a statement
        i = 0
        while i < self.n:
            tok = self.toks[i]
            w = tok.text
            if tok.kind == STRING:
                self.nested(i)
                i += 1
                continue
            if tok.kind != WORD:
                if w == ";":
                    mode = ""
                i += 1
                continue
            if w == "identified":
                i = self.identified(i + 1)
            elif (
                w in _FUNCTIONS
                and self.punct(i + 1, "(")
                and (i == 0 or self.toks[i - 1].text not in _BEFORE_TABLE_NAMES)
            ):
                i = self.arguments(i + 1, every_word=False)
            elif w in ("master_password", "source_password") or (w == "password" and mode in ("start", "server")):
                i = self.assignment(i + 1)
            elif w == "connection" and mode == "table":
                i = self.federated(i + 1)
            elif w == "call":
                i = self.call(i + 1)
            elif self.at_statement_start(i) and w in ("set", "start", "create", "alter"):
                if w == "set" and self.word(i + 1) == "password":
                    i = self.set_password(i + 2)
                    continue
                mode = "start" if w == "start" else self.created(i + 1)
                i += 1
            else:
                i += 1
        return self.spans

    def identified(self, i: int) -> int:
        w = self.word(i)
        if w == "by":
            i = self.by(i + 1)
        elif w in ("with", "via"):
            i = self.plugins(i + 1)
        return self.replace(i)

    def by(self, i: int) -> int:
        if self.word(i) == "random":  # BY RANDOM PASSWORD: the server makes one up and returns it, never logged
            return i + 2 if self.word(i + 1) == "password" else i + 1
        if self.word(i) == "password" and not self.punct(i + 1, "("):  # 5.7 and MariaDB: BY PASSWORD '<hash>'
            i += 1
        return self.value(i, bare=True)

    def plugins(self, i: int) -> int:
        """`<plugin> [BY|AS|USING <secret>]`, repeated after MariaDB's OR; the plugin's name is not a secret."""
        while i < self.n:
            if self.toks[i].kind in (STRING, BACKTICK) or self.word(i) not in ("", "by", "as", "using"):
                i += 1
            w = self.word(i)
            if w == "by":
                i = self.by(i + 1)
            elif w in ("as", "using"):  # AS takes a hash: a credential too
                i = self.value(i + 1, bare=True)
            if self.word(i) != "or":
                return i
            i += 1
        return i

    def replace(self, i: int) -> int:
        return self.value(i + 1, bare=True) if self.word(i) == "replace" else i

    def assignment(self, i: int) -> int:
        if self.punct(i, "="):
            return self.value(i + 1, bare=True)
        return self.value(i, bare=False)

    def set_password(self, i: int) -> int:
        if self.word(i) == "for":  # the account: 'u'@'h', u@h, CURRENT_USER() — not secrets
            while i < self.n and not self.punct(i, "=") and self.word(i) != "to" and not self.punct(i, ";"):
                i += 1
        if self.punct(i, "="):
            i = self.value(i + 1, bare=True)
        elif self.word(i) == "to":
            i = i + 2 if self.word(i + 1) == "random" else self.value(i + 1, bare=True)
        return self.replace(i)

    def created(self, i: int) -> str:
        """The mode of a CREATE/ALTER statement whose object is at token i."""
        while self.word(i) in ("or", "replace", "temporary", "online", "offline", "ignore"):
            i += 1
        w = self.word(i)
        return "server" if w == "server" else "table" if w == "table" else ""

    def federated(self, i: int) -> int:
        if self.punct(i, "="):
            i += 1
        end = self.literal_end(i)
        if end > i and "@" in self.sql[self.toks[i].start : self.toks[end - 1].end]:
            return self.mask(i, end)
        return end

    def call(self, i: int) -> int:
        """CALL [schema.]procedure(…): any case, quoted or not, spaced or not."""
        name = ""
        while i < self.n:
            tok = self.toks[i]
            if tok.kind == WORD:
                name = tok.text
            elif tok.kind in (BACKTICK, STRING):
                name = self.sql[tok.start + 1 : tok.end - 1].lower().rsplit(".", 1)[-1]
            elif not (tok.kind == PUNCT and tok.text == "."):
                break
            i += 1
        which = password_argument(name.strip())
        if which is None or not self.punct(i, "("):
            return i
        return self.arguments(i, every_word=True, which=which)

    def nested(self, i: int) -> None:
        """A string holding a credential statement (dynamic SQL) is masked whole; prose is left alone."""
        if self.depth >= _MAX_NESTING:
            return
        tok = self.toks[i]
        text = self.sql[tok.start : tok.end]
        lowered = text.lower()
        if not any(hint in lowered for hint in _NESTED_HINTS):
            return
        inner = _unquote(text, self.backslash)
        if secret_spans(inner, backslash_escapes=self.backslash, depth=self.depth + 1):
            self.mask(i, i + 1)


def _unquote(literal: str, backslash: bool) -> str:
    quote = literal[0]
    body = literal[1:-1] if len(literal) > 1 and literal.endswith(quote) else literal[1:]
    body = body.replace(quote * 2, quote)
    return _BACKSLASH_PAIR.sub(_unescape, body) if backslash else body


# MySQL's string escapes; any other escaped character stands for itself.
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "0": "\0", "Z": "\x1a"}
_BACKSLASH_PAIR = re.compile(r"\\([\s\S])")


def _unescape(m: re.Match[str]) -> str:
    return _ESCAPES.get(m.group(1), m.group(1))
