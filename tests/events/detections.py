"""A workload with planted incidents and known answers for the detection rules (tests/integration/test_detect.py).

Background on five instances every five minutes (ordinary reads by `app` from a private address), logins of
known (user, client) pairs seeded days before, and per rule two planted incidents, a near-miss just under its
threshold, and where the rule has one, an allowed or internal account doing the same. `EXPECTED` holds what each
rule must find: (rule id, first event's time) per planted incident, nothing else."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from handler.read.period import iso, parse_timestamp

D = datetime(2026, 11, 10, tzinfo=UTC)  # a Tuesday
SINCE = D - timedelta(hours=2)  # the run: 22:00 the day before …
UNTIL = D + timedelta(days=1, hours=2)  # … to 02:00 the day after (three daily indices)
INSTANCES = ("db-a", "db-b", "db-c", "db-d", "db-e")
OVERRIDES = {
    "rules": {
        "brute-force": {"allow": {"clients": ["198.51.100.0/24"]}},
        "sensitive-access": {"allow": {"users": ["backup"]}},
        "bulk-read": {"parameters": {"threshold": 50}},
    }
}


class Workload:
    def __init__(self) -> None:
        self.lines: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        self.expected: list[tuple[str, str]] = []
        self._connid = 1000

    def conn(self) -> int:
        self._connid += 1
        return self._connid

    def add(
        self,
        at: datetime,
        user: str,
        client: str,
        op: str,
        sql: str = "",
        *,
        conn: int | None = None,
        instance: str = "db-a",
        retcode: int = 0,
        db: str = "shop",
    ) -> int:
        connid = conn if conn is not None else self.conn()
        quoted = "'" + sql.replace("\\", "\\\\").replace("'", "\\'") + "'" if sql else ""
        us = int(at.timestamp()) * 1_000_000 + at.microsecond
        self.lines[instance].append((at, f"{us},{instance},{user},{client},{connid},1,{op},{db},{quoted},{retcode}"))
        return connid

    def expect(self, rule: str, first: datetime) -> None:
        self.expected.append((rule, iso(first)))

    def failures(self, start: datetime, user: str | list[str], client: str, n: int, step: int) -> None:
        for i in range(n):
            who = user[i % len(user)] if isinstance(user, list) else user
            self.add(start + timedelta(seconds=i * step), who, client, "FAILED_CONNECT", retcode=1045)


def subscription_events(lines: dict[str, list[tuple[datetime, str]]]) -> Iterator[tuple[dict[str, Any], int]]:
    """(CloudWatch Logs subscription event, its line count): each instance's lines in time order, in payloads of
    1,000 on the instance's own log stream, as the forwarder receives them."""
    from handler.sources.cloudwatch import encode_subscription_event

    for instance, rows in sorted(lines.items()):
        ordered = [line for _, line in sorted(rows, key=lambda r: r[0])]
        for start in range(0, len(ordered), 1000):
            batch = ordered[start : start + 1000]
            event = encode_subscription_event(
                batch,
                log_group="/aws/rds/cluster/shop/audit",
                log_stream=f"{instance}.audit.log.0.2026-11-10-00-00.0.2",
            )
            yield event, len(batch)


