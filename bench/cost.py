"""The cost of a million events, end to end (issue 24), from figures measured in this run and named list prices.

    python -m bench.cost [--events 20000] [--bytes benchmark=570,realistic=226]

Measured here, per corpus (the benchmark corpus of bench.workload and the realistic one of bench.sql_corpus):
- CloudWatch Logs' billed bytes per event: the line's UTF-8 bytes plus 26 bytes per event, as PutLogEvents counts
  an event (CloudWatch Logs API Reference, PutLogEvents; the IncomingBytes metric counts uncompressed bytes);
- the forwarder's CPU per event: `lambda_handler` on 1,000-line subscription payloads into the local node, the
  process's user + system time (decoding, transform, bulk request and response), and its wall time;
- the path without CloudWatch Logs: the exporter's gzip (level 6, as handler/export/run.py writes) CPU and bytes
  per event, and `rdsaudit backfill` of that gzip file into the local node, CPU per event.
`--bytes`: OpenSearch bytes on disk per event of each corpus, from `python -m bench.storage` (template version 2,
force-merged, no replica); the storage line doubles it for one replica.

Lambda CPU is proportional to memory (1,769 MB = one vCPU, "Configuring Lambda function memory", AWS Lambda
Developer Guide), so below one vCPU the CPU part costs the same GB-s at any size: CPU s x 1769/1024. The time spent
waiting for the node costs memory x time; here it is wall - CPU against a local node on the same two cores, which
says nothing of a real domain: it is shown as an assumption.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import sys
import tempfile
import time
import urllib.error
import uuid
import zlib
from pathlib import Path
from typing import Any

from bench.end_to_end import URL, _request
from bench.sql_corpus import realistic_lines
from bench.workload import GROUP, STREAM, machine
from bench.workload import lines as benchmark_lines

ONE_VCPU_MB = 1769
# us-east-1 list prices ASSUMED as of 2026-12-07 from the AWS pricing pages named; check them before relying on them.
PRICES: dict[str, tuple[float, str]] = {
    "cloudwatch_ingest_gb": (0.50, "https://aws.amazon.com/cloudwatch/pricing/ (Logs, Standard class, ingestion)"),
    "cloudwatch_store_gb_month": (0.03, "https://aws.amazon.com/cloudwatch/pricing/ (Logs, archival storage)"),
    "lambda_gb_s_arm64": (0.0000133334, "https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-s)"),
    "lambda_request": (0.20 / 1e6, "https://aws.amazon.com/lambda/pricing/ ($0.20 per million requests)"),
    "opensearch_gp3_gb_month": (0.122, "https://aws.amazon.com/opensearch-service/pricing/ (EBS gp3 storage)"),
    "s3_standard_gb_month": (0.023, "https://aws.amazon.com/s3/pricing/ (S3 Standard, first 50 TB)"),
}
MEMORY = {"forwarder": 256, "backfill": 1024}  # MB: cdk ForwarderMemory's default, cdk/rdsaudit_cdk/backfill.py
EVENTS_PER_INVOCATION = 1000  # a subscription payload of the workload; backfill segments are larger
CORPORA = {"benchmark": benchmark_lines, "realistic": realistic_lines}


def cpu_of(fn: Any) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def forwarder(lines: list[str], prefix: str) -> dict[str, float]:
    from handler import app
    from handler.sources.cloudwatch import encode_subscription_event

    events = [
        encode_subscription_event(lines[i : i + 1000], log_group=GROUP, log_stream=STREAM, first_id=i)
        for i in range(0, len(lines), 1000)
    ]
    os.environ.update({"OPENSEARCH_URL": URL, "RDSAUDIT_INDEX_PREFIX": prefix})
    app.reset_runtime()
    app.lambda_handler(events[0], None)  # cold start and template outside the figures
    indexed = 0

    def run() -> None:
        nonlocal indexed
        for event in events[1:]:
            indexed += app.lambda_handler(event, None)["indexed"]

    cpu, wall = cpu_of(run)
    return {"cpu_us": cpu / indexed * 1e6, "wall_us": wall / indexed * 1e6, "indexed": indexed}


def exporter_and_backfill(lines: list[str], prefix: str, work: Path) -> dict[str, float]:
    from handler.cli import main

    raw = "".join(line + "\n" for line in lines).encode("utf-8")
    out = bytearray()

    def compress() -> None:
        z = zlib.compressobj(6, zlib.DEFLATED, 31)
        for i in range(0, len(raw), 1 << 20):
            out.extend(z.compress(raw[i : i + (1 << 20)]))
        out.extend(z.flush())

    gzip_cpu, _ = cpu_of(compress)
    path = work / f"{prefix}.log.gz"
    path.write_bytes(bytes(out))
    assert gzip.decompress(path.read_bytes()) == raw
    code = 0

    def backfill() -> None:
        nonlocal code
        code = main(["backfill", str(path), "--index-prefix", prefix, "--log-group", GROUP])

    backfill_cpu, backfill_wall = cpu_of(backfill)
    if code != 0:
        raise SystemExit(f"backfill exited {code}")
    return {
        "gzip_cpu_us": gzip_cpu / len(lines) * 1e6,
        "gzip_bytes": len(out) / len(lines),
        "backfill_cpu_us": backfill_cpu / len(lines) * 1e6,
        "backfill_wall_us": backfill_wall / len(lines) * 1e6,
    }


def dollars(m: dict[str, float], stored: float) -> dict[str, Any]:
    """$ per million events for each part of both paths; storage per month kept."""
    p = {k: v for k, (v, _) in PRICES.items()}
    gb = 1e6 / 1e9  # bytes per event x a million events, in GB (decimal, as AWS bills)

    def lambda_gb_s(cpu_us: float, wall_us: float, memory: int) -> float:
        cpu_s = cpu_us  # per million events: µs per event x 1e6 / 1e6
        wait_s = max(wall_us - cpu_us, 0.0)
        return cpu_s * ONE_VCPU_MB / 1024 + wait_s * memory / 1024

    fwd_gb_s = lambda_gb_s(m["cpu_us"], m["wall_us"], MEMORY["forwarder"])
    fwd_cpu_gb_s = m["cpu_us"] * ONE_VCPU_MB / 1024
    back_gb_s = lambda_gb_s(m["backfill_cpu_us"], m["backfill_wall_us"], MEMORY["backfill"])
    exp_gb_s = m["gzip_cpu_us"] * ONE_VCPU_MB / 1024
    opensearch = stored * 2 * gb * p["opensearch_gp3_gb_month"]
    return {
        "cloudwatch_billed_bytes": round(m["cw_bytes"]),
        "cloudwatch_ingest": m["cw_bytes"] * gb * p["cloudwatch_ingest_gb"],
        "forwarder_gb_s_cpu_only": round(fwd_cpu_gb_s, 1),
        "forwarder_gb_s_with_local_wait": round(fwd_gb_s, 1),
        "forwarder": fwd_gb_s * p["lambda_gb_s_arm64"] + 1e6 / EVENTS_PER_INVOCATION * p["lambda_request"],
        "opensearch_bytes_with_replica": round(stored * 2),
        "opensearch_per_month": opensearch,
        "exporter_gb_s_gzip_only": round(exp_gb_s, 1),
        "exporter_gzip": exp_gb_s * p["lambda_gb_s_arm64"],
        "s3_gzip_bytes": round(m["gzip_bytes"]),
        "s3_per_month": m["gzip_bytes"] * gb * p["s3_standard_gb_month"],
        "backfill_gb_s_with_local_wait": round(back_gb_s, 1),
        "backfill": back_gb_s * p["lambda_gb_s_arm64"],
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--bytes", default="benchmark=570,realistic=226", help="bench.storage's bytes/event, version 2")
    args = p.parse_args()
    stored = {k: float(v) for k, v in (kv.split("=") for kv in args.bytes.split(","))}
    out: dict[str, Any] = {"machine": machine(), "events": args.events, "memory_mb": MEMORY, "corpora": {}}
    with tempfile.TemporaryDirectory(prefix="rdsaudit-cost-") as tmp:
        os.environ["RDSAUDIT_DEAD_LETTER"] = str(Path(tmp) / "dead-letter")
        for name, make in CORPORA.items():
            lines = make(args.events)
            measured = {"cw_bytes": sum(len(line.encode("utf-8")) + 26 for line in lines) / len(lines)}
            for step in ("forwarder", "backfill"):
                prefix = f"benchcost{uuid.uuid4().hex[:8]}"
                try:
                    if step == "forwarder":
                        measured |= forwarder(lines, prefix)
                    else:
                        measured |= exporter_and_backfill(lines, prefix, Path(tmp))
                finally:
                    _request("DELETE", f"/{prefix}-*")
                    with contextlib.suppress(urllib.error.HTTPError):  # the backfill may install none of that name
                        _request("DELETE", f"/_index_template/{prefix}")
            costs = dollars(measured, stored[name])
            out["corpora"][name] = {
                "measured": {k: round(v, 1) for k, v in measured.items()},
                "usd_per_million_events": {k: round(v, 4) if isinstance(v, float) else v for k, v in costs.items()},
            }
    out["prices_assumed"] = {k: {"usd": v, "source": s} for k, (v, s) in PRICES.items()}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
