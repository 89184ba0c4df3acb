"""The masking table: statements DBAs run, each with its exact masked form, and statements that must not change."""

from __future__ import annotations

import pytest

from handler.model import Context, RawEvent
from handler.transforms.audit_line import ParseFailure, parse_line
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.document import failure_document
from handler.transforms.sql_secrets import mask_raw_line, mask_sql, might_hold_secrets
from tests.events.generate import plugin_escape

M = "'***'"

# (statement, masked): one row per form. Escapes are Python's: "\\'" is SQL's \' and "\n" a newline.
MASKED = [
    # CREATE / ALTER USER … IDENTIFIED BY
    ("CREATE USER 'bob'@'%' IDENTIFIED BY 'p,a\\'ss'", f"CREATE USER 'bob'@'%' IDENTIFIED BY {M}"),
    ('create user bob identified by "pw"', f"create user bob identified by {M}"),
    ("CREATE USER a IDENTIFIED BY 'it''s'", f"CREATE USER a IDENTIFIED BY {M}"),
    ("CREATE USER a IDENTIFIED\nBY\t'multi\nline'", f"CREATE USER a IDENTIFIED\nBY\t{M}"),
    (
        "CrEaTe UsEr a@localhost IdEnTiFiEd By 'x' PASSWORD EXPIRE INTERVAL 90 DAY",
        f"CrEaTe UsEr a@localhost IdEnTiFiEd By {M} PASSWORD EXPIRE INTERVAL 90 DAY",
    ),
    (
        "CREATE USER 'a'@'%' IDENTIFIED BY 'x1', 'b'@'%' IDENTIFIED BY 'x2' REQUIRE SSL",
        f"CREATE USER 'a'@'%' IDENTIFIED BY {M}, 'b'@'%' IDENTIFIED BY {M} REQUIRE SSL",
    ),
    (
        "ALTER USER CURRENT_USER() IDENTIFIED BY 'new' REPLACE 'old'",
        f"ALTER USER CURRENT_USER() IDENTIFIED BY {M} REPLACE {M}",
    ),
    (
        "ALTER USER u IDENTIFIED BY 'new' REPLACE 'old' RETAIN CURRENT PASSWORD",
        f"ALTER USER u IDENTIFIED BY {M} REPLACE {M} RETAIN CURRENT PASSWORD",
    ),
    (
        "ALTER USER u IDENTIFIED BY 'n' RETAIN CURRENT PASSWORD",
        f"ALTER USER u IDENTIFIED BY {M} RETAIN CURRENT PASSWORD",
    ),
    (
        "ALTER USER u IDENTIFIED BY RANDOM PASSWORD REPLACE 'old'",
        f"ALTER USER u IDENTIFIED BY RANDOM PASSWORD REPLACE {M}",
    ),
    (
        "CREATE USER u IDENTIFIED /* why */ BY -- note\n 'x' # trailing",
        f"CREATE USER u IDENTIFIED /* why */ BY -- note\n {M} # trailing",
    ),
    ("CREATE USER u IDENTIFIED BY _utf8mb4'x'", f"CREATE USER u IDENTIFIED BY {M}"),
    (
        "CREATE USER u IDENTIFIED BY _latin1 'x' COLLATE latin1_bin",
        f"CREATE USER u IDENTIFIED BY {M} COLLATE latin1_bin",
    ),
    ("CREATE USER u IDENTIFIED BY N'x'", f"CREATE USER u IDENTIFIED BY {M}"),
    ("CREATE USER u IDENTIFIED BY X'736563726574'", f"CREATE USER u IDENTIFIED BY {M}"),
    ("CREATE USER u IDENTIFIED BY b'0110'", f"CREATE USER u IDENTIFIED BY {M}"),
    ("CREATE USER u IDENTIFIED BY 'abc' 'def' REQUIRE NONE", f"CREATE USER u IDENTIFIED BY {M} REQUIRE NONE"),
    ("CREATE USER u IDENTIFIED BY 'a\\\\' REQUIRE NONE", f"CREATE USER u IDENTIFIED BY {M} REQUIRE NONE"),
    # under NO_BACKSLASH_ESCAPES 'c:\' is complete: both readings are masked, so is everything between them
    ("ALTER USER u IDENTIFIED BY 'c:\\' REPLACE 'old'", f"ALTER USER u IDENTIFIED BY {M}"),
    ("CREATE USER u IDENTIFIED BY hunter2", f"CREATE USER u IDENTIFIED BY {M}"),
    ("CREATE USER u /*!80000 IDENTIFIED BY 'x' */", f"CREATE USER u /*!80000 IDENTIFIED BY {M} */"),
    ("CREATE USER u /*M!100500 IDENTIFIED BY 'x' */", f"CREATE USER u /*M!100500 IDENTIFIED BY {M} */"),
    # truncated by the audit plugin inside the credential: masked to the end
    ("CREATE USER u IDENTIFIED BY 'trunc", f"CREATE USER u IDENTIFIED BY {M}"),
    ("CREATE USER u IDENTIFIED BY 'ab\\", f"CREATE USER u IDENTIFIED BY {M}"),
    ("ALTER USER u IDENTIFIED BY 'n' REPLACE 'ol", f"ALTER USER u IDENTIFIED BY {M} REPLACE {M}"),
    # IDENTIFIED WITH <plugin> BY | AS (a hash is a credential)
    (
        "ALTER USER u IDENTIFIED WITH 'mysql_native_password' AS '*ABC123'",
        f"ALTER USER u IDENTIFIED WITH 'mysql_native_password' AS {M}",
    ),
    (
        "CREATE USER u IDENTIFIED WITH caching_sha2_password BY 'x'",
        f"CREATE USER u IDENTIFIED WITH caching_sha2_password BY {M}",
    ),
    (
        "CREATE USER u IDENTIFIED WITH caching_sha2_password AS '$A$005$a;\\'q\\\\x' REQUIRE NONE",
        f"CREATE USER u IDENTIFIED WITH caching_sha2_password AS {M} REQUIRE NONE",
    ),
    (
        "CREATE USER u IDENTIFIED WITH caching_sha2_password AS 0x244124303035240C",
        f"CREATE USER u IDENTIFIED WITH caching_sha2_password AS {M}",
    ),
    (
        "CREATE USER u IDENTIFIED WITH `sha256_password` BY 'x'",
        f"CREATE USER u IDENTIFIED WITH `sha256_password` BY {M}",
    ),
    (
        "CREATE USER u IDENTIFIED WITH caching_sha2_password BY 'a' AND IDENTIFIED WITH authentication_ldap AS 'b'",
        f"CREATE USER u IDENTIFIED WITH caching_sha2_password BY {M} AND IDENTIFIED WITH authentication_ldap AS {M}",
    ),
    ("ALTER USER u MODIFY 2 FACTOR IDENTIFIED BY 'x'", f"ALTER USER u MODIFY 2 FACTOR IDENTIFIED BY {M}"),
    (
        "CREATE USER u IDENTIFIED WITH authentication_webauthn INITIAL AUTHENTICATION IDENTIFIED BY 'x'",
        f"CREATE USER u IDENTIFIED WITH authentication_webauthn INITIAL AUTHENTICATION IDENTIFIED BY {M}",
    ),
    # GRANT … IDENTIFIED BY [PASSWORD] (5.7, MariaDB), CLONE
    (
        "GRANT ALL ON *.* TO 'x'@'%' IDENTIFIED BY PASSWORD '*6BB4'",
        f"GRANT ALL ON *.* TO 'x'@'%' IDENTIFIED BY PASSWORD {M}",
    ),
    (
        "GRANT SELECT ON db.* TO u@'%' IDENTIFIED BY 'x' WITH GRANT OPTION",
        f"GRANT SELECT ON db.* TO u@'%' IDENTIFIED BY {M} WITH GRANT OPTION",
    ),
    ("CLONE INSTANCE FROM 'u'@'h':3306 IDENTIFIED BY 'x'", f"CLONE INSTANCE FROM 'u'@'h':3306 IDENTIFIED BY {M}"),
    # MariaDB: IDENTIFIED VIA|WITH <plugin> USING|AS …, alternatives chained with OR
    (
        "CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('x')",
        f"CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD({M})",
    ),
    (
        "ALTER USER u IDENTIFIED VIA mysql_native_password USING PASSWORD('x') OR unix_socket",
        f"ALTER USER u IDENTIFIED VIA mysql_native_password USING PASSWORD({M}) OR unix_socket",
    ),
    (
        "CREATE USER u IDENTIFIED VIA unix_socket OR ed25519 USING 'hash1' OR mysql_native_password AS '*AB'",
        f"CREATE USER u IDENTIFIED VIA unix_socket OR ed25519 USING {M} OR mysql_native_password AS {M}",
    ),
    ("CREATE USER u IDENTIFIED WITH ed25519 AS ED25519('x')", f"CREATE USER u IDENTIFIED WITH ed25519 AS ED25519({M})"),
    ("CREATE OR REPLACE USER u IDENTIFIED BY PASSWORD '*94BD'", f"CREATE OR REPLACE USER u IDENTIFIED BY PASSWORD {M}"),
    (
        "GRANT USAGE ON *.* TO u IDENTIFIED VIA pam USING 'mariadb'",
        f"GRANT USAGE ON *.* TO u IDENTIFIED VIA pam USING {M}",
    ),
    # SET PASSWORD [FOR user] = '…' | PASSWORD('…') | OLD_PASSWORD('…') [REPLACE '…']
    ("SET PASSWORD = 'x'", f"SET PASSWORD = {M}"),
    ("SET PASSWORD FOR 'u'@'%' = PASSWORD('x')", f"SET PASSWORD FOR 'u'@'%' = PASSWORD({M})"),
    ("SET PASSWORD = OLD_PASSWORD('x')", f"SET PASSWORD = OLD_PASSWORD({M})"),
    (
        "set password for `u`@`h` = 'x' replace 'y' retain current password",
        f"set password for `u`@`h` = {M} replace {M} retain current password",
    ),
    ("SET PASSWORD FOR u TO RANDOM REPLACE 'old'", f"SET PASSWORD FOR u TO RANDOM REPLACE {M}"),
    ("SET PASSWORD FOR CURRENT_USER() = 'x'", f"SET PASSWORD FOR CURRENT_USER() = {M}"),
    ("SET PASSWORD FOR u@h = PASSWORD ( 'x' )", f"SET PASSWORD FOR u@h = PASSWORD ( {M} )"),
    ("CREATE PROCEDURE p() BEGIN SET PASSWORD = 'x'; END", f"CREATE PROCEDURE p() BEGIN SET PASSWORD = {M}; END"),
    ("SELECT PASSWORD('x'), OLD_PASSWORD(\"y\")", f"SELECT PASSWORD({M}), OLD_PASSWORD({M})"),
    ("UPDATE t SET password = PASSWORD('x') WHERE id = 1", f"UPDATE t SET password = PASSWORD({M}) WHERE id = 1"),
    # replication: CHANGE MASTER / CHANGE REPLICATION SOURCE, START SLAVE|REPLICA|GROUP_REPLICATION
    (
        "CHANGE MASTER TO MASTER_PASSWORD='s3', MASTER_USER='r'",
        f"CHANGE MASTER TO MASTER_PASSWORD={M}, MASTER_USER='r'",
    ),
    ("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = 'p'", f"CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = {M}"),
    (
        "change replication source to source_host='h', source_password  =\n'p', source_ssl=1 for channel 'c'",
        f"change replication source to source_host='h', source_password  =\n{M}, source_ssl=1 for channel 'c'",
    ),
    ("CHANGE MASTER 'conn' TO MASTER_PASSWORD='x'", f"CHANGE MASTER 'conn' TO MASTER_PASSWORD={M}"),
    ("START SLAVE USER='r' PASSWORD='x'", f"START SLAVE USER='r' PASSWORD={M}"),
    (
        "START REPLICA IO_THREAD USER = 'r' PASSWORD = 'x' DEFAULT_AUTH = 'p' FOR CHANNEL 'c'",
        f"START REPLICA IO_THREAD USER = 'r' PASSWORD = {M} DEFAULT_AUTH = 'p' FOR CHANNEL 'c'",
    ),
    (
        "START GROUP_REPLICATION USER='r', PASSWORD='x', DEFAULT_AUTH='caching_sha2_password'",
        f"START GROUP_REPLICATION USER='r', PASSWORD={M}, DEFAULT_AUTH='caching_sha2_password'",
    ),
    # federated servers and tables
    (
        "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'r', PASSWORD 'x', HOST 'h', PORT 3306)",
        f"CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'r', PASSWORD {M}, HOST 'h', PORT 3306)",
    ),
    ("ALTER SERVER s OPTIONS (PASSWORD 'x')", f"ALTER SERVER s OPTIONS (PASSWORD {M})"),
    (
        "CREATE TABLE f (id INT) ENGINE=FEDERATED CONNECTION='mysql://u:pw@h:3306/db/t'",
        f"CREATE TABLE f (id INT) ENGINE=FEDERATED CONNECTION={M}",
    ),
    # RDS/Aurora procedures: the password is a positional argument
    (
        "CALL mysql.rds_set_external_master('h', 3306, 'repl', 'pw', 'mysql-bin.000001', 4, 0)",
        f"CALL mysql.rds_set_external_master('h', 3306, 'repl', {M}, 'mysql-bin.000001', 4, 0)",
    ),
    (
        "CALL mysql.rds_set_external_source ('h', 3306, 'repl', 'pw', 'mysql-bin.000001', 4, 1)",
        f"CALL mysql.rds_set_external_source ('h', 3306, 'repl', {M}, 'mysql-bin.000001', 4, 1)",
    ),
    (
        "call MYSQL.RDS_SET_EXTERNAL_MASTER_WITH_AUTO_POSITION('h',3306,'repl','pw',0,0)",
        f"call MYSQL.RDS_SET_EXTERNAL_MASTER_WITH_AUTO_POSITION('h',3306,'repl',{M},0,0)",
    ),
    (
        "CALL mysql.rds_set_external_source_with_auto_position('h', 3306, 'repl', 'pw', 1, 0)",
        f"CALL mysql.rds_set_external_source_with_auto_position('h', 3306, 'repl', {M}, 1, 0)",
    ),
    (
        "CALL mysql.rds_set_external_master_with_delay('h', 3306, 'repl', 'pw', 'mysql-bin.000001', 4, 0, 3600)",
        f"CALL mysql.rds_set_external_master_with_delay('h', 3306, 'repl', {M}, 'mysql-bin.000001', 4, 0, 3600)",
    ),
    (
        "CALL mysql.rds_set_external_source_with_delay('h', 3306, 'repl', 'pw', 'mysql-bin.000001', 4, 1, 60)",
        f"CALL mysql.rds_set_external_source_with_delay('h', 3306, 'repl', {M}, 'mysql-bin.000001', 4, 1, 60)",
    ),
    (
        "CALL mysql.rds_set_external_master_gtid('h', 3306, 'repl', 'pw', '0-123-456', 0)",
        f"CALL mysql.rds_set_external_master_gtid('h', 3306, 'repl', {M}, '0-123-456', 0)",
    ),
    (
        "CALL mysql.rds_set_external_source_for_channel('h', 3306, 'repl', 'pw', 'f', 4, 0, 'ch1')",
        f"CALL mysql.rds_set_external_source_for_channel('h', 3306, 'repl', {M}, 'f', 4, 0, 'ch1')",
    ),
    (
        "CALL `mysql` . `rds_set_external_master` /* x */ ( 'h' , 3306 , 'repl' , /* pw */ 'pw' , 'f' , 4 , 0 )",
        f"CALL `mysql` . `rds_set_external_master` /* x */ ( 'h' , 3306 , 'repl' , /* pw */ {M} , 'f' , 4 , 0 )",
    ),
    (
        "CALL\nmysql.rds_set_external_master(\n  'h',\n  3306,\n  'repl',\n  \"pw\",\n  'f',\n  4,\n  0)",
        f"CALL\nmysql.rds_set_external_master(\n  'h',\n  3306,\n  'repl',\n  {M},\n  'f',\n  4,\n  0)",
    ),
    (
        "CALL mysql.rds_set_external_master('h', 3306, 'repl', CONCAT('p', 'w'), 'f', 4, 0)",
        f"CALL mysql.rds_set_external_master('h', 3306, 'repl', CONCAT({M}, {M}), 'f', 4, 0)",
    ),
    (
        "CALL mysql.rds_set_external_master('h', 3306, 'repl', pw_typed_bare, 'f')",
        f"CALL mysql.rds_set_external_master('h', 3306, 'repl', {M}, 'f')",
    ),
    (
        "CALL mysql.rds_set_external_master('h', 3306, 'repl', 'pw",
        f"CALL mysql.rds_set_external_master('h', 3306, 'repl', {M}",
    ),
    (
        "CALL rds_set_external_master('h', 3306, 'repl', 'pw', 'f', 4, 0)",
        f"CALL rds_set_external_master('h', 3306, 'repl', {M}, 'f', 4, 0)",
    ),
    ("CALL mysql.rds_group_replication_create_user('pw')", f"CALL mysql.rds_group_replication_create_user({M})"),
    (
        'CALL mysql.rds_import_binlog_ssl_material(\'{"ssl_ca":"-----BEGIN CERTIFICATE-----\\n…","ssl_key":"-----BEGIN',
        f"CALL mysql.rds_import_binlog_ssl_material({M}",
    ),
    # dynamic SQL: a literal that is itself a credential statement
    ("PREPARE s FROM 'CREATE USER u IDENTIFIED BY ''x'''", f"PREPARE s FROM {M}"),
    ("SET @s = 'ALTER USER u IDENTIFIED BY \\'x\\''", f"SET @s = {M}"),
    ("PREPARE s FROM 'SET\\nPASSWORD = ''x'''", f"PREPARE s FROM {M}"),
]

