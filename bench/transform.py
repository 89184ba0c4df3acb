"""Transform throughput on one core: payload in, bulk request body out (decode, parse, document, id, serialize).

    python -m bench.transform [--events 30000]

Compared in the same run with (a) the workshop's regex approach building the same fields, serialized the same
way, and (b) a bare loop that only splits each line on commas and serializes the pieces (the floor).
Targets: >= 1.0x (a) while staying correct, >= 0.5x (b).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench.workload import events as make_events
from bench.workload import machine
from handler.sources.cloudwatch import decode_subscription_event
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context

_dumps = orjson.dumps  # the comparisons serialize exactly as rdsaudit does
WORKSHOP = re.compile(r"^([^,]+),([^,]+),([^,]+),([^,]+),(\d+),(\d+),(\w+),([^,]*),(.*),(\d+)$")


def ours(events: list[dict[str, Any]], tag: bool = True) -> tuple[int, int]:
    n = size = 0
    options = TransformOptions(tag=tag)
    for event in events:
        payload = decode_subscription_event(event)
        transformer = BatchTransformer(
            cloudwatch_context(payload.log_group, payload.log_stream, payload.owner), options
        )
        body = b"".join(a.body for a in transformer.actions(payload.events))
        n += len(payload.events)
        size += len(body)
    return n, size


def untagged(events: list[dict[str, Any]]) -> tuple[int, int]:
    """The same transform without the event rules' tagging (issue 23: its cost must stay within 5 %)."""
    return ours(events, tag=False)


def _decode(event: dict[str, Any]) -> Any:
    return orjson.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))


def workshop(events: list[dict[str, Any]]) -> tuple[int, int]:
    """The regex of the AWS workshop, plus the same fields and serialization (and no crash on a non-match)."""
    n = size = 0
    for event in events:
        data = _decode(event)
        group, stream, owner = data["logGroup"], data["logStream"], data["owner"]
        chunks = []
        for e in data["logEvents"]:
            m = WORKSHOP.match(e["message"])
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(e["timestamp"] // 1000)) + "Z"
            day = ts[:10].replace("-", ".")
            if m is None:
                doc: dict[str, Any] = {"@timestamp": ts, "message": e["message"], "tags": ["parse_failure"]}
            else:
                doc = {
                    "@timestamp": ts,
                    "server": m[2],
                    "user": m[3],
                    "client": m[4],
                    "connid": int(m[5]),
                    "queryid": int(m[6]),
                    "operation": m[7],
                    "db": m[8],
                    "sql": m[9],
                    "retcode": int(m[10]),
                }
            doc.update(log_group=group, log_stream=stream, owner=owner)
            chunks.append(
                b'{"create":{"_index":"rdsaudit-%s","_id":"%s"}}\n%s\n' % (day.encode(), e["id"].encode(), _dumps(doc))
            )
        body = b"".join(chunks)
        n += len(data["logEvents"])
        size += len(body)
    return n, size


def floor(events: list[dict[str, Any]]) -> tuple[int, int]:
    n = size = 0
    for event in events:
        data = _decode(event)
        body = b"".join(_dumps(e["message"].split(",")) + b"\n" for e in data["logEvents"])
        n += len(data["logEvents"])
        size += len(body)
    return n, size


def measure(fn: Callable[[list[dict[str, Any]]], tuple[int, int]], events: list[dict[str, Any]], rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        start = time.process_time()
        n, _ = fn(events)
        rates.append(n / (time.process_time() - start))
    return statistics.median(rates)


def workshop_correctness(events: list[dict[str, Any]]) -> dict[str, float]:
    """How often the regex gets a line wrong (no match, or SQL cut/left escaped) where our parser is exact."""
    from handler.transforms.audit_line import AuditRecord, parse_line

    total = wrong = 0
    for event in events:
        for e in _decode(event)["logEvents"]:
            total += 1
            rec = parse_line(e["message"])
            m = WORKSHOP.match(e["message"])
            if m is None or (isinstance(rec, AuditRecord) and m[9].strip("'") != rec.obj):
                wrong += 1
    return {"lines": total, "workshop_wrong": wrong, "workshop_wrong_pct": round(100 * wrong / total, 1)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=30_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    events = make_events(args.events)
    results = {}
    for _ in range(2):  # warm up every path once, then interleave the measured rounds
        ours(events[:2]), untagged(events[:2]), workshop(events[:2]), floor(events[:2])
    paths = (("rdsaudit", ours), ("untagged", untagged), ("workshop_regex", workshop), ("split_floor", floor))
    for name, fn in paths:
        results[name] = measure(fn, events, args.rounds)
    # tagging's cost in the same run, alternated so that a busy neighbour weighs on both sides alike
    tagged_rates, untagged_rates = [], []
    for _ in range(args.rounds):
        tagged_rates.append(measure(ours, events, 1))
        untagged_rates.append(measure(untagged, events, 1))
    out = {
        "machine": machine(),
        "events": args.events,
        "events_per_s": {k: round(v) for k, v in results.items()},
        "ratio_vs_workshop": round(results["rdsaudit"] / results["workshop_regex"], 2),
        "ratio_vs_floor": round(results["rdsaudit"] / results["split_floor"], 2),
        "detections_cost_pct": round(
            100 * (1 - statistics.median(tagged_rates) / statistics.median(untagged_rates)), 1
        ),
        "cpu_seconds_per_million_events": round(1e6 / results["rdsaudit"], 1),
        "correctness": workshop_correctness(events),
        "targets": {"vs_workshop": 1.0, "vs_floor": 0.5, "detections_cost_pct": 5.0},
    }
    out["met"] = out["ratio_vs_workshop"] >= 1.0 and out["ratio_vs_floor"] >= 0.5
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
