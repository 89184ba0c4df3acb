"""Lines MariaDB 10.11's server_audit really wrote (copied from the log of tests/integration/mariadb.py's server, run
with tests/integration/mariadb_workload.py; all of them, the binary ones included, are in tests/events/mariadb/):
names with commas resolved from the anchors or flagged as ambiguous, and the plugin's quirks read as written
(docs/mariadb-server-audit.md). The compiled scanner is compared on the same lines in test_accelerator.py."""

from __future__ import annotations

from typing import Any

import pytest

from handler.model import Context, RawEvent
from handler.transforms.audit_line import AuditRecord, ParseFailure, parse_line, parse_line_python
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.document import audit_document
from tests.events import mariadb_lines

T = "20261207 12:58:58,vm,"
# (line, (user, client, connid, queryid, operation, db, object, retcode)) — written by the plugin, fields as logged
RESOLVED = [
    # a user with a comma: the host is the last field before the two integers
    (T + "we,ird,127.0.0.1,6,0,CONNECT,db,comma,,0",
     ("we,ird", "127.0.0.1", 6, 0, "CONNECT", "db,comma", "", 0)),
    (T + "we,ird,127.0.0.1,6,49,QUERY,db,comma,'SET NAMES utf8mb4',0",
     ("we,ird", "127.0.0.1", 6, 49, "QUERY", "db,comma", "SET NAMES utf8mb4", 0)),
    (T + "we,ird,127.0.0.1,6,50,QUERY,db,comma,'CREATE TABLE `t,2` (a INT, b VARCHAR(20))',0",
     ("we,ird", "127.0.0.1", 6, 50, "QUERY", "db,comma", "CREATE TABLE `t,2` (a INT, b VARCHAR(20))", 0)),
    (T + "we,ird,127.0.0.1,6,52,QUERY,db,comma,'SELECT * FROM `t,2`, shop.`n,1` LIMIT 1',0",
     ("we,ird", "127.0.0.1", 6, 52, "QUERY", "db,comma", "SELECT * FROM `t,2`, shop.`n,1` LIMIT 1", 0)),
    (T + "we,ird,127.0.0.1,11,0,FAILED_CONNECT,,,1045", ("we,ird", "127.0.0.1", 11, 0, "FAILED_CONNECT", "", "", 1045)),
    ("20261207 12:59:03,vm,we,ird,127.0.0.1,6,0,DISCONNECT,db,comma,,0",
     ("we,ird", "127.0.0.1", 6, 0, "DISCONNECT", "db,comma", "", 0)),
    ("20261207 12:59:03,vm,we,ird,localhost,25,1759,QUERY,shop,'INSERT INTO `n,1` (id, v) VALUES (2500015, "
     "\\'\\\\\\'\\\\\\', \\\\\\\\\\\\\\', ,\\\\\\'\\')',0",
     ("we,ird", "localhost", 25, 1759, "QUERY", "shop",
      "INSERT INTO `n,1` (id, v) VALUES (2500015, '\\'\\', \\\\\\', ,\\'')", 0)),
    # a user built to look like fields (`x,10.9.8.7,99`): no forged client or connection id
    (T + "x,10.9.8.7,99,localhost,7,0,CONNECT,shop,,0", ("x,10.9.8.7,99", "localhost", 7, 0, "CONNECT", "shop", "", 0)),
    (T + "x,10.9.8.7,99,localhost,7,55,QUERY,shop,'SELECT \\'forged?\\' FROM `n,1` LIMIT 1',0",
     ("x,10.9.8.7,99", "localhost", 7, 55, "QUERY", "shop", "SELECT 'forged?' FROM `n,1` LIMIT 1", 0)),
    # commas only inside the statement: the ordinary path
    ("20261207 12:58:57,vm,root,localhost,4,4,QUERY,,'CREATE DATABASE IF NOT EXISTS `db,comma`',0",
     ("root", "localhost", 4, 4, "QUERY", "", "CREATE DATABASE IF NOT EXISTS `db,comma`", 0)),
    ("20261207 12:58:57,vm,root,localhost,4,17,QUERY,mysql,"
     "'CREATE USER \\'x,10.9.8.7,99\\'@\\'%\\' IDENTIFIED BY *****',0",
     ("root", "localhost", 4, 17, "QUERY", "mysql", "CREATE USER 'x,10.9.8.7,99'@'%' IDENTIFIED BY *****", 0)),
    # the quirks: CHANGEUSER refused (the user it asked for, no database); a QUERY without a default database
    # carrying the database of the tables the session touched before (mysql, from an earlier ALTER USER)
    (T + "alice,127.0.0.1,12,0,CHANGEUSER,,,1045", ("alice", "127.0.0.1", 12, 0, "CHANGEUSER", "", "", 1045)),
    ("20261207 12:58:59,vm,root,localhost,13,69,QUERY,mysql,'SELECT COUNT(*) FROM shop.items',0",
     ("root", "localhost", 13, 69, "QUERY", "mysql", "SELECT COUNT(*) FROM shop.items", 0)),
    ("20261207 12:58:57,vm,alice,127.0.0.1,5,28,RENAME,shop,scratch|shop.scratch2,",
     ("alice", "127.0.0.1", 5, 28, "RENAME", "shop", "scratch|shop.scratch2", None)),
]  # fmt: skip

