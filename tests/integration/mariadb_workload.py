"""A workload for the audited MariaDB (tests/integration/mariadb.py) that records what it sent: every statement with
the session it went through (user, client as the plugin names it, default database, connection id), and every
credential it used, so a test can look for each statement in the index and for each credential everywhere.

TCP and socket sessions, several users (one whose name holds commas and looks like fields), failed logins,
COM_CHANGE_USER (successful and refused), DDL, DML, SQL prepared statements, routines, statements past
server_audit_query_log_limit (multi-byte text cut inside a character included), quotes, backslashes, newlines,
commas in database and table names, credential statements.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from tests.integration.mariadb import MariaDB

# Distinct enough that finding one anywhere is a leak, never a coincidence.
PASSWORDS = {
    "alice": "Alice-pw-7f3a91",
    "bob": "Bob-pw-22c4e0",
    "we,ird": "Weird-pw-9d01bb",
    "x,10.9.8.7,99": "Forge-pw-5e66aa",
}
LATER_SECRETS = ["Rotated-pw-31b7c2", "Setpw-pw-c0ffee", "Repl-pw-ab12cd", "Fed-pw-77e0f1", "Via-pw-4a4a4a"]
WRONG_PASSWORD = "Wrong-pw-000bad"
# Past server_audit_query_log_limit: the plugin's own mask then lets the password's end through (docs/…).
LONG_SECRET = "Long-pw-" + "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(19))[:1200]
ALL_SECRETS = [*PASSWORDS.values(), *LATER_SECRETS, WRONG_PASSWORD, LONG_SECRET]


def leaked(text: str) -> list[str]:
    """The workload's credentials found in `text` (of the long one, any 24 characters of it)."""
    found = [s for s in ALL_SECRETS if s != LONG_SECRET and s in text]
    if any(LONG_SECRET[i : i + 24] in text for i in range(0, len(LONG_SECRET) - 24, 8)):
        found.append("LONG_SECRET")
    return found


DATABASES = ("shop", "db,comma")


@dataclass
class Sent:
    user: str
    client: str  # what the plugin writes as the host: 127.0.0.1 over TCP (skip-name-resolve), localhost on the socket
    db: str | None  # None: a session without a default database (the plugin then logs another one; see docs)
    connid: int
    sql: str
    retcode: int = 0
    secret: bool = False  # holds a credential: stored masked, never as sent


@dataclass
class Workload:
    sent: list[Sent] = field(default_factory=list)
    failed_logins: list[tuple[str, str]] = field(default_factory=list)  # (user, client)
    change_users: list[tuple[int, str, int]] = field(default_factory=list)  # (connid, new user, retcode)
    connections: int = 0
    passwords: dict[str, str] = field(default_factory=lambda: dict(PASSWORDS))  # as they are now

    def statements(self) -> int:
        return len(self.sent)


class Session:
    def __init__(self, server: MariaDB, work: Workload, user: str, db: str, *, tcp: bool) -> None:
        self.conn = server.connect(user, work.passwords.get(user, ""), database=db or None, tcp=tcp)
        self.server, self.work, self.user, self.db = server, work, user, db
        self.client = "127.0.0.1" if tcp else "localhost"
        work.connections += 1
        work.sent.append(Sent(user, self.client, db or None, self.connid, "SET NAMES utf8mb4"))  # PyMySQL's

    @property
    def connid(self) -> int:
        return int(self.conn.thread_id())

    def run(self, sql: str, *, secret: bool = False, retcode: int = 0) -> Any:
        import pymysql

        self.work.sent.append(Sent(self.user, self.client, self.db or None, self.connid, sql, retcode, secret))
        with self.conn.cursor() as cur:
            try:
                cur.execute(sql)
            except pymysql.err.MySQLError as e:
                if e.args[0] != retcode:
                    raise
                return None
            if retcode:
                raise AssertionError(f"expected error {retcode} from {sql[:80]!r}")
            return cur.fetchall()

    def change_user(self, user: str, password: str, db: str) -> bool:
        import pymysql

        connid = self.connid
        try:
            self.server.change_user(self.conn, user, password, db)
        except pymysql.err.OperationalError as e:
            self.work.change_users.append((connid, user, int(e.args[0])))
            return False
        self.work.change_users.append((connid, user, 0))
        self.user, self.db = user, db
        return True

    def close(self) -> None:
        self.conn.close()


