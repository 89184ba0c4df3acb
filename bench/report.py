"""`rdsaudit report` on the benchmark workload: a quarter of at least a million events (the workload's lines spread
evenly over Q3 2026, plus account and schema statements every 1,000 lines so the tables have rows to page), indexed
through the forwarder once and kept, then the report timed in fresh processes for each format.

    python -m bench.report [--events 1000000] [--prefix benchreport] [--runs 3]

The load is skipped when the prefix already holds the events (delete `<prefix>-*` to reload).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime

from bench.backfill import timed
from bench.workload import GROUP, STREAM, machine
from handler.sources.cloudwatch import encode_subscription_event
from tests.events.generate import audit_line

URL = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200")
SINCE, UNTIL = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
EXTRA = [
    "GRANT SELECT ON shop.* TO 'svc_{n}'@'%'",
    "CREATE USER 'svc_{n}'@'%' IDENTIFIED BY 'secret-{n}'",
    "ALTER TABLE orders ADD COLUMN c{n} int",
    "CREATE TABLE tmp_{n} (id int)",
]


def _count(prefix: str) -> int:
    try:
        with urllib.request.urlopen(f"{URL}/{prefix}-*/_count", timeout=60) as r:
            return int(json.load(r)["count"])
    except OSError:
        return 0


def lines(count: int, seed: int = 2026) -> list[str]:
    """The workload's lines, their times spread over the quarter (audit_line adds n ms to its base time)."""
    rng = random.Random(seed)
    start_us = int(SINCE.timestamp() * 1_000_000)
    step_us = int((UNTIL - SINCE).total_seconds() * 1_000_000) // count
    out = []
    for n in range(count):
        base = start_us + n * (step_us - 1000)
        if n % 1000 == 500:
            sql = EXTRA[(n // 1000) % len(EXTRA)].format(n=n).replace("'", "\\'")
            out.append(f"{base + n * 1000},bench-aurora-instance-1,admin,10.0.1.17,{n},{n},QUERY,shop,'{sql}',0")
        else:
            out.append(audit_line(rng, n, base_us=base))
    return out


def load(count: int, prefix: str) -> float:
    from handler import app

    os.environ.update({"OPENSEARCH_URL": URL, "RDSAUDIT_INDEX_PREFIX": prefix})
    os.environ.setdefault("RDSAUDIT_DEAD_LETTER", tempfile.mkdtemp(prefix="rdsaudit-bench-dl-"))
    app.reset_runtime()
    all_lines = lines(count)
    started = time.perf_counter()
    for i in range(0, count, 1000):
        event = encode_subscription_event(all_lines[i : i + 1000], log_group=GROUP, log_stream=STREAM, first_id=i)
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = app.lambda_handler(event, None)
        if outcome["pending"] or outcome["dead_lettered"]:
            raise SystemExit(f"load failed: {outcome}")
    app.get_runtime().client.indices.refresh(index=f"{prefix}-*")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--prefix", default="benchreport")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    present = _count(args.prefix)
    if present < args.events:
        print(f"loading {args.events:,} events into {args.prefix}-* through lambda_handler …", flush=True)
        print(f"  loaded in {load(args.events, args.prefix):.0f} s")
    documents = _count(args.prefix)
    print(f"report on {documents:,} documents, Q3 2026, {URL} ({machine()})")
    out_dir = tempfile.mkdtemp(prefix="rdsaudit-bench-report-")
    for fmt in ("json", "html", "md"):
        out = os.path.join(out_dir, f"report.{fmt}")
        cmd = [sys.executable, "-m", "handler", "report", "--since", "2026-07-01", "--until", "2026-10-01"]
        cmd += ["--index-prefix", args.prefix, "--out", out, "--timezone", "Europe/Paris"]
        runs = [timed(cmd) for _ in range(args.runs)]
        seconds = statistics.median(s for s, _ in runs)
        rss = max(m for _, m in runs)
        size = os.path.getsize(out) / 1e6
        print(f"  {fmt:<4} median {seconds:6.2f} s of {args.runs} runs · peak RSS {rss:5.1f} MB · file {size:.2f} MB")
    with open(os.path.join(out_dir, "report.json"), encoding="utf-8") as f:
        data = json.load(f)["data"]
    c = data["coverage"]
    print(
        f"  paging: {c['paging']['method']}, {c['paging']['requests']} requests of up to {c['paging']['page_size']}; "
        f"{data['account_changes']['count']:,} account changes, {data['schema_changes']['count']:,} schema changes, "
        f"{data['failed_logins']['total']:,} failed logins, {len(data['failed_logins']['bursts']['list'])} bursts"
    )


if __name__ == "__main__":
    main()