def answers(findings: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """What the findings say, in the form of `Workload.expected`: (rule id, first event's time) per finding."""
    return Counter((f["rule"], iso(parse_timestamp(f["first"]))) for f in findings)


def build() -> Workload:
    w = Workload()
    t = SINCE - timedelta(hours=25)
    while t < UNTIL:
        for inst in INSTANCES:
            if inst == "db-c" and D + timedelta(hours=7) < t < D + timedelta(hours=8):
                continue  # silent for an hour, then back
            if inst == "db-d" and t > D + timedelta(hours=20):
                continue  # silent to the end of the run
            if inst == "db-e" and D + timedelta(hours=12) < t < D + timedelta(hours=12, minutes=29):
                continue  # a 29-minute gap: just under the silence
            w.add(t, "app", "10.0.1.5", "QUERY", "SELECT 1", conn=7, instance=inst)
        t += timedelta(minutes=5)
    w.add(D + timedelta(hours=12, minutes=29), "app", "10.0.1.5", "QUERY", "SELECT 1", conn=7, instance="db-e")
    w.expect("audit-silence", D + timedelta(hours=7))
    w.expect("audit-silence", D + timedelta(hours=20))
    # (user, client) pairs known before the run: logins within the 30-day look-back
    for user, client in (
        ("carol", "203.0.113.30"),
        ("dave", "203.0.113.31"),
        ("erin", "203.0.113.32"),
        ("frank", "10.0.2.2"),
        ("gina", "10.0.2.2"),
        ("admin", "198.51.100.50"),
        ("root", "203.0.113.60"),
        ("admin", "10.0.0.5"),
    ):
        w.add(D - timedelta(days=5), user, client, "CONNECT")
    w.add(D - timedelta(days=29), "hank", "10.0.2.3", "CONNECT")

    # brute force: 10 failures in 5 minutes, the first across midnight (two daily indices)
    w.failures(D - timedelta(seconds=90), "app", "203.0.113.10", 10, 15)
    w.expect("brute-force", D - timedelta(seconds=90))
    w.failures(D + timedelta(hours=3), "app", "203.0.113.11", 12, 15)
    w.expect("brute-force", D + timedelta(hours=3))
    w.failures(D + timedelta(hours=3, minutes=30), "app", "203.0.113.12", 9, 15)  # near-miss
    w.failures(D + timedelta(hours=3, minutes=40), "app", "198.51.100.7", 12, 15)  # allowed client
    w.failures(D + timedelta(hours=3, minutes=50), "rdsadmin", "203.0.113.70", 12, 15)  # internal account

    # password spraying: 5 distinct users in 10 minutes
    w.failures(D + timedelta(hours=4), [f"u{i}" for i in range(5)], "203.0.113.20", 5, 20)
    w.expect("password-spraying", D + timedelta(hours=4))
    w.failures(D + timedelta(hours=5), [f"v{i}" for i in range(6)], "203.0.113.21", 6, 20)
    w.expect("password-spraying", D + timedelta(hours=5))
    w.failures(D + timedelta(hours=5, minutes=30), [f"w{i}" for i in range(4)], "203.0.113.22", 4, 20)

    # success after 5 failures for the same user within 15 minutes
    for user, client, n, hour in (
        ("carol", "203.0.113.30", 5, 6),
        ("dave", "203.0.113.31", 6, 6.5),
        ("erin", "203.0.113.32", 4, 6.75),
    ):
        start = D + timedelta(hours=hour)
        w.failures(start, user, client, n, 30)
        w.add(start + timedelta(seconds=30 * n + 10), user, client, "CONNECT")
        if n >= 5:
            w.expect("login-after-failures", start)

    # event rules, each on its own connection
    def event(rule: str | None, at: datetime, user: str, client: str, op: str, sql: str = "", **kw: object) -> None:
        w.add(at, user, client, op, sql, **kw)  # type: ignore[arg-type]
        if rule:
            w.expect(rule, at)

    h = lambda hours, minutes=0: D + timedelta(hours=hours, minutes=minutes)  # noqa: E731
    event("account-change", h(9), "admin", "10.0.0.5", "QUERY", "CREATE USER 'x'@'%' IDENTIFIED BY 'pw1'")
    event("account-change", h(9, 10), "admin", "10.0.0.5", "QUERY", "GRANT SELECT ON shop.* TO 'x'@'%'")
    event(None, h(9, 20), "admin", "10.0.0.5", "QUERY", "SHOW GRANTS FOR 'x'@'%'")
    event(None, h(9, 30), "rdsadmin", "localhost", "QUERY", "GRANT SELECT ON mysql.* TO 'rdsrepladmin'@'%'")
    event("audit-tampering", h(10), "admin", "10.0.0.5", "QUERY", "SET GLOBAL server_audit_logging=OFF")
    event("audit-tampering", h(10, 10), "admin", "10.0.0.5", "QUERY", "UNINSTALL PLUGIN server_audit")
    event(None, h(10, 20), "admin", "10.0.0.5", "QUERY", "SET GLOBAL max_connections=100")
    event("ddl-off-hours", h(23, 30), "app", "10.0.1.5", "QUERY", "ALTER TABLE orders ADD note int")
    event("ddl-off-hours", h(25), "app", "10.0.1.5", "QUERY", "CREATE TABLE extra (a int)")
    event(None, h(10, 30), "app", "10.0.1.5", "QUERY", "ALTER TABLE orders ADD other int")  # business hours
    event("table-dropped", h(12), "app", "10.0.1.5", "QUERY", "DROP TABLE old_orders")
    event("table-dropped", h(14), "app", "10.0.1.5", "QUERY", "TRUNCATE carts")
    event(None, h(15), "app", "10.0.1.5", "QUERY", "DROP VIEW v_orders")
    event("sensitive-access", h(11), "app", "10.0.1.5", "QUERY", "SELECT user, host FROM mysql.user")
    event("sensitive-access", h(11, 10), "app", "10.0.1.5", "QUERY", "SELECT * FROM `mysql`.`db`")
    event(None, h(11, 20), "app", "10.0.1.5", "QUERY", "SELECT * FROM mysqlx.user")
    event(None, h(11, 30), "backup", "10.0.1.9", "QUERY", "SELECT * FROM mysql.user")  # allowed user
    event("export-to-file", h(13), "app", "10.0.1.5", "QUERY", "SELECT * FROM orders INTO OUTFILE '/tmp/o'")
    event("export-to-file", h(13, 10), "app", "10.0.1.5", "QUERY", "SELECT a INTO DUMPFILE '/tmp/d' FROM orders")
    event(None, h(13, 20), "app", "10.0.1.5", "QUERY", "SELECT 'into outfile' FROM orders")
    event("dump-session", h(13, 30), "app", "10.0.1.5", "QUERY", "SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`")
    event("dump-session", h(13, 40), "app", "10.0.1.5", "QUERY", "SELECT /*!40001 SQL_NO_CACHE */ * FROM `carts`")
    event(None, h(13, 50), "app", "10.0.1.5", "QUERY", "SELECT SQL_NO_CACHE * FROM orders")
    event("privileged-remote", h(16), "admin", "198.51.100.50", "CONNECT")
    event("privileged-remote", h(16, 10), "root", "203.0.113.60", "CONNECT")
    event(None, h(16, 20), "admin", "10.0.0.5", "CONNECT")
    # new clients: a pair not seen in 30 days; hank's was seen 29 days ago
    event("new-client", h(17), "frank", "203.0.113.40", "CONNECT")
    event("new-client", h(17, 10), "gina", "203.0.113.41", "CONNECT")
    event(None, h(17, 20), "hank", "10.0.2.3", "CONNECT")
    # read volume: 50 reads (the test's threshold) by one user within an aligned 10 minutes
    for user, n, hour in (("reader", 50, 18), ("reader2", 60, 19), ("reader3", 49, 19.5)):
        conn = w.conn()
        for i in range(n):
            w.add(D + timedelta(hours=hour, seconds=5 * i), user, "10.0.1.8", "QUERY", f"SELECT * FROM t{i}", conn=conn)
        if n >= 50:
            w.expect("bulk-read", D + timedelta(hours=hour))
    return w
