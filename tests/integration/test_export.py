"""`rdsaudit export` against an emulator of the RDS log-file API that keeps growing and rotating, with S3 on moto
server: every line ever written lands in S3 exactly once, then a backfill puts each exactly once in the node."""

from __future__ import annotations

import functools
import gzip
import os
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

from handler.cli import main
from handler.export.run import export_instance
from handler.export.state import ConcurrentRun
from tests.events.generate import audit_lines
from tests.integration.conftest import Forwarder, recording
from tests.integration.rds_emulator import NS, LogFileEmulator

pytestmark = pytest.mark.integration
INSTANCE = "prod-mysql-1"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture
def emulator(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LogFileEmulator]:
    credentials = boto3.Session().get_credentials().get_frozen_credentials()
    emu = LogFileEmulator(credentials, keep=3, page_limit=16 * 1024)
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", emu.url)
    yield emu
    emu.close()


@pytest.fixture
def archive(aws: str) -> str:
    name = f"audit-archive-{os.urandom(4).hex()}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def run_export(bucket: str, s3: Any = None, **kw: Any) -> dict[str, Any]:
    session = boto3.Session()
    return export_instance(
        INSTANCE,
        rds=session.client("rds"),
        s3=s3 or session.client("s3"),
        credentials=session.get_credentials(),
        bucket=bucket,
        prefix="archive",
        **kw,
    )


def archived_lines(bucket: str) -> list[str]:
    s3 = boto3.client("s3")
    lines: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"archive/RDS/{INSTANCE}/audit/"):
        for item in page.get("Contents", []):
            data = gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            lines += data.decode().splitlines()
    return lines


def backfill_archive(bucket: str, forwarder: Forwarder, tmp_path: Path) -> int:
    return main(
        [
            "backfill",
            f"s3://{bucket}/archive/RDS/",
            "--index-prefix",
            forwarder.prefix,
            "--checkpoint",
            str(tmp_path / "cp.json"),
        ]
    )


class CrashingS3:
    """The real (moto) S3 client, except that the first multipart upload dies halfway, as a killed run would."""

    def __init__(self, real: Any) -> None:
        self.real, self.crashed = real, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def upload_fileobj(self, fileobj: Any, bucket: str, key: str, **kw: Any) -> None:
        if not self.crashed:
            self.crashed = True
            fileobj.read(4096)
            raise RuntimeError("killed mid-file")
        self.real.upload_fileobj(fileobj, bucket, key, **kw)


class OverlappingS3:
    """The real (moto) S3 client of one of two runs started together: each waits, once it has read the export
    state, until the other has read it too; state writes go to S3 one at a time, each conditional on the ETag read."""

    def __init__(self, real: Any, loaded: threading.Barrier, saving: threading.Lock) -> None:
        self.real, self.loaded, self.saving, self.waited = real, loaded, saving, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def get_object(self, **kw: Any) -> Any:
        answer = self.real.get_object(**kw)
        if not self.waited and "/state/" in f"/{kw['Key']}":
            self.waited = True
            self.loaded.wait()
        return answer

    def put_object(self, **kw: Any) -> Any:
        with self.saving:
            return self.real.put_object(**kw)


