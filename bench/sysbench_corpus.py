"""A second benchmark corpus, written by the real audit plugin: a short sysbench `oltp_read_write` run against a
private MariaDB with server_audit (events CONNECT,QUERY,TABLE, as tests/integration/mariadb.py starts it), its audit
log kept as one file. Where the generated corpus (bench/workload.py) is what we think audit traffic looks like, this
is what an OLTP application makes the plugin write: short statements, many TABLE events.

    python -m bench.sysbench_corpus [--events 3000]      # prints the corpus path and its operation counts

`sysbench_corpus()` returns the file (cached under $XDG_CACHE_HOME/rdsaudit/corpus/, made once per size); bench.parse
(`--sysbench`) and bench.storage read it. Needs `make mariadb` (mariadb-server and sysbench).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.integration.mariadb import missing, start, stop

TABLES, TABLE_SIZE, THREADS = 4, 10_000, 2


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rdsaudit" / "corpus"


def sysbench_corpus(events: int = 3000) -> Path:
    """The audit log of `events` sysbench oltp_read_write transactions (made on first use, then cached)."""
    path = cache_dir() / f"sysbench-oltp-{events}.log"
    if path.exists():
        return path
    problem = missing() or (None if shutil.which("sysbench") else "sysbench is not installed (make mariadb)")
    if problem:
        raise RuntimeError(problem)
    # One big file per phase: the corpus is the run's file alone, without the tables' preparation.
    server = start(MARIADB_AUDIT_ROTATE_SIZE=str(1 << 30), MARIADB_AUDIT_ROTATIONS="9")
    try:
        server.sql("CREATE DATABASE sbtest")
        common = [
            "sysbench", "oltp_read_write", "--db-driver=mysql", f"--mysql-socket={server.socket}",
            "--mysql-user=root", "--mysql-db=sbtest", f"--tables={TABLES}", f"--table-size={TABLE_SIZE}",
        ]  # fmt: skip
        subprocess.run([*common, "prepare"], check=True, capture_output=True, timeout=600)
        server.rotate()
        subprocess.run(
            [*common, f"--threads={THREADS}", f"--events={events}", "--time=0", "--rand-seed=21", "run"],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        server.rotate()
        run_file = server.audit_dir / "server_audit.log.1"  # the run's; .2 holds the preparation
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        shutil.copyfile(run_file, tmp)
        tmp.replace(path)
    finally:
        stop(server)
    return path


def operations(path: Path) -> dict[str, int]:
    """Lines per operation, from the anchored parse (names here hold no commas)."""
    from handler.transforms.audit_line import AuditRecord, decode_line, parse_line

    counts: collections.Counter[str] = collections.Counter()
    with path.open("rb") as f:
        for data in f:
            rec = parse_line(decode_line(data.rstrip(b"\n")))
            counts[rec.operation if isinstance(rec, AuditRecord) else "parse failure"] += 1
    return dict(counts.most_common())


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=3000)
    args = p.parse_args()
    path = sysbench_corpus(args.events)
    ops = operations(path)
    total = sum(ops.values())
    print(json.dumps({"corpus": str(path), "mb": round(path.stat().st_size / 1e6, 1), "lines": total,
                      "operations": ops, "share_pct": {k: round(100 * v / total, 1) for k, v in ops.items()}},
                     indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
