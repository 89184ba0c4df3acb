"""A workload of known sessions, for `rdsaudit sessions` / `rdsaudit session` tests and the benchmark.

Two days around midnight 2026-03-09/10 on an Aurora cluster (instances 1 and 2: `server` is the instance) and an
RDS for MySQL instance (`server` ip-10-1-0-50, whole seconds). Planted: interleaved connections, a session across
midnight (two daily indices), connection ids reused after a simulated restart of instance 1 (one of the old
sessions never logged its DISCONNECT), CHANGEUSER, failed logins, a session without CONNECT, a very long one (more
than a day, RDS: same-second CONNECT/QUERY and QUERY/DISCONNECT), failed statements, account and schema changes
(one with a password, masked), table events, and a session on instance 2 whose server went silent for two hours.

Every answer (`answers`) is computed here from the records, independently of handler/sessions.
"""

from __future__ import annotations

import gzip
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from handler.read.period import iso
from handler.sources.cloudwatch import encode_subscription_event
from tests.events.generate import plugin_escape

DAY = datetime(2026, 3, 9, tzinfo=UTC)
CLUSTER = "prod-aurora"
AURORA_GROUP = f"/aws/rds/cluster/{CLUSTER}/audit"
I1, I2 = "prod-aurora-instance-1", "prod-aurora-instance-2"
RDS = "legacy-mysql"
RDS_GROUP = f"/aws/rds/instance/{RDS}/audit"
RDS_SERVER = "ip-10-1-0-50"
SECRET = "Winter-2026-pw"
OPENERS = ("CONNECT", "FAILED_CONNECT")
TABLE_EVENTS = ("READ", "WRITE", "CREATE", "ALTER", "DROP", "RENAME")
ACCOUNT_VERBS = (
    "create user", "alter user", "drop user", "rename user", "grant", "revoke", "set password",
    "create role", "drop role", "set default role",
)  # fmt: skip
DDL_VERBS = ("create", "alter", "drop", "rename", "truncate")
NOT_DDL = ("create user", "alter user", "drop user", "rename user", "create role", "drop role")


@dataclass(frozen=True)
class Rec:
    at: datetime
    instance: str
    user: str
    client: str
    connid: int
    op: str
    db: str = ""
    obj: str = ""  # SQL of a QUERY, table of a table event
    retcode: int | None = 0
    queryid: int = 0
    session: str = ""  # the generator's name for the session (not in the line)

    @property
    def server(self) -> str:
        return RDS_SERVER if self.instance == RDS else self.instance

    @property
    def rank(self) -> int:
        return 0 if self.op in OPENERS else 2 if self.op == "DISCONNECT" else 1

    def order(self) -> tuple[datetime, int, int]:
        return self.at, self.rank, self.queryid

    def line(self) -> str:
        obj = f"'{plugin_escape(self.obj)}'" if self.op == "QUERY" else self.obj
        ret = "" if self.retcode is None else str(self.retcode)
        head = (self.user, self.client, self.connid, self.queryid, self.op, self.db, obj)
        fields = ",".join(map(str, head))
        if self.instance == RDS:
            tail = f"{ret},TCP/IP" if self.op.endswith("CONNECT") else f"{ret},,"
            return f"{self.at:%Y%m%d %H:%M:%S},{RDS_SERVER},{fields},{tail}"
        us = int(self.at.timestamp()) * 1_000_000 + self.at.microsecond
        return f"{us},{self.instance},{fields},{ret}"

    @property
    def stored_at(self) -> datetime:
        return self.at.replace(microsecond=0) if self.instance == RDS else self.at


