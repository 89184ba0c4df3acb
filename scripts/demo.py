"""`make demo`: push the bundled sample payloads through the Lambda entry into the local node and show the result."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("OPENSEARCH_URL", "http://127.0.0.1:9200")
os.environ.setdefault("RDSAUDIT_DEAD_LETTER", str(ROOT / "dead-letter"))

from handler import app  # noqa: E402
from handler.backfill.process import BackfillOptions  # noqa: E402
from handler.backfill.runner import run_backfill  # noqa: E402
from handler.cli import main as rdsaudit  # noqa: E402
from handler.setup import SetupOptions, run_setup  # noqa: E402
from tests.events import sample_events, sample_lines  # noqa: E402


class DemoContext:
    aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


def main() -> int:
    runtime = app.get_runtime()
    prefix = runtime.settings.index_prefix
    print("Setting up the cluster (rdsaudit setup)")
    changes, _ = run_setup(runtime.settings, SetupOptions(), runtime.client)
    print("  " + "\n  ".join(map(str, changes)) + "\n")
    print(f"Forwarding {len(sample_lines())} sample audit lines (Aurora, RDS MySQL, MariaDB) through lambda_handler")
    totals = {"indexed": 0, "already_present": 0, "flagged": 0, "dead_lettered": 0}
    for event in sample_events():
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's own JSON log line, one per invocation
            outcome = app.lambda_handler(event, DemoContext())
        for key in totals:
            totals[key] += outcome.get(key, 0)
    print("  " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in totals.items()))

    archive = ROOT / "tests" / "events" / "archive"
    print(f"\nBackfilling the bundled archive {archive.relative_to(ROOT)} (raw gzip dump + CloudWatch export)")
    # no checkpoint: a second `make demo` reads the archive again and finds every document already present
    summary = run_backfill([str(archive)], runtime, options=BackfillOptions(), checkpoint=None, out=io.StringIO())
    print("  " + "\n  ".join(summary.lines()))

    client = runtime.client
    client.indices.refresh(index=f"{prefix}-*")
    print(f"\nDocuments per daily index on {runtime.settings.opensearch_url}:")
    for row in sorted(
        client.cat.indices(index=f"{prefix}-*", format="json", h="index,docs.count"), key=lambda r: r["index"]
    ):
        print(f"  {row['index']:<28} {row['docs.count']:>6}")

    hits = client.search(
        index=f"{prefix}-*", body={"query": {"term": {"operation": "FAILED_CONNECT"}}, "sort": [{"@timestamp": "asc"}]}
    )
    print("\nFailed logins found:")
    for hit in hits["hits"]["hits"]:
        s = hit["_source"]
        print(f"  {s['@timestamp']}  user={s.get('user')}  client={s.get('client')}  retcode={s.get('retcode')}")

    query = {"query": {"match": {"sql": "customers"}}, "_source": ["@timestamp", "user", "sql"]}
    print("\nTry a query:")
    print(
        f"  curl -s '{runtime.settings.opensearch_url}/{prefix}-*/_search?pretty' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(query)}'"
    )
    print("  .venv/bin/rdsaudit parse tests/events/sample-audit.log   # what the forwarder indexes, line by line")
    return write_report(client, prefix)


def write_report(client: Any, prefix: str) -> int:
    """The auditors' report of everything the demo indexed, from its first day to the day after its last."""
    aggs = {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}
    span = client.search(index=f"{prefix}-*", body={"size": 0, "aggs": aggs})["aggregations"]
    since = span["first"]["value_as_string"][:10]
    until = (date.fromisoformat(span["last"]["value_as_string"][:10]) + timedelta(days=1)).isoformat()
    out = ROOT / "build" / "demo-report.html"
    out.parent.mkdir(exist_ok=True)
    args = ["report", "--since", since, "--until", until, "--out", str(out)]
    print(f"\nThe auditors' report of the demo data (rdsaudit {' '.join(args)}):")
    return rdsaudit(args)


if __name__ == "__main__":
    sys.exit(main())
