"""Fuzz driver: mutated audit lines and malformed payloads through the forwarder's pipeline into a real node.

    python -m bench.fuzz --lines 1000000 --payloads 3000      # the full run (figures in BENCHMARKS.md)

Checks: no exception escapes the pipeline; every line is accounted for (indexed, already present — a mutation can
reproduce an earlier line byte for byte — or dead-lettered, parse failures being indexed and flagged); every
malformed payload is dead-lettered whole; the node holds exactly the documents reported indexed.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handler.config import Settings  # noqa: E402
from handler.forward import forward_event  # noqa: E402
from handler.runtime import build_runtime  # noqa: E402
from handler.sources.cloudwatch import encode_subscription_event  # noqa: E402
from tests.events.generate import audit_line  # noqa: E402

_NASTY = [",", "'", "\\", "\\'", "\\\\", "\n", "\r", "\t", "\x00", "é", "日本", "\ufffd", "\ud800", '"', "|", " ", "`"]


def mutate(line: str, rng: random.Random) -> str:
    for _ in range(rng.choice([0, 1, 1, 2, 3, 5])):
        op = rng.random()
        pos = rng.randint(0, len(line))
        if op < 0.35:
            line = line[:pos] + rng.choice(_NASTY) + line[pos:]
        elif op < 0.5:
            line = line[:pos] + line[pos + rng.randint(1, 20) :]
        elif op < 0.6:
            line = line[:pos]
        elif op < 0.7:
            fields = line.split(",")
            rng.shuffle(fields)
            line = ",".join(fields)
        elif op < 0.8:
            line = line[:pos] + "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(1, 8))) + line[pos:]
        elif op < 0.9:
            line = rng.randbytes(rng.randint(1, 40)).decode("utf-8", "replace") + line
        else:
            line = line + "," + rng.choice(["0", "", "SOCKET", "x", "'", "99999999999999999999"])
    return line


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # no time in the header: the same seed gives the same payloads


def malformed_payload(rng: random.Random, n: int) -> dict[str, Any]:
    kind = n % 10
    if kind == 0:
        return {"awslogs": {"data": "%%% not base64 %%%"}}
    if kind == 1:
        return {"awslogs": {"data": base64.b64encode(rng.randbytes(rng.randint(0, 200))).decode()}}
    if kind == 2:
        good = _gzip(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": []}).encode())
        return {"awslogs": {"data": base64.b64encode(good[: rng.randint(1, len(good) - 1)]).decode()}}
    if kind == 3:
        return {"awslogs": {"data": base64.b64encode(_gzip(b"{not json" + rng.randbytes(10))).decode()}}
    if kind == 4:
        body = rng.choice([{}, {"messageType": "DATA_MESSAGE"}, {"logEvents": []}, [], "x", 5, None])
        return {"awslogs": {"data": base64.b64encode(_gzip(json.dumps(body).encode())).decode()}}
    if kind == 5:
        body = {"messageType": "DATA_MESSAGE", "logGroup": 7, "logEvents": [{"message": 1, "timestamp": "x"}]}
        return {"awslogs": {"data": base64.b64encode(_gzip(json.dumps(body).encode())).decode()}}
    if kind == 6:
        raw = b'{"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "timestamp": 1, "message": "\xff\xfe\x00"}'
        return {"awslogs": {"data": base64.b64encode(_gzip(raw)).decode()}}
    if kind == 7:
        return rng.choice([{}, {"awslogs": None}, {"awslogs": {"data": 5}}, {"Records": []}, []])  # type: ignore[return-value]
    if kind == 8:
        data = _gzip(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [1, 2]}).encode())
        return {"awslogs": {"data": base64.b64encode(data).decode()}}
    return {"awslogs": {"data": base64.b64encode(_gzip(b"\x00" * rng.randint(1, 5000))).decode()}}


@dataclass
class Report:
    lines: int = 0
    payloads: int = 0
    malformed: int = 0
    indexed: int = 0
    already_present: int = 0
    flagged: int = 0
    dead_lettered: int = 0
    payloads_dead_lettered: int = 0
    crashes: list[str] = field(default_factory=list)
    unaccounted: int = 0
    stored: int = 0
    seconds: float = 0.0
    seed: int = 0  # every input is drawn from random.Random(seed): --seed replays a run

    def ok(self) -> bool:
        return (
            not self.crashes
            and self.unaccounted == 0
            and self.payloads_dead_lettered == self.malformed
            and self.stored == self.indexed
        )


def run(lines: int, payloads: int, *, url: str, seed: int = 1, batch: int = 2000, huge_every: int = 50) -> Report:
    rng = random.Random(seed)
    prefix = f"fuzz{uuid.uuid4().hex[:8]}"
    report = Report(seed=seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as dl:
        env = {"OPENSEARCH_URL": url, "RDSAUDIT_INDEX_PREFIX": prefix, "RDSAUDIT_DEAD_LETTER": dl}
        runtime = build_runtime(Settings.from_env(env))
        made = 0
        n = 0
        while made < lines:
            size = min(batch, lines - made)
            chunk = [mutate(audit_line(rng, made + i), rng) for i in range(size)]
            if n % huge_every == 0:
                chunk[0] = chunk[0] + "x" * 300_000  # a huge message
            made += size
            n += 1
            event = encode_subscription_event(chunk, log_group="/aws/rds/cluster/fuzz/audit", log_stream="fuzz-1.audit")
            _deliver(event, runtime, report, expected=size)
        for i in range(payloads):
            report.malformed += 1
            _deliver(malformed_payload(rng, i), runtime, report, expected=0)
        report.lines, report.payloads = made, n
        runtime.client.indices.refresh(index=f"{prefix}-*")
        report.stored = int(runtime.client.count(index=f"{prefix}-*")["count"])
        runtime.client.indices.delete(index=f"{prefix}-*")
        runtime.client.indices.delete_index_template(name=prefix)
    report.seconds = time.monotonic() - started
    return report


def _deliver(event: Any, runtime: Any, report: Report, expected: int) -> None:
    try:
        outcome = forward_event(event, runtime.pipeline(), runtime.options)
    except Exception as e:  # a crash is what this driver looks for
        report.crashes.append(f"{type(e).__name__}: {e}"[:300])
        return
    counts = outcome.counts
    report.indexed += counts.indexed
    report.already_present += counts.already_present
    report.flagged += counts.flagged
    report.dead_lettered += counts.dead_lettered
    if outcome.payload_dead_lettered:
        report.payloads_dead_lettered += 1
    accounted = counts.indexed + counts.already_present + counts.dead_lettered
    report.unaccounted += abs(expected - accounted) + counts.pending


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--payloads", type=int, default=3000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--url", default=os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200"))
    args = p.parse_args()
    report = run(args.lines, args.payloads, url=args.url, seed=args.seed)
    print(json.dumps(report.__dict__, indent=1))
    print("OK" if report.ok() else f"FAILED (seed {args.seed}: --seed {args.seed} replays the same inputs)")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
