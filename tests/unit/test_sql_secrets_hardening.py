"""The security review of the masker (issue 13): one table per finding, each row with its exact masked form.

Every row of the per-finding tables leaked before the fix it belongs to (checked against the branch point); HELD
rows did not and must keep holding; UNCHANGED rows are the harmless forms each fix must leave byte-identical.
"""

from __future__ import annotations

import pytest

from handler.transforms.sql_secrets import mask_raw_line, mask_sql
from tests.unit.test_sql_secrets import audit_line_of

M = "'***'"
E = "\\'***\\'"  # the mask inside an audit line's object, escaped as the plugin escapes a quote

# 1. SET PASSWORD, START REPLICA, CREATE SERVER inside routine bodies and compound statements.
BODIES = [
    (
        "CREATE DEFINER=`admin`@`%` PROCEDURE rotate_app() SQL SECURITY DEFINER SET PASSWORD FOR 'app'@'%' = 'x'",
        f"CREATE DEFINER=`admin`@`%` PROCEDURE rotate_app() SQL SECURITY DEFINER SET PASSWORD FOR 'app'@'%' = {M}",
    ),
    ("BEGIN NOT ATOMIC SET PASSWORD FOR app = 'x'; END", f"BEGIN NOT ATOMIC SET PASSWORD FOR app = {M}; END"),
    ("CREATE PROCEDURE p() SET PASSWORD = 'x'", f"CREATE PROCEDURE p() SET PASSWORD = {M}"),
    ("CREATE OR REPLACE PROCEDURE p() SET PASSWORD = 'x'", f"CREATE OR REPLACE PROCEDURE p() SET PASSWORD = {M}"),
    (
        "CREATE PROCEDURE p() START REPLICA USER='u' PASSWORD='x'",
        f"CREATE PROCEDURE p() START REPLICA USER='u' PASSWORD={M}",
    ),
    (
        "CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW SET PASSWORD = 'x'",
        f"CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW SET PASSWORD = {M}",
    ),
    (
        "CREATE PROCEDURE p() CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'r', PASSWORD 'x')",
        f"CREATE PROCEDURE p() CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'r', PASSWORD {M})",
    ),
    ("SET @a = 1, PASSWORD = 'x'", f"SET @a = 1, PASSWORD = {M}"),  # MariaDB: PASSWORD in a SET list
    ("SET PASSWORD := 'x'", f"SET PASSWORD := {M}"),
    ("(SET PASSWORD FOR u = 'x')", f"(SET PASSWORD FOR u = {M})"),
]
# Forms that held at the branch point (a statement after DO, THEN, LOOP, `;`) and must keep holding.
HELD = [
    (
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SET PASSWORD FOR bob = 'x'",
        f"CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SET PASSWORD FOR bob = {M}",
    ),
    (
        "CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP DO START SLAVE USER='r' PASSWORD='x'",
        f"CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP DO START SLAVE USER='r' PASSWORD={M}",
    ),
    ("IF @rotate THEN SET PASSWORD = 'x'; END IF", f"IF @rotate THEN SET PASSWORD = {M}; END IF"),
    (
        "lbl: LOOP SET PASSWORD FOR u = 'x'; LEAVE lbl; END LOOP lbl",
        f"lbl: LOOP SET PASSWORD FOR u = {M}; LEAVE lbl; END LOOP lbl",
    ),
    (
        "CREATE PROCEDURE p() BEGIN UPDATE t SET a = 1; SET PASSWORD = 'x'; END",
        f"CREATE PROCEDURE p() BEGIN UPDATE t SET a = 1; SET PASSWORD = {M}; END",
    ),
    ("CREATE USER app IDENTIFIED BY # why\n pw", f"CREATE USER app IDENTIFIED BY # why\n {M}"),
]
# Application columns named password are data, not credentials: an UPDATE, INSERT … SET or LOAD DATA owns the SET.
BODIES_UNCHANGED = [
    "CREATE PROCEDURE p() UPDATE t SET password = 'x' WHERE id = 1",
    "CREATE TRIGGER t BEFORE INSERT ON u FOR EACH ROW UPDATE t SET password = 'x'",
    "CREATE OR REPLACE PROCEDURE p() BEGIN UPDATE users SET password = 'x' WHERE id = 1; END",
    "INSERT INTO users SET password = 'x', name = 'bob'",
    "REPLACE INTO users SET password = 'x'",
    "UPDATE users u JOIN t ON t.id = u.id SET password = 'x'",
    "LOAD DATA INFILE 'f' INTO TABLE t (a, @p) SET password = 'x'",
    "ALTER TABLE users ALTER COLUMN password SET DEFAULT 'x'",
    "SELECT start, password FROM t WHERE password = 'x'",
    "SELECT * FROM t FOR UPDATE",
]

