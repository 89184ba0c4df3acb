"""PostgreSQL's credential statements (Aurora PostgreSQL's Activity Streams), and the Activity Streams fields other
than commandText that can quote a statement: exact masked forms. Every MASKED row leaked before (the MySQL rules
were applied to PostgreSQL text, and errorMessage and paramList were stored as they came)."""

from __future__ import annotations

from typing import Any

import pytest

from handler.activity import event_record
from handler.transforms.activity import activity_document
from handler.transforms.sql_secrets import mask_raw_line, mask_sql

M = "'***'"

MASKED = [
    # CREATE|ALTER ROLE|USER|GROUP … [WITH] … [ENCRYPTED|UNENCRYPTED] PASSWORD '…'
    (
        "CREATE ROLE app WITH LOGIN PASSWORD 'x' VALID UNTIL '2030-01-01'",
        f"CREATE ROLE app WITH LOGIN PASSWORD {M} VALID UNTIL '2030-01-01'",
    ),
    ("CREATE USER app PASSWORD 'x'", f"CREATE USER app PASSWORD {M}"),
    ("create user app with encrypted password 'x' createdb", f"create user app with encrypted password {M} createdb"),
    (
        "ALTER USER app WITH ENCRYPTED PASSWORD 'md5f5b31c0e5bd9d4a2c9e6ea0b5ae9c1f2'",
        f"ALTER USER app WITH ENCRYPTED PASSWORD {M}",
    ),
    ("ALTER ROLE app PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2Vy'", f"ALTER ROLE app PASSWORD {M}"),
    ("ALTER ROLE app UNENCRYPTED PASSWORD 'x'", f"ALTER ROLE app UNENCRYPTED PASSWORD {M}"),
    ("CREATE GROUP g WITH PASSWORD 'x'", f"CREATE GROUP g WITH PASSWORD {M}"),
    ("ALTER ROLE app\n  PASSWORD /* rotated */ 'x'", f"ALTER ROLE app\n  PASSWORD /* rotated */ {M}"),
    # '' doubles a quote; E'…' takes backslashes; dollar quotes hold anything
    ("ALTER ROLE app PASSWORD 'it''s'", f"ALTER ROLE app PASSWORD {M}"),
    ("ALTER ROLE app PASSWORD E'it\\'s'", f"ALTER ROLE app PASSWORD {M}"),
    ("ALTER ROLE app PASSWORD $$it's$$", f"ALTER ROLE app PASSWORD {M}"),
    (
        "ALTER ROLE app PASSWORD $pw$a'b$$c$pw$ VALID UNTIL 'infinity'",
        f"ALTER ROLE app PASSWORD {M} VALID UNTIL 'infinity'",
    ),
    ("ALTER ROLE app PASSWORD U&'d\\0061t'", f"ALTER ROLE app PASSWORD {M}"),
    # cut by the stream, or typed without quotes (a syntax error, logged with its text)
    ("ALTER ROLE app PASSWORD 'x", f"ALTER ROLE app PASSWORD {M}"),
    ("ALTER USER app PASSWORD s3cr3t!", f"ALTER USER app PASSWORD {M}"),
    # inside function bodies and DO blocks: masked in place
    ("DO $$ BEGIN ALTER ROLE app PASSWORD 'x'; END $$", f"DO $$ BEGIN ALTER ROLE app PASSWORD {M}; END $$"),
    (
        "CREATE FUNCTION f() RETURNS void AS $fn$ BEGIN ALTER ROLE app PASSWORD 'x'; END $fn$ LANGUAGE plpgsql",
        f"CREATE FUNCTION f() RETURNS void AS $fn$ BEGIN ALTER ROLE app PASSWORD {M}; END $fn$ LANGUAGE plpgsql",
    ),
    ("DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ''x'''; END $$", f"DO $$ BEGIN EXECUTE {M}; END $$"),
    (
        "DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ' || quote_literal('x'); END $$",
        f"DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ' || quote_literal({M}); END $$",
    ),
    (
        "EXECUTE 'ALTER ROLE app PASSWORD ''' || 'x' || ''''",
        f"EXECUTE 'ALTER ROLE app PASSWORD ''' || {M} || ''''",
    ),
    ("SELECT 1; -- ALTER ROLE app PASSWORD 'x'", f"SELECT 1; -- ALTER ROLE app PASSWORD {M}"),
    # user mappings and connection strings
    (
        "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'r', password 'x')",
        f"CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'r', password {M})",
    ),
    (
        "ALTER USER MAPPING FOR app SERVER s OPTIONS (SET password 'x')",
        f"ALTER USER MAPPING FOR app SERVER s OPTIONS (SET password {M})",
    ),
    (
        "CREATE SUBSCRIPTION sub CONNECTION 'host=h port=5432 user=r password=x dbname=d' PUBLICATION p",
        f"CREATE SUBSCRIPTION sub CONNECTION {M} PUBLICATION p",
    ),
    ("SELECT dblink_connect('c', 'postgresql://r:x@h/d')", f"SELECT dblink_connect('c', {M})"),
]

