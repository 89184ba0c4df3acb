"""Detections on incidents the real server_audit plugin wrote (tests/integration/mariadb.py, a server of this
module's own): real clients plant each incident with a near-miss beside it, the plugin's files go through the
forwarder into the real node, `rdsaudit detect` runs over the period, and the findings are exactly the planted ones
(rule and key); a rerun adds nothing; no password the workload used is in anything stored or printed.

Clients: TCP clients bind a source address of their own in 127/8 (PyMySQL's bind_address; the server, with
skip-name-resolve, logs that address), so each incident and its near-miss come from distinct clients, as they would
from distinct hosts. What the plugin writes for each incident: docs/mariadb-server-audit.md, "Incidents"."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handler import app
from handler.cli import main
from handler.read.patterns import findings_pattern
from handler.read.period import iso
from handler.sources.cloudwatch import encode_subscription_event
from handler.transforms.audit_line import decode_line
from tests.integration import mariadb as mdb
from tests.integration.conftest import Forwarder
from tests.integration.test_mariadb_end_to_end import event_ms

pytestmark = pytest.mark.integration
INSTANCE = "mariadb-detect"
PASSWORDS = {u: f"Det-{u}-pw-{n:04x}91" for n, u in enumerate(("admin", "app", "backup", "carol", "dave", "erin"), 7)}
WRONG = "Det-wrong-pw-dead01"
TEMP = ("Det-temp-pw-1a2b", "Det-temp-pw-3c4d", "Det-temp-pw-5e6f")  # CREATE USER, SET PASSWORD, ALTER USER
SECRETS = (*PASSWORDS.values(), WRONG, *TEMP)
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


@pytest.fixture(scope="module")
def server() -> Iterator[mdb.MariaDB]:
    problem = mdb.missing()
    if problem:
        mdb._unavailable(problem)
    try:
        own = mdb.start()  # its own: the workload sets global variables (server_audit_logging, excl_users)
    except RuntimeError as e:
        mdb._unavailable(str(e))
        raise
    try:
        yield own
    finally:
        mdb.stop(own)


def _next_second(deadline: float = 5.0) -> datetime:
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
    _next_second()
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


def _index(forwarder: Forwarder, server: mdb.MariaDB) -> list[str]:
    lines = []
    for n, f in enumerate(server.audit_files()):
        messages = [(m, event_ms(m)) for m in (decode_line(b) for b in f.read_bytes().split(b"\n") if b)]
        event = encode_subscription_event(
            messages, log_group=f"/aws/rds/instance/{INSTANCE}/audit", log_stream=INSTANCE, first_id=n * 10**6
        )
        out = forwarder.invoke(event)
        assert (out["dead_lettered"], out["pending"]) == (0, 0), out
        lines += [m for m, _ in messages]
    forwarder.refresh()
    return lines


def _detect(capsys: pytest.CaptureFixture[str], prefix: str, since: datetime, until: datetime) -> tuple[str, Any]:
    capsys.readouterr()
    args = ["detect", "--since", iso(since), "--until", iso(until), "--format", "json", "--index-prefix", prefix]
    assert main(args) == 0
    out = capsys.readouterr()
    return out.out + out.err, json.loads(out.out)


def test_incidents_the_plugin_wrote_are_found_exactly_once(
    server: mdb.MariaDB,
    forwarder: Forwarder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RDSAUDIT_DETECTIONS", json.dumps(OVERRIDES))
    app.reset_runtime()  # the forwarder tags with the overrides
    while datetime.now(UTC).strftime("%M:%S") >= "59:30":  # an event rule's finding is per connection and UTC hour
        _next_second()
    p = Plant(server)
    setup(p)
    since = _next_second()
    incidents(p)
    until = _next_second() + timedelta(seconds=1)
    lines = _index(forwarder, server)
    assert max(event_ms(m) for m in lines if "shop.scratch" in m) < since.timestamp() * 1000  # setup before
    # what the weakened audit did not write
    assert not [m for m in lines if "SELECT COUNT(*) FROM t" in m or "unlogged" in m]
    hidden = [m.split(",")[6] for m in lines if m.split(",")[4] == str(p.hidden_connid)]
    assert hidden == ["CONNECT", "DISCONNECT"]

    printed, first = _detect(capsys, forwarder.prefix, since, until)
    got = Counter((f["rule"], f["key"]) for f in first["findings"])
    want = Counter(p.expected)
    assert got == want, (got - want, want - got)
    assert first["new"] == len(p.expected)
    by_key = {(f["rule"], f["key"]): f for f in first["findings"]}
    assert {k: by_key[k]["count"] for k in p.counts} == p.counts
    for user, connid in p.logins.items():  # the connection that got in, and its session
        login = next(f for f in first["findings"] if f["rule"] == "login-after-failures" and f["user"] == user)
        assert (login["server"], login["connid"], login["examples"][0]["operation"]) == (p.host, connid, "CONNECT")
        assert login["session"]["key"].startswith(f"{p.host}/") and login["session"]["summary"]["user"] == user
    refused = by_key[("export-to-file", next(k for r, k in p.expected if r == "export-to-file"))]
    assert sorted(e.get("sql", "")[:6] for e in refused["examples"]) == ["SELECT", "SELECT"]

    printed_again, second = _detect(capsys, forwarder.prefix, since, until)
    assert second["new"] == 0 and Counter((f["rule"], f["key"]) for f in second["findings"]) == want
    client = forwarder.client
    client.indices.refresh(index=findings_pattern(forwarder.prefix))
    stored = client.count(index=findings_pattern(forwarder.prefix), body={"query": {"exists": {"field": "rule"}}})
    assert stored["count"] == len(p.expected)

    # no password anywhere we store or print (every document of the prefix: audit, findings, state)
    client.indices.refresh(index=f"{forwarder.prefix}-*")
    docs = client.search(index=f"{forwarder.prefix}-*", body={"size": 10000, "query": {"match_all": {}}})
    assert docs["hits"]["total"]["value"] < 10000
    texts = [json.dumps(docs["hits"]["hits"]), printed, printed_again]
    assert [[s for s in SECRETS if s in text] for text in texts] == [[], [], []]
    # the statements that carried them are there (masked), so the check looked where they would be
    account = next(f for f in first["findings"] if f["rule"] == "account-change")
    assert [e["sql"].split(" ")[:2] for e in account["examples"]][:4] == [
        ["CREATE", "USER"],
        ["GRANT", "SELECT"],
        ["SET", "PASSWORD"],
        ["ALTER", "USER"],
    ]