# 3. A FEDERATED URL with a password, cut before its `@`, and the COMMENT older versions took it in.
FEDERATED = [
    (
        "CREATE TABLE remote_orders (id INT) ENGINE=FEDERATED CONNECTION='mysql://repl:pw",
        f"CREATE TABLE remote_orders (id INT) ENGINE=FEDERATED CONNECTION={M}",
    ),
    (
        "CREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION='mysql://repl:",
        f"CREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION={M}",
    ),
    (
        "CREATE TABLE t (a INT) ENGINE=FEDERATED COMMENT='mysql://u:pw@h:3306/db/t'",
        f"CREATE TABLE t (a INT) ENGINE=FEDERATED COMMENT={M}",
    ),
    (
        "INSERT INTO config VALUES ('replica_url', 'MYSQL://app:pw@db/prod')",
        f"INSERT INTO config VALUES ('replica_url', {M})",
    ),
]
FEDERATED_UNCHANGED = [
    "CREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION='mysql://fed_user@remote_host:9306/federated/test_table'",
    "CREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION='mysql://remote_host:9306/federated/test_table'",
    "CREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION='mysql://fed_user",
]

# 4. A password typed without quotes: up to the next whitespace, `;` or the end, all of it.
UNQUOTED = [
    ("CREATE USER app IDENTIFIED BY P@Zq9pw!", f"CREATE USER app IDENTIFIED BY {M}"),
    ("CREATE USER app IDENTIFIED BY my-secret REQUIRE SSL", f"CREATE USER app IDENTIFIED BY {M} REQUIRE SSL"),
    ("ALTER USER app IDENTIFIED BY s3cr3t!;SELECT 1", f"ALTER USER app IDENTIFIED BY {M};SELECT 1"),
    ("CREATE USER app IDENTIFIED BY #hash1st\nREQUIRE SSL", f"CREATE USER app IDENTIFIED BY {M}\nREQUIRE SSL"),
    ("SET PASSWORD FOR app = pa$$w0rd!", f"SET PASSWORD FOR app = {M}"),
    ("CREATE USER app IDENTIFIED BY @home2024", f"CREATE USER app IDENTIFIED BY {M}"),
    ("CHANGE MASTER TO MASTER_PASSWORD=p4ss,MASTER_HOST='h'", f"CHANGE MASTER TO MASTER_PASSWORD={M}"),
    (
        "GRANT ALL ON *.* TO u IDENTIFIED BY PASSWORD *6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
        f"GRANT ALL ON *.* TO u IDENTIFIED BY PASSWORD {M}",
    ),
    ("SET PASSWORD FOR bob = CONCAT('p', 'w')", f"SET PASSWORD FOR bob = CONCAT({M}, {M})"),
    (
        "CREATE USER bob IDENTIFIED BY CONCAT('p','w') REQUIRE SSL",
        f"CREATE USER bob IDENTIFIED BY CONCAT({M},{M}) REQUIRE SSL",
    ),
]