# A TABLE event's `db,table` pair splits at any of its commas: more than one reading, kept raw and flagged.
AMBIGUOUS = [
    ("20261207 12:58:57,vm,alice,127.0.0.1,5,24,CREATE,shop,n,1,", 2),  # not table `n` with return code 1
    (T + "we,ird,127.0.0.1,6,50,CREATE,db,comma,t,2,", 3),
    (T + "we,ird,127.0.0.1,6,52,READ,db,comma,t,2,", 3),
    (T + "x,10.9.8.7,99,localhost,7,55,READ,shop,n,1,", 2),
]


def fields(rec: AuditRecord) -> tuple[Any, ...]:
    return rec.user, rec.client, rec.connid, rec.queryid, rec.operation, rec.db, rec.obj, rec.retcode


@pytest.mark.parametrize(("line", "expected"), RESOLVED)
def test_names_with_commas_resolved_from_the_anchors(line: str, expected: tuple[Any, ...]) -> None:
    assert line in mariadb_lines()  # a real line, as the plugin wrote it
    for parse in (parse_line, parse_line_python):
        rec = parse(line)
        assert isinstance(rec, AuditRecord), rec
        assert fields(rec) == expected
        assert (rec.dialect, rec.connection_type, rec.server) == ("mariadb", "", "vm")


@pytest.mark.parametrize(("line", "readings"), AMBIGUOUS)
def test_ambiguous_table_events_are_flagged_not_guessed(line: str, readings: int) -> None:
    assert line in mariadb_lines()
    rec = parse_line(line)
    assert rec == ParseFailure(
        f"ambiguous: {readings} readings (a comma in a user, database or table name; kept raw, not guessed)"
    )
    [action] = BatchTransformer(Context(), TransformOptions()).actions([RawEvent(line)])
    assert action.flagged and action.document()["message"] == line


def test_successful_changeuser_is_a_record_with_an_empty_user_and_garbage_database() -> None:
    [line] = [x for x in mariadb_lines() if ",CHANGEUSER," in x and x.endswith(",0")]
    rec = parse_line(line)
    assert isinstance(rec, AuditRecord)
    assert (rec.user, rec.client, rec.connid, rec.operation, rec.obj, rec.retcode) == ("", "", 12, "CHANGEUSER", "", 0)
    assert set(rec.db) == {"O"} and len(rec.db) > 100  # what the plugin wrote there, kept as written
    doc = audit_document(rec, Context())
    assert doc["operation"] == "CHANGEUSER" and "tags" not in doc


@pytest.mark.parametrize("marker", ["IDENTIFIED BY *****", "PASSWORD(*****)"])
def test_plugin_masked_long_password_leaves_no_stray_bytes_in_the_document(marker: str) -> None:
    # past server_audit_query_log_limit the plugin's own mask is followed by NULs and by bytes of its buffer, the
    # statement with the password among them
    [line] = [x for x in mariadb_lines() if marker in x and "\0" in x]
    assert "qqqqqqqqqqqqqqqq" in line  # the end of the password the workload set, in the raw line
    rec = parse_line(line)
    assert isinstance(rec, AuditRecord) and rec.operation == "QUERY" and rec.retcode == 0
    [action] = BatchTransformer(Context(), TransformOptions()).actions([RawEvent(line)])
    doc = action.document()
    before = rec.obj.split("*****")[0]
    assert doc["sql"] == before + "'***'"  # from the plugin's mask on nothing is the statement's
    assert "\0" not in doc["sql"] and "qqqq" not in doc["sql"]


def test_multibyte_text_cut_at_the_limit() -> None:
    # 1024 bytes of the escaped statement; the cut falls inside a 3-byte character, which reads as U+FFFD
    [line] = [x for x in mariadb_lines() if "€€€" in x]
    rec = parse_line(line)
    assert isinstance(rec, AuditRecord)
    assert rec.obj.endswith("€\ufffd") and rec.retcode == 0


def test_every_real_line_parses_or_is_flagged_ambiguous() -> None:
    for line in mariadb_lines():
        rec = parse_line(line)
        assert isinstance(rec, AuditRecord) or rec.reason.startswith("ambiguous"), line
