"""Where users wait: `rdsaudit parse FILE > out` and the transform, next to the workshop's regex path and to the
code before issue 17, all on the same workload file in one run.

    python -m bench.parse [--lines 200000] [--rounds 3] [--before REF ...] [--end-to-end] [--sysbench]

Each round runs, one process each, interleaved so that load from other work on the machine falls on all alike:
- `workshop ndjson`: the workshop's regex path as a program, FILE in, NDJSON out (bench/parse_child.py);
- `parse`: `rdsaudit parse FILE > out`, this checkout (as it runs by default, and with `--workers 1`);
- `parse pure python`: the same from HEAD's tracked files, when this checkout has the compiled scanner built;
- `parse REF`: the same command from each `--before` commit (extracted with `git archive`);
- `transform`, `transform pure python`, `transform REF`, `workshop`: CPU seconds of the transform alone (parse
  + document + id + masking + encoding into bulk bodies) on one core, in-process, over the same lines as one
  batch (what a backfill of the file does; a subscription payload is 1,000 lines: bench/transform.py).
Wall seconds for the programs (what a user waits for) and CPU seconds (user + system, all processes) are both
reported: median and the spread (min-max) over the rounds. `--end-to-end` adds `python -m bench.end_to_end`
(needs the local node). `--profile N` prints a cProfile of the transform over the first N lines instead.
`--sysbench` measures the same again on the real plugin's corpus (bench/sysbench_corpus.py: a sysbench OLTP run
against MariaDB's server_audit), next to the generated one, under "sysbench".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.workload import ROOT, machine
from bench.workload import lines as make_lines

CHILD = ROOT / "bench" / "parse_child.py"


def workload_file(directory: Path, count: int) -> Path:
    path = directory / f"audit-{count}.log"
    if not path.exists():
        path.write_bytes("".join(line + "\n" for line in make_lines(count)).encode())
    return path


def accelerator_built() -> bool:
    return any((ROOT / "handler" / "transforms").glob("_scan.*.so"))


def checkout(ref: str, directory: Path) -> Path:
    """The `handler` package as of `ref` (tracked files only), to run the same command against."""
    tree = directory / f"src-{ref}"
    if ref == "HEAD" or not tree.exists():
        shutil.rmtree(tree, ignore_errors=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref, "handler"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        tree.mkdir()
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
    return tree


def run(argv: list[str], tree: Path, stdout: Path | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (the process and its children) of one process; what it printed when not redirected."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if stdout is None:
        done = subprocess.run(argv, cwd=tree, env=env, check=True, capture_output=True)
        printed = done.stdout.decode()
    else:
        with stdout.open("wb") as out:
            subprocess.run(argv, cwd=tree, env=env, check=True, stdout=out)
        printed = ""
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, printed


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def measure(path: Path, befores: dict[str, Path], pure: Path | None, rounds: int, work: Path) -> dict[str, Any]:
    py = sys.executable
    programs: dict[str, tuple[list[str], Path]] = {
        "workshop ndjson": ([py, str(CHILD), "workshop-ndjson", str(path)], ROOT),
        "parse": ([py, "-m", "handler", "parse", str(path)], ROOT),
        "parse --workers 1": ([py, "-m", "handler", "parse", "--workers", "1", str(path)], ROOT),
    }
    transforms: dict[str, tuple[list[str], Path]] = {
        "transform": ([py, str(CHILD), "transform", str(path)], ROOT),
        "workshop": ([py, str(CHILD), "workshop", str(path)], ROOT),
    }
    if pure is not None:
        programs["parse pure python"] = ([py, "-m", "handler", "parse", str(path)], pure)
        transforms["transform pure python"] = ([py, str(CHILD), "transform", str(path)], pure)
    for ref, tree in befores.items():
        programs[f"parse {ref}"] = ([py, "-m", "handler", "parse", str(path)], tree)
        transforms[f"transform {ref}"] = ([py, str(CHILD), "transform", str(path)], tree)
    wall: dict[str, list[float]] = {name: [] for name in programs}
    cpu: dict[str, list[float]] = {name: [] for name in programs}
    transform_cpu: dict[str, list[float]] = {name: [] for name in transforms}
    outputs: dict[str, str] = {}
    for _ in range(rounds):
        for name, (argv, tree) in programs.items():
            out = work / f"out-{name.replace(' ', '_')}.ndjson"
            w, c, _ = run(argv, tree, out)
            wall[name].append(w)
            cpu[name].append(c)
            outputs[name] = str(out)
        for name, (argv, tree) in transforms.items():
            transform_cpu[name].append(json.loads(run(argv, tree)[2])["cpu_s"])
    med = {k: statistics.median(v) for k, v in wall.items()}
    tmed = {k: statistics.median(v) for k, v in transform_cpu.items()}
    ratios: dict[str, Any] = {
        "parse_vs_workshop_wall": round(med["parse"] / med["workshop ndjson"], 2),
        "transform_vs_workshop_speed": round(tmed["workshop"] / tmed["transform"], 2),
    }
    ours = ["parse", "parse --workers 1", *(["parse pure python"] if pure is not None else [])]
    for ref in befores:
        b, t = f"parse {ref}", f"transform {ref}"
        ratios[f"vs {ref}"] = {
            **{f"{name} speedup (wall)": round(med[b] / med[name], 2) for name in ours},
            "parse speedup (wall), each round": [round(x / y, 2) for x, y in zip(wall[b], wall["parse"], strict=True)],
            "transform speedup (cpu)": round(tmed[t] / tmed["transform"], 2),
            "transform speedup (cpu), each round": [
                round(x / y, 2) for x, y in zip(transform_cpu[t], transform_cpu["transform"], strict=True)
            ],
            **(
                {"transform pure python speedup (cpu)": round(tmed[t] / tmed["transform pure python"], 2)}
                if pure
                else {}
            ),
            f"transform {ref} vs workshop speed": round(tmed["workshop"] / tmed[t], 2),
            "every parse output identical to its output": all(
                Path(out).read_bytes() == Path(outputs[b]).read_bytes()
                for name, out in outputs.items()
                if name.startswith("parse")
            ),
        }
    return {
        "wall_s": {k: _spread(v) for k, v in wall.items()},
        "cpu_s": {k: _spread(v) for k, v in cpu.items()},
        "transform_cpu_s": {k: _spread(v) for k, v in transform_cpu.items()},
        "ratios": ratios,
    }


def profile(count: int) -> None:
    """cProfile of the transform over `count` lines, with the compiled scanner (when built) and without."""
    import cProfile
    import pstats

    from bench.parse_child import cpu_seconds, transform_bodies
    from handler.transforms import audit_line

    lines = make_lines(count)
    scanners = {"compiled scanner": audit_line._scan, "pure Python": None}
    if audit_line._scan is None:
        del scanners["compiled scanner"]
    for name, scan in scanners.items():
        audit_line._scan = scan
        cpu_seconds(transform_bodies, lines[:2000])
        seconds = cpu_seconds(transform_bodies, lines)[0]
        print(f"\n## {name}: {count} lines in {seconds:.3f} CPU s unprofiled ({1e6 * seconds / count:.1f} µs a line)")
        profiler = cProfile.Profile()
        profiler.runcall(cpu_seconds, transform_bodies, lines)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(22)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lines", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--before",
        action="append",
        help="commit to compare with, repeatable (default: 92169c4, where issue 17 started, and e77c8d1, the main "
        "it was merged with: the same transform with the tokenizing masker)",
    )
    p.add_argument("--dir", help="where the workload file and outputs go (default: a temporary directory)")
    p.add_argument("--end-to-end", action="store_true", help="also run bench.end_to_end (needs the local node)")
    p.add_argument("--profile", type=int, metavar="N", help="only profile the transform over N lines")
    p.add_argument("--sysbench", action="store_true", help="also the sysbench OLTP corpus (needs make mariadb)")
    args = p.parse_args()
    if args.profile:
        profile(args.profile)
        return 0
    with tempfile.TemporaryDirectory(prefix="rdsaudit-bench-parse-") as tmp:
        work = Path(args.dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        path = workload_file(work, args.lines)
        befores = {ref: checkout(ref, work) for ref in args.before or ["92169c4", "e77c8d1"]}
        # This checkout runs with the compiled scanner when it is built (python -m handler.transforms.accelerator);
        # HEAD's tracked files never hold it, so they measure the pure-Python parser alongside.
        pure = checkout("HEAD", work) if accelerator_built() else None
        out: dict[str, Any] = {
            "machine": machine(),
            "lines": args.lines,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "rounds": args.rounds,
            "before": list(befores),
            "load_average_at_start": os.getloadavg(),
        }
        out["accelerator_built"] = pure is not None
        out |= measure(path, befores, pure, args.rounds, work)
        if args.sysbench:
            from bench.sysbench_corpus import sysbench_corpus

            corpus = sysbench_corpus()
            (work / "sysbench").mkdir(exist_ok=True)
            with corpus.open("rb") as f:
                count = sum(1 for _ in f)
            out["sysbench"] = {"file": str(corpus), "lines": count, "file_mb": round(corpus.stat().st_size / 1e6, 1)}
            out["sysbench"] |= measure(corpus, befores, pure, args.rounds, work / "sysbench")
        out["load_average_at_end"] = os.getloadavg()
    if args.end_to_end:
        done = subprocess.run([sys.executable, "-m", "bench.end_to_end"], cwd=ROOT, check=True, capture_output=True)
        out["end_to_end"] = json.loads(done.stdout)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