# 5. Hashes written into the grant tables.
GRANT_TABLES = [
    (
        "UPDATE mysql.user SET authentication_string='*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9' WHERE User='app'",
        f"UPDATE mysql.user SET authentication_string={M} WHERE User='app'",
    ),
    (
        "UPDATE user SET plugin = 'caching_sha2_password', authentication_string = '$A$005$x' WHERE user = 'app'",
        f"UPDATE user SET plugin = 'caching_sha2_password', authentication_string = {M} WHERE user = 'app'",
    ),
    (
        "UPDATE `mysql`.`user` SET `Password` = '*6BB4', `plugin` = 'mysql_native_password' WHERE `User` = 'app'",
        f"UPDATE `mysql`.`user` SET `Password` = {M}, `plugin` = 'mysql_native_password' WHERE `User` = 'app'",
    ),
    (
        "UPDATE mysql.user SET Password = '*6BB4' WHERE User = 'app'",
        f"UPDATE mysql.user SET Password = {M} WHERE User = 'app'",
    ),
    (
        "INSERT INTO mysql.user (Host, User, Password, Select_priv) "
        "VALUES ('%', 'app', '*6BB4', 'Y'), ('h', 'b', '*94BD', 'N')",
        "INSERT INTO mysql.user (Host, User, Password, Select_priv) "
        f"VALUES ('%', 'app', {M}, 'Y'), ('h', 'b', {M}, 'N')",
    ),
    (
        "REPLACE INTO mysql.servers (Server_name, Host, Username, Password) VALUES ('s', 'h', 'r', 'x')",
        f"REPLACE INTO mysql.servers (Server_name, Host, Username, Password) VALUES ('s', 'h', 'r', {M})",
    ),
    (
        "INSERT INTO mysql.global_priv VALUES ('%', 'app', "
        '\'{"access":0,"plugin":"mysql_native_password","authentication_string":"*6BB4"}\')',
        f"INSERT INTO mysql.global_priv VALUES ('%', 'app', {M})",
    ),
    (
        "UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.authentication_string', '*6BB4') WHERE User = 'app'",
        f"UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.authentication_string', {M}) WHERE User = 'app'",
    ),
    (
        "UPDATE mysql.user SET User_attributes = '{\"additional_password\": \"$A$005$x\"}' WHERE User = 'app'",
        f"UPDATE mysql.user SET User_attributes = {M} WHERE User = 'app'",
    ),
    (
        "UPDATE mysql.slave_master_info SET User_password = 'x'",
        f"UPDATE mysql.slave_master_info SET User_password = {M}",
    ),
    (
        "SELECT User FROM mysql.user WHERE authentication_string = '*6BB4'",
        f"SELECT User FROM mysql.user WHERE authentication_string = {M}",
    ),
]
GRANT_TABLES_UNCHANGED = [
    "UPDATE user SET password = 'x' WHERE id = 1",  # no schema: an application's user table
    "INSERT INTO users (name, password) VALUES ('bob', 'x')",
    "INSERT INTO mysql.user (Host, User, Select_priv) VALUES ('%', 'app', 'Y')",
    "SELECT JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User = 'app'",
    "SELECT user, host, plugin FROM mysql.user WHERE user = 'app'",
    'UPDATE mysql.global_priv SET Priv = \'{"access":0,"authentication_string":""}\' WHERE User = \'app\'',
]

