"""Backfill: records/s and MB/s with 1 and 2 workers next to the raw `_bulk` ceiling of the same node in the same
run, and peak RSS as the object grows.

    python -m bench.backfill [--records 200000] [--rss-sizes-mb 100,1000]

The ceiling sends the very NDJSON bodies the backfill would send (built beforehand) over a plain HTTP client.
Targets: >= 0.8x the ceiling with 2 workers; peak RSS flat in object size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.workload import ROOT, lines, machine

URL = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200")


def _request(method: str, path: str, body: bytes | None = None, ctype: str = "application/json") -> object:
    req = urllib.request.Request(URL + path, data=body, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def write_objects(folder: Path, records: list[str], parts: int) -> int:
    total = 0
    for i in range(parts):
        data = gzip.compress(("\n".join(records[i::parts]) + "\n").encode(), compresslevel=1)
        (folder / f"server_audit.log.{i}.gz").write_bytes(data)
        total += len(data)
    return total


def timed(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the largest process) of a fresh run of `cmd`, measured by GNU time."""
    started = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OPENSEARCH_URL": URL, "PYTHONPATH": str(ROOT)},
    )
    return time.perf_counter() - started, int(out.stderr.strip().splitlines()[-1]) / 1024


def run_backfill(folder: Path, workers: int, prefix: str) -> tuple[float, float]:
    """(seconds, peak RSS MB of the whole process tree's largest member)"""
    cmd = [
        sys.executable,
        "-m",
        "handler",
        "backfill",
        str(folder),
        "--workers",
        str(workers),
        "--index-prefix",
        prefix,
        "--checkpoint",
        str(folder.parent / f"cp-{prefix}.json"),
    ]
    return timed(cmd)


def ceiling(records: list[str], prefix: str) -> float:
    from handler.config import Settings
    from handler.model import Context, RawEvent
    from handler.runtime import build_runtime
    from handler.sinks.chunker import body_of, chunks
    from handler.transforms.batch import BatchTransformer, TransformOptions

    build_runtime(Settings.from_env({"OPENSEARCH_URL": URL, "RDSAUDIT_INDEX_PREFIX": prefix})).ensure_template()
    t = BatchTransformer(Context(), TransformOptions(index_prefix=prefix))
    bodies = [body_of(c) for c in chunks((t.action(RawEvent(r)) for r in records), 5 * 1024 * 1024, 10_000)]
    started = time.perf_counter()
    for body in bodies:
        _request("POST", "/_bulk", body, "application/x-ndjson")
    return time.perf_counter() - started


def cleanup(prefix: str) -> None:
    _request("DELETE", f"/{prefix}-*")
    _request("DELETE", f"/_index_template/{prefix}")


def rss_for_size(size_mb: int, tmp: Path) -> dict[str, float]:
    """Peak RSS of a dry-run backfill (read, parse, count) of one object of about `size_mb` uncompressed."""
    path = tmp / f"big-{size_mb}.log.gz"
    chunk = lines(20_000, seed=size_mb)
    text = ("\n".join(chunk) + "\n").encode()
    with gzip.open(path, "wb", compresslevel=1) as f:
        written = 0
        while written < size_mb * 1_000_000:
            f.write(text)
            written += len(text)
    seconds, rss = timed([sys.executable, "-m", "handler", "backfill", str(path), "--dry-run"])
    path.unlink()
    return {
        "uncompressed_mb": round(written / 1e6),
        "peak_rss_mb": round(rss, 1),
        "seconds": round(seconds, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--rss-sizes-mb", default="100,1000")
    args = p.parse_args()
    records = lines(args.records, seed=77)
    raw_mb = sum(len(r) + 1 for r in records) / 1e6
    out: dict[str, object] = {"machine": machine(), "records": args.records, "uncompressed_mb": round(raw_mb, 1)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "objects"
        folder.mkdir()
        out["compressed_mb"] = round(write_objects(folder, records, 8) / 1e6, 1)
        prefix = f"bfc{uuid.uuid4().hex[:6]}"
        ceiling_s = ceiling(records, prefix)
        cleanup(prefix)
        rates = {"raw_bulk_ceiling": args.records / ceiling_s}
        for workers in (1, 2):
            prefix = f"bf{workers}{uuid.uuid4().hex[:6]}"
            seconds, rss = run_backfill(folder, workers, prefix)
            cleanup(prefix)
            rates[f"backfill_{workers}_worker"] = args.records / seconds
            out[f"peak_rss_mb_{workers}_worker"] = round(rss, 1)
        out["records_per_s"] = {k: round(v) for k, v in rates.items()}
        out["mb_per_s"] = {k: round(v * raw_mb / args.records, 1) for k, v in rates.items()}
        out["ratio_2_workers_vs_ceiling"] = round(rates["backfill_2_worker"] / rates["raw_bulk_ceiling"], 2)
        out["rss_vs_object_size"] = [rss_for_size(int(s), tmp) for s in args.rss_sizes_mb.split(",")]
    out["targets"] = {"ratio_2_workers_vs_ceiling": 0.8, "rss": "flat in object size"}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
