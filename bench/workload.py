"""The reproducible benchmark workload: CloudWatch subscription events of audit lines mixing the three dialects
(about 70 % Aurora), SQL of 20-2,000 characters with quotes, commas, escapes and some non-ASCII, ~10 % connection
events, ~10 % TABLE events, a few failed logins (see tests/events/generate.py)."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from handler.sources.cloudwatch import encode_subscription_event  # noqa: E402
from tests.events.generate import audit_line  # noqa: E402

GROUP = "/aws/rds/cluster/bench-aurora/audit"
STREAM = "bench-aurora-instance-1.audit.log.0.2023-11-14-22-00.0.2"


def lines(count: int, seed: int = 2026) -> list[str]:
    rng = random.Random(seed)
    return [audit_line(rng, n) for n in range(count)]


def events(count: int, per_event: int = 1000, seed: int = 2026) -> list[dict[str, Any]]:
    all_lines = lines(count, seed)
    return [
        encode_subscription_event(all_lines[i : i + per_event], log_group=GROUP, log_stream=STREAM, first_id=i)
        for i in range(0, count, per_event)
    ]


def machine() -> str:
    import os
    import platform

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {cpu}"