# 6. Dynamic SQL built with CONCAT: the operands after a string that leaves a credential open.
CONCAT = [
    (
        "SET @ddl = CONCAT('CREATE USER app IDENTIFIED BY ''', 'secret', '''')",
        f"SET @ddl = CONCAT('CREATE USER app IDENTIFIED BY ''', {M}, '''')",
    ),
    (
        "SET @s = CONCAT('ALTER USER b IDENTIFIED BY \\'', 'secret', '\\'')",
        f"SET @s = CONCAT('ALTER USER b IDENTIFIED BY \\'', {M}, '\\'')",
    ),
    (
        "SET @s = CONCAT('ALTER USER b IDENTIFIED BY \"', 'secret', '\"')",
        f"SET @s = CONCAT('ALTER USER b IDENTIFIED BY \"', {M}, '\"')",
    ),
    (
        "EXECUTE IMMEDIATE CONCAT('SET PASSWORD FOR b = ', '''secret''')",
        f"EXECUTE IMMEDIATE CONCAT('SET PASSWORD FOR b = ', {M})",
    ),
    (
        "SET @s = CONCAT('CHANGE MASTER TO MASTER_PASSWORD=''', 'se', _utf8mb4'cret', ''' FOR CHANNEL ''c''')",
        f"SET @s = CONCAT('CHANGE MASTER TO MASTER_PASSWORD=''', {M}, _utf8mb4{M}, ''' FOR CHANNEL ''c''')",
    ),
    ("SET @s = CONCAT('CREATE USER app IDENTIFIED BY ''se', 'cret''')", f"SET @s = CONCAT({M}, {M})"),
    (
        "SET @s = CONCAT('ALTER USER u IDENTIFIED BY ', QUOTE('secret'))",
        f"SET @s = CONCAT('ALTER USER u IDENTIFIED BY ', QUOTE({M}))",
    ),
    (
        "SET @s = CONCAT('CREATE USER app IDENTIFIED BY ''', '''secret', '''')",
        f"SET @s = CONCAT('CREATE USER app IDENTIFIED BY ''', {M}, '''')",
    ),
]
CONCAT_UNCHANGED = [
    "SET @s = CONCAT('CREATE USER ', @u, ' IDENTIFIED BY ''', @pw, ''' PASSWORD EXPIRE')",
    "SELECT CONCAT('identified by ', name) FROM suspects",
]

# 7. `--` then a control character is a comment, as in MySQL's lexer; `--` then any other byte is two minus signs.
DOUBLE_DASH = [
    ("CREATE USER u IDENTIFIED BY --\x01\n'x'", f"CREATE USER u IDENTIFIED BY --\x01\n{M}"),
    ("CREATE USER u IDENTIFIED BY --\x7f\n'x'", f"CREATE USER u IDENTIFIED BY --\x7f\n{M}"),
    ("CREATE USER u IDENTIFIED BY --\xa0'x'", f"CREATE USER u IDENTIFIED BY {M}"),  # \xa0 is no space to MySQL
    # a credential statement commented out is masked in the comment
    ("SELECT 1 -- ALTER USER u IDENTIFIED BY 'x'", f"SELECT 1 -- ALTER USER u IDENTIFIED BY {M}"),
    ("SELECT 1 /* SET PASSWORD FOR u = 'x' */", f"SELECT 1 /* SET PASSWORD FOR u = {M} */"),
]
DOUBLE_DASH_UNCHANGED = [
    "UPDATE account SET balance=balance--1 WHERE account_id=5752",
    "# identified by the caller\nSELECT 1",
    "SELECT 1 -- the password of the caller is reset by the app",
]

MASKED = HELD + BODIES + FEDERATED + UNQUOTED + GRANT_TABLES + CONCAT + DOUBLE_DASH
UNCHANGED = BODIES_UNCHANGED + FEDERATED_UNCHANGED + GRANT_TABLES_UNCHANGED + CONCAT_UNCHANGED + DOUBLE_DASH_UNCHANGED


@pytest.mark.parametrize(("sql", "masked"), MASKED)
def test_masked(sql: str, masked: str) -> None:
    assert mask_sql(sql) == masked
    assert mask_sql(masked) == masked


@pytest.mark.parametrize("sql", UNCHANGED)
def test_unchanged(sql: str) -> None:
    assert mask_sql(sql) == sql


@pytest.mark.parametrize(("sql", "masked"), MASKED)
def test_raw_line_masks_what_the_statement_masks(sql: str, masked: str) -> None:
    assert mask_raw_line(audit_line_of(sql)) == audit_line_of(masked)
    assert mask_raw_line(audit_line_of(masked)) == audit_line_of(masked)


