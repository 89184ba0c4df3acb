"""Incidents for the detection rules, planted through real clients into a server_audit MariaDB
(tests/integration/test_detect_mariadb.py): each with a near-miss beside it, and the findings it must cause as
(rule, key) in the words of `rdsaudit detect`. What the plugin writes for each: docs/mariadb-server-audit.md,
"Incidents, as the plugin writes them".

Clients: TCP clients bind a source address of their own in 127/8 (PyMySQL's bind_address; the server, with
skip-name-resolve, logs that address), so each incident and its near-miss come from distinct clients, as they would
from distinct hosts."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration import mariadb as mdb

PASSWORDS = {u: f"Det-{u}-pw-{n:04x}91" for n, u in enumerate(("admin", "app", "backup", "carol", "dave", "erin"), 7)}
WRONG = "Det-wrong-pw-dead01"
TEMP = ("Det-temp-pw-1a2b", "Det-temp-pw-3c4d", "Det-temp-pw-5e6f")  # CREATE USER, SET PASSWORD, ALTER USER
SECRETS = (*PASSWORDS.values(), WRONG, *TEMP)
# The rules' parameters for these lines (RDSAUDIT_DETECTIONS), where the defaults cannot meet real loopback clients:
OVERRIDES = {
    "rules": {
        # The lines carry the server's real clock, which the test cannot choose: business hours all day, so no DDL
        # here is off-hours (test_detect.py plants those on written lines).
        "ddl-off-hours": {"parameters": {"business_hours": "0-24", "business_days": "mon-sun"}},
        # Every client here is in 127/8, which the default allows: keep 127.0.0.1 and the socket only, so that a
        # privileged login from 127.0.0.50 is one from outside.
        "privileged-remote": {"parameters": {"allowed_clients": ["127.0.0.1/32", "localhost"]}},
        "sensitive-access": {"allow": {"users": ["backup"]}},
    }
}


def next_second(deadline: float = 5.0) -> datetime:
    """Poll until the clock enters a new whole second (the plugin's resolution); that second's start."""
    start, until = int(time.time()), time.monotonic() + deadline
    while int(time.time()) == start:
        assert time.monotonic() < until, "the clock did not move"
        time.sleep(0.01)
    return datetime.fromtimestamp(int(time.time()), UTC)


class Plant:
    """Real clients against the server, and the findings they must cause: (rule, key) as `rdsaudit detect` prints."""

    def __init__(self, server: mdb.MariaDB) -> None:
        self.server = server
        self.host = str(server.sql("SELECT @@hostname")[0][0])  # the lines' server field
        self.expected: list[tuple[str, str]] = []
        self.counts: dict[tuple[str, str], int] = {}
        self.logins: dict[str, int] = {}  # user → the connection id of its login after failures
        self.hidden_connid = 0

    def connect(self, user: str, client: str = "127.0.0.1", db: str | None = None) -> Any:
        return self.server.connect(user, PASSWORDS[user], database=db, bind_address=client)

    def fail(self, users: list[str], client: str) -> None:
        import pymysql

        for user in users:
            with pytest.raises(pymysql.err.OperationalError) as refused:
                self.server.connect(user, WRONG, bind_address=client)
            assert refused.value.args[0] == 1045

    def run(self, conn: Any, *statements: str, refused: int = 0) -> None:
        import pymysql

        with conn.cursor() as cur:
            for sql in statements:
                try:
                    cur.execute(sql)
                except pymysql.err.MySQLError as e:
                    if e.args[0] != refused:
                        raise

    def expect(self, rule: str, key: str, count: int | None = None) -> None:
        self.expected.append((rule, key))
        if count is not None:
            self.counts[(rule, key)] = count

    def conn_key(self, conn: Any, user: str, client: str = "127.0.0.1") -> str:
        return f"server={self.host}, connid={conn.thread_id()}, user={user}, client={client}"


def setup(p: Plant) -> None:
    """Before the period: the schema, the accounts, and the logins that make (user, client) pairs known."""
    users = [f"CREATE USER '{u}'@'%' IDENTIFIED BY '{pw}'" for u, pw in PASSWORDS.items()]
    p.server.sql(
        "CREATE DATABASE shop",
        "CREATE TABLE shop.t (a INT)",
        "INSERT INTO shop.t VALUES (1), (2)",
        "CREATE TABLE shop.scratch (a INT)",
        "CREATE VIEW shop.v AS SELECT a FROM shop.t",
        *users,
        "GRANT ALL ON *.* TO 'admin'@'%' WITH GRANT OPTION",
        "GRANT ALL ON shop.* TO 'app'@'%'",
        "GRANT FILE ON *.* TO 'app'@'%'",
        "GRANT SELECT ON mysql.user TO 'app'@'%'",
        "GRANT SELECT ON mysql.user TO 'backup'@'%'",
        "GRANT SELECT ON shop.* TO 'carol'@'%'",
        "GRANT SELECT ON shop.* TO 'dave'@'%'",
        "GRANT SELECT ON shop.* TO 'erin'@'%'",
    )
    for user in ("admin", "app", "backup"):
        p.connect(user).close()


def incidents(p: Plant) -> None:
    # brute force: 10 failures from one client (the default threshold); 9 from another
    p.fail(["app"] * 10, "127.0.0.10")
    p.expect("brute-force", "client=127.0.0.10", 10)
    p.fail(["app"] * 9, "127.0.0.11")
    # password spraying: 5 distinct users from one client; 4 from another
    p.fail([f"spray{i}" for i in range(5)], "127.0.0.20")
    p.expect("password-spraying", "client=127.0.0.20", 5)
    p.fail([f"near{i}" for i in range(4)], "127.0.0.21")
    # a login after 5 failures of the same user and client (in the same second, as real logins are); after 4
    p.fail(["carol"] * 5, "127.0.0.30")
    carol = p.connect("carol", "127.0.0.30")
    p.expect("login-after-failures", "user=carol, client=127.0.0.30", 5)
    p.expect("new-client", "user=carol, client=127.0.0.30")  # a first login from there, too
    p.fail(["dave"] * 4, "127.0.0.31")
    p.connect("dave", "127.0.0.31").close()
    p.expect("new-client", "user=dave, client=127.0.0.31")
    p.logins["carol"] = carol.thread_id()
    carol.close()
    p.fail(["erin"] * 5, "127.0.0.32")  # and a login in a later second than its failures
    next_second()
    erin = p.connect("erin", "127.0.0.32")
    p.expect("login-after-failures", "user=erin, client=127.0.0.32", 5)
    p.expect("new-client", "user=erin, client=127.0.0.32")
    p.logins["erin"] = erin.thread_id()
    erin.close()

    # account and privilege changes on one connection (SHOW GRANTS beside them is none)
    admin = p.connect("admin")
    p.run(
        admin,
        f"CREATE USER 'temp'@'%' IDENTIFIED BY '{TEMP[0]}'",
        "GRANT SELECT ON shop.* TO 'temp'@'%'",
        f"SET PASSWORD FOR 'temp'@'%' = PASSWORD('{TEMP[1]}')",
        f"ALTER USER 'temp'@'%' IDENTIFIED BY '{TEMP[2]}'",
        "SHOW GRANTS FOR 'temp'@'%'",
        "DROP USER 'temp'@'%'",
    )
    p.expect("account-change", p.conn_key(admin, "admin"), 5)
    admin.close()

    # audit tampering: an excluded user set and reset (app's session in between: its CONNECT and DISCONNECT are
    # logged, its statement is not) …
    admin = p.connect("admin")
    p.run(admin, "SET GLOBAL server_audit_excl_users = 'app'")
    hidden = p.connect("app", db="shop")
    p.hidden_connid = hidden.thread_id()
    p.run(hidden, "SELECT COUNT(*) FROM t")
    hidden.close()
    p.run(admin, "SET GLOBAL server_audit_excl_users = ''", "SET GLOBAL max_connections = 150")
    p.expect("audit-tampering", p.conn_key(admin, "admin"), 2)
    admin.close()
    # … and logging off, then on (the statement between is not logged)
    admin = p.connect("admin")
    p.run(admin, "SET GLOBAL server_audit_logging = OFF", "SELECT 'unlogged'", "SET GLOBAL server_audit_logging = ON")
    p.run(admin, "SELECT @@server_audit_logging")
    p.expect("audit-tampering", p.conn_key(admin, "admin"), 2)
    admin.close()

    # SELECT … INTO OUTFILE (secure_file_priv is unset on this server: any path the server may write), and the
    # same again, refused because the file exists (1086); a statement that only says "into outfile" is none
    app_ = p.connect("app", db="shop")
    target = p.server.dir / "tmp" / "export.csv"
    p.run(app_, f"SELECT a FROM t INTO OUTFILE '{target}'")
    p.run(app_, f"SELECT a FROM t INTO OUTFILE '{target}'", refused=1086)
    p.run(app_, "SELECT 'into outfile' AS label")
    p.expect("export-to-file", p.conn_key(app_, "app"), 2)
    app_.close()

    # a read of mysql.user (its QUERY and the READ of mysql.global_priv behind the view); by an allowed user: none
    app_ = p.connect("app", db="shop")
    p.run(app_, "SELECT user, host FROM mysql.user", "SELECT a FROM t")
    p.expect("sensitive-access", p.conn_key(app_, "app"), 2)
    app_.close()
    backup = p.connect("backup")
    p.run(backup, "SELECT user, host FROM mysql.user")
    backup.close()

    # a table dropped (the statement and the plugin's DROP event); a view dropped is none (no DROP event either)
    app_ = p.connect("app", db="shop")
    p.run(app_, "DROP TABLE scratch", "DROP VIEW v")
    p.expect("table-dropped", p.conn_key(app_, "app"), 2)
    app_.close()

    # a privileged account from outside the allowed clients (the override); from 127.0.0.1 (above): none
    outside = p.connect("admin", "127.0.0.50")
    p.expect("privileged-remote", p.conn_key(outside, "admin", "127.0.0.50"), 1)
    p.expect("new-client", "user=admin, client=127.0.0.50")
    outside.close()
    # a new client for app; app from 127.0.0.1 (known since the setup): none
    p.connect("app", "127.0.0.40").close()
    p.expect("new-client", "user=app, client=127.0.0.40")
