"""`rdsaudit sessions` over a day of a million events, and `rdsaudit session` on one 100,000-event session.

    python -m bench.sessions [--events 1000000] [--long 100000] [--prefix benchsessions] [--runs 3] [--keep]

The workload (seeded, reproducible): four Aurora instances, one UTC day (2026-08-03), sessions of CONNECT,
statements and table events, DISCONNECT (lengths geometric around 40 events; a few failed logins, failed
statements and account changes), some opened the evening before or still open after midnight, and one session of
`--long` events on instance 1 spread over twenty hours. Indexed through `lambda_handler` in payloads of 1,000
lines, into its own prefix, deleted at the end unless `--keep` (then a rerun with the same prefix and counts skips
the load). Each command runs in a fresh process (wall time, peak RSS by GNU time), and its output is checked
against the generator: every session with an event in the day listed, every event of the long session printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.workload import ROOT, machine
from handler.sources.cloudwatch import encode_subscription_event

URL = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200")
DAY = datetime(2026, 8, 3, tzinfo=UTC)
CLUSTER = "bench-sessions"
GROUP = f"/aws/rds/cluster/{CLUSTER}/audit"
SERVERS = [f"{CLUSTER}-instance-{i}" for i in range(1, 5)]
LONG_SERVER, LONG_CONNID = SERVERS[0], 1
USERS = ["app", "app", "app", "report", "etl", "admin"]
TABLES = ["orders", "invoices", "customers", "products", "payments", "shipments"]


def _us(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000 + at.microsecond


class Workload:
    """Lines per server, and what listing and the timeline must answer."""

    def __init__(self, events: int, long_events: int, seed: int = 22) -> None:
        self.rng = random.Random(seed)
        self.lines: dict[str, list[tuple[int, str]]] = {s: [] for s in SERVERS}
        self.connids = dict.fromkeys(SERVERS, LONG_CONNID + 1)
        self.queryid = 0
        self.sessions = 0  # with an event in the day
        self.long_start = ""
        self._long(long_events)
        while self.count < events:
            self._session(events - self.count)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.lines.values())

    def _add(self, server: str, at: datetime, head: str, op: str, obj: str = "", ret: str = "0") -> None:
        self.queryid += 1
        qid = 0 if op in ("CONNECT", "DISCONNECT", "FAILED_CONNECT") else self.queryid
        user, client, connid = head.split(",")
        self.lines[server].append((_us(at), f"{_us(at)},{server},{user},{client},{connid},{qid},{op},shop,{obj},{ret}"))

    def _statement(self, server: str, at: datetime, head: str) -> None:
        r = self.rng.random()
        if r < 0.35:
            self._add(server, at, head, self.rng.choice(("READ", "WRITE")), self.rng.choice(TABLES), "")
        elif r < 0.36:
            self._add(server, at, head, "QUERY", "'SELECT * FROM nowhere'", "1146")
        elif r < 0.362:
            self._add(server, at, head, "QUERY", "'GRANT SELECT ON shop.* TO \\'svc\\'@\\'%\\''")
        else:
            n = self.rng.randrange(10**6)
            self._add(server, at, head, "QUERY", f"'SELECT * FROM {self.rng.choice(TABLES)} WHERE id = {n}'")

    def _long(self, n: int) -> None:
        head = f"app,10.0.5.1,{LONG_CONNID}"
        start = DAY + timedelta(hours=1)
        step = 20 * 3600 / n
        self.long_start = start.isoformat().replace("+00:00", "Z")
        self._add(LONG_SERVER, start, head, "CONNECT")
        for k in range(1, n - 1):
            self._statement(LONG_SERVER, start + timedelta(seconds=step * k), head)
        self._add(LONG_SERVER, start + timedelta(seconds=step * (n - 1)), head, "DISCONNECT")
        self.sessions += 1

    def _session(self, room: int) -> None:
        rng = self.rng
        server = rng.choice(SERVERS)
        connid = self.connids[server]
        self.connids[server] += 1
        head = f"{rng.choice(USERS)},10.0.{rng.randrange(1, 9)}.{rng.randrange(1, 250)},{connid}"
        start = DAY + timedelta(seconds=rng.uniform(-1800, 86400))  # a few opened the evening before
        if rng.random() < 0.01:
            self._add(server, start, head, "FAILED_CONNECT", "", "1045")
            self._add(server, start + timedelta(milliseconds=1), head, "DISCONNECT")
            self.sessions += start >= DAY
            return
        length = max(3, min(room, int(rng.expovariate(1 / 40))))
        gap = rng.uniform(0.05, 30)
        self._add(server, start, head, "CONNECT")
        for k in range(1, length - 1):
            self._statement(server, start + timedelta(seconds=gap * k), head)
        last = start + timedelta(seconds=gap * (length - 1))
        if rng.random() < 0.98:  # else its DISCONNECT was never logged: open, its end unknown
            self._add(server, last, head, "DISCONNECT")
        else:
            last = start + timedelta(seconds=gap * (length - 2))
        self.sessions += last >= DAY and start < DAY + timedelta(days=1)

    def payloads(self) -> list[dict[str, object]]:
        out = []
        for server, lines in self.lines.items():
            lines.sort()
            stream = f"{server}.audit.log.0.2026-08-03-00-00.0.1"
            for i in range(0, len(lines), 1000):
                batch = [(line, us // 1000) for us, line in lines[i : i + 1000]]
                out.append(encode_subscription_event(batch, log_group=GROUP, log_stream=stream, first_id=i))
        return out


def _count(prefix: str) -> int:
    try:
        with urllib.request.urlopen(f"{URL}/{prefix}-*/_count", timeout=60) as r:
            return int(json.load(r)["count"])
    except OSError:
        return 0


def _delete(prefix: str) -> None:
    for path in (f"/{prefix}-*", f"/_index_template/{prefix}"):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(urllib.request.Request(URL + path, method="DELETE"), timeout=120).close()


def load(work: Workload, prefix: str) -> float:
    from handler import app

    os.environ.update({"OPENSEARCH_URL": URL, "RDSAUDIT_INDEX_PREFIX": prefix})
    os.environ.setdefault("RDSAUDIT_DEAD_LETTER", tempfile.mkdtemp(prefix="rdsaudit-bench-dl-"))
    app.reset_runtime()
    started = time.perf_counter()
    for event in work.payloads():
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = app.lambda_handler(event, None)
        if outcome["pending"] or outcome["dead_lettered"]:
            raise SystemExit(f"load failed: {outcome}")
    app.get_runtime().client.indices.refresh(index=f"{prefix}-*")
    return time.perf_counter() - started


def run(cmd: list[str], out: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of a fresh process, its stdout in `out`."""
    env = {**os.environ, "OPENSEARCH_URL": URL, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    with out.open("wb") as f:
        timed = ["/usr/bin/time", "-f", "%M", *cmd]
        done = subprocess.run(timed, check=False, cwd=ROOT, stdout=f, stderr=subprocess.PIPE, env=env)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return seconds, int(done.stderr.decode().strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--long", type=int, default=100_000, help="events of the one long session")
    parser.add_argument("--prefix", default="benchsessions")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the indices for a rerun")
    args = parser.parse_args()

    work = Workload(args.events, args.long)
    if _count(args.prefix) != work.count:
        _delete(args.prefix)
        print(f"loading {work.count:,} events into {args.prefix}-* through lambda_handler …", flush=True)
        print(f"  loaded in {load(work, args.prefix):.0f} s", flush=True)
    print(f"{_count(args.prefix):,} documents, {URL} ({machine()})")
    tmp = Path(tempfile.mkdtemp(prefix="rdsaudit-bench-sessions-"))
    common = ["--index-prefix", args.prefix, "--format", "json"]
    listing = [sys.executable, "-m", "handler", "sessions", "--since", "2026-08-03", "--until", "2026-08-04", *common]
    one = [sys.executable, "-m", "handler", "session", LONG_SERVER, str(LONG_CONNID), "--at", work.long_start, *common]
    try:
        for name, cmd in (("sessions, one day", listing), (f"session of {args.long:,} events", one)):
            runs = [run(cmd, tmp / "out.json") for _ in range(args.runs)]
            text = (tmp / "out.json").read_text(encoding="utf-8")
            if cmd is listing:
                found = len(json.loads(text)["sessions"])
                check = f"{found:,} sessions listed, {work.sessions:,} expected"
                ok = found == work.sessions
            else:
                kinds = [json.loads(line)["kind"] for line in text.splitlines()]
                check = f"{kinds.count('event'):,} events printed, {kinds.count('pause')} pauses"
                ok = kinds.count("event") == args.long
            seconds = statistics.median(s for s, _ in runs)
            rounds = " · ".join(f"{s:.1f}" for s, _ in runs)
            rss = max(m for _, m in runs)
            print(f"  {name}: median {seconds:.1f} s ({rounds}) · peak RSS {rss:.1f} MB · {check}", flush=True)
            if not ok:
                raise SystemExit(f"wrong answer: {check}")
    finally:
        if not args.keep:
            _delete(args.prefix)


if __name__ == "__main__":
    main()