def test_many_scheduled_exports_with_rotation_crash_overlap_and_truncation(
    emulator: LogFileEmulator, archive: str, forwarder: Forwarder, tmp_path: Path
) -> None:
    lines = iter(audit_lines(3000, seed=21))

    def grow(n: int) -> None:
        emulator.write(INSTANCE, [next(lines) for _ in range(n)])

    grow(120)
    assert run_export(archive)["objects"] == 1
    grow(80)
    run_export(archive)  # the growing active file continues; it does not start over
    grow(60)
    emulator.rotate(INSTANCE)
    grow(50)
    run_export(archive)  # the renamed file (.1) is recognised by its content
    grow(40)
    emulator.rotate_before_next_download = True  # rotation between the listing and the download
    run_export(archive)
    run_export(archive)
    grow(200)
    # a crash mid-file: the next run rewrites the same object from the same offset
    session = boto3.Session()
    with pytest.raises(RuntimeError, match="killed mid-file"):
        export_instance(
            INSTANCE,
            rds=session.client("rds"),
            s3=CrashingS3(session.client("s3")),
            credentials=session.get_credentials(),
            bucket=archive,
            prefix="archive",
        )
    grow(30)
    with pytest.raises(ConcurrentRun, match="within its lease"):
        run_export(archive)  # the crashed run might still be writing: wait out its lease
    run_export(archive, lease_seconds=0)  # after the lease, the next run completes the crashed one's object
    # truncated portions: the portion API (complete-file endpoint unavailable), pages cut at 16 KB
    emulator.complete_file_enabled = False
    grow(300)
    with recording("exporter", RDSAUDIT_EXPORT_BUCKET=archive, RDSAUDIT_EXPORT_PREFIX="archive"):
        run_export(archive, complete_file=False)  # the exporter's own code path, as its fallback runs it
    assert emulator.truncated_pages > 0
    emulator.complete_file_enabled = True
    # two overlapping runs: both read the state before either writes it; one advances, the other stops cleanly
    grow(150)
    loaded = threading.Barrier(2, timeout=60)
    saving = threading.Lock()  # S3 applies conditional writes atomically; moto's check-then-write is not
    outcomes: list[Any] = []

    def overlapping(s3: OverlappingS3) -> None:
        try:
            outcomes.append(run_export(archive, s3=s3))
        except BaseException as e:
            outcomes.append(e)

    clients = [OverlappingS3(session.client("s3"), loaded, saving) for _ in range(2)]  # clients made in one thread
    threads = [threading.Thread(target=overlapping, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stopped = [o for o in outcomes if isinstance(o, ConcurrentRun)]
    finished = [o for o in outcomes if isinstance(o, dict)]
    assert len(stopped) == 1 and len(finished) == 1, outcomes
    assert "changed since it was read" in str(stopped[0]) and finished[0]["objects"] >= 1
    for _ in range(2):  # rotations until the oldest files expire
        grow(25)
        run_export(archive)
        emulator.rotate(INSTANCE)
    run_export(archive)

    written = emulator.written[INSTANCE]
    stored = archived_lines(archive)
    assert Counter(stored) == Counter(written)  # every line exactly once
    assert emulator.signatures and all(emulator.signatures)  # botocore's signer agrees with the request

    # and into the node through the backfill, exactly once
    assert backfill_archive(archive, forwarder, tmp_path) == 0
    assert forwarder.count() == len(written)


def test_export_cli(emulator: LogFileEmulator, archive: str, capsys: Any) -> None:
    emulator.write(INSTANCE, audit_lines(10, seed=4))
    emulator.write("other-1", audit_lines(5, seed=5))
    assert (
        main(["export", "--instance", INSTANCE, "--instance", "other-1", "--bucket", archive, "--prefix", "archive"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"{INSTANCE}: 1 objects" in out and "other-1: 1 objects" in out
    assert main(["export", "--instance", INSTANCE, "--bucket", archive, "--prefix", "archive"]) == 0
    assert f"{INSTANCE}: 0 objects" in capsys.readouterr().out


def test_export_with_indexing_then_backfill_adds_nothing(
    emulator: LogFileEmulator, archive: str, forwarder: Forwarder, tmp_path: Path, capsys: Any
) -> None:
    lines = audit_lines(150, seed=8)
    emulator.write(INSTANCE, lines[:100])
    assert main(["export", "--instance", INSTANCE, "--bucket", archive, "--prefix", "archive", "--index"]) == 0
    emulator.write(INSTANCE, lines[100:])
    assert main(["export", "--instance", INSTANCE, "--bucket", archive, "--prefix", "archive", "--index"]) == 0
    assert forwarder.count() == 150
    capsys.readouterr()
    assert backfill_archive(archive, forwarder, tmp_path) == 0
    assert "indexed: 0  already present: 150" in capsys.readouterr().out
    assert forwarder.count() == 150


def test_export_index_dead_letters_rejections_and_installs_the_template_first(
    emulator: LogFileEmulator, archive: str, forwarder: Forwarder, capsys: Any
) -> None:
    # date_nanos cannot hold a time before 1970: the node rejects this line's document.
    rejected = "19690101 00:00:00,ip-10-1-0-50,root,localhost,8,1,QUERY,,'select 1',0,,"
    lines = [*audit_lines(3, seed=11), rejected]
    emulator.write(INSTANCE, lines)
    assert forwarder.client.indices.exists_index_template(name=forwarder.prefix) is False  # a fresh prefix
    assert main(["export", "--instance", INSTANCE, "--bucket", archive, "--prefix", "archive", "--index"]) == 0
    out = capsys.readouterr().out
    assert "received: 4  indexed: 3  already present: 0  flagged: 0  dead lettered: 1  pending: 0" in out
    assert forwarder.count() == 3
    [dead] = forwarder.dead_letters("documents")
    assert dead["line"] == rejected and dead["status"] == 400 and "mapper_parsing_exception" in dead["reason"]
    # the template came before the first document: the daily index has our mapping, not a dynamic one
    mapping = forwarder.client.indices.get_mapping(index=f"{forwarder.prefix}-*")
    for index in mapping.values():
        properties = index["mappings"]["properties"]
        assert properties["@timestamp"]["type"] == "date_nanos" and properties["client"]["type"] == "keyword"


def test_scheduled_lambda_entry_with_indexing(
    emulator: LogFileEmulator, archive: str, forwarder: Forwarder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduled function as the stack configures it (`rdsaudit:exportInstances`, `rdsaudit:exportIndex`)."""
    from handler import app

    emulator.write(INSTANCE, audit_lines(20, seed=9))
    for name, value in {
        "RDSAUDIT_EXPORT_BUCKET": archive,
        "RDSAUDIT_EXPORT_INSTANCES": INSTANCE,
        "RDSAUDIT_EXPORT_PREFIX": "",
        "RDSAUDIT_EXPORT_INDEX": "true",
    }.items():
        monkeypatch.setenv(name, value)
    with recording("exporter"):
        first = app.export_handler({}, None)
        again = app.export_handler({}, None)
    assert first["results"][0]["objects"] == 1 and again["results"][0]["objects"] == 0
    assert forwarder.count() == 20


def rds_client(url: str, **kw: Any) -> Any:
    return boto3.client("rds", endpoint_url=url, region_name="us-east-1", **kw)


def error_of(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["ResponseMetadata"]["HTTPStatusCode"], raised.value.response["Error"]["Code"]


def test_emulator_refuses_what_rds_refuses(emulator: LogFileEmulator) -> None:
    """The emulator's refusals (its docstring cites the RDS API Reference for each), seen through botocore as
    rdsaudit sees them."""
    emulator.write(INSTANCE, audit_lines(3, seed=1))
    rds = rds_client(emulator.url)
    assert rds.describe_db_log_files(DBInstanceIdentifier=INSTANCE)["DescribeDBLogFiles"]
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):  # botocore reads RDS's error shape
        rds.describe_db_log_files(DBInstanceIdentifier="no-such-instance")
    assert error_of(lambda: rds.describe_db_log_files(DBInstanceIdentifier="no-such-instance")) == (
        404,
        "DBInstanceNotFound",
    )
    portion = functools.partial(rds.download_db_log_file_portion, DBInstanceIdentifier=INSTANCE)
    assert error_of(lambda: portion(LogFileName="audit/server_audit.log", Marker="not-a-marker")) == (
        400,
        "InvalidParameterValue",
    )
    with pytest.raises(rds.exceptions.DBLogFileNotFoundFault):
        portion(LogFileName="audit/no-such-file.log")
    unsigned = rds_client(emulator.url, config=Config(signature_version=UNSIGNED))
    assert error_of(lambda: unsigned.describe_db_log_files(DBInstanceIdentifier=INSTANCE)) == (
        403,
        "MissingAuthenticationToken",
    )
    wrong_secret = rds_client(emulator.url, aws_access_key_id="testing", aws_secret_access_key="not-the-secret")
    assert error_of(lambda: wrong_secret.describe_db_log_files(DBInstanceIdentifier=INSTANCE)) == (
        403,
        "SignatureDoesNotMatch",
    )
    wrong_key = rds_client(emulator.url, aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key="testing")
    assert error_of(lambda: wrong_key.describe_db_log_files(DBInstanceIdentifier=INSTANCE)) == (
        403,
        "InvalidClientTokenId",
    )


def test_emulator_refuses_requests_whose_signature_is_incomplete_or_not_theirs(emulator: LogFileEmulator) -> None:
    emulator.write(INSTANCE, audit_lines(3, seed=1))
    credentials = boto3.Session().get_credentials().get_frozen_credentials()
    body = urlencode({"Action": "DescribeDBLogFiles", "Version": "2014-10-31", "DBInstanceIdentifier": INSTANCE})

    def post(data: str, drop: str = "") -> tuple[int, str]:
        signed = AWSRequest(method="POST", url=emulator.url + "/", data=body.encode(), headers=FORM)
        SigV4Auth(credentials, "rds", "us-east-1").add_auth(signed)
        headers = {k: v for k, v in signed.headers.items() if k.lower() != drop}
        request = urllib.request.Request(emulator.url + "/", data=data.encode(), method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, ""
        except urllib.error.HTTPError as e:
            return e.code, ElementTree.fromstring(e.read()).findtext(f"{{{NS}}}Error/{{{NS}}}Code") or ""

    assert post(body) == (200, "")  # the same request, as signed: accepted
    assert post(body, drop="x-amz-date") == (403, "IncompleteSignature")
    assert post(body, drop="authorization") == (403, "MissingAuthenticationToken")
    assert post(body.replace(INSTANCE, "other-1")) == (403, "SignatureDoesNotMatch")  # a body it did not sign


def test_export_of_an_unknown_instance_is_one_line(emulator: LogFileEmulator, archive: str, capsys: Any) -> None:
    assert main(["export", "--instance", "no-such-instance", "--bucket", archive]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DBInstanceNotFound" in err[0] and "no-such-instance" in err[0], err
