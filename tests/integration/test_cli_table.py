"""The command line as a user meets it, one row per case: the command (run as a real process, so what reaches the
terminal is what a user sees), the exact first words of the one line on stderr, the exit code, and what is in the
node afterwards. Exit codes: 0 done, 1 could not finish, 2 wrong command line or setting, 130 interrupted."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.events.generate import audit_lines
from tests.integration.conftest import OPENSEARCH_URL, Forwarder
from tests.integration.nodes import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LINES = audit_lines(400, seed=21)  # 2023-11-14 .. 2023-11-15: two daily indices


@dataclass
class Case:
    """One user action in a scenario's world: files, a prefix, a cache directory and the environment."""

    tmp: Path
    prefix: str
    forwarder: Forwarder
    env: dict[str, str] = field(default_factory=dict)

    @property
    def src(self) -> Path:
        path = self.tmp / "audit.log"
        if not path.exists():
            path.write_text("\n".join(LINES) + "\n")
        return path

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "OPENSEARCH_", "RDSAUDIT_")) and k != "LOG_LEVEL"
        }
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "OPENSEARCH_URL": OPENSEARCH_URL,
                "RDSAUDIT_INDEX_PREFIX": self.prefix,
                "RDSAUDIT_DEAD_LETTER": str(self.tmp / "dead-letter"),
                "XDG_CACHE_HOME": str(self.tmp / "cache"),
            }
        )
        env.update(self.env)
        env.update(extra or {})
        return env

    def run(
        self, *argv: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "handler", *argv],
            env=self.environment(env),
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def docs(self, prefix: str | None = None) -> int:
        client = self.forwarder.client
        pattern = f"{prefix or self.prefix}-*"
        client.indices.refresh(index=pattern, allow_no_indices=True)
        return (
            int(client.count(index=pattern, allow_no_indices=True)["count"])
            if client.indices.exists(index=pattern)
            else 0
        )

    def checkpoints(self) -> list[dict[str, Any]]:
        return [
            json.loads(p.read_text()) for p in sorted((self.tmp / "cache" / "rdsaudit" / "backfill").glob("*.json"))
        ]


@pytest.fixture
def case(forwarder: Forwarder, tmp_path: Path) -> Iterator[Case]:
    c = Case(tmp_path, forwarder.prefix, forwarder)
    yield c
    forwarder.client.indices.delete(index=f"{forwarder.prefix}*", allow_no_indices=True, ignore_unavailable=True)


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def binary(c: Case) -> Path:
    rng = random.Random(30)  # any bytes do: a fixed seed keeps the file the same on every run
    path = c.tmp / "bin.dat"
    path.write_bytes(b"".join(rng.randbytes(30).replace(b"\n", b"") + b"\n" for _ in range(200)))
    return path


