"""Reproducible synthetic audit lines and the object formats the backfill reads (tests and benchmarks)."""

from __future__ import annotations

import gzip
import json
import random
from typing import Any

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_WORDS = ["id", "name", "orders", "customer", "total", "Zoë", "日本", "naïve", "price", "a,b", '"quoted"', "it's"]
_TABLES = ["orders", "customers", "invoices", "line_items", "audit_trail"]


def plugin_escape(sql: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in sql)


def random_sql(rng: random.Random, min_len: int = 20, max_len: int = 2000) -> str:
    target = rng.randint(min_len, max_len)
    parts = [rng.choice(["SELECT", "UPDATE", "INSERT INTO", "DELETE FROM"])]
    while sum(len(p) + 1 for p in parts) < target:
        r = rng.random()
        if r < 0.15:
            parts.append(f"'{rng.choice(_WORDS)}'")
        elif r < 0.2:
            parts.append("\n  AND")
        elif r < 0.25:
            parts.append("C:\\tmp\\x")
        else:
            parts.append(rng.choice(_WORDS) + rng.choice([",", "", " =", "\t"]))
    return " ".join(parts)[:target]


def audit_line(rng: random.Random, n: int, base_us: int = 1_700_000_000_000_000) -> str:
    """One line; about 70 % Aurora, ~10 % connection events, ~10 % TABLE events, a few failed logins."""
    ts_us = base_us + n * 1000 + rng.randint(0, 999)
    dialect = rng.choices(["aurora", "rds", "mariadb"], weights=[70, 20, 10])[0]
    user = rng.choice(["app", "admin", "report", "etl"])
    client = rng.choice(["10.0.1.17", "10.0.2.33", "ec2-107-21-196-50.compute-1.amazonaws.com", "localhost"])
    connid = 1000 + n % 500
    r = rng.random()
    if r < 0.1:
        op, obj, retcode = rng.choice(["CONNECT", "DISCONNECT"]), "", "0"
        queryid = 0
    elif r < 0.12:
        op, obj, retcode, queryid = "FAILED_CONNECT", "", "1045", 0
    elif r < 0.22:
        op, obj, retcode, queryid = rng.choice(["READ", "WRITE"]), rng.choice(_TABLES), "", 47141561040897 + n
    else:
        op, queryid = "QUERY", 47141561040897 + n
        obj = "'" + plugin_escape(random_sql(rng)) + "'"
        retcode = rng.choice(["0"] * 20 + ["1064", "1146"])
    if dialect == "aurora":
        ts = str(ts_us)
        server = "prod-aurora-instance-1"
        tail = retcode
    else:
        import time

        ts = time.strftime("%Y%m%d %H:%M:%S", time.gmtime(ts_us // 1_000_000))
        server = "ip-10-1-0-50"
        if dialect == "rds":
            tail = f"{retcode},{rng.choice(['TCP/IP', 'SSL', 'SOCKET'])}" if op.endswith("CONNECT") else f"{retcode},,"
        else:
            tail = retcode
    return f"{ts},{server},{user},{client},{connid},{queryid},{op},shop,{obj},{tail}"


def audit_lines(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [audit_line(rng, n) for n in range(count)]


def gzip_members(*chunks: bytes) -> bytes:
    """Back-to-back gzip members, as appended downloads or Firehose write them."""
    return b"".join(gzip.compress(c) for c in chunks)


def export_object(events: list[tuple[int, str]]) -> bytes:
    """A CloudWatch export-task object: `<ISO time> <message>` lines, continuation lines for embedded newlines."""
    import time

    out = []
    for ms, message in events:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
        out.append(f"{stamp} {message}")
    return gzip.compress(("\n".join(out) + "\n").encode())


def subscription_payload(
    lines: list[str], log_group: str, log_stream: str, ms: int = 1_700_000_000_000
) -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["to-firehose"],
        "logEvents": [{"id": str(10**55 + i), "timestamp": ms, "message": line} for i, line in enumerate(lines)],
    }


def control_payload() -> dict[str, Any]:
    return {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE"}],
    }


def firehose_object(payloads: list[dict[str, Any]]) -> bytes:
    """Firehose to S3: each record is a gzipped subscription payload, written back to back."""
    return gzip_members(*(json.dumps(p).encode() for p in payloads))
