"""`make test-engines`: start each engine of the matrix in turn (one node at a time: 2 cores), run the focused
set in tests/engines against it, stop it. An engine that cannot start is a failure. OpenSearch 3.x without a
Java 21+ runtime is skipped locally, with one line; under CI=true a missing engine is a failure like any other.

    python -m tests.engines.run [label ...]     # e.g. elasticsearch-7.7.1; default: every engine
    python -m tests.engines.run -k readme_searches [label ...]   # only the focused tests pytest's -k selects
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.engines.matrix import ENGINES, JAVA21_HOME, EngineSpec
from tests.integration.nodes import SCRIPT, free_port

ROOT = Path(__file__).resolve().parents[2]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def run_engine(spec: EngineSpec, python: str, select: str | None = None) -> tuple[str, str]:
    """(outcome, note) for one engine: passed | failed | skipped (never under CI)."""
    env = {
        **os.environ,
        "OPENSEARCH_ENGINE": spec.engine,
        "OPENSEARCH_VERSION": spec.version,
        "OPENSEARCH_NAME": f"engine-{spec.label}-{uuid.uuid4().hex[:8]}",
        "OPENSEARCH_PORT": str(free_port()),
        "OPENSEARCH_TRANSPORT_PORT": str(free_port()),
    }
    if spec.needs_java21:
        if not (JAVA21_HOME / "bin" / "java").exists():
            return "failed" if in_ci() else "skipped", f"no Java 21+ at {JAVA21_HOME} (OpenSearch 3.x needs it)"
        env["OPENSEARCH_JAVA_HOME"] = env["JAVA_HOME"] = str(JAVA21_HOME)
    url = f"http://127.0.0.1:{env['OPENSEARCH_PORT']}"
    started = time.monotonic()
    try:
        up = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=600, check=False)
        if up.returncode != 0:
            print(up.stderr[-3000:], file=sys.stderr)
            return "failed", "could not start"
        boot = time.monotonic() - started
        print(f"== {spec.title} on {url} (up in {boot:.0f} s)", flush=True)
        test_env = {**os.environ, "RDSAUDIT_ENGINE_URL": url, "RDSAUDIT_ENGINE": spec.label}
        tests = subprocess.run(
            [
                python,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/engines",
                *(["-k", select] if select else []),
            ],
            env=test_env,
            cwd=ROOT,
            check=False,
        )
        # pytest's 5 is "no tests collected": with -k, an engine none of the selected tests applies to (a refused one)
        if select and tests.returncode == 5:
            return "passed", f"nothing selected by -k {select}"
        outcome = "passed" if tests.returncode == 0 else "failed"
        return outcome, f"{time.monotonic() - started:.0f} s in all"
    finally:
        subprocess.run([str(SCRIPT), "down"], env=env, check=False, timeout=120)


def main(argv: list[str]) -> int:
    select = None
    if "-k" in argv:
        at = argv.index("-k")
        select, argv = argv[at + 1], argv[:at] + argv[at + 2 :]
    wanted = [spec for spec in ENGINES if not argv or spec.label in argv]
    started = time.monotonic()
    results = []
    for spec in wanted:
        outcome, note = run_engine(spec, sys.executable, select)
        results.append((spec, outcome, note))
        if outcome != "passed":
            print(f"== {spec.title}: {outcome}: {note}", flush=True)
    print(f"\nengine matrix ({time.monotonic() - started:.0f} s):")
    for spec, outcome, note in results:
        print(f"  {spec.title:<22} {outcome:<8} {note}")
    counts = {k: sum(1 for _, o, _ in results if o == k) for k in ("passed", "failed", "skipped")}
    line = f"engines: {counts['passed']} passed, {counts['failed']} failed"
    print(line + (f", {counts['skipped']} skipped" if counts["skipped"] else ""))
    return 1 if counts["failed"] or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
