"""A quarter of audit lines with known answers, for `rdsaudit report` tests (and the README's screenshot).

Q3 2026 (2026-07-01 to 2026-10-01) and the quarter before, on an Aurora cluster of two instances and an RDS for
MySQL instance. Every answer is computed here from the generated records, independently of the report's code:
counts per index and source, account and schema changes, failed logins (per user, client, day), designed bursts
(and near misses), privileged accounts, activity outside business hours and clients new in the period.

    python -m tests.events.report_quarter --index-prefix quarter   # load it into OPENSEARCH_URL
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handler.sources.cloudwatch import encode_subscription_event
from tests.events.generate import plugin_escape

SINCE, UNTIL = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
PREVIOUS = SINCE - (UNTIL - SINCE)
ZONE, HOURS = "Europe/Paris", (8, 18)  # business hours of the tests, Monday to Friday
SECRET = "Summer-2026-pw"
AURORA = ("prod-aurora", "/aws/rds/cluster/prod-aurora/audit")
RDS = ("legacy-mysql", "/aws/rds/instance/legacy-mysql/audit")
APP_CLIENTS = [f"10.0.1.{i}" for i in range(1, 9)]
NEW_CLIENTS = [f"10.0.9.{i}" for i in range(1, 6)]
I2 = "prod-aurora-instance-2"


@dataclass(frozen=True)
class Rec:
    at: datetime
    user: str
    client: str
    op: str
    db: str = ""
    sql: str = ""
    retcode: int | None = 0
    instance: str = "prod-aurora-instance-1"
    raw: str = ""  # an unparseable line instead of a record

    @property
    def rds(self) -> bool:
        return self.instance == "legacy-mysql"

    def line(self) -> str:
        if self.raw:
            return self.raw
        obj = f"'{plugin_escape(self.sql)}'" if self.op == "QUERY" else self.sql
        ret = "" if self.retcode is None else str(self.retcode)
        if self.rds:
            tail = f"{ret},TCP/IP" if self.op.endswith("CONNECT") else f"{ret},,"
            head = f"{self.at:%Y%m%d %H:%M:%S},ip-10-1-0-50"
            return f"{head},{self.user},{self.client},7,11,{self.op},{self.db},{obj},{tail}"
        us = int(self.at.timestamp()) * 1_000_000 + self.at.microsecond
        return f"{us},{self.instance},{self.user},{self.client},7,11,{self.op},{self.db},{obj},{ret}"


def _at(rng: random.Random, start: datetime, end: datetime, rds: bool) -> datetime:
    moment = start + timedelta(microseconds=rng.randrange(int((end - start) / timedelta(microseconds=1))))
    return moment.replace(microsecond=0) if rds else moment


def _instance(rng: random.Random) -> str:
    return rng.choice(["prod-aurora-instance-1", "prod-aurora-instance-2", "legacy-mysql"])


ACCOUNT_SQL = [
    "CREATE USER 'svc_{i}'@'%' IDENTIFIED BY '" + SECRET + "'",
    "GRANT SELECT, INSERT ON shop.* TO 'svc_{i}'@'%'",
    "grant select on reports.* to svc_{i}",
    "REVOKE INSERT ON shop.* FROM 'svc_{i}'@'%'",
    # `SET PASSWORD FOR u = '…'` (a literal after a FOR clause) is not masked by the forwarder yet: reported
    "SET PASSWORD FOR 'svc_{i}'@'%' = PASSWORD('" + SECRET + "')",
    "ALTER USER 'svc_{i}'@'%' IDENTIFIED BY '" + SECRET + "'",
    "RENAME USER 'svc_{i}'@'%' TO 'svc_{i}_old'@'%'",
    "DROP USER 'svc_{i}_old'@'%'",
    "CREATE ROLE 'readers_{i}'",
    "SET DEFAULT ROLE 'readers_{i}' TO 'svc_{i}'@'%'",
    "drop role 'readers_{i}'",
]
DDL_SQL = [
    "CREATE TABLE t_{i} (id int primary key)",
    "ALTER TABLE orders ADD COLUMN note_{i} text",
    "DROP TABLE IF EXISTS tmp_{i}",
    "TRUNCATE TABLE staging_{i}",
    "RENAME TABLE a_{i} TO b_{i}",
]


def records(seed: int = 18) -> list[Rec]:
    rng = random.Random(seed)
    recs: list[Rec] = []
    for n in range(2400):  # ordinary traffic; in the quarter before on eight days only (fewer indices to create)
        start, end = SINCE, UNTIL
        if n % 4 == 0:
            start = PREVIOUS + timedelta(days=11 * rng.randrange(8))
            end = start + timedelta(days=1)
        inst = _instance(rng)
        op = rng.choice(["CONNECT", "QUERY", "QUERY", "READ", "WRITE", "DISCONNECT"])
        sql = rng.choice(["SELECT * FROM orders WHERE id = 1", "UPDATE t SET a = 1"]) if op == "QUERY" else ""
        sql = rng.choice(["orders", "customers"]) if op in ("READ", "WRITE") else sql
        retcode = None if op in ("READ", "WRITE") else 0
        at, user = _at(rng, start, end, inst == "legacy-mysql"), rng.choice(["app", "report", "etl"])
        recs.append(Rec(at, user, rng.choice(APP_CLIENTS), op, "shop", sql, retcode, inst))
    for n in range(300):  # privileged accounts' own work; root only on the RDS instance
        user = "root" if n % 3 == 0 else "admin"
        inst = "legacy-mysql" if user == "root" else _instance(rng)
        op = rng.choice(["CONNECT", "QUERY", "DISCONNECT"])
        at, sql = _at(rng, SINCE, UNTIL, inst == "legacy-mysql"), "SELECT 1" if op == "QUERY" else ""
        recs.append(Rec(at, user, "10.0.1.1", op, "", sql, 0, inst))
    for i in range(37):  # account and privilege changes (37 > a page of 7): admin, dba_jane, and one refused
        user, sql = "dba_jane" if i % 4 == 3 else "admin", ACCOUNT_SQL[i % len(ACCOUNT_SQL)].format(i=i)
        recs.append(Rec(_at(rng, SINCE, UNTIL, False), user, rng.choice(NEW_CLIENTS[:2]), "QUERY", "", sql))
    refused = "GRANT ALL ON *.* TO 'app'@'%'"
    recs.append(Rec(SINCE + timedelta(days=40, hours=3), "app", "10.0.1.2", "QUERY", "shop", refused, 1227, I2))
    for i in range(23):  # schema changes: statements and the plugin's table events
        inst = _instance(rng)
        at = _at(rng, SINCE, UNTIL, inst == "legacy-mysql")
        if i % 6 == 5:
            op = rng.choice(["CREATE", "DROP", "ALTER"])
            recs.append(Rec(at, "etl", "10.0.1.3", op, "shop", f"tbl_{i}", None, inst))
        else:
            sql = DDL_SQL[i % len(DDL_SQL)].format(i=i)
            recs.append(Rec(at, rng.choice(["etl", "admin"]), "10.0.1.3", "QUERY", "shop", sql, 0, inst))
    for i in range(60):  # scattered failed logins: 25 users, 12 clients, at least a day and a half apart
        at = SINCE + timedelta(hours=36 * i, minutes=rng.randrange(600))
        client = f"172.16.0.{i % 12 + 1}" if i % 5 else APP_CLIENTS[i % 8]
        recs.append(Rec(at, f"user_{i % 25:02d}", client, "FAILED_CONNECT", "", "", 1045, _instance(rng)))
    recs += _bursts()
    recs += _edges()
    for i, client in enumerate(NEW_CLIENTS[2:]):  # new clients that only connect
        recs.append(Rec(SINCE + timedelta(days=10 * i + 5, hours=22), "report", client, "CONNECT", instance=I2))
    return recs


# (client, first failure, gap in seconds, failures): bursts are 5+ failures within 60 s (the test's --burst-failures
# and --burst-window; each burst lies inside one aligned minute, so it is one brute-force finding)
BURSTS = [
    ("203.0.113.7", datetime(2026, 8, 15, 2, 10, 0, 250000, UTC), 3.5, 12),
    ("198.51.100.23", datetime(2026, 9, 2, 23, 0, 0, tzinfo=UTC), 3.0, 6),
    ("198.51.100.23", datetime(2026, 9, 3, 0, 0, 0, tzinfo=UTC), 3.0, 6),
    ("192.0.2.61", datetime(2026, 7, 20, 12, 0, 0, tzinfo=UTC), 14.9, 5),  # spans 59.6 s: a burst
]
NEAR_MISSES = [
    ("192.0.2.50", datetime(2026, 7, 21, 12, 0, 0, tzinfo=UTC), 10.0, 4),  # 4 failures only
    ("192.0.2.62", datetime(2026, 7, 22, 12, 0, 0, tzinfo=UTC), 15.0, 5),  # the 5th is 60 s after the 1st
]


def _bursts() -> list[Rec]:
    out = []
    for client, first, gap, n in BURSTS + NEAR_MISSES:
        for k in range(n):
            out.append(
                Rec(
                    first + timedelta(seconds=gap * k),
                    ["root", "admin", "test"][k % 3],
                    client,
                    "FAILED_CONNECT",
                    "",
                    "",
                    1045,
                    "prod-aurora-instance-1",
                )
            )
    return out


def _edges() -> list[Rec]:
    return [
        Rec(SINCE, "app", "10.0.7.7", "CONNECT"),  # first instant: included
        Rec(UNTIL - timedelta(microseconds=1), "app", "10.0.7.8", "CONNECT"),  # last instant: included
        Rec(UNTIL, "app", "10.0.7.9", "CONNECT"),  # excluded: until is exclusive
        Rec(PREVIOUS + timedelta(days=3), "app", "10.0.7.7", "CONNECT"),  # so 10.0.7.7 is not new
        Rec(datetime(2025, 1, 1, tzinfo=UTC), "app", "10.0.9.1", "CONNECT"),  # before both periods: 10.0.9.1 stays new
        Rec(SINCE + timedelta(days=50), "", "", "DISCONNECT", retcode=0, instance="legacy-mysql"),  # no user, no client
        Rec(
            SINCE + timedelta(days=51, hours=1),
            "",
            "",
            "",
            raw="this line is not an audit record",
            instance="legacy-mysql",
        ),
    ]


def events(recs: list[Rec]) -> list[dict[str, Any]]:
    """Subscription events per log stream, 1,000 lines each; an unparseable line keeps its event time."""
    streams: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for r in sorted(recs, key=lambda r: r.at):
        group = RDS[1] if r.rds else AURORA[1]
        stream = "legacy-mysql" if r.rds else f"{r.instance}.audit.log.0.2026-07-01-00-00.0.2"
        streams.setdefault((group, stream), []).append((r.line(), int(r.at.timestamp() * 1000)))
    out = []
    for (group, stream), lines in sorted(streams.items()):
        for i in range(0, len(lines), 1000):
            out.append(encode_subscription_event(lines[i : i + 1000], log_group=group, log_stream=stream, first_id=i))
    return out


def outside(at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(ZONE))
    return not (local.weekday() < 5 and HOURS[0] <= local.hour < HOURS[1])


ACCOUNT_VERBS = (
    "create user", "grant", "revoke", "set password", "alter user", "drop user", "rename user",
    "create role", "drop role", "set default role",
)  # fmt: skip
DDL_VERBS = ("create table", "alter table", "drop table", "truncate", "rename table")


def answers(recs: list[Rec]) -> dict[str, Any]:
    now = [r for r in recs if SINCE <= r.at < UNTIL]
    before = [r for r in recs if PREVIOUS <= r.at < SINCE]
    failed = [r for r in now if r.op == "FAILED_CONNECT"]
    account = [r for r in now if r.op == "QUERY" and r.sql.lower().startswith(ACCOUNT_VERBS)]
    schema = [r for r in now if r.op in ("CREATE", "DROP", "ALTER") or r.sql.lower().startswith(DDL_VERBS)]
    privileged = {"admin", "root"} | {r.user for r in account}  # detection rule privileged-remote's default users
    clients_now = {r.client for r in now if r.client}
    return {
        "documents": len(now),
        "indices": Counter(f"{r.at:%Y.%m.%d}" for r in now),
        "sources": Counter(("legacy-mysql" if r.rds else r.instance) for r in now),
        "account_changes": len(account),
        "schema_changes": len(schema),
        "failed": len(failed),
        "failed_by_user": Counter(r.user for r in failed),
        "failed_by_client": Counter(r.client for r in failed),
        "failed_by_day": Counter(f"{r.at:%Y-%m-%d}" for r in failed),
        "bursts": sorted((c, n) for c, _, _, n in BURSTS),
        "privileged": {u: Counter(r.op for r in now if r.user == u) for u in privileged},
        "outside": sum(1 for r in now if outside(r.at)),
        "outside_by_user": Counter(r.user or None for r in now if outside(r.at)),
        "new_clients": sorted(clients_now - {r.client for r in before if r.client}),
        "clients": Counter(r.client for r in now if r.client),
    }


def main() -> None:
    import argparse
    import contextlib
    import io
    import os

    from handler import app

    parser = argparse.ArgumentParser(description="load the report test quarter into OPENSEARCH_URL")
    parser.add_argument("--index-prefix", default="quarter")
    args = parser.parse_args()
    os.environ["RDSAUDIT_INDEX_PREFIX"] = args.index_prefix
    os.environ.setdefault("RDSAUDIT_DEAD_LETTER", "./dead-letter")
    recs = records()
    for event in events(recs):
        with contextlib.redirect_stdout(io.StringIO()):
            app.lambda_handler(event, None)
    app.get_runtime().client.indices.refresh(index=f"{args.index_prefix}-*")  # searchable before a report runs
    print(
        f"{len(recs)} lines indexed into {args.index_prefix}-* "
        f"({SINCE:%Y-%m-%d} to {UNTIL:%Y-%m-%d}, the quarter before for new clients)"
    )


if __name__ == "__main__":
    main()
