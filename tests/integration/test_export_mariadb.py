"""The exporter over the files a real MariaDB server_audit writes and rotates (tests/integration/mariadb.py),
served by the RDS log-file emulator as RDS serves an instance's: every line the plugin wrote reaches the archive
exactly once, through real rotations between and during exports."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.conftest import Forwarder
from tests.integration.mariadb import MariaDB
from tests.integration.rds_emulator import LogFileEmulator
from tests.integration.test_export import archive, backfill_archive, emulator, run_export  # noqa: F401

pytestmark = pytest.mark.integration
INSTANCE = "prod-mysql-1"  # the emulator fixture's instance; here its files are the plugin's


def archived(bucket: str) -> list[bytes]:
    """The archived lines as bytes (the plugin writes bytes that are not UTF-8: cut characters, its stray bytes)."""
    s3 = boto3.client("s3")
    out: list[bytes] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"archive/RDS/{INSTANCE}/audit/"):
        for item in page.get("Contents", []):
            data = gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            out += [line for line in data.split(b"\n") if line]
    return out


def statements(server: MariaDB, n: int, tag: str) -> None:
    conn = server.connect(tcp=False)
    with conn.cursor() as cur:
        for i in range(n):
            cur.execute(f"SELECT '{tag}', {i}, '{'x' * (i % 300)}'")  # the text is what the plugin logs
    conn.close()


def test_export_reads_the_plugins_real_rotation(
    mariadb: MariaDB,
    emulator: LogFileEmulator,  # noqa: F811
    archive: str,  # noqa: F811
    forwarder: Forwarder,
    tmp_path: Path,
    capsys: Any,
) -> None:
    emulator.follow(INSTANCE, mariadb.audit_dir)
    files_before = len(mariadb.audit_files())
    statements(mariadb, 50, "first")
    run_export(archive)
    statements(mariadb, 400, "grows past a rotation")  # ~100 KB of lines: the plugin rotates on its own
    run_export(archive)
    mariadb.rotate()  # a rotation between two exports
    statements(mariadb, 30, "after a rotation")
    emulator.complete_file_enabled = False  # the portion API, pages cut at 16 KB
    run_export(archive, complete_file=False)
    emulator.complete_file_enabled = True
    statements(mariadb, 200, "last")
    mariadb.rotate()
    run_export(archive)
    assert len(mariadb.audit_files()) >= files_before + 3
    assert Counter(archived(archive)) == Counter(mariadb.audit_lines())  # every line the plugin wrote, once
    assert emulator.signatures and all(emulator.signatures)
    # and from the archive into the node, one document per line
    assert backfill_archive(archive, forwarder, tmp_path) == 0
    assert forwarder.count() == len(mariadb.audit_lines())
