"""Organisation-wide collection: events/s through `kinesis_handler` from Kinesis-shaped batches into the local node,
next to the same lines through `lambda_handler` (the same payloads, delivered straight from CloudWatch Logs), in
the same run (alternating, fresh indices each round); and what that means for shards and Lambda concurrency.

    python -m bench.kinesis [--events 60000] [--per-record 100] [--batch 100] [--rounds 3]

A CloudWatch Logs destination puts one subscription payload per record; the event source mapping hands the
function up to `--batch` records per invocation (the central stack's BatchSize, 100). One invocation runs per
shard at a time (parallelization factor 1), so the concurrency a rate needs is the rate over what one invocation
sustains. Lambda gives a function CPU in proportion to its memory (1,769 MB = one vCPU, "Configuring Lambda
function memory", AWS Lambda Developer Guide): the estimate scales this machine's one-core rate by that share.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import math
import statistics
import sys
import time
import uuid
from typing import Any

from bench.end_to_end import URL, _request
from bench.workload import GROUP, STREAM, lines, machine
from handler import app
from handler.sources.cloudwatch import encode_payload

SHARD_WRITE_BYTES = 1024 * 1024  # per shard and second ("Quotas and limits", Kinesis Data Streams Developer Guide)
SHARD_WRITE_RECORDS = 1000
ARN = "arn:aws:kinesis:us-east-1:999999999999:stream/rdsaudit-collect-eu-west-1"


def payloads(count: int, per_record: int) -> list[bytes]:
    all_lines = lines(count)
    return [
        encode_payload(
            all_lines[i : i + per_record], log_group=GROUP, log_stream=STREAM, owner="111111111111", first_id=i
        )
        for i in range(0, count, per_record)
    ]


def kinesis_events(records: list[bytes], batch: int) -> list[dict[str, Any]]:
    return [
        {
            "Records": [
                {
                    "kinesis": {"sequenceNumber": f"4959{i + n:030d}", "data": base64.b64encode(r).decode("ascii")},
                    "eventSource": "aws:kinesis",
                    "eventSourceARN": ARN,
                }
                for n, r in enumerate(records[i : i + batch])
            ]
        }
        for i in range(0, len(records), batch)
    ]


def _setup(prefix: str) -> None:
    import os

    os.environ.update(
        {"OPENSEARCH_URL": URL, "RDSAUDIT_INDEX_PREFIX": prefix, "RDSAUDIT_DEAD_LETTER": "/tmp/rdsaudit-bench-dl"}
    )
    app.reset_runtime()


def through_kinesis(records: list[bytes], batch: int, prefix: str) -> tuple[float, float, float]:
    """(events/s, seconds per invocation, CPU seconds of this process per event)."""
    _setup(prefix)
    events = kinesis_events(records, batch)
    app.kinesis_handler(kinesis_events(records[:1], 1)[0], None)  # cold start and template outside the timing
    start, cpu = time.perf_counter(), time.process_time()
    for event in events:
        # the handler answers with the records to deliver again; the documents are counted by the node below
        assert app.kinesis_handler(event, None) == {"batchItemFailures": []}
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    _request("POST", f"/{prefix}-*/_refresh")
    n = _request("GET", f"/{prefix}-*/_count")["count"]
    return n / elapsed, elapsed / len(events), cpu / n


def through_cloudwatch(records: list[bytes], prefix: str) -> float:
    _setup(prefix)
    events = [{"awslogs": {"data": base64.b64encode(r).decode("ascii")}} for r in records]
    app.lambda_handler(events[0], None)
    n, start = 0, time.perf_counter()
    for event in events[1:]:
        n += app.lambda_handler(event, None)["indexed"]
    return n / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=60_000)
    p.add_argument("--per-record", type=int, default=100, help="audit events per subscription payload (record)")
    p.add_argument("--batch", type=int, default=100, help="records per invocation (the mapping's BatchSize)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--memory", type=int, default=256, help="the collector's memory, MB (ForwarderMemory)")
    args = p.parse_args()
    records = payloads(args.events, args.per_record)
    rates: dict[str, list[float]] = {"kinesis_handler": [], "lambda_handler": []}
    per_invocation: list[float] = []
    cpu_per_event: list[float] = []
    for i in range(args.rounds):
        pair = ("kinesis_handler", "lambda_handler")
        for name in pair if i % 2 == 0 else pair[::-1]:
            prefix = f"kin{uuid.uuid4().hex[:8]}"
            if name == "kinesis_handler":
                rate, seconds, cpu = through_kinesis(records, args.batch, prefix)
                per_invocation.append(seconds)
                cpu_per_event.append(cpu)
            else:
                rate = through_cloudwatch(records, prefix)
            rates[name].append(rate)
            _request("DELETE", f"/{prefix}-*")
            _request("DELETE", f"/_index_template/{prefix}")
    med = {k: statistics.median(v) for k, v in rates.items()}
    compressed = sum(len(r) for r in records) / args.events
    raw = sum(len(gzip.decompress(r)) for r in records) / args.events
    share = min(1.0, args.memory / 1769)
    lambda_rate = med["kinesis_handler"] * share
    # The CPU alone, at the function's share of a vCPU: what one invocation sustains against a domain that answers
    # at once (a lower bound on concurrency); the wall-time figure above also scales this machine's waiting for its
    # own contended node by the share, an upper bound.
    cpu_s = statistics.median(cpu_per_event)
    cpu_rate = share / cpu_s
    out = {
        "machine": machine(),
        "events": args.events,
        "events_per_record": args.per_record,
        "records_per_invocation": args.batch,
        "rounds": args.rounds,
        "events_per_s": {k: round(v) for k, v in med.items()},
        "all_rounds": {k: [round(x) for x in v] for k, v in rates.items()},
        "ratio_kinesis_to_cloudwatch": round(med["kinesis_handler"] / med["lambda_handler"], 2),
        "seconds_per_invocation": round(statistics.median(per_invocation), 3),
        "bytes_per_event": {"compressed": round(compressed), "json": round(raw)},
        "one_shard_events_per_s": {
            "by_bytes": round(SHARD_WRITE_BYTES / compressed),
            "by_records": SHARD_WRITE_RECORDS * args.per_record,
        },
        "lambda_estimate": {
            "memory_mb": args.memory,
            "vcpu_share": round(share, 3),
            "events_per_s_per_invocation": round(lambda_rate),
            "concurrency_for": {str(rate): math.ceil(rate / lambda_rate) for rate in (1_000, 5_000, 20_000, 100_000)},
            "cpu_us_per_event": round(cpu_s * 1e6, 1),
            "events_per_s_per_invocation_cpu_only": round(cpu_rate),
            "concurrency_for_cpu_only": {str(r): math.ceil(r / cpu_rate) for r in (1_000, 5_000, 20_000, 100_000)},
        },
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
