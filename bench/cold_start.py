"""Cold start: importing the Lambda entry and building the client, next to `import boto3` alone.

    python -m bench.cold_start [--runs 9]

Each sample is a fresh interpreter started like Lambda's: no site-packages, the code and requirements.txt
installed into one folder on PYTHONPATH (built once into /tmp, like the deployment asset). Median of the runs.
Target: the entry and its client cost less than `import boto3`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ENTRY = """
import os, time
t = time.perf_counter()
import handler.app
handler.app.get_runtime()
print((time.perf_counter() - t) * 1000)
"""
BOTO3 = """
import time
t = time.perf_counter()
import boto3
print((time.perf_counter() - t) * 1000)
"""


def asset() -> Path:
    reqs = (ROOT / "requirements.txt").read_bytes()
    target = Path(f"/tmp/rdsaudit-bench-asset-{hashlib.sha256(reqs).hexdigest()[:12]}")
    if not (target / ".done").exists():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "-t",
                str(target),
                "-r",
                str(ROOT / "requirements.txt"),
            ],
            check=True,
        )
        (target / ".done").touch()
    shutil.rmtree(target / "handler", ignore_errors=True)
    shutil.copytree(ROOT / "handler", target / "handler", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "mappings", target / "handler" / "_mappings")
    return target


def sample(code: str, path: Path, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={"PYTHONPATH": str(path), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=9)
    args = p.parse_args()
    path = asset()
    # compile bytecode once, as the deployment package would be on a warm disk
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(path)], check=False)
    base_env = {
        "OPENSEARCH_URL": "https://search-x.eu-west-1.es.amazonaws.com",
        "AWS_REGION": "eu-west-1",
        "RDSAUDIT_DEAD_LETTER": "s3://bucket/dl",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    sigv4_env = {
        **base_env,
        "OPENSEARCH_AUTH": "sigv4",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
    }
    results: dict[str, list[float]] = {"import boto3": [], "entry + client (no auth)": [], "entry + client (sigv4)": []}
    for _ in range(args.runs):  # interleaved, so drift affects all three alike
        results["import boto3"].append(sample(BOTO3, path, {}))
        results["entry + client (no auth)"].append(sample(ENTRY, path, base_env))
        results["entry + client (sigv4)"].append(sample(ENTRY, path, sigv4_env))
    medians = {k: round(statistics.median(v), 1) for k, v in results.items()}
    boto3_ms = medians["import boto3"]
    out = {
        "runs": args.runs,
        "median_ms": medians,
        "ratio_vs_boto3": {k: round(v / boto3_ms, 2) for k, v in medians.items() if k != "import boto3"},
        "met": all(v < boto3_ms for k, v in medians.items() if k != "import boto3"),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