def _setup(server: MariaDB, work: Workload) -> None:
    root = Session(server, work, "root", "", tcp=False)
    root.run("CREATE DATABASE IF NOT EXISTS shop")
    root.run("CREATE DATABASE IF NOT EXISTS `db,comma`")
    for user, password in PASSWORDS.items():
        quoted = user.replace("'", "\\'")
        root.run(f"CREATE USER '{quoted}'@'%' IDENTIFIED BY '{password}'", secret=True)
        root.run(f"GRANT ALL ON shop.* TO '{quoted}'@'%'")
        root.run(f"GRANT ALL ON `db,comma`.* TO '{quoted}'@'%'")
        root.run(f"GRANT ALL ON shop.* TO '{quoted}'@'localhost'", retcode=1133)  # no such account: refused
    root.close()


DDL = [
    "CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(200), note TEXT, price DECIMAL(10,2))",
    "CREATE TABLE `n,1` (id INT PRIMARY KEY, v VARCHAR(50))",
    "CREATE INDEX items_name ON items (name)",
    "ALTER TABLE items ADD COLUMN added DATETIME NULL",
    "CREATE TABLE scratch (a INT)",
    "RENAME TABLE scratch TO scratch2",
    "DROP TABLE scratch2",
]

ROUTINES = [
    "CREATE PROCEDURE add_item(IN n VARCHAR(200), IN p DECIMAL(10,2))\n"
    "BEGIN\n  INSERT INTO items (name, price) VALUES (n, p);\n  SELECT COUNT(*) FROM items;\nEND",
    "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
    "CALL add_item('from a routine, with a comma', 9.99)",
    "SELECT twice(21)",
    "DROP FUNCTION twice",
    "DROP PROCEDURE add_item",
]

TEXTS = [
    "O'Brien",
    "C:\\temp\\new",
    "two\nlines\tand a tab",
    "commas, and, more, commas",
    'double "quotes"',
    "ünïcödé ✓ 漢字 🎉",
    "a backslash at the end \\",
    "'', \\', ,'",
]