class _Writer:
    def __init__(self) -> None:
        self.recs: list[Rec] = []
        self.queryid = 1000

    def add(self, session: str, at: datetime, instance: str, user: str, client: str, connid: int, op: str,
            db: str = "shop", obj: str = "", retcode: int | None = 0) -> None:  # fmt: skip
        if instance == RDS:
            at = at.replace(microsecond=0)
        self.queryid += 1
        qid = self.queryid if op not in ("CONNECT", "FAILED_CONNECT", "DISCONNECT", "CHANGEUSER") else 0
        self.recs.append(Rec(at, instance, user, client, connid, op, db, obj, retcode, qid, session))


def _t(hours: float, seconds: float = 0) -> datetime:
    return DAY + timedelta(hours=hours, seconds=seconds)


def records(long_events: int = 800) -> list[Rec]:
    w = _Writer()
    add = w.add
    # S1: app on instance 1, 23:40 to 00:25 across midnight, table events, one failed statement
    add("across-midnight", _t(23 + 40 / 60), I1, "app", "10.0.1.5", 101, "CONNECT")
    for k in range(12):
        at = _t(23 + 40 / 60, 60 + 200 * k + 0.25)
        add("across-midnight", at, I1, "app", "10.0.1.5", 101, "QUERY", obj=f"SELECT * FROM orders WHERE id = {k}")
        add("across-midnight", at + timedelta(seconds=1), I1, "app", "10.0.1.5", 101, "READ", obj="orders")
        if k % 3 == 0:
            add("across-midnight", at + timedelta(seconds=2), I1, "app", "10.0.1.5", 101, "WRITE", obj="invoices")
    add("across-midnight", _t(24, 1000), I1, "app", "10.0.1.5", 101, "QUERY", obj="SELEC oops", retcode=1064)
    add("across-midnight", _t(24, 1500), I1, "app", "10.0.1.5", 101, "DISCONNECT")
    # S2: admin interleaved with S1: account changes (one with a password), a schema change, a refused grant
    admin = ("10.0.9.1", 102)
    add("admin", _t(23 + 45 / 60), I1, "admin", *admin, "CONNECT", db="")
    add("admin", _t(23 + 46 / 60), I1, "admin", *admin, "QUERY", obj=f"CREATE USER 'svc'@'%' IDENTIFIED BY '{SECRET}'")
    add("admin", _t(23 + 47 / 60), I1, "admin", *admin, "QUERY", obj="GRANT SELECT ON shop.* TO 'svc'@'%'")
    add("admin", _t(23 + 48 / 60), I1, "admin", *admin, "QUERY", obj="CREATE TABLE audit_copy (id int)")
    add("admin", _t(23 + 48 / 60, 1), I1, "admin", *admin, "CREATE", obj="audit_copy")
    add("admin", _t(23 + 49 / 60), I1, "admin", *admin, "QUERY", obj="GRANT ALL ON *.* TO 'x'", retcode=1227)
    add("admin", _t(23 + 49 / 60, 5), I1, "admin", *admin, "QUERY", obj="SELECT nothing FROM nowhere", retcode=1146)
    add("admin", _t(23 + 50 / 60), I1, "admin", *admin, "DISCONNECT", db="")
    # S3: a failed login (FAILED_CONNECT, then the plugin's DISCONNECT)
    add("failed-login", _t(23 + 41 / 60), I1, "mallory", "203.0.113.7", 103, "FAILED_CONNECT", db="", retcode=1045)
    add("failed-login", _t(23 + 41 / 60, 0.001), I1, "mallory", "203.0.113.7", 103, "DISCONNECT", db="")
    # S4: CHANGEUSER from app to report
    add("changeuser", _t(23 + 42 / 60), I1, "app", "10.0.1.6", 104, "CONNECT")
    add("changeuser", _t(23 + 42 / 60, 10), I1, "app", "10.0.1.6", 104, "QUERY", obj="SELECT 1")
    add("changeuser", _t(23 + 43 / 60), I1, "report", "10.0.1.6", 104, "CHANGEUSER", db="reports")
    add("changeuser", _t(23 + 43 / 60, 5), I1, "report", "10.0.1.6", 104, "QUERY", db="reports", obj="SELECT 2")
    add("changeuser", _t(23 + 44 / 60), I1, "report", "10.0.1.6", 104, "DISCONNECT", db="reports")
    # S5: no CONNECT (it predates the indices): statements, then a DISCONNECT
    for k in range(5):
        add("no-connect", _t(23 + 30 / 60, 120 * k), I1, "etl", "10.0.1.7", 105, "QUERY", obj=f"SELECT {k}")
    add("no-connect", _t(23 + 40 / 60), I1, "etl", "10.0.1.7", 105, "DISCONNECT")
    # S6: opened before the restart, its DISCONNECT never logged (the server went down)
    add("lost-disconnect", _t(24 + 30 / 60), I1, "etl", "10.0.1.8", 106, "CONNECT")
    add("lost-disconnect", _t(24 + 31 / 60), I1, "etl", "10.0.1.8", 106, "QUERY", obj="UPDATE t SET a = 1")
    add("lost-disconnect", _t(24 + 32 / 60), I1, "etl", "10.0.1.8", 106, "QUERY", obj="DELETE FROM t", retcode=1213)
    # restart of instance 1 at 00:40; ids 101, 102, 106 reused
    add("reuse-101", _t(24 + 41 / 60), I1, "app", "10.0.1.5", 101, "CONNECT")
    add("reuse-101", _t(24 + 42 / 60), I1, "app", "10.0.1.5", 101, "QUERY", obj="SELECT 101")
    add("reuse-101", _t(24 + 50 / 60), I1, "app", "10.0.1.5", 101, "DISCONNECT")
    add("reuse-102", _t(24 + 43 / 60), I1, "report", "10.0.1.9", 102, "CONNECT", db="reports")
    add("reuse-102", _t(24 + 44 / 60), I1, "report", "10.0.1.9", 102, "READ", db="reports", obj="sales", retcode=None)
    add("reuse-106", _t(24 + 45 / 60), I1, "etl", "10.0.1.8", 106, "CONNECT")
    add("reuse-106", _t(24 + 46 / 60), I1, "etl", "10.0.1.8", 106, "QUERY", obj="SELECT 106")
    add("reuse-106", _t(24 + 47 / 60), I1, "etl", "10.0.1.8", 106, "DISCONNECT")
    # S7: very long, on RDS (whole seconds): from 00:00:30 on the 9th for 26 hours, CONNECT and QUERY in one second
    rds = ("app", "10.0.2.2", 200)
    add("long", _t(0, 30), RDS, *rds, "CONNECT")
    step = 26 * 3600 / long_events
    for k in range(long_events):
        obj = f"SELECT * FROM customers WHERE id = {k}"
        add("long", _t(0, 30 + step * k), RDS, *rds, "QUERY", obj=obj, retcode=1146 if k % 97 == 5 else 0)
        if k % 50 == 1:
            add("long", _t(0, 31 + step * k), RDS, *rds, "READ", obj="customers", retcode=None)
    add("long", _t(0, 30 + step * (long_events - 1)), RDS, *rds, "DISCONNECT")
    # S8: instance 2 goes silent for two hours in the middle of a session
    i2 = ("app", "10.0.1.10", 300)
    add("stream-gap", _t(22), I2, *i2, "CONNECT")
    add("stream-gap", _t(22, 60), I2, *i2, "QUERY", obj="SELECT before")
    add("stream-gap", _t(24, 120), I2, *i2, "QUERY", obj="SELECT after")
    add("stream-gap", _t(24, 180), I2, *i2, "DISCONNECT")
    return sorted(w.recs, key=lambda r: r.order())


