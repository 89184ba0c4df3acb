"""The statement fingerprint's CPU per statement, this tree's against an earlier commit's, in one process and
interleaved (rounds alternate which goes first), on the masked QUERY statements of both corpora; every statement's
fingerprint is compared between the two, so a speed-up that changes the output fails here.

    python -m bench.fingerprint [--before 2827838] [--lines 20000] [--rounds 7] [--scanned 256]

`--scanned N` also measures this tree's fingerprint of the first N characters instead of MAX_SCANNED (an option
weighed, not what is indexed): its CPU against MAX_SCANNED's, interleaved the same way, and how many fingerprints
it would change and how many distinct ones each gives (fewer is coarser grouping, more is a split one).

The earlier module is `handler/transforms/fingerprint.py` from `git show REF:…`, loaded beside this one (it imports
the same lexer patterns from this tree, which issue 24 did not change).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from bench.sql_corpus import realistic_lines
from bench.workload import ROOT, machine
from bench.workload import lines as benchmark_lines
from handler.transforms import fingerprint as current
from handler.transforms.audit_line import AuditRecord, parse_line
from handler.transforms.sql_secrets import mask_sql


def earlier(ref: str, tmp: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{ref}:handler/transforms/fingerprint.py"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    path = tmp / "fingerprint_before.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("fingerprint_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def statements(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        rec = parse_line(line)
        if isinstance(rec, AuditRecord) and rec.obj and rec.operation.startswith("QUERY"):
            out.append(mask_sql(rec.obj))
    return out


def cpu_us(module: ModuleType, sqls: list[str]) -> float:
    fp, digest = module.fingerprint, module.fingerprint_hash
    start = time.process_time()
    for sql in sqls:
        digest(fp(sql))
    return (time.process_time() - start) / len(sqls) * 1e6


def weigh_prefix(sqls: list[str], chars: int, rounds: int) -> dict[str, object]:
    kept = current.MAX_SCANNED
    try:
        now = [current.fingerprint(s) for s in sqls]
        current.MAX_SCANNED = chars
        other = [current.fingerprint(s) for s in sqls]
        runs: dict[int, list[float]] = {kept: [], chars: []}
        for i in range(rounds):
            for n in (kept, chars) if i % 2 == 0 else (chars, kept):
                current.MAX_SCANNED = n
                runs[n].append(cpu_us(current, sqls))
    finally:
        current.MAX_SCANNED = kept
    med = {n: statistics.median(v) for n, v in runs.items()}
    return {
        "fingerprints_that_change": sum(a != b for a, b in zip(now, other, strict=True)),
        "distinct": {str(kept): len(set(now)), str(chars): len(set(other))},
        "us_per_statement": {str(n): round(v, 2) for n, v in med.items()},
        "ratio": round(med[chars] / med[kept], 3),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--before", default="2827838", help="the commit to compare with")
    p.add_argument("--lines", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--scanned", type=int, metavar="N", help="also weigh a fingerprint of the first N characters")
    args = p.parse_args()
    out: dict[str, object] = {"machine": machine(), "before": args.before, "rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        before = earlier(args.before, Path(tmp))
        for name, make in (("benchmark", benchmark_lines), ("realistic", realistic_lines)):
            sqls = statements(make(args.lines))
            differ = sum(before.fingerprint(s) != current.fingerprint(s) for s in sqls)
            runs: dict[str, list[float]] = {"before": [], "this tree": []}
            for i in range(args.rounds):
                pair = (("before", before), ("this tree", current))
                for label, module in pair if i % 2 == 0 else pair[::-1]:
                    runs[label].append(cpu_us(module, sqls))
            med = {k: statistics.median(v) for k, v in runs.items()}
            result: dict[str, object] = {
                "statements": len(sqls),
                "fingerprints_that_differ": differ,
                "us_per_statement": {k: round(v, 2) for k, v in med.items()},
                "ratio": round(med["this tree"] / med["before"], 3),
            }
            if args.scanned:
                result[f"scanned_{args.scanned}"] = weigh_prefix(sqls, args.scanned, args.rounds)
            out[name] = result
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