UNCHANGED = [
    "ALTER ROLE app PASSWORD NULL",
    "ALTER ROLE app WITH PASSWORD NULL VALID UNTIL 'infinity'",
    "SELECT * FROM users WHERE name = 'bob' AND password = 'x'",
    "UPDATE users SET password = 'x' WHERE id = 1",
    "INSERT INTO users (name, password) VALUES ('bob', 'x')",
    "SELECT password_hint, 'password' FROM t",
    "COMMENT ON COLUMN t.password IS 'x'",
    "ALTER ROLE app SET password_encryption = 'scram-sha-256'",
    "SELECT $1, $$it's a password$$ FROM t -- the password of the caller",
    "SELECT dblink_connect('c', 'host=h user=r dbname=d')",
    "CREATE FUNCTION f() RETURNS text AS $$ SELECT 'password' $$ LANGUAGE sql",
]


@pytest.mark.parametrize(("sql", "masked"), MASKED)
def test_masked(sql: str, masked: str) -> None:
    assert mask_sql(sql, dialect="postgresql") == masked
    assert mask_sql(masked, dialect="postgresql") == masked
    assert mask_raw_line(masked, dialect="postgresql") == masked


@pytest.mark.parametrize("sql", UNCHANGED)
def test_unchanged(sql: str) -> None:
    assert mask_sql(sql, dialect="postgresql") == sql


def test_mysql_stays_the_default() -> None:
    assert mask_sql("ALTER USER u IDENTIFIED BY 'x'") == f"ALTER USER u IDENTIFIED BY {M}"
    assert mask_sql("SELECT 'a\\'' AS q, password FROM t") == "SELECT 'a\\'' AS q, password FROM t"


def _event(**fields: Any) -> dict[str, Any]:
    return {"type": "record", "logTime": "2024-01-01 00:00:00.000000+00", "command": "QUERY", **fields}


MYSQL_ERROR = (
    "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the "
    "right syntax to use near 'EXIST bob IDENTIFIED BY 'Zq9pw'' at line 1"
)
MYSQL_ERROR_MASKED = MYSQL_ERROR.replace("'Zq9pw'", M)


def test_activity_document_masks_the_error_message_and_reads_postgresql_as_postgresql() -> None:
    mysql = _event(serverType="MySQL", commandText="CREATE USER IF NOT EXIST bob IDENTIFIED BY 'Zq9pw'")
    doc, _ = activity_document({**mysql, "errorMessage": MYSQL_ERROR}, cluster="c", instance=None, version="1.2")
    assert (doc["sql"], doc["error_message"]) == (
        "CREATE USER IF NOT EXIST bob IDENTIFIED BY '***'",
        MYSQL_ERROR_MASKED,
    )
    pg = _event(serverType="PostgreSQL", commandText="ALTER ROLE app PASSWORD 'Zq9pw'", errorMessage="x")
    built = activity_document(pg, cluster="c", instance=None, version="1.2")
    assert built is not None and built[0]["sql"] == "ALTER ROLE app PASSWORD '***'"
    raw, _ = activity_document(
        {**mysql, "errorMessage": MYSQL_ERROR}, cluster="c", instance=None, version=None, mask=False
    )
    assert raw["error_message"] == MYSQL_ERROR  # --no-mask keeps the text as logged


def test_dead_lettered_event_masks_its_error_message_and_parameters() -> None:
    event = _event(
        logTime="not a time",
        serverType="PostgreSQL",
        commandText="SELECT rotate($1, $2)",
        # PostgreSQL's CONTEXT quotes the statement: SQL statement "…"
        errorMessage='role "app" does not exist; SQL statement "ALTER ROLE app PASSWORD \'Zq9pw\'"',
        paramList=["app", "ALTER ROLE app PASSWORD 'Zq9pw'", ["CREATE USER u PASSWORD 'Zq9pw'"], 7, None],
    )
    record = event_record(event, "c", None, "1.2", True)
    assert (
        record["event"]["errorMessage"] == 'role "app" does not exist; SQL statement "ALTER ROLE app PASSWORD \'***\'"'
    )
    assert record["event"]["paramList"] == [
        "app",
        "ALTER ROLE app PASSWORD '***'",
        ["CREATE USER u PASSWORD '***'"],
        7,
        None,
    ]
    assert record["event"]["commandText"] == "SELECT rotate($1, $2)"
    assert event_record(event, "c", None, "1.2", False)["event"] == event
    mysql = _event(logTime=None, commandText="x", errorMessage=MYSQL_ERROR, paramList="SET PASSWORD = 'Zq9pw'")
    masked = event_record(mysql, "c", None, "1.2", True)["event"]
    assert (masked["errorMessage"], masked["paramList"]) == (MYSQL_ERROR_MASKED, f"SET PASSWORD = {M}")
