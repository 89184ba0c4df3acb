"""Peak RSS of one forwarder invocation on a ~1 MB compressed payload of realistic audit lines.

    python -m bench.memory            # target: <= 128 MB including the interpreter

Each measurement runs in a fresh process (ru_maxrss is a high-water mark), against the local node.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def payload(target_compressed: int = 1_000_000, seed: int = 3) -> dict[str, object]:
    import random

    from handler.sources.cloudwatch import encode_subscription_event
    from tests.events.generate import audit_line

    rng = random.Random(seed)
    lines: list[str] = []
    step = 2000
    while True:
        lines.extend(audit_line(rng, len(lines) + i) for i in range(step))
        event = encode_subscription_event(lines, log_group="/aws/rds/cluster/bench/audit", log_stream="bench-1.audit")
        size = len(base64.b64decode(event["awslogs"]["data"]))  # type: ignore[index]
        if size >= target_compressed:
            return event


def hwm_kb() -> int:
    """This process's peak RSS. (ru_maxrss would do, but Linux carries it across execve from the parent.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(path: str, url: str) -> None:
    base = hwm_kb()
    event = json.loads(Path(path).read_text())
    os.environ.update(
        {
            "OPENSEARCH_URL": url,
            "RDSAUDIT_INDEX_PREFIX": f"mem{uuid.uuid4().hex[:8]}",
            "RDSAUDIT_DEAD_LETTER": "/tmp/rdsaudit-bench-dl",
        }
    )
    from handler.app import get_runtime, lambda_handler

    loaded = hwm_kb()
    outcome = lambda_handler(event, None)
    peak = hwm_kb()
    runtime = get_runtime()
    runtime.client.indices.delete(index=f"{runtime.settings.index_prefix}-*")
    runtime.client.indices.delete_index_template(name=runtime.settings.index_prefix)
    print(
        json.dumps(
            {
                "rss_start_mb": base / 1024,
                "rss_after_imports_mb": loaded / 1024,
                "peak_rss_mb": peak / 1024,
                "events": outcome["received"],
                "indexed": outcome["indexed"],
            }
        )
    )


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--child")
    p.add_argument("--url", default=os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200"))
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    if args.child:
        child(args.child, args.url)
        return 0
    event = payload()
    data = base64.b64decode(event["awslogs"]["data"])  # type: ignore[index]
    path = Path("/tmp/rdsaudit-bench-payload.json")
    path.write_text(json.dumps(event))
    results = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-m", "bench.memory", "--child", str(path), "--url", args.url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    peak = max(r["peak_rss_mb"] for r in results)
    print(
        json.dumps(
            {
                "compressed_bytes": len(data),
                "events": results[0]["events"],
                "runs": results,
                "max_peak_rss_mb": round(peak, 1),
                "target_mb": 128,
                "met": peak <= 128,
            },
            indent=1,
        )
    )
    return 0 if peak <= 128 else 1


if __name__ == "__main__":
    sys.exit(main())