def aws_env(c: Case) -> dict[str, str]:
    return {
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": c.env["MOTO"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


# --- one command, one row: (id, argv, env, stderr's first words, exit code, documents afterwards) ---------------
Row = tuple[str, Callable[[Case], list[str]], Callable[[Case], dict[str, str]], str, int, int | None]
NO_ENV: Callable[[Case], dict[str, str]] = lambda c: {}  # noqa: E731

SIMPLE: list[Row] = [
    ("backfill a file", lambda c: ["backfill", str(c.src)], NO_ENV, "", 0, len(LINES)),
    (
        "closed port",
        lambda c: ["backfill", str(c.src)],
        lambda c: {"OPENSEARCH_URL": c.env["CLOSED"]},
        "rdsaudit backfill: cannot reach OpenSearch at http://127.0.0.1:",
        1,
        0,
    ),
    (
        "unknown host",
        lambda c: ["backfill", str(c.src)],
        lambda c: {"OPENSEARCH_URL": "http://rdsaudit-no-such-host.invalid:9200"},
        "rdsaudit backfill: cannot reach OpenSearch at http://rdsaudit-no-such-host.invalid:9200 (unknown host)",
        1,
        0,
    ),
    (
        "missing file",
        lambda c: ["backfill", str(c.tmp / "nope.log")],
        NO_ENV,
        "rdsaudit backfill: no such file or directory: ",
        1,
        0,
    ),
    ("parse a directory", lambda c: ["parse", str(c.tmp)], NO_ENV, "rdsaudit parse: ", 1, None),
    (
        "parse a missing file",
        lambda c: ["parse", "nope.log"],
        NO_ENV,
        "rdsaudit parse: no such file or directory: nope.log",
        1,
        None,
    ),
    (
        "binary file",
        lambda c: ["backfill", str(binary(c))],
        NO_ENV,
        "rdsaudit backfill: ",  # the path, then "does not look like an audit log"
        1,
        0,
    ),
    (
        "a source tree",
        lambda c: ["backfill", str(ROOT / "handler")],
        NO_ENV,
        f"rdsaudit backfill: {ROOT / 'handler'}",
        1,
        0,
    ),
    ("binary file, forced", lambda c: ["backfill", "--force", str(binary(c))], NO_ENV, "", 0, 200),
    (
        "bad setting",
        lambda c: ["backfill", str(c.src)],
        lambda c: {"OPENSEARCH_AUTH": "kerberos"},
        "rdsaudit backfill: OPENSEARCH_AUTH must be one of none, basic, sigv4; got 'kerberos'",
        2,
        0,
    ),
    (
        "limit printed plainly",
        lambda c: ["backfill", str(c.src)],
        lambda c: {"RDSAUDIT_BULK_MAX_BYTES": "1"},
        "rdsaudit backfill: RDSAUDIT_BULK_MAX_BYTES must be between 1,024 and 104,857,600; got '1'",
        2,
        0,
    ),
    (
        "bad --workers",
        lambda c: ["backfill", "--workers", "0", str(c.src)],
        NO_ENV,
        "rdsaudit backfill: argument --workers: must be at least 1",
        2,
        0,
    ),
    (
        "bad --since",
        lambda c: ["backfill", "--since", "yesterday", str(c.src)],
        NO_ENV,
        "rdsaudit backfill: argument --since: not an ISO 8601 date or time: 'yesterday'",
        2,
        0,
    ),
    (
        "unknown option",
        lambda c: ["backfill", "--fast", str(c.src)],
        NO_ENV,
        "rdsaudit backfill: unrecognized arguments: --fast",
        2,
        0,
    ),
    (
        "window the wrong way round",
        lambda c: ["backfill", "--since", "2024-01-02", "--until", "2024-01-01", str(c.src)],
        NO_ENV,
        "rdsaudit backfill: --since must be before --until",
        2,
        0,
    ),
    (
        "replay: mistyped directory",
        lambda c: ["replay", "--dead-letter", str(c.tmp / "dead-leter")],
        NO_ENV,
        "rdsaudit replay: no dead letters at ",
        1,
        None,
    ),
    (
        "replay: the queue without a region",
        lambda c: ["replay", "--dead-letter", str(c.tmp), "--queue", "https://sqs.example/1/q"],
        lambda c: {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"},
        "rdsaudit replay: no AWS region: set AWS_REGION",
        2,
        None,
    ),
    (
        "setup: Dashboards unreachable",
        lambda c: ["setup", "--dashboards-url", c.env["CLOSED"]],
        NO_ENV,
        "rdsaudit setup: cannot reach http://127.0.0.1:",
        1,
        None,
    ),
    (
        "S3 without credentials",
        lambda c: ["backfill", "s3://rdsaudit-some-bucket/RDS/"],
        lambda c: {
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": c.env["MOTO"],
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        "rdsaudit backfill: no AWS credentials found",
        2,
        0,
    ),
    (
        "S3 bucket missing",
        lambda c: ["backfill", "s3://rdsaudit-no-such-bucket/RDS/"],
        aws_env,
        "rdsaudit backfill: bucket rdsaudit-no-such-bucket does not exist",
        1,
        0,
    ),
    (
        "S3 endpoint unreachable",
        lambda c: ["backfill", "s3://rdsaudit-some-bucket/RDS/"],
        lambda c: {**aws_env(c), "AWS_ENDPOINT_URL": c.env["CLOSED"]},
        "rdsaudit backfill: cannot reach http://127.0.0.1:",
        1,
        0,
    ),
    (
        "an endpoint that is not OpenSearch",
        lambda c: ["backfill", str(c.src)],
        lambda c: {"OPENSEARCH_URL": c.env["WEBPAGE"]},
        "rdsaudit backfill: http://127.0.0.1:",  # … does not answer like OpenSearch …: set OPENSEARCH_URL …
        1,
        0,
    ),
    (
        "credentials in the URL",
        lambda c: ["backfill", str(c.src)],
        lambda c: {"OPENSEARCH_URL": "http://admin:Hunter2-Zq@127.0.0.1:9200"},
        "rdsaudit backfill: OPENSEARCH_URL must not carry credentials (user:password@): set OPENSEARCH_AUTH=basic",
        2,
        0,
    ),
    (
        "a typo in an option",
        lambda c: ["backfill", "--sinse", "2024-01-01", str(c.src)],
        NO_ENV,
        "rdsaudit backfill: unrecognized arguments: --sinse; did you mean --since?",
        2,
        0,
    ),
    (
        "replay on a machine where nothing failed yet",
        lambda c: ["replay"],
        lambda c: {"RDSAUDIT_DEAD_LETTER": ""},
        "",
        0,
        None,
    ),
    (
        "the node refuses the credentials",
        lambda c: ["backfill", str(c.src)],
        lambda c: {"OPENSEARCH_URL": c.env["REFUSING"]},
        "rdsaudit backfill: OpenSearch at http://127.0.0.1:",  # … refused the request (401 …)
        1,
        0,
    ),
]


@pytest.fixture
def world(case: Case, moto_endpoint: str, refusing_node: str, web_page: str) -> Case:
    case.env.update({"CLOSED": closed_url(), "MOTO": moto_endpoint, "REFUSING": refusing_node, "WEBPAGE": web_page})
    return case


@pytest.fixture(scope="module")
def web_page() -> Iterator[str]:
    """Any web server that is not OpenSearch (a pasted Dashboards or proxy URL): HTML to every request."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _any(self) -> None:
            body = b"<!DOCTYPE html>\n<html><body><h1>Welcome</h1>\n</body></html>\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def refusing_node() -> Iterator[str]:
    """Answers every request 401, as a cluster with the security plugin does without credentials."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Refuse(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _any(self) -> None:
            body = b'{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def one_line(stderr: str) -> str:
    progress = "backfill: objects "  # the plain-log progress line, every 10 s of a long run
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(progress)]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("row", SIMPLE, ids=[r[0] for r in SIMPLE])
def test_row(row: Row, world: Case) -> None:
    _, argv, env, message, code, docs = row
    done = world.run(*argv(world), env=env(world))
    assert done.returncode == code, done.stderr
    if message:
        assert one_line(done.stderr).startswith(message)
        assert "Hunter2-Zq" not in done.stderr + done.stdout  # a credential is never echoed
    else:
        assert done.stderr == "", done.stderr
    if docs is not None:
        assert world.docs() == docs


def test_not_opensearch_says_what_to_set(world: Case) -> None:
    done = world.run("backfill", str(world.src), env={"OPENSEARCH_URL": world.env["WEBPAGE"]})
    assert "does not answer like OpenSearch" in done.stderr and "set OPENSEARCH_URL" in done.stderr


def test_nothing_to_replay_is_said(world: Case) -> None:
    done = world.run("replay", env={"RDSAUDIT_DEAD_LETTER": ""})
    assert done.stdout.startswith("nothing to replay: ./dead-letter does not exist")


def test_binary_file_says_why(world: Case) -> None:
    done = world.run("backfill", str(binary(world)))
    assert "does not look like an audit log: 200 of its first 200 lines are not audit lines" in done.stderr
    assert "pass --force" in done.stderr


def test_debug_shows_the_traceback(world: Case) -> None:
    done = world.run("backfill", "--debug", str(world.src), env={"OPENSEARCH_URL": world.env["CLOSED"]})
    assert done.returncode == 1 and "Traceback" in done.stderr


# --- checkpoints that can't lie: each rerun ends with the exact document count ----------------------------------


def test_rerun_finds_the_work_done(world: Case) -> None:
    assert world.run("backfill", str(world.src)).returncode == 0
    again = world.run("backfill", str(world.src))
    assert again.returncode == 0 and "(1 finished earlier" in again.stdout
    [checkpoint] = world.checkpoints()  # kept in the cache directory, and the summary says where
    assert f"checkpoint: {world.tmp / 'cache' / 'rdsaudit' / 'backfill'}" in again.stdout
    assert checkpoint["identity"]["index_prefix"] == world.prefix
    assert world.docs() == len(LINES)
    assert not list(world.tmp.glob(".rdsaudit*"))  # nothing dropped in the current directory


def test_another_prefix_is_another_run(world: Case) -> None:
    assert world.run("backfill", str(world.src)).returncode == 0
    other = f"{world.prefix}x"
    done = world.run("backfill", "--index-prefix", other, str(world.src))
    assert done.returncode == 0 and "finished earlier" in done.stdout and "(0 finished earlier" in done.stdout
    assert world.docs(other) == len(LINES) and world.docs() == len(LINES)
    assert len(world.checkpoints()) == 2


def test_a_wider_window_indexes_what_the_first_left_out(world: Case) -> None:
    from handler.backfill.process import sortable_time
    from handler.transforms.audit_line import AuditRecord, parse_line

    times = sorted(sortable_time(r.timestamp) for r in map(parse_line, LINES) if isinstance(r, AuditRecord))
    assert len(times) == len(LINES)
    until = times[len(times) // 2]
    assert world.run("backfill", "--until", f"{until[:19]}.{until[19:]}", str(world.src)).returncode == 0
    assert world.docs() == sum(1 for t in times if t < until) < len(LINES)
    again = world.run("backfill", str(world.src))
    assert again.returncode == 0 and "(0 finished earlier" in again.stdout
    assert world.docs() == len(LINES)


def test_a_wiped_node_is_filled_again(world: Case) -> None:
    assert world.run("backfill", str(world.src)).returncode == 0
    world.forwarder.client.indices.delete(index=f"{world.prefix}-*")
    done = world.run("backfill", str(world.src))
    assert done.returncode == 0
    assert "holds 0 documents where" in done.stdout and "indexing again the 1 object that wrote to it" in done.stdout
    assert world.docs() == len(LINES)


def test_restart_ignores_the_checkpoint(world: Case) -> None:
    assert world.run("backfill", str(world.src)).returncode == 0
    done = world.run("backfill", "--restart", str(world.src))
    assert done.returncode == 0 and "started over: --restart" in done.stdout
    assert f"already present: {len(LINES)}" in done.stdout
    assert world.docs() == len(LINES)


# --- Ctrl-C, closed pipes, outages ------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_says_how_far_it_got_and_a_rerun_resumes(world: Case, workers: str) -> None:
    from tests.integration.faultproxy import FaultProxy

    lines = audit_lines(30_000, seed=22)
    src = world.tmp / "in"
    src.mkdir()
    for i in range(2):
        (src / f"part-{i}.log.gz").write_bytes(gzip.compress(("\n".join(lines[i::2]) + "\n").encode()))
    argv = ["backfill", "--workers", workers, "--segment-events", "500", str(src)]
    released = threading.Event()
    # The first bulk requests (4 segments of 500 of the 60) pass, so their positions are reported; every later one is
    # held until Ctrl-C has been sent. However fast the machine, the run is then mid-work when it is interrupted.
    with FaultProxy(OPENSEARCH_URL, [("pass",)] * 4, max_requests=1_000, max_seconds=600) as proxy:
        proxy.default = ("hold", released)
        env = {"OPENSEARCH_URL": proxy.url}  # the rerun too: the endpoint is part of the checkpoint's identity
        proc = subprocess.Popen(
            [sys.executable, "-m", "handler", *argv],
            env=world.environment(env),
            cwd=world.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            give_up = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < give_up and not proxy.holding.wait(0.05):
                pass
            assert proxy.holding.is_set() and proc.poll() is None, "no bulk request was held mid-run"
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
            released.set()  # what was held reaches the node now, after the run stopped, as a late request can
        proxy.wait_idle()
        assert proc.returncode == 130, stderr
        line = one_line(stderr.replace("\r", "\n").split("\n")[-2] + "\n" if "\r" in stderr else stderr)
        assert line.startswith("rdsaudit backfill: interrupted: ") and "rerun the same command to resume" in line
        assert recorded(world), line  # the positions of the segments written before the hold are kept
        assert 2_000 <= world.docs() < len(lines)
        again = world.run(*argv, env=env)
        assert again.returncode == 0, again.stderr
        assert " resumed after the " in again.stdout, again.stdout
    assert world.docs() == len(lines)


def recorded(c: Case) -> bool:
    try:
        return any(o["position"] > 0 for cp in c.checkpoints() for o in cp["objects"].values())
    except (ValueError, KeyError):
        return False  # caught between two writes of the file


def test_parse_into_a_closed_pipe_ends_quietly(world: Case) -> None:
    gz = world.tmp / "audit.log.gz"
    gz.write_bytes(gzip.compress(("\n".join(audit_lines(20_000, seed=23)) + "\n").encode()))
    done = subprocess.run(
        f"{sys.executable} -m handler parse {gz} | head -1",
        shell=True,
        env=world.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        executable="/bin/bash",
    )
    assert done.stderr == "" and len(done.stdout.splitlines()) == 1
    assert json.loads(done.stdout)["doc"]["@timestamp"]  # gzip read: a document, not compressed bytes


def test_an_outage_is_one_line_per_retry_round(world: Case) -> None:
    from tests.integration.faultproxy import FaultProxy

    with FaultProxy(OPENSEARCH_URL, []) as proxy:
        proxy.default = ("status", 503, {"error": "unavailable"})
        env = {"OPENSEARCH_URL": proxy.url, "RDSAUDIT_MAX_ATTEMPTS": "3"}
        done = world.run("backfill", str(world.src), env=env)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    for attempt, line in enumerate(lines[:2], start=2):
        assert line.startswith(f"rdsaudit: retrying {len(LINES)} documents in ")
        assert f"(attempt {attempt} of 3): bulk request: 503" in line
    assert lines[2].startswith("rdsaudit backfill: 1 of 1 objects failed")
    assert len(lines) == 3
    assert f"FAILED {world.src}: {len(LINES)} documents not written" in done.stdout
    assert world.docs() == 0
