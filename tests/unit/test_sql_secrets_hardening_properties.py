"""Properties for the review's findings (issue 13): the secret, Greek letters nothing else holds, never comes out.

Deterministic like test_sql_secrets_properties: the same examples on every run, nothing stored between runs.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from handler.activity import event_record
from handler.transforms.activity import activity_document
from handler.transforms.sql_secrets import mask_raw_line, mask_sql
from tests.unit.test_sql_secrets_properties import (
    CREDENTIAL_TEMPLATES,
    GREEK,
    HARMLESS_TEMPLATES,
    MASKER,
    keyword,
    leaked,
    literals,
    secrets,
    statements,
)

# Where a statement may sit in text that is not one statement (finding 2).
PREFIXES = [
    "2024-01-01T00:00:00.000000Z\t   8 Query\t",
    "230501 10:02:20\t    8 Query\t",
    "\t\t    9 Execute\t",
    "# Time: 2024-01-01T00:00:00Z\n# Query_time: 0.1  Lock_time: 0.0\nSET timestamp=1704067200;\n",
    "# Query_time: 0.1 ",
    "mysql> ",
    "ERROR 1064 (42000): You have an error in your SQL syntax; near '",
    "8 Query\tUPDATE t SET a = 1\n9 Query\t",
]


@MASKER
@given(statements(CREDENTIAL_TEMPLATES), st.sampled_from(PREFIXES), st.sampled_from(["", ";", "\n", "' at line 1"]))
def test_secret_never_left_after_a_log_prefix(stmt: tuple[str, int, int], prefix: str, suffix: str) -> None:
    masked = mask_raw_line(prefix + stmt[0] + suffix)
    assert not leaked(masked)
    assert mask_raw_line(masked) == masked


@MASKER
@given(statements(HARMLESS_TEMPLATES), st.sampled_from(PREFIXES[:4]))
def test_harmless_statement_after_a_log_prefix_kept(stmt: tuple[str, int, int], prefix: str) -> None:
    assert mask_raw_line(prefix + stmt[0]) == prefix + stmt[0]


# A password typed without quotes (finding 4): anything but whitespace and `;`, starting with a letter.
_BARE_CHARS = GREEK + "@!-$%^&*.:+=/~#,()'\"`\\"


@MASKER
@given(
    st.text(GREEK, min_size=1, max_size=3),
    st.text(_BARE_CHARS, min_size=8, max_size=20),
    st.sampled_from(
        [
            "CREATE USER u IDENTIFIED BY {}",
            "ALTER USER u IDENTIFIED BY {} REQUIRE SSL",
            "SET PASSWORD FOR u = {}",
            "GRANT ALL ON *.* TO u IDENTIFIED BY PASSWORD {};SELECT 1",
            "CHANGE MASTER TO MASTER_PASSWORD={}\n, MASTER_HOST='h'",
        ]
    ),
    st.data(),
)
def test_unquoted_password_never_emitted(head: str, tail: str, template: str, data: st.DataObject) -> None:
    sql = template.format(head + tail)
    if data.draw(st.booleans(), label="truncated"):
        sql = sql[: data.draw(st.integers(sql.index(head) + 1, len(sql)), label="cut at")]
    masked = mask_sql(sql)
    assert not leaked(masked)
    assert mask_sql(masked) == masked


# CONCAT and || operands after a string that opens the credential (finding 6): the password's pieces, as the
# generated statement reads them (a quote in them doubled or escaped; a lone one would end the password there).
_PIECE = st.lists(st.text(GREEK + '"x ,', min_size=1, max_size=3) | st.sampled_from(["''", "\\'"]), min_size=1)


@MASKER
@given(
    st.lists(_PIECE.map("".join), min_size=1, max_size=3),
    st.sampled_from(
        [
            ("CONCAT('CREATE USER u IDENTIFIED BY ''', {}, '''')", ", "),
            ("CONCAT('SET PASSWORD FOR u = ''', {}, ''' RETAIN CURRENT PASSWORD')", ","),
            ("CONCAT('CHANGE MASTER TO MASTER_PASSWORD=''', {}, '''')", " , "),
            ("CONCAT('ALTER USER u IDENTIFIED BY ', QUOTE({}))", ", "),
        ]
    ),
    st.sampled_from(["SET @s = ", "PREPARE s FROM ", "EXECUTE IMMEDIATE "]),
)
def test_secret_split_over_concat_never_emitted(pieces: list[str], template: tuple[str, str], head: str) -> None:
    form, sep = template
    operands = sep.join("'" + p.replace("\\", "\\\\").replace("'", "''") + "'" for p in pieces)
    sql = head + form.format(operands)
    masked = mask_sql(sql)
    assert not leaked(masked), sql
    assert mask_sql(masked) == masked


# A FEDERATED URL (finding 3), whole or cut anywhere after the user's colon.
@MASKER
@given(st.text(GREEK + "@/:!", min_size=12, max_size=20), st.sampled_from(["CONNECTION", "COMMENT"]), st.data())
def test_federated_password_never_emitted(secret: str, option: str, data: st.DataObject) -> None:
    sql = f"CREATE TABLE t (a INT) ENGINE=FEDERATED {option}='mysql://repl:{secret}@h:3306/db/t'"
    sql = sql[: data.draw(st.integers(sql.index("repl:") + 6, len(sql)))]
    assert not leaked(mask_sql(sql))
    line = f"1603440571474649,db-1,admin,1.34.6.81,30,1,QUERY,db,'{sql.replace(chr(39), chr(92) + chr(39))}',0"
    assert not leaked(mask_raw_line(line))


# `--` then any character (finding 7): whether it is a comment or two minus signs, the literal is found (`;`
# and quotes aside: `--;` ends the statement, `--'` starts a literal of its own).
@MASKER
@given(st.characters(max_codepoint=0xFF).filter(lambda c: c not in ";'\"`"), st.data())
def test_double_dash_then_any_character(char: str, data: st.DataObject) -> None:
    secret_literal = data.draw(literals(data.draw(secrets())))
    sql = f"CREATE USER u IDENTIFIED BY --{char}\n{secret_literal}"
    assert not leaked(mask_sql(sql))


# PostgreSQL (finding 8).
@st.composite
def pg_literals(draw: st.DrawFn, secret: str) -> str:
    form = draw(st.sampled_from(["std", "escape", "dollar"]))
    if form == "dollar":
        return "$q$" + secret.replace("$", "") + "$q$"
    if form == "escape":
        return "E'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + secret.replace("'", "''") + "'"


_PG_TEMPLATES = [
    "{verb} {kind} app {with_} {enc} PASSWORD {lit} VALID UNTIL 'infinity'",
    "DO $$ BEGIN {verb} {kind} app {with_} PASSWORD {lit}; END $$",
    "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'r', password {lit})",
]


@MASKER
@given(secrets(), st.sampled_from(_PG_TEMPLATES), st.data())
def test_postgresql_password_never_emitted(secret: str, template: str, data: st.DataObject) -> None:
    lit = data.draw(pg_literals(secret))
    if "$$" in template:  # a body's own literal cannot be dollar-quoted with the body's tag
        lit = lit if not lit.startswith("$") else "'" + secret.replace("'", "''") + "'"
    sql = template.format(
        verb=keyword(data.draw, data.draw(st.sampled_from(["CREATE", "ALTER"]))),
        kind=data.draw(st.sampled_from(["ROLE", "USER", "GROUP"])),
        with_=data.draw(st.sampled_from(["", "WITH", "WITH LOGIN"])),
        enc=data.draw(st.sampled_from(["", "ENCRYPTED", "UNENCRYPTED"])),
        lit=lit,
    )
    if data.draw(st.booleans(), label="truncated"):
        sql = sql[: data.draw(st.integers(sql.index(lit) + 1, sql.index(lit) + len(lit)), label="cut at")]
    masked = mask_sql(sql, dialect="postgresql")
    assert not leaked(masked)
    assert mask_sql(masked, dialect="postgresql") == masked
    # and through the Activity Streams consumer: the document, and the dead letter of an event without a time
    event: dict[str, Any] = {"type": "record", "serverType": "PostgreSQL", "logTime": "2024-01-01 00:00:00+00"}
    event |= {"commandText": sql, "errorMessage": f'SQL statement "{sql}"', "paramList": [sql]}
    built = activity_document(event, cluster="c", instance=None, version="1.2")
    assert built is not None and not leaked(str(built[0]))
    assert not leaked(str(event_record({**event, "logTime": None}, "c", None, "1.2", True)))