UNCHANGED = [
    "SELECT * FROM users WHERE name = 'bob'",
    "SELECT password_hint, password FROM accounts WHERE name = 'bob'",
    "SELECT name FROM users WHERE password = 'abc'",
    "UPDATE users SET password = 'x' WHERE id = 1",
    "INSERT INTO users (name, password) VALUES ('bob', 'x')",
    "select 'password' from t",
    "select * from users where password_hash = 'abc'",
    "ALTER USER u IDENTIFIED BY RANDOM PASSWORD",
    "SET PASSWORD TO RANDOM",
    "ALTER USER u IDENTIFIED WITH caching_sha2_password BY RANDOM PASSWORD PASSWORD EXPIRE NEVER",
    "CREATE TABLE password (id INT, note VARCHAR(10) DEFAULT 'x')",
    "CREATE INDEX i ON t (password(10))",
    "INSERT INTO notes VALUES ('suspect identified by witness', 'mysql.rds_set_external_master')",
    "SELECT master_password FROM t WHERE id = 'x'",
    "CALL mysql.rds_start_replication_until('mysql-bin-changelog.000777', 120)",
    "CALL mysql.rds_kill(12)",
    "SELECT * FROM mysql.rds_history WHERE action = 'x'",
    "SELECT url FROM t WHERE url = 'https://user@example.com/a'",
    "CREATE TABLE t (c INT) COMMENT 'password rotation' ENGINE=FEDERATED CONNECTION='srv'",
    "/*!40101 SET NAMES utf8mb4 */",
    "DROP USER 'u'@'%'",
    "",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT password_hash, user_password, password_hint FROM users", False),
        ("UPDATE naïve_tbl SET Zoë = 'x' WHERE id = 1", False),
        ("SELECT pAsSwOrD('x')", True),
        ("SELECT t.password FROM t", True),  # a column named like the keyword is read, and left alone
        ("SELECT `auth_user`.`id`, `auth_user`.`password` FROM `auth_user` WHERE `id` = 1", False),
        ("INSERT INTO users (name, password) VALUES ('bob', 'x')", False),
        ("SELECT id, password , email FROM users ORDER BY password", False),
        ("UPDATE users SET password = 'x' WHERE id = 1", True),
        ("SET PASSWORD FOR u@h = 'x'", True),
        ("CREATE SERVER s OPTIONS (PASSWORD _utf8mb4'x')", True),
        ("CHANGE MASTER TO Master_Password='x'", True),
        ("1,s,u,h,1,2,QUERY,db,'SET\\npassword = \\'x\\'',0", True),  # the plugin's \n right before it
        ("CALL mysql.RDS_SET_EXTERNAL_MASTER('h', 1, 'r', 'p')", True),
        ("CREATE TABLE f (i INT) CONNECTION='MySQL://u:p@h/d/t'", True),
        ("SET pass日word = 'x'", True),  # non-ASCII is dropped before the search: a false alarm costs a tokenization
        ("SET\u00a0PASSWORD FOR bob = 'x'", True),  # a non-ASCII character between words still separates them
        ("UPDATE mysql.user SET authentication_string = '*6BB4' WHERE user = 'app'", True),
        ("SELECT id, user_password, additional_password, email FROM t", False),
        ("UPDATE mysql.slave_master_info SET User_password = 'x'", True),
    ],
)
def test_pre_check(text: str, expected: bool) -> None:
    assert might_hold_secrets(text) is expected


