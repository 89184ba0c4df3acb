"""Backfill from S3 (moto server over HTTP) and local files into the real node."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from handler.cli import main
from handler.sources.cloudwatch import encode_subscription_event
from handler.transforms.document import document_id
from tests.events import RDS_GROUP, sample_lines
from tests.events.generate import (
    audit_lines,
    control_payload,
    export_object,
    firehose_object,
    gzip_members,
    subscription_payload,
)
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def put(bucket: str, key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


@pytest.fixture
def bucket(aws: str) -> str:
    name = f"audit-archive-{os.urandom(4).hex()}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def backfill(forwarder: Forwarder, tmp_path: Path, *args: str) -> int:
    return main(["backfill", *args, "--index-prefix", forwarder.prefix, "--checkpoint", str(tmp_path / "cp.json")])


def ids(forwarder: Forwarder) -> list[str]:
    forwarder.refresh()
    resp = forwarder.client.search(index=f"{forwarder.prefix}-*", body={"size": 10000, "_source": False})
    return [h["_id"] for h in resp["hits"]["hits"]]


def test_every_format_from_s3(forwarder: Forwarder, bucket: str, tmp_path: Path, capsys: Any) -> None:
    raw = audit_lines(30, seed=3)
    # 1. raw dump layout, gzip with three members, blank lines between pages, a truncated page marker
    three = gzip_members(
        ("\n".join(raw[:10]) + "\n\n").encode(),
        ("\n".join(raw[10:20]) + " [Your log message was truncated]\n\n").encode(),
        ("\n".join(raw[20:]) + "\n").encode(),
    )
    put(bucket, "RDS/prod-mysql-1/audit/2023-11-14/server_audit.log.1.gz", three)
    # plain (not gzip) raw file, with a misleading name
    put(bucket, "RDS/prod-mysql-2/audit/2023-11-14/server_audit.log.gz", "\n".join(sample_lines()[:5]).encode())
    # 2. CloudWatch export: prefixed lines, a continuation line, and the write-test object
    export = export_object([(1_700_000_000_001, sample_lines()[10]), (1_700_000_000_002, "first\nsecond line")])
    put(bucket, "exports/task-1/prod-aurora-instance-1.audit.log.0.2023-11-14-22-00.0.2/000000.gz", export)
    put(bucket, "exports/aws-logs-write-test", b"Permission Check Successful")
    # 3. Firehose: back-to-back gzip payloads with a control message
    firehose = firehose_object(
        [
            subscription_payload(sample_lines()[5:8], "/aws/rds/cluster/fh/audit", "fh-1.audit.log.0.x"),
            control_payload(),
            subscription_payload(sample_lines()[8:10], "/aws/rds/instance/fh-mysql/audit", "fh-mysql"),
        ]
    )
    put(bucket, "firehose/2023/11/14/22/stream-1-2023-11-14-22-00-00-abc", firehose)

    assert backfill(forwarder, tmp_path, f"s3://{bucket}/") == 0
    out = capsys.readouterr().out
    assert "objects: 5 (0 finished earlier, 1 skipped: CloudWatch's export write test, 0 failed)" in out
    expected = 30 + 5 + 2 + 5
    assert forwarder.count() == expected

    s = forwarder.search
    assert len(s({"term": {"instance": "prod-mysql-1"}})) == 30
    # the line cut by a download page's marker is indexed flagged, the marker in its message: never passed off whole
    [truncated] = [h for h in s({"term": {"tags": "parse_failure"}}) if "truncated]" in h["_source"]["message"]]
    assert truncated["_source"]["message"] == raw[19] + " [Your log message was truncated]"
    exported = s({"term": {"log_stream": "prod-aurora-instance-1.audit.log.0.2023-11-14-22-00.0.2"}})
    assert {h["_source"]["instance"] for h in exported} == {"prod-aurora-instance-1"}
    [joined] = s({"match_phrase": {"message": "first second"}})
    assert joined["_source"]["message"] == "first\nsecond line"
    assert joined["_source"]["@timestamp"] == "2023-11-14T22:13:20.002Z"
    assert len(s({"term": {"cluster": "fh"}})) == 3
    assert len(s({"term": {"log_group": "/aws/rds/instance/fh-mysql/audit"}})) == 2
    # a second run finds everything finished
    assert backfill(forwarder, tmp_path, f"s3://{bucket}/") == 0
    assert "4 finished earlier" in capsys.readouterr().out


def test_window_and_dry_run(forwarder: Forwarder, tmp_path: Path, capsys: Any) -> None:
    src = tmp_path / "audit.log"
    src.write_text("\n".join(sample_lines()) + "\n")
    assert backfill(forwarder, tmp_path, str(src), "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"records read: {len(sample_lines())}" in out and "dry run" in out
    assert forwarder.client.indices.get(index=f"{forwarder.prefix}-*") == {}
    assert not (tmp_path / "cp.json").exists()

    assert backfill(forwarder, tmp_path, str(src), "--since", "2022-12-01", "--until", "2023-05-01T10:02:21Z") == 0
    docs = [h["_source"] for h in forwarder.search({"match_all": {}})]
    assert sorted(d["@timestamp"] for d in docs) == ["2022-12-01T14:07:05Z", "2023-05-01T10:02:20Z"]


def test_overlap_with_the_forwarder_adds_nothing(forwarder: Forwarder, tmp_path: Path, capsys: Any) -> None:
    lines = sample_lines()[7:15]
    forwarder.invoke(encode_subscription_event(lines, log_group=RDS_GROUP, log_stream="demo-mysql"))
    assert forwarder.count() == len(lines)
    src = tmp_path / "RDS" / "demo-mysql" / "audit" / "2023-05-01" / "server_audit.log.gz"
    src.parent.mkdir(parents=True)
    src.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert backfill(forwarder, tmp_path, str(tmp_path / "RDS")) == 0
    assert f"already present: {len(lines)}" in capsys.readouterr().out
    assert forwarder.count() == len(lines)


def test_corrupt_object_reported_and_others_indexed(forwarder: Forwarder, tmp_path: Path, capsys: Any) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.log").write_text("\n".join(sample_lines()[:4]) + "\n")
    noise = random.Random(5000).randbytes(5000)  # incompressible, so the cut falls inside the deflate stream
    (d / "b.log.gz").write_bytes(gzip.compress(noise, mtime=0)[:100])  # gzip magic, then cut short
    (d / "c.log").write_text("\n".join(sample_lines()[4:8]) + "\n")
    assert backfill(forwarder, tmp_path, str(d)) == 1
    out = capsys.readouterr().out
    assert "1 failed" in out and "FAILED" in out and "b.log.gz" in out
    assert forwarder.count() == 8


def test_parallel_workers(forwarder: Forwarder, tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    lines = audit_lines(3000, seed=9)
    for i in range(4):
        (d / f"part-{i}.log.gz").write_bytes(gzip.compress(("\n".join(lines[i::4]) + "\n").encode()))
    assert backfill(forwarder, tmp_path, str(d), "--workers", "2") == 0
    assert forwarder.count() == 3000


def test_kill_and_resume_is_exactly_once(forwarder: Forwarder, tmp_path: Path) -> None:
    lines = audit_lines(20_000, seed=11)
    lines += lines[:50]  # byte-identical repeats: distinct documents, same ids on every run
    src = tmp_path / "big.log.gz"
    src.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    cmd = [
        sys.executable,
        "-m",
        "handler",
        "backfill",
        str(src),
        "--index-prefix",
        forwarder.prefix,
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--segment-events",
        "2000",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    checkpoint = tmp_path / "cp.json"

    def position() -> int:
        try:
            return int(json.loads(checkpoint.read_text())["objects"][str(src)]["position"])
        except (FileNotFoundError, KeyError, ValueError):
            return 0

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # killed before anything was recorded, then three times just after progress was recorded
    proc = start()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert position() == 0
    killed, positions = 0, []
    for _ in range(3):
        before = position()
        proc = start()
        give_up = time.monotonic() + 120
        while proc.poll() is None and position() <= before and time.monotonic() < give_up:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        positions.append(position())
    assert killed >= 2, positions  # the kills landed while work was in progress
    assert 0 < positions[0] < positions[-1] <= len(lines)
    done = subprocess.run(cmd, check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert forwarder.count() == len(lines)
    expected_ids = set()
    seen: dict[str, int] = {}
    for line in lines:
        expected_ids.add(document_id(line, seen.get(line, 0)))
        seen[line] = seen.get(line, 0) + 1
    assert set(ids_all(forwarder)) == expected_ids


def ids_all(forwarder: Forwarder) -> list[str]:
    forwarder.refresh()
    out: list[str] = []
    resp = forwarder.client.search(index=f"{forwarder.prefix}-*", scroll="1m", body={"size": 5000, "_source": False})
    while resp["hits"]["hits"]:
        out += [h["_id"] for h in resp["hits"]["hits"]]
        resp = forwarder.client.scroll(scroll_id=resp["_scroll_id"], scroll="1m")
    return out


def test_lambda_entry_for_distributed_map_and_s3_notifications(
    forwarder: Forwarder, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler import app
    from tests.integration.conftest import FakeContext, recording

    monkeypatch.setenv("RDSAUDIT_CHECKPOINT", f"s3://{bucket}/checkpoints")
    app.reset_runtime()
    put(bucket, "RDS/i-1/audit/2023-11-14/a.log.gz", gzip.compress("\n".join(sample_lines()[:6]).encode()))
    put(bucket, "RDS/i-1/audit/2023-11-14/b c.log", "\n".join(sample_lines()[6:9]).encode())
    item = {"Key": "RDS/i-1/audit/2023-11-14/a.log.gz", "Bucket": bucket, "Size": 1, "Etag": "x"}
    with recording("backfill", RDSAUDIT_ARCHIVE_BUCKET=bucket):  # the archive the event names
        assert app.backfill_handler(item, FakeContext())["indexed"] == 6
        again = app.backfill_handler(item, FakeContext())
    assert again["finished_earlier"] == 1 and again["indexed"] == 0
    notification = {
        "Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": "RDS/i-1/audit/2023-11-14/b+c.log"}}}]
    }
    with recording("backfill", RDSAUDIT_ARCHIVE_BUCKET=bucket):  # the archive the event names
        assert app.backfill_handler(notification, FakeContext())["indexed"] == 3
    assert forwarder.count() == 9
    assert {h["_source"]["instance"] for h in forwarder.search({"match_all": {}})} == {"i-1"}
