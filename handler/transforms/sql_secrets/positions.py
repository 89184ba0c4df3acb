"""Where the credentials are: the spans of every literal in a credential position of one SQL text. Pure.

The grammar followed (MySQL 5.7/8.0/8.4, MariaDB 10.x/11.x; PostgreSQL in `postgresql`):
- the account and replication clauses of `accounts` (IDENTIFIED …, SET PASSWORD, MASTER_PASSWORD, …);
- `PASSWORD(…)`, `OLD_PASSWORD(…)`, `ED25519(…)`, `ED25519_PASSWORD(…)`: their literal arguments;
- `PASSWORD [=] <secret>` in `START SLAVE|REPLICA|GROUP_REPLICATION` and in `CREATE|ALTER SERVER … OPTIONS (…)`;
- a `mysql://user:password@…` URL (a FEDERATED table's CONNECTION, or the COMMENT older versions took), also cut
  before its `@`;
- the RDS/Aurora procedures that take a password as a positional argument (`procedures`);
- the grant tables' hash columns and JSON (`grant_tables`);
- a string literal that is itself such a statement (dynamic SQL), and the operands completing one that a string
  leaves open (`CONCAT('… IDENTIFIED BY ''', 'secret', '''')`) (`scan.Scan.literal`);
- such a statement commented out (`-- ALTER USER u IDENTIFIED BY '…'`), masked inside the comment.

None of these needs the statement to start the text: SET PASSWORD, START REPLICA and CREATE SERVER are found in a
routine's body (`CREATE PROCEDURE p() SET PASSWORD …`, `… DO START REPLICA …`, MariaDB's `BEGIN NOT ATOMIC …`)
and after a log's prefix (`…Z\t 8 Query\tSET PASSWORD = …`) alike. The one form that also names a column,
`SET password = …`, is a column when the statement's verb is UPDATE, INSERT, REPLACE or LOAD DATA and a
credential otherwise: in MySQL `SET PASSWORD` is always the statement (a variable of that name needs quoting).
Sources: MySQL manual, "SET PASSWORD Statement", "CREATE PROCEDURE and CREATE FUNCTION Statements" (a routine
body is any one statement), "CREATE EVENT Statement", "BEGIN ... END Compound Statement"; MariaDB knowledge base,
"Using Compound Statements Outside of Stored Programs" (BEGIN NOT ATOMIC), "SET PASSWORD". `, PASSWORD = …` later in a
SET list is masked too, on the safe side: MariaDB's grammar lists PASSWORD among SET's option values.

A secret is a literal (string with its introducer, `N'…'`, `X'…'`, `B'…'`, a number or `0x…` hash, adjacent
strings that MySQL concatenates), a function call's literals, or — where the grammar allows nothing else, so only
a mistyped statement has it — the text up to the next whitespace: the server logs a statement that failed too.
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets import accounts, grant_tables, postgresql, procedures
from handler.transforms.sql_secrets.lexer import BACKTICK, PUNCT, STRING, WORD, Token, is_closed, tokens
from handler.transforms.sql_secrets.scan import MAX_NESTING, Scan, Span

_FUNCTIONS = frozenset({"password", "old_password", "ed25519", "ed25519_password"})
# `CREATE TABLE password (…)`, `INSERT INTO password (…)`: a table named like the function, not a call.
_BEFORE_TABLE_NAMES = frozenset({"table", "into", "from", "join", "update", "exists", "references", "insert", "."})
# Where a new statement begins inside a compound statement or a routine: an earlier UPDATE no longer owns a SET.
_BODY_STARTS = frozenset({"begin", "then", "else", "do", "loop", "repeat", "for"})
_DML = frozenset({"update", "insert", "replace", "load"})
# UPDATE and friends that are no statement: ON UPDATE, ON DUPLICATE KEY UPDATE, BEFORE INSERT (a trigger's event),
# CREATE OR REPLACE, GRANT SELECT, UPDATE; and the functions INSERT(…), REPLACE(…), and REPLACE '<old password>'.
_NOT_A_VERB_AFTER = frozenset({"or", "before", "after", "on", "key", "grant", "revoke", ","})
_NESTED_HINTS = ("identified", "password", "rds_")
_LOG_ENTRY = re.compile(r"\n[^\n]*\d (?:Query|Execute|Prepare)\t")
_JSON_HINTS = ("authentication_string", "additional_password")
# scheme://user_name[:password]@host_name[:port_num]/db_name/tbl_name (MySQL manual, "Creating a FEDERATED Table
# Using CONNECTION"); `mysql` is the only scheme. The password may hold `@` or `/`, so the user is what is certain.
_URL_USER = re.compile(r"mysql://[^/@:'\"]*:", re.IGNORECASE)


def secret_spans(
    sql: str,
    *,
    backslash_escapes: bool = True,
    dialect: str = "mysql",
    loose: bool = False,
    wholes: list[Span] | None = None,
) -> list[Span]:
    """Spans (start, end) of `sql` that hold credentials, in order, possibly overlapping.

    `loose` is for text that is not one statement (a log line, an error message): an entry of the general log
    there ends an UPDATE's hold on a later `SET password`, a `#` starting a line starts no comment, and
    PostgreSQL's `"` starts no name. `wholes` receives the spans of strings masked whole for holding a credential
    statement.
    """
    if dialect == "postgresql":
        scan: Scan = postgresql.PostgresScan(sql, backslash_escapes, 0, names=not loose)
    else:
        comments: list[Span] = []
        toks = tokens(sql, backslash_escapes=backslash_escapes, hash_comments=not loose, comments=comments)
        scan = _MySQLScan(sql, toks, backslash_escapes, 0, loose, comments)
    spans = scan.run()
    if wholes is not None:
        wholes += scan.wholes
    return spans


class _MySQLScan(Scan):
    def __init__(
        self, sql: str, toks: list[Token], backslash: bool, depth: int, loose: bool, comments: list[Span]
    ) -> None:
        super().__init__(sql, toks, backslash, depth)
        self.loose = loose
        self.comments = comments
        self.statement()

    def statement(self) -> None:
        """A new statement: what the previous one said no longer holds."""
        self.mode = ""  # "start" or "server": PASSWORD is an option of the statement
        self.in_set = False  # a SET statement, whose list may go on with `, PASSWORD = …`
        self.grant = ""  # the grant table the statement writes
        self.positions: list[int] | None = None  # the secret columns of its INSERT column list
        self.dml = -1  # where the statement's UPDATE, INSERT, REPLACE or LOAD is, or -1
        self.dml_verb = ""

    def run(self) -> list[Span]:
        i = 0
        while i < self.n:
            tok = self.toks[i]
            if tok.kind == WORD:
                i = self.on_word(i, tok.text)
            elif tok.kind == STRING:
                i = self.literal(i)
            elif tok.kind == BACKTICK:
                i = self.on_name(i)
            elif tok.text == ";":
                self.statement()
                i += 1
            elif tok.text == "," and self.in_set and self.word(i + 1) == "password":
                i = accounts.set_password(self, i + 2)
            else:
                i += 1
        for start, end in self.comments:
            self.commented(start, end)
        return self.spans

    def commented(self, start: int, end: int) -> None:
        """A commented-out statement (`-- ALTER USER u IDENTIFIED BY '…'`) is masked in place: a comment's text is
        verbatim. It is read one level deeper, so that prose (`-- identified by the caller`) keeps its words."""
        text = self.sql[start:end]
        lowered = text.lower()
        if self.depth < MAX_NESTING and any(hint in lowered for hint in _NESTED_HINTS + _JSON_HINTS):
            spans, _ = self.inner(text)
            self.spans += [(start + s, start + e) for s, e in spans]

    def on_word(self, i: int, w: str) -> int:
        if w == "identified":
            return accounts.identified(self, i + 1)
        if w in _FUNCTIONS and self.punct(i + 1, "(") and (i == 0 or self.toks[i - 1].text not in _BEFORE_TABLE_NAMES):
            return self.arguments(i + 1, every_word=False)
        if w in ("master_password", "source_password") or (w == "password" and self.mode):
            return accounts.assignment(self, i + 1)
        if w == "call":
            return procedures.call(self, i + 1)
        if w == "set":
            return self.set(i)
        if w in _BODY_STARTS:
            self.dml = -1
        elif w in _DML and self.starts_dml(i):
            self.dml, self.dml_verb = self.toks[i].start, w
        elif w == "start" and self.word(i + 1) in ("slave", "replica", "group_replication"):
            self.mode = "start"
        elif w in ("create", "alter"):
            j = i + 3 if self.word(i + 1) == "or" and self.word(i + 2) == "replace" else i + 1
            if self.word(j) == "server":
                self.mode = "server"
        else:
            return self.on_name(i)
        return i + 1

    def set(self, i: int) -> int:
        """`SET PASSWORD …` is the statement unless an UPDATE, INSERT, REPLACE or LOAD DATA owns the SET (then
        `password` is a column); with FOR or TO after it, it is the statement wherever it is."""
        dml = self.dml >= 0 and not (self.loose and self.other_line(self.dml, self.toks[i].start))
        if not dml:
            self.in_set = True
        if self.word(i + 1) == "password" and (not dml or self.word(i + 2) in ("for", "to")):
            return accounts.set_password(self, i + 2)
        return i + 1

    def other_line(self, verb: int, at: int) -> bool:
        """In loose text, whether an entry of the general query log starts between `verb` and `at` (its lines are
        `<time>\\t<id> <command>\\t<statement>`, MySQL manual "The General Query Log"): a statement of its own."""
        return _LOG_ENTRY.search(self.sql, verb, at) is not None

    def starts_dml(self, i: int) -> bool:
        prev = self.toks[i - 1] if i else None
        if prev is not None and prev.kind in (WORD, PUNCT) and prev.text in _NOT_A_VERB_AFTER:
            return False
        return not (self.punct(i + 1, "(") or (i + 1 < self.n and self.toks[i + 1].kind == STRING))

    def on_name(self, i: int) -> int:
        """A name, quoted or not: `mysql.<grant table>` (which one the statement writes, and the secret columns of
        its INSERT column list), or one of its secret columns."""
        grant = self.name(i + 2)
        if self.name(i) != "mysql" or not self.punct(i + 1, ".") or grant not in grant_tables.SECRET_COLUMNS:
            done = grant_tables.column(self, i, self.grant, self.dml_verb in ("insert", "replace"), self.positions)
            return i + 1 if done is None else done
        self.grant = grant
        if self.dml_verb not in ("insert", "replace"):
            return i + 3
        after, self.positions = grant_tables.columns(self, i + 3, grant)
        return after

    def literal(self, i: int) -> int:
        tok = self.toks[i]
        text = self.sql[tok.start : tok.end]
        url = _URL_USER.search(text)
        # a complete URL without `@` after its user: is `host:port`, no password
        if url is not None and ("@" in text[url.end() :] or self.is_open(tok)):
            return self.mask(i, i + 1)
        lowered = text.lower()
        if any(hint in lowered for hint in _JSON_HINTS):
            done = grant_tables.json_secret(self, i, self.unquote(tok))
            if done is not None:
                return done
        if not any(hint in lowered for hint in _NESTED_HINTS):
            return i + 1
        return super().literal(i)

    def is_open(self, tok: Token) -> bool:
        return not is_closed(self.sql[tok.start : tok.end], backslash_escapes=self.backslash)

    def unquote(self, tok: Token) -> str:
        literal = self.sql[tok.start : tok.end]
        quote = literal[0]
        body = literal[1:-1] if len(literal) > 1 and literal.endswith(quote) else literal[1:]
        body = body.replace(quote * 2, quote)
        return _BACKSLASH_PAIR.sub(_unescape, body) if self.backslash else body

    def inner(self, text: str) -> tuple[list[Span], str | None]:
        comments: list[Span] = []
        toks = tokens(text, backslash_escapes=self.backslash, comments=comments)
        scan = _MySQLScan(text, toks, self.backslash, self.depth + 1, False, comments)
        return scan.run(), scan.dangling


# MySQL's string escapes; any other escaped character stands for itself.
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "0": "\0", "Z": "\x1a"}
_BACKSLASH_PAIR = re.compile(r"\\([\s\S])")


def _unescape(m: re.Match[str]) -> str:
    return _ESCAPES.get(m.group(1), m.group(1))
