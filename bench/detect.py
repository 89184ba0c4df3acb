"""The detect job's time over a day of events on the local node (scripts/opensearch.sh up).

    python -m bench.detect [--events 1000000]

Indexes `--events` lines spread over one UTC day (the benchmark workload, re-timed; tagged at ingest as the
forwarder tags) under a prefix of its own, then times `handler.detect.job.run` for one scheduled window at the day's
end (the last 15 minutes plus each rule's look-back) and for the whole day, and deletes the prefix."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.workload import lines as make_lines
from bench.workload import machine

DAY = datetime(2026, 11, 10, tzinfo=UTC)


def _retimed(count: int) -> list[str]:
    """Every line moved into the day, evenly: both timestamp forms of the workload (Aurora's epoch microseconds and
    MariaDB/MySQL 5.7's `YYYYMMDD HH:MM:SS`), so that the whole count lands in the day the job reads."""
    step = 86_400_000_000 // count
    out = []
    start = int(DAY.timestamp()) * 1_000_000
    for i, line in enumerate(make_lines(count)):
        head, sep, rest = line.partition(",")
        at = start + i * step
        if head.isdigit():
            out.append(f"{at}{sep}{rest}")
        elif len(head) == 17 and head[8] == " " and head[:8].isdigit():
            out.append(datetime.fromtimestamp(at / 1e6, UTC).strftime("%Y%m%d %H:%M:%S") + sep + rest)
        else:
            out.append(line)
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=1_000_000)
    args = p.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("OPENSEARCH_URL", "http://127.0.0.1:9200")
    os.environ["RDSAUDIT_INDEX_PREFIX"] = prefix
    from handler.config import Settings
    from handler.detect import job
    from handler.runtime import build_runtime
    from handler.sources.cloudwatch import decode_subscription_event, encode_subscription_event
    from handler.transforms.batch import BatchTransformer
    from handler.transforms.context import cloudwatch_context

    runtime = build_runtime(Settings.from_env())
    try:
        runtime.ensure_template()  # the audit template, as the forwarder installs it
        start = time.monotonic()
        lines = _retimed(args.events)
        for i in range(0, len(lines), 5000):
            payload = decode_subscription_event(
                encode_subscription_event(
                    lines[i : i + 5000],
                    log_group="/aws/rds/cluster/bench/audit",
                    log_stream="bench-1.audit.log.0.2026-11-10-00-00.0.2",
                    first_id=i,
                )
            )
            ctx = cloudwatch_context(payload.log_group, payload.log_stream, payload.owner)
            actions = BatchTransformer(ctx, runtime.options).actions(payload.events)
            runtime.client.transport.perform_request(
                "POST", "/_bulk", body=b"".join(a.body for a in actions), params={"request_timeout": 120}
            )
        runtime.client.indices.refresh(index=f"{prefix}-*")
        indexed = time.monotonic() - start
        end = DAY + timedelta(days=1)
        t0 = time.monotonic()
        window = job.run(runtime, now=end)
        t1 = time.monotonic()
        # said at once: the whole-day run that follows can take far longer on a large count
        print(
            f"indexed {args.events} in {indexed:.1f} s; one window: {t1 - t0:.2f} s, {window.requests} requests",
            file=sys.stderr,
            flush=True,
        )
        day = job.run(runtime, DAY, end, now=end)
        t2 = time.monotonic()
        print(
            json.dumps(
                {
                    "machine": machine(),
                    "events": args.events,
                    "indexing_s": round(indexed, 1),
                    "one_window_s": round(t1 - t0, 2),
                    "one_window_period": window.period.as_dict(),
                    "one_window_requests": window.requests,
                    "whole_day_s": round(t2 - t1, 2),
                    "whole_day_requests": day.requests,
                    "whole_day_findings": len(day.findings),
                },
                indent=1,
            )
        )
    finally:
        runtime.client.indices.delete(index=f"{prefix}-*", allow_no_indices=True, ignore_unavailable=True)
        runtime.client.indices.delete_index_template(name=f"{prefix}-findings", ignore=[404])
    return 0


if __name__ == "__main__":
    sys.exit(main())