@pytest.mark.parametrize(("sql", "masked"), MASKED)
def test_masked(sql: str, masked: str) -> None:
    assert mask_sql(sql) == masked


@pytest.mark.parametrize("sql", UNCHANGED)
def test_unchanged(sql: str) -> None:
    assert mask_sql(sql) == sql


@pytest.mark.parametrize(("sql", "masked"), MASKED)
def test_idempotent(sql: str, masked: str) -> None:
    assert mask_sql(masked) == masked


def audit_line_of(sql: str, tail: str = ",0") -> str:
    """An Aurora audit line whose object is `sql`, escaped as the plugin writes it."""
    return f"1603440571474649,db-1,admin,1.34.6.81,30,973788,QUERY,mysqldemo,'{plugin_escape(sql)}'{tail}"


@pytest.mark.parametrize(("sql", "masked"), MASKED)
def test_raw_line_masks_what_the_statement_masks(sql: str, masked: str) -> None:
    """The same positions in the escaped object: the plugin's escaping of the masked statement."""
    assert mask_raw_line(audit_line_of(sql)) == audit_line_of(masked)
    assert mask_raw_line(audit_line_of(masked)) == audit_line_of(masked)


@pytest.mark.parametrize("sql", UNCHANGED)
def test_raw_line_unchanged(sql: str) -> None:
    assert mask_raw_line(audit_line_of(sql)) == audit_line_of(sql)


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        # cut inside the credential, no closing quote and no return code
        (
            "1603440571474649,db-1,admin,1.34.6.81,30,1,QUERY,db,'CREATE USER \\'x\\' IDENTIFIED BY \\'hunt",
            "1603440571474649,db-1,admin,1.34.6.81,30,1,QUERY,db,'CREATE USER \\'x\\' IDENTIFIED BY \\'***\\'",
        ),
        # cut right after a backslash: the closing quote looks escaped
        (
            "20230501 10:02:20,ip-10-1-0-50,root,localhost,8,5,QUERY,,'SET PASSWORD = \\'ab\\',0,,",
            "20230501 10:02:20,ip-10-1-0-50,root,localhost,8,5,QUERY,,'SET PASSWORD = \\'***\\',0,,",
        ),
        # a bad timestamp: the object is still found
        (
            "garbage,db,u,h,30,1,QUERY,db,'CALL mysql.rds_set_external_master(\\'h\\', 3306, \\'r\\', \\'pw\\')',0",
            "garbage,db,u,h,30,1,QUERY,db,'CALL mysql.rds_set_external_master(\\'h\\', 3306, \\'r\\', \\'***\\')',0",
        ),
        # a continuation line of an export (the statement held a raw newline): no opening quote
        ("  IDENTIFIED BY \\'secret\\'',0", "  IDENTIFIED BY \\'***\\'"),
        # not an audit line at all, unescaped SQL
        ("note: CREATE USER u IDENTIFIED BY 'pw' failed", f"note: CREATE USER u IDENTIFIED BY {M} failed"),
        # escapes the plugin writes inside the object: \n and \t between tokens, \\ inside the secret
        (
            "1,s,u,h,1,1,QUERY,db,'ALTER USER u\\nIDENTIFIED\\tBY \\'a\\\\\\\\b\\' REPLACE \\'o\\'',0",
            "1,s,u,h,1,1,QUERY,db,'ALTER USER u\\nIDENTIFIED\\tBY \\'***\\' REPLACE \\'***\\'',0",
        ),
    ],
)
def test_raw_line_forms(line: str, masked: str) -> None:
    assert mask_raw_line(line) == masked
    assert mask_raw_line(masked) == masked