def _lit(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t") + "'"


def _dml(s: Session, rng: random.Random, n: int) -> None:
    for i in range(n):
        text = rng.choice(TEXTS)
        kind = i % 6
        if kind == 0:
            s.run(f"INSERT INTO items (name, note, price) VALUES ({_lit(text)}, {_lit(str(i))}, {i % 97}.5)")
        elif kind == 1:
            s.run(f"SELECT id, name FROM items WHERE name = {_lit(text)} LIMIT 3")
        elif kind == 2:
            s.run(f"UPDATE items SET note = {_lit(text + str(i))} WHERE id = {i}")
        elif kind == 3:
            s.run(f"INSERT INTO `n,1` (id, v) VALUES ({s.connid * 100000 + i}, {_lit(text[:40])})")
        elif kind == 4:
            s.run(f"SELECT COUNT(*) FROM `n,1` WHERE v LIKE {_lit('%' + text[:3] + '%')}")
        else:
            s.run(f"DELETE FROM items WHERE id = {i + 100000}")


def run(server: MariaDB, *, rounds: int = 4, seed: int = 21) -> Workload:
    """The whole workload (a few thousand statements); `rounds` scales its DML."""
    rng = random.Random(seed)
    work = Workload()
    _setup(server, work)

    alice = Session(server, work, "alice", "shop", tcp=True)
    for sql in DDL:
        alice.run(sql)
    for sql in ROUTINES:
        alice.run(sql)
    alice.run("SELEKT 1", retcode=1064)  # a syntax error is logged with its code
    alice.run("INSERT INTO `n,1` (id, v) VALUES (1, 'one')")
    alice.run("INSERT INTO `n,1` (id, v) VALUES (1, 'one again')", retcode=1062)
    # prepared statements (SQL level: PREPARE, EXECUTE, DEALLOCATE)
    alice.run("PREPARE ins FROM 'INSERT INTO items (name, price) VALUES (?, ?)'")
    alice.run("SET @n = 'prepared, with a comma', @p = 1.25")
    alice.run("EXECUTE ins USING @n, @p")
    alice.run("DEALLOCATE PREPARE ins")
    # past server_audit_query_log_limit: ASCII, and multi-byte text whose cut falls inside a character
    alice.run("SELECT " + _lit("x" * 3000) + " AS long_ascii")
    prefix = "SELECT '"
    pad = "a" * ((server.query_log_limit - len(prefix) - 1) % 3)
    alice.run(prefix + pad + "é" * 1500 + "' AS long_multibyte")
    alice.run(prefix + "€" * 1000 + "' AS three_byte_cut")
    # a database and tables with commas in their names
    weird = Session(server, work, "we,ird", "db,comma", tcp=True)
    weird.run("CREATE TABLE `t,2` (a INT, b VARCHAR(20))")
    weird.run("INSERT INTO `t,2` VALUES (1, 'x,y')")
    weird.run("SELECT * FROM `t,2`, shop.`n,1` LIMIT 1")
    weird.run("DROP TABLE `t,2`")
    forge = Session(server, work, "x,10.9.8.7,99", "shop", tcp=False)
    forge.run("SELECT 'forged?' FROM `n,1` LIMIT 1")
    forge.close()

    # failed logins: a wrong password over TCP and the socket, an unknown user
    import pymysql

    for user, tcp in (("alice", True), ("bob", False), ("nobody", True), ("we,ird", True)):
        try:
            server.connect(user, WRONG_PASSWORD, database="shop", tcp=tcp).close()
        except pymysql.err.OperationalError as e:
            assert e.args[0] == 1045
            work.failed_logins.append((user, "127.0.0.1" if tcp else "localhost"))
        else:
            raise AssertionError(f"{user} logged in with a wrong password")

    # COM_CHANGE_USER: to bob, refused for a wrong password (the server then closes the session)
    bob = Session(server, work, "alice", "shop", tcp=True)
    assert bob.change_user("bob", work.passwords["bob"], "shop")
    bob.run("SELECT CURRENT_USER()")
    assert not bob.change_user("alice", WRONG_PASSWORD, "shop")

    # credential statements (the plugin masks some itself; our masking does the rest)
    root = Session(server, work, "root", "", tcp=False)
    root.run(f"ALTER USER 'alice'@'%' IDENTIFIED BY '{LATER_SECRETS[0]}'", secret=True)
    root.run(f"SET PASSWORD FOR 'bob'@'%' = PASSWORD('{LATER_SECRETS[1]}')", secret=True)
    root.run(f"CHANGE MASTER TO MASTER_HOST='127.0.0.9', MASTER_USER='repl', MASTER_PASSWORD='{LATER_SECRETS[2]}'",
             secret=True)  # fmt: skip
    root.run(
        "CREATE SERVER fed FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.9', USER 'u', "
        f"PASSWORD '{LATER_SECRETS[3]}', DATABASE 'shop')",
        secret=True,
    )
    root.run(f"CREATE USER 'via'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{LATER_SECRETS[4]}')",
             secret=True)  # fmt: skip
    root.run(f"CREATE USER 'longpw'@'%' IDENTIFIED BY '{LONG_SECRET}'", secret=True)
    root.run(f"SET PASSWORD FOR 'longpw'@'%' = PASSWORD('{LONG_SECRET}')", secret=True)
    root.run("DROP SERVER fed")
    root.run("RESET SLAVE ALL")
    root.run("SELECT COUNT(*) FROM shop.items")  # no default database: the plugin logs the tables' one
    root.close()
    work.passwords.update(alice=LATER_SECRETS[0], bob=LATER_SECRETS[1])

    # the bulk: DML from several users over TCP and the socket
    for r in range(rounds):
        for user in ("alice", "bob", "we,ird"):
            s = Session(server, work, user, "shop", tcp=(r + len(user)) % 2 == 0)
            _dml(s, rng, 150)
            s.close()
    alice.close()
    weird.close()
    return work
