"""What both dialects' scanners share: reading literals, masking them, arguments, dynamic SQL. Pure.

A scanner walks the significant tokens of one text and records the spans (start, end) to mask. The dialects
(`positions` for MySQL/MariaDB, `postgresql`) say where a credential is; this module says what a credential
there is made of and how far it runs.
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets.lexer import BACKTICK, PUNCT, STRING, VARIABLE, WORD, Token

Span = tuple[int, int]

MAX_NESTING = 2  # a statement in a string in a string: dynamic SQL that builds dynamic SQL
_CALLS = frozenset(
    {"password", "old_password", "ed25519", "ed25519_password", "concat", "concat_ws", "quote", "unhex", "char"}
    | {"from_base64", "lower", "upper", "trim", "convert", "cast", "sha1", "sha2", "md5"}
)
_NOT_BARE = frozenset({"random", "password"})  # BY RANDOM PASSWORD; BY PASSWORD without a hash after it
_ENDS_A_LIST = frozenset({";", ",", "(", ")"})
_HASH_COMMENT = re.compile(r"[ \t\r\n\f\v]*#(?=\S)")  # `# note` is a comment; `#x…` was typed as the password
_UP_TO_SPACE = re.compile(r"[^\s;]*")
_CLOSES = re.compile(r".(?:[\s;,)]|\Z)", re.DOTALL)  # the closing quote, then the rest of the statement or nothing


class Scan:
    """The tokens of one text and the spans found in it so far; subclasses add the dialect's `run`."""

    def __init__(self, sql: str, toks: list[Token], backslash: bool, depth: int) -> None:
        self.sql = sql
        self.toks = toks
        self.n = len(toks)
        self.backslash = backslash
        self.depth = depth
        self.spans: list[Span] = []
        # Set when a credential position runs to the end of the text: None when none does, "" when nothing is
        # there yet (`… IDENTIFIED BY `), or the quote of a credential literal left open (`… IDENTIFIED BY '`).
        # A string holding such a text is the start of dynamic SQL whose secret is the operand after it.
        self.dangling: str | None = None
        self.wholes: list[Span] = []  # strings masked whole for holding a credential statement

    # dialect hooks
    def run(self) -> list[Span]:
        raise NotImplementedError

    def is_open(self, tok: Token) -> bool:
        """Whether a string token lacks its closing quote."""
        raise NotImplementedError

    def unquote(self, tok: Token) -> str:
        """A string token's content as the server reads it."""
        raise NotImplementedError

    def inner(self, text: str) -> tuple[list[Span], str | None]:
        """The spans and the dangling state of `text` read as code of this dialect, one level deeper."""
        raise NotImplementedError

    # reading
    def word(self, i: int) -> str:
        return self.toks[i].text if i < self.n and self.toks[i].kind == WORD else ""

    def punct(self, i: int, char: str) -> bool:
        return i < self.n and self.toks[i].kind == PUNCT and self.toks[i].text == char

    def name(self, i: int) -> str:
        """A name as the server compares it: a word, or a quoted identifier without its quotes, lower-cased."""
        if i < self.n and self.toks[i].kind == BACKTICK:
            tok = self.toks[i]
            return self.sql[tok.start + 1 : tok.end - 1].lower()
        return self.word(i)

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
                    return self.strings_end(i + 1)
                return i + 2 if numbers else i
        if tok.kind == STRING:
            return self.strings_end(i)
        if numbers and tok.kind == WORD and tok.text[0].isdigit():
            return i + 1
        return i

    def strings_end(self, i: int) -> int:
        # 'a' 'b' is one literal in MySQL (and in PostgreSQL across a newline): the password is "ab".
        while i < self.n and self.toks[i].kind == STRING:
            i += 1
        return i

    # masking
    def mask(self, first: int, end: int) -> int:
        """Tokens first..end-1 are a secret; returns the index after what was masked.

        Strings right after it go too: '***' 'x' would read as one literal next time, and masking must be
        idempotent. A literal left open by truncation already runs to the end of the text.
        """
        end = self.strings_end(end)
        last = self.toks[end - 1]
        self.spans.append((self.toks[first].start, last.end))
        if last.end == len(self.sql) and last.kind == STRING and self.is_open(last):
            self.dangling = self.sql[last.start]
        return end

    def mask_chars(self, start: int, stop: int, i: int) -> int:
        """sql[start:stop] is a secret and token i the first one after it (a string right after it goes too)."""
        end = self.literal_end(i, numbers=False)
        if end > i:
            stop = self.toks[end - 1].end
        self.spans.append((start, stop))
        return end

    def value(self, i: int, *, bare: bool) -> int:
        """Mask the secret at token i; returns the index after it.

        A function call there (PASSWORD('…'), CONCAT('…', '…')) loses the literals it is computed from.
        """
        if i >= self.n:
            self.dangling = ""
            if not (bare and self.depth == 0):
                return i
        elif self.toks[i].kind == WORD and self.punct(i + 1, "("):
            # What looks like a call may be a password typed bare (`Pa('ss`): only the functions that compute a
            # password are read as calls there, and only when a literal is in them.
            typed = bare and self.depth == 0
            if not typed or self.toks[i].text in _CALLS:
                found = len(self.spans)
                after = self.arguments(i + 1, every_word=False)
                if len(self.spans) > found or not typed:
                    return after
            return self.bare(i)
        end = self.literal_end(i)
        if end > i:
            return self.mask(i, end)
        return self.bare(i) if bare and self.depth == 0 else i

    def bare(self, i: int) -> int:
        """A password typed without quotes where only a literal may stand (the statement failed, and is logged).

        It runs from its first character to the next whitespace, `;` or the end, whatever the lexer made of it:
        `P@Zq9!` is a name, a variable and a `!`, `my-secret` a subtraction, `#x` a comment.
        """
        after = self.toks[i - 1].end if i else 0
        comment = _HASH_COMMENT.match(self.sql, after)
        if comment is not None:
            start = comment.end() - 1
        elif i < self.n and self._may_start_bare(self.toks[i]):
            start = self.toks[i].start
        else:
            return i
        stop, end = start, -1
        while end != stop:  # a quoted part runs to its closing quote, and the word goes on after it
            end = _UP_TO_SPACE.match(self.sql, stop).end()  # type: ignore[union-attr]  # [^…]* always matches
            stop = end
            while i < self.n and self.toks[i].start < end:
                stop = max(stop, self.toks[i].end)
                i += 1
        return self.mask_chars(start, stop, i)

    @staticmethod
    def _may_start_bare(tok: Token) -> bool:
        if tok.kind == WORD:
            return tok.text not in _NOT_BARE
        if tok.kind == PUNCT:
            return tok.text not in _ENDS_A_LIST
        return tok.kind in (BACKTICK, VARIABLE)

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

    # dynamic SQL
    def literal(self, i: int) -> int:
        """A string outside any credential position: masked when it holds a credential statement (dynamic SQL for
        PREPARE, EXECUTE IMMEDIATE, SET @sql), prose is left alone. A string that leaves a credential open at its
        end (`CONCAT('… IDENTIFIED BY ''', 'secret', '''')`) also loses the operands that complete it."""
        if self.depth >= MAX_NESTING:
            return i + 1
        spans, dangling = self.inner(self.unquote(self.toks[i]))
        # the quote that opens the secret is no secret: `'… BY '''` stays readable when the secret follows it
        if any(e - s > 1 or dangling is None for s, e in spans):
            self.mask(i, i + 1)
            self.wholes.append(self.spans[-1])
        return i + 1 if dangling is None else self.follow(i + 1, dangling)

    def follow(self, j: int, quote: str) -> int:
        """Mask the operands after a string that left a credential open, joined by `,` (CONCAT's arguments), `||`
        or nothing (adjacent strings): the next one when nothing was open, else up to the one that closes `quote`
        (an operand that is that quote, alone or before the rest of the statement, closes it and is kept)."""
        while j < self.n:
            if self.punct(j, ","):
                j += 1
            elif self.punct(j, "|") and self.punct(j + 1, "|"):
                j += 2
            elif self.toks[j].kind != STRING:
                return j
            if j >= self.n:
                return j
            tok = self.toks[j]
            if tok.kind == STRING:
                body = self.unquote(tok)
                close = _closing(body, quote, self.backslash) if quote else -1
                if close == 0 and _CLOSES.match(body):
                    return j
                j = self.mask(j, j + 1)
                if close >= 0 or not quote:
                    return j
            elif tok.kind == WORD and self.punct(j + 1, "("):  # QUOTE(@pw), quote_literal('…')
                j = self.arguments(j + 1, every_word=False)
                if not quote:
                    return j
            else:  # a variable or a column: a name, not the secret
                j += 1
                if not quote:
                    return j
        return j


def _closing(body: str, quote: str, backslash: bool) -> int:
    """Where `body`, read inside a literal that `quote` opened, closes it: the first quote neither escaped nor
    doubled, or -1 when it stays open."""
    i = 0
    while i < len(body):
        if body[i] == "\\" and backslash:
            i += 2
        elif body[i] == quote and not body.startswith(quote, i + 1):
            return i
        else:
            i += 2 if body[i] == quote else 1
    return -1
