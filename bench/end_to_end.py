"""End to end: events/s through lambda_handler into the local node, next to sending the same prebuilt NDJSON bulk
bodies straight to `_bulk` on the same node, in the same run (alternating, fresh indices each round).

    python -m bench.end_to_end [--events 60000]
    python -m bench.end_to_end --baseline ../costgaps-old [--events 30000 --rounds 6]

Target: >= 0.9x the raw `_bulk` rate. `--baseline TREE` instead compares this tree's forwarder with another
checkout's (issue 24: throughput may not drop by more than 5 %): each round runs both in fresh child processes, in
alternating order, on the same workload, and reports each one's events/s and its CPU per event. The node is
shared with whatever else runs on the machine: compare within a round (`paired_ratios`, the two runs back to
back) and use enough rounds to see the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

from bench.workload import events as make_events
from bench.workload import machine
from handler import app
from handler.sinks.chunker import body_of, chunks
from handler.sources.cloudwatch import decode_subscription_event
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context

URL = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200")


def _request(method: str, path: str, body: bytes | None = None, ctype: str = "application/json") -> Any:
    req = urllib.request.Request(URL + path, data=body, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def through_handler(events: list[dict[str, Any]], prefix: str) -> float:
    os.environ.update(
        {"OPENSEARCH_URL": URL, "RDSAUDIT_INDEX_PREFIX": prefix, "RDSAUDIT_DEAD_LETTER": "/tmp/rdsaudit-bench-dl"}
    )
    app.reset_runtime()
    app.lambda_handler(events[0], None)  # cold start and template outside the timing, as in a warm container
    n = 0
    start = time.perf_counter()
    for event in events[1:]:
        n += app.lambda_handler(event, None)["indexed"]
    return n / (time.perf_counter() - start)


def raw_bulk(events: list[dict[str, Any]], prefix: str) -> float:
    """The ceiling: the very bodies the forwarder would send, built beforehand, POSTed with a plain HTTP client."""
    from handler.config import Settings
    from handler.runtime import build_runtime

    build_runtime(Settings.from_env({"OPENSEARCH_URL": URL, "RDSAUDIT_INDEX_PREFIX": prefix})).ensure_template()
    options = TransformOptions(index_prefix=prefix)
    bodies = []
    for event in events[1:]:
        payload = decode_subscription_event(event)
        t = BatchTransformer(cloudwatch_context(payload.log_group, payload.log_stream, payload.owner), options)
        bodies += [body_of(c) for c in chunks(t.actions(payload.events), 5 * 1024 * 1024, 10_000)]
    n = 0
    start = time.perf_counter()
    for body in bodies:
        resp = _request("POST", "/_bulk", body, "application/x-ndjson")
        n += sum(1 for item in resp["items"] if item["create"]["status"] == 201)
    return n / (time.perf_counter() - start)


# Run in the tree under test with only names both trees have (`lambda_handler`, `reset_runtime`, the workload), so
# an older checkout is measured by its own code; CPU is the process's (forwarder and HTTP client), not the node's.
_CHILD = """
import json, os, sys, time
from bench.workload import events as make_events
from handler import app
events = make_events(int(sys.argv[1]))
os.environ.update({"OPENSEARCH_URL": sys.argv[3], "RDSAUDIT_INDEX_PREFIX": sys.argv[2],
                   "RDSAUDIT_DEAD_LETTER": "/tmp/rdsaudit-bench-dl"})
app.reset_runtime()
app.lambda_handler(events[0], None)
n = 0
cpu, wall = time.process_time(), time.perf_counter()
for event in events[1:]:
    n += app.lambda_handler(event, None)["indexed"]
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"indexed": n, "events_per_s": n / wall, "cpu_us_per_event": cpu / n * 1e6}))
"""


def in_tree(tree: str, count: int, prefix: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(count), prefix, URL], cwd=tree, check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.splitlines()[-1])
    if result["indexed"] != count - 1000:  # every event but the first payload's (the warm-up) must be indexed
        raise SystemExit(f"{tree}: indexed {result['indexed']} of {count - 1000}")
    return result


def compare(baselines: list[str], count: int, rounds: int) -> dict[str, Any]:
    trees = {"this tree": os.getcwd(), **{os.path.abspath(b): os.path.abspath(b) for b in baselines}}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for i in range(rounds):
        order = list(trees)
        for name in order[i % len(order) :] + order[: i % len(order)]:  # each tree goes first in turn
            prefix = f"e2e{uuid.uuid4().hex[:8]}"
            try:
                runs[name].append(in_tree(trees[name], count, prefix))
            finally:
                _request("DELETE", f"/{prefix}-*")
                _request("DELETE", f"/_index_template/{prefix}")

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    def paired(name: str) -> list[float]:
        return [a["events_per_s"] / b["events_per_s"] for a, b in zip(runs["this tree"], runs[name], strict=True)]

    return {
        "machine": machine(),
        "events": count,
        "rounds": rounds,
        "events_per_s": {n: round(med(n, "events_per_s")) for n in trees},
        "cpu_us_per_event": {n: round(med(n, "cpu_us_per_event"), 1) for n in trees},
        "all_rounds": {n: [round(r["events_per_s"]) for r in runs[n]] for n in trees},
        "this_tree_over": {
            b: {
                "paired_ratios": [round(x, 3) for x in paired(b)],
                "paired_ratio_median": round(statistics.median(paired(b)), 3),
                "cpu_ratio": round(med("this tree", "cpu_us_per_event") / med(b, "cpu_us_per_event"), 3),
            }
            for b in list(trees)[1:]
        },
        "target": "throughput drop <= 5 % (paired ratio >= 0.95)",
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=60_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline", metavar="TREE", action="append", help="compare with another checkout's forwarder")
    args = p.parse_args()
    if args.baseline:
        print(json.dumps(compare(args.baseline, args.events, args.rounds), indent=1))
        return 0
    events = make_events(args.events)
    rates: dict[str, list[float]] = {"lambda_handler": [], "raw_bulk": []}
    for i in range(args.rounds):
        # Each round is a pair run back to back, in alternating order: the node is shared, and its load drifts.
        pair = (("raw_bulk", raw_bulk), ("lambda_handler", through_handler))
        for name, fn in pair if i % 2 == 0 else pair[::-1]:
            prefix = f"e2e{uuid.uuid4().hex[:8]}"
            rates[name].append(fn(events, prefix))
            _request("DELETE", f"/{prefix}-*")
            _request("DELETE", f"/_index_template/{prefix}")
    med = {k: statistics.median(v) for k, v in rates.items()}
    paired = [h / r for h, r in zip(rates["lambda_handler"], rates["raw_bulk"], strict=True)]
    out = {
        "machine": machine(),
        "events": args.events,
        "rounds": args.rounds,
        "events_per_s": {k: round(v) for k, v in med.items()},
        "all_rounds": {k: [round(x) for x in v] for k, v in rates.items()},
        "ratio": round(med["lambda_handler"] / med["raw_bulk"], 2),
        "paired_ratios": [round(x, 2) for x in paired],
        "paired_ratio_median": round(statistics.median(paired), 2),
        "target": 0.9,
    }
    out["met"] = out["ratio"] >= 0.9
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