def by_session(recs: list[Rec]) -> dict[str, list[Rec]]:
    out: dict[str, list[Rec]] = {}
    for r in sorted(recs, key=lambda r: r.order()):
        out.setdefault(r.session, []).append(r)
    return out


def _account(r: Rec) -> bool:
    return r.op == "QUERY" and r.obj.lower().startswith(ACCOUNT_VERBS)


def _schema(r: Rec) -> bool:
    if r.op in ("CREATE", "ALTER", "DROP", "RENAME"):
        return True
    sql = r.obj.lower()
    return r.op == "QUERY" and sql.startswith(DDL_VERBS) and not sql.startswith(NOT_DDL)


def answer(rs: list[Rec], live: bool) -> dict[str, Any]:
    """The summary the session's records call for; `live`: context as the forwarder stores it (else a backfill of
    the raw dump, which knows the instance only)."""
    first, last = rs[0], rs[-1]
    users = Counter(r.user for r in rs if r.user)
    clients = Counter(r.client for r in rs if r.client)
    failed = [r for r in rs if r.op == "QUERY" and r.retcode not in (0, None)]
    tables = Counter(r.obj for r in rs if r.op in TABLE_EVENTS)
    cluster = CLUSTER if live and first.instance != RDS else None
    changes = [r for r in rs if _account(r)]
    return {
        "server": first.server,
        "connid": first.connid,
        "cluster": cluster,
        "instance": first.instance,
        "owner": "123456789012" if live else None,
        "user": first.user,
        "users": [first.user, *sorted(set(users) - {first.user})],
        "changed_user_to": [r.user for r in rs if r.op == "CHANGEUSER"],
        "client": first.client,
        "clients": [first.client, *sorted(set(clients) - {first.client})],
        "databases": sorted({r.db for r in rs if r.db}),
        "start": iso(first.stored_at),
        "end": iso(last.stored_at),
        "duration_seconds": (last.stored_at - first.stored_at).total_seconds(),
        "start_seen": first.op.lower() if first.op in OPENERS else "first event seen",
        "end_seen": "disconnect" if last.op == "DISCONNECT" else "last event seen",
        "closed": last.op == "DISCONNECT",
        "events": len(rs),
        "operations": dict(sorted(Counter(r.op for r in rs).items())),
        "failed_statements": len(failed),
        "failed_codes": dict(sorted(Counter(str(r.retcode) for r in failed).items())),
        "account_changes": [(iso(r.stored_at), r.obj) for r in changes],
        "schema_changes": [(iso(r.stored_at), r.op, r.obj) for r in rs if _schema(r)],
        "tables": [{"table": t, "events": n} for t, n in sorted(tables.items(), key=lambda kv: (-kv[1], kv[0]))],
        "login_failed": any(r.op == "FAILED_CONNECT" for r in rs),
        "privileged": bool(changes) or bool({"admin", "root"} & set(users)),  # privileged-remote's users
        "key": f"{first.server}/{first.connid}/{iso(first.stored_at)}",
    }


def _stream(r: Rec) -> tuple[str, str]:
    if r.instance == RDS:
        return RDS_GROUP, RDS
    return AURORA_GROUP, f"{r.instance}.audit.log.0.2026-03-09-00-00.0.2"


def events(recs: list[Rec]) -> list[dict[str, Any]]:
    """CloudWatch subscription events per log stream, 500 lines each, in time order."""
    streams: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for r in recs:
        streams.setdefault(_stream(r), []).append((r.line(), int(r.at.timestamp() * 1000)))
    out = []
    for (group, stream), lines in sorted(streams.items()):
        for i in range(0, len(lines), 500):
            out.append(encode_subscription_event(lines[i : i + 500], log_group=group, log_stream=stream, first_id=i))
    return out


def dump(recs: list[Rec], root: Path) -> Path:
    """The raw audit files as `rdsaudit backfill` reads a download of them: `RDS/<instance>/audit/<day>/…`."""
    files: dict[Path, list[str]] = {}
    for r in recs:
        path = root / "RDS" / r.instance / "audit" / f"{r.at:%Y-%m-%d}" / "server_audit.log.gz"
        files.setdefault(path, []).append(r.line())
    for path, lines in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return root / "RDS"
