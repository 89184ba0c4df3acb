"""Where users wait: `rdsaudit parse FILE > out` and the transform, next to the workshop's regex path and to the
code before issue 17, all on the same workload file in one run.

    python -m bench.parse [--lines 200000] [--rounds 3] [--before 92169c4] [--end-to-end]

Each round runs, one process each, interleaved so that load from other work on the machine falls on all alike:
- `workshop ndjson`: the workshop's regex path as a program, FILE in, NDJSON out (bench/parse_child.py);
- `parse`: `rdsaudit parse FILE > out`, this checkout (as it runs by default, and with `--workers 1`);
- `parse pure python`: the same from HEAD's tracked files, when this checkout has the compiled scanner built;
- `parse before`: the same command from the `--before` commit (extracted with `git archive`);
- `transform`, `transform pure python`, `transform before`, `workshop`: CPU seconds of the transform alone (parse
  + document + id + masking + encoding into bulk bodies) on one core, in-process, over the same lines as one
  batch (what a backfill of the file does; a subscription payload is 1,000 lines: bench/transform.py).
Wall seconds for the programs (what a user waits for) and CPU seconds (user + system, all processes) are both
reported: median and the spread (min-max) over the rounds. `--end-to-end` adds `python -m bench.end_to_end`
(needs the local node). `--profile N` prints a cProfile of the transform over the first N lines instead.
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


def measure(path: Path, before: Path | None, pure: Path | None, rounds: int, work: Path) -> dict[str, Any]:
    py = sys.executable
    programs: dict[str, tuple[list[str], Path]] = {
        "workshop ndjson": ([py, str(CHILD), "workshop-ndjson", str(path)], ROOT),
        "parse": ([py, "-m", "handler", "parse", str(path)], ROOT),
    }
    usage = subprocess.run([py, "-m", "handler", "parse", "--help"], cwd=ROOT, check=True, capture_output=True)
    if b"--workers" in usage.stdout:
        programs["parse --workers 1"] = ([py, "-m", "handler", "parse", "--workers", "1", str(path)], ROOT)
    transforms: dict[str, tuple[list[str], Path]] = {
        "transform": ([py, str(CHILD), "transform", str(path)], ROOT),
        "workshop": ([py, str(CHILD), "workshop", str(path)], ROOT),
    }
    if pure is not None:
        programs["parse pure python"] = ([py, "-m", "handler", "parse", str(path)], pure)
        transforms["transform pure python"] = ([py, str(CHILD), "transform", str(path)], pure)
    if before is not None:
        programs["parse before"] = ([py, "-m", "handler", "parse", str(path)], before)
        transforms["transform before"] = ([py, str(CHILD), "transform", str(path)], before)
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
    result: dict[str, Any] = {
        "wall_s": {k: _spread(v) for k, v in wall.items()},
        "cpu_s": {k: _spread(v) for k, v in cpu.items()},
        "transform_cpu_s": {k: _spread(v) for k, v in transform_cpu.items()},
    }
    med = {k: statistics.median(v) for k, v in wall.items()}
    tmed = {k: statistics.median(v) for k, v in transform_cpu.items()}
    ratios: dict[str, Any] = {
        "parse_vs_workshop_wall": round(med["parse"] / med["workshop ndjson"], 2),
        "transform_vs_workshop_speed": round(tmed["workshop"] / tmed["transform"], 2),
    }
    if before is not None:
        ratios["parse_speedup_wall"] = round(med["parse before"] / med["parse"], 2)
        ratios["parse_speedup_wall_rounds"] = [
            round(b / a, 2) for b, a in zip(wall["parse before"], wall["parse"], strict=True)
        ]
        if "parse --workers 1" in med:
            ratios["parse_workers_1_speedup_wall"] = round(med["parse before"] / med["parse --workers 1"], 2)
        ratios["transform_speedup"] = round(tmed["transform before"] / tmed["transform"], 2)
        ratios["transform_speedup_rounds"] = [
            round(b / a, 2) for b, a in zip(transform_cpu["transform before"], transform_cpu["transform"], strict=True)
        ]
        ratios["transform_before_vs_workshop_speed"] = round(tmed["workshop"] / tmed["transform before"], 2)
        before_output = Path(outputs["parse before"]).read_bytes()
        ratios["parse_outputs_identical_to_before"] = all(
            Path(out).read_bytes() == before_output for name, out in outputs.items() if name.startswith("parse")
        )
        if pure is not None:
            ratios["parse_pure_python_speedup_wall"] = round(med["parse before"] / med["parse pure python"], 2)
            ratios["transform_pure_python_speedup"] = round(tmed["transform before"] / tmed["transform pure python"], 2)
    result["ratios"] = ratios
    return result


def profile(count: int) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(CHILD.parent))
    from bench.parse_child import cpu_seconds, transform_bodies

    lines = make_lines(count)
    cpu_seconds(transform_bodies, lines[:2000])
    profiler = cProfile.Profile()
    profiler.runcall(cpu_seconds, transform_bodies, lines)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lines", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--before", default="92169c4", help="commit to compare with (default: where issue 17 started)")
    p.add_argument("--no-before", action="store_true")
    p.add_argument("--dir", help="where the workload file and outputs go (default: a temporary directory)")
    p.add_argument("--end-to-end", action="store_true", help="also run bench.end_to_end (needs the local node)")
    p.add_argument("--profile", type=int, metavar="N", help="only profile the transform over N lines")
    args = p.parse_args()
    if args.profile:
        profile(args.profile)
        return 0
    with tempfile.TemporaryDirectory(prefix="rdsaudit-bench-parse-") as tmp:
        work = Path(args.dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        path = workload_file(work, args.lines)
        before = None if args.no_before else checkout(args.before, work)
        # This checkout runs with the compiled scanner when it is built (python -m handler.transforms.accelerator);
        # HEAD's tracked files never hold it, so they measure the pure-Python parser alongside.
        pure = checkout("HEAD", work) if accelerator_built() else None
        out: dict[str, Any] = {
            "machine": machine(),
            "lines": args.lines,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "rounds": args.rounds,
            "before": None if before is None else args.before,
            "load_average_at_start": os.getloadavg(),
        }
        out["accelerator_built"] = pure is not None
        out |= measure(path, before, pure, args.rounds, work)
        out["load_average_at_end"] = os.getloadavg()
    if args.end_to_end:
        done = subprocess.run([sys.executable, "-m", "bench.end_to_end"], cwd=ROOT, check=True, capture_output=True)
        out["end_to_end"] = json.loads(done.stdout)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