def test_table_covers_every_family() -> None:
    text = " ".join(sql.lower() for sql, _ in MASKED)
    families = [
        "create user", "alter user", "identified with", "identified via", " or ", "replace", "retain current",
        "set password", "old_password(", "grant", "change master", "change replication source", "start slave",
        "start replica", "create server", "alter server", "rds_set_external_master(", "rds_set_external_source (",
        "_with_auto_position", "_with_delay", "rds_set_external_master_gtid", "_for_channel", " as '*", "$a$005$",
    ]  # fmt: skip
    assert [f for f in families if f not in text] == []
    assert len(MASKED) >= 60


def test_failure_document_masks_the_line_and_the_excerpt_its_reason_quotes() -> None:
    # cut inside the REPLACE literal right after a comma: not the plugin's tail, so the object is unterminated
    head = "1603440571474649,db-1,admin,1.34.6.81,30,1,QUERY,db,'ALTER USER u IDENTIFIED BY "
    line = head + "\\'n\\' REPLACE \\',s3cr3t"
    assert parse_line(line) == ParseFailure("unterminated quoted object")
    # a reason that quotes part of the line (as the return-code check does) is masked like the line
    rec = ParseFailure("return code is not an integer: 's3cr3t'")
    assert failure_document(line, rec.reason, "2020-10-23T08:09:31.474Z", Context()) == {
        "@timestamp": "2020-10-23T08:09:31.474Z",
        "message": head + "\\'***\\' REPLACE \\'***\\'",
        "tags": ["parse_failure"],
        "parse_error": "return code is not an integer: '***'",
    }
    unmasked = failure_document(line, rec.reason, "2020-10-23T08:09:31.474Z", Context(), mask=False)
    assert (unmasked["message"], unmasked["parse_error"]) == (line, rec.reason)
    harmless = "1603440571474649,db-1,admin,1.34.6.81,30,1,QUERY,db,'SELECT 1',x"
    reason = "return code is not an integer: 'x'"
    assert failure_document(harmless, reason, "t", Context())["parse_error"] == reason


def test_line_cut_inside_a_credential_leaves_no_part_of_it_in_the_failure_document() -> None:
    line = "20230501 10:02:20,ip-10-1-0-50,root,localhost,8,5,QUERY,,'ALTER USER u IDENTIFIED BY \\'n\\' REPLACE \\',,"
    line += "s3cr3t"
    assert parse_line(line) == ParseFailure("unterminated quoted object")
    # what the pipeline writes for it: the failure document, its raw line masked
    action = BatchTransformer(Context(), TransformOptions()).action(RawEvent(line, 1_603_440_571_474))
    doc = action.document()
    assert doc["tags"] == ["parse_failure"] and doc["parse_error"] == "unterminated quoted object"
    assert doc["message"].endswith("IDENTIFIED BY \\'***\\' REPLACE \\'***\\'")
    assert b"s3cr3t" not in action.body
    unmasked = BatchTransformer(Context(), TransformOptions(mask_secrets=False)).action(RawEvent(line, 1))
    assert b"s3cr3t" in unmasked.body  # the secret is there to leak: the check above can fail
