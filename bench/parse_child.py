"""One measured process of `bench.parse`: run by path with PYTHONPATH set to the source tree under test, so the
same script measures this checkout and an earlier commit. Imports nothing from `bench` or `tests` (an earlier
commit may not have them in this shape).

    python bench/parse_child.py transform FILE     # CPU seconds of BatchTransformer.actions over FILE's lines
    python bench/parse_child.py workshop FILE      # the same for the workshop's regex path
    python bench/parse_child.py workshop-ndjson FILE > out   # the regex path as a program: FILE in, NDJSON out
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

GROUP = "/aws/rds/cluster/bench-aurora/audit"
STREAM = "bench-aurora-instance-1.audit.log.0.2023-11-14-22-00.0.2"
OWNER = "123456789012"
EVENT_MS = 1_700_000_000_000  # what a subscription payload gives every line as its time
# The AWS workshop's regex, as in bench/transform.py.
WORKSHOP = re.compile(r"^([^,]+),([^,]+),([^,]+),([^,]+),(\d+),(\d+),(\w+),([^,]*),(.*),(\d+)$")


def read_lines(path: str) -> list[str]:
    with open(path, "rb") as f:
        return [line.decode("utf-8", "replace") for line in f.read().split(b"\n") if line]


def workshop_bodies(lines: list[str]) -> Any:
    """The regex, the same fields, serialized as rdsaudit does, one bulk `create` per line (bench/transform.py)."""
    dumps = orjson.dumps
    for n, line in enumerate(lines):
        m = WORKSHOP.match(line)
        ms = EVENT_MS + n
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + "Z"
        day = ts[:10].replace("-", ".")
        if m is None:
            doc: dict[str, Any] = {"@timestamp": ts, "message": line, "tags": ["parse_failure"]}
        else:
            doc = {
                "@timestamp": ts,
                "server": m[2],
                "user": m[3],
                "client": m[4],
                "connid": int(m[5]),
                "queryid": int(m[6]),
                "operation": m[7],
                "db": m[8],
                "sql": m[9],
                "retcode": int(m[10]),
            }
        doc.update(log_group=GROUP, log_stream=STREAM, owner=OWNER)
        yield b'{"create":{"_index":"rdsaudit-%s","_id":"%d"}}\n%s\n' % (day.encode(), 10**55 + n, dumps(doc))


def transform_bodies(lines: list[str]) -> Any:
    from handler.model import RawEvent
    from handler.transforms.batch import BatchTransformer, TransformOptions
    from handler.transforms.context import cloudwatch_context

    transformer = BatchTransformer(cloudwatch_context(GROUP, STREAM, OWNER), TransformOptions())
    for action in transformer.actions(RawEvent(line, EVENT_MS) for line in lines):
        yield action.body


def cpu_seconds(bodies: Callable[[list[str]], Any], lines: list[str]) -> tuple[float, int]:
    start = time.process_time()
    size = 0
    block: list[bytes] = []
    for body in bodies(lines):
        block.append(body)
        if len(block) == 1000:  # bodies are joined per bulk request, as the sinks do
            size += len(b"".join(block))
            block.clear()
    size += len(b"".join(block))
    return time.process_time() - start, size


def main() -> int:
    mode, path = sys.argv[1], sys.argv[2]
    lines = read_lines(path)
    if mode == "workshop-ndjson":
        out = sys.stdout.buffer
        block: list[bytes] = []
        for body in workshop_bodies(lines):
            block.append(body.split(b"\n", 2)[1] + b"\n")
            if len(block) == 1000:
                out.write(b"".join(block))
                block.clear()
        out.write(b"".join(block))
        return 0
    bodies = transform_bodies if mode == "transform" else workshop_bodies
    cpu_seconds(bodies, lines[:2000])  # warm caches and imports outside the timing
    seconds, size = cpu_seconds(bodies, lines)
    print(json.dumps({"mode": mode, "lines": len(lines), "cpu_s": seconds, "bytes": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