@pytest.mark.parametrize("sql", UNCHANGED)
def test_raw_line_unchanged(sql: str) -> None:
    assert mask_raw_line(audit_line_of(sql)) == audit_line_of(sql)


# 2. Text where the statement does not start the text: log prefixes, error messages, broken audit lines.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "2024-01-01T00:00:00.000000Z\t   8 Query\tSET PASSWORD = 'x'",
            f"2024-01-01T00:00:00.000000Z\t   8 Query\tSET PASSWORD = {M}",
        ),
        (
            "230501 10:02:20\t    8 Query\tSTART SLAVE USER='r' PASSWORD='x'",
            f"230501 10:02:20\t    8 Query\tSTART SLAVE USER='r' PASSWORD={M}",
        ),
        (
            "2024-01-01T00:00:00.000000Z\t 8 Query\tCREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (PASSWORD 'x')",
            f"2024-01-01T00:00:00.000000Z\t 8 Query\tCREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (PASSWORD {M})",
        ),
        (
            "8 Query\tCREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION='mysql://u:pw@h/db/t'",
            f"8 Query\tCREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION={M}",
        ),
        # the slow log: `#` starts its header lines, not a comment
        (
            "# Query_time: 0.1  Lock_time: 0.0 SET PASSWORD FOR bob='x';",
            f"# Query_time: 0.1  Lock_time: 0.0 SET PASSWORD FOR bob={M};",
        ),
        # a line break ends the UPDATE that owned the first SET
        (
            "8 Query\tUPDATE t SET a = 1\n9 Query\tSET PASSWORD = 'x'",
            f"8 Query\tUPDATE t SET a = 1\n9 Query\tSET PASSWORD = {M}",
        ),
        # SQL's own backslash escapes, not the plugin's
        ("8 Query\tCREATE USER u IDENTIFIED BY 'a\\'b'", f"8 Query\tCREATE USER u IDENTIFIED BY {M}"),
        # (held before) read as the plugin's escaping, the object's own reading finds the secret: the finer mask
        ("8 Query\tPREPARE s FROM 'SET PASSWORD = \\'x\\''", f"8 Query\tPREPARE s FROM 'SET PASSWORD = {E}'"),
        # an audit line whose object gained a quote (`','…`): read whole as well
        (
            "1603440571474649,db-1,admin,1.34.6.81,30,973788,QUERY,mysql,"
            "','SET PASSWORD FOR \\'bob\\'@\\'%\\' = \\'x\\'''",
            f"1603440571474649,db-1,admin,1.34.6.81,30,973788,QUERY,mysql,','SET PASSWORD FOR \\'bob\\'@\\'%\\' = {E}",
        ),
        # the reviewer's line: cut by the plugin inside a FEDERATED URL, before its `@`
        (
            "1603440571474652,db-1,admin,1.34.6.81,30,973791,QUERY,ops,'CREATE TABLE r (id INT) ENGINE=FEDERATED "
            "CONNECTION=\\'mysql://repl:Zq9pwFed',0",
            "1603440571474652,db-1,admin,1.34.6.81,30,973791,QUERY,ops,'CREATE TABLE r (id INT) ENGINE=FEDERATED "
            f"CONNECTION={E}',0",
        ),
    ],
)
def test_raw_text_forms(text: str, masked: str) -> None:
    assert mask_raw_line(text) == masked
    assert mask_raw_line(masked) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01T00:00:00.000000Z\t   8 Query\tUPDATE users SET password = 'x' WHERE id = 1",
        "2024-01-01T00:00:00.000000Z\t   8 Query\tSELECT name FROM users WHERE name = 'bob'",
    ],
)
def test_raw_text_unchanged(text: str) -> None:
    assert mask_raw_line(text) == text


def test_every_finding_has_rows() -> None:
    assert all([BODIES, FEDERATED, UNQUOTED, GRANT_TABLES, CONCAT, DOUBLE_DASH])
    assert len(MASKED) >= 50
