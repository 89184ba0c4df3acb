"""The RDS log-file API: listing audit files and downloading them, streamed.

Downloads prefer the complete-file REST endpoint (SigV4-signed by botocore with the caller's own credentials) and
fall back to DownloadDBLogFilePortion paging; a page cut at the 1 MB limit is fetched again in fewer lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import quote

TRUNCATED = "[Your log message was truncated]"
AUDIT_PREFIXES = ("audit/server_audit.log", "audit/audit.log")


class LogFile(NamedTuple):
    name: str
    size: int
    last_written: int  # epoch ms


class FileGone(Exception):
    """The file was rotated away between the listing and the download."""


def list_audit_files(rds: Any, instance: str) -> list[LogFile]:
    files = []
    for page in rds.get_paginator("describe_db_log_files").paginate(
        DBInstanceIdentifier=instance, FilenameContains="audit"
    ):
        for d in page.get("DescribeDBLogFiles", []):
            if d["LogFileName"].startswith(AUDIT_PREFIXES):
                files.append(LogFile(d["LogFileName"], int(d.get("Size", 0)), int(d.get("LastWritten", 0))))
    # oldest first, so a file is finished before the one rotated after it is started
    return sorted(files, key=lambda f: (f.last_written, f.name))


def signed_complete_file_request(
    endpoint: str, region: str, credentials: Any, instance: str, name: str
) -> tuple[str, dict[str, str]]:
    """URL and headers of the complete-file download, signed with botocore's SigV4 signer (service rds) and the
    caller's own (temporary) credentials."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    url = f"{endpoint.rstrip('/')}/v13/downloadCompleteLogFile/{quote(instance)}/{quote(name)}"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(credentials.get_frozen_credentials(), "rds", region).add_auth(request)
    return url, dict(request.headers.items())


def download_complete(rds: Any, credentials: Any, instance: str, name: str, pool: Any = None) -> Iterator[bytes] | None:
    """The file's bytes in pieces, or None when the endpoint is not available (then page instead)."""
    import urllib3

    url, headers = signed_complete_file_request(
        rds.meta.endpoint_url, rds.meta.region_name, credentials, instance, name
    )
    pool = pool or urllib3.PoolManager()
    response = pool.request("GET", url, headers=headers, preload_content=False, retries=False, timeout=60.0)
    if response.status == 404:
        response.release_conn()
        raise FileGone(name)
    if response.status != 200:
        response.release_conn()
        return None

    def pieces() -> Iterator[bytes]:
        try:
            yield from response.stream(1 << 20)
        finally:
            response.release_conn()

    return pieces()


def download_portions(rds: Any, instance: str, name: str, lines: int = 10_000) -> Iterator[bytes]:
    marker = "0"
    while True:
        n = lines
        while True:
            try:
                page = rds.download_db_log_file_portion(
                    DBInstanceIdentifier=instance, LogFileName=name, Marker=marker, NumberOfLines=n
                )
            except rds.exceptions.DBLogFileNotFoundFault:
                raise FileGone(name) from None
            data = page.get("LogFileData") or ""
            if TRUNCATED in data[-len(TRUNCATED) - 4 :] and n > 1:
                n = max(1, n // 2)  # never keep a cut page: ask again for fewer lines
                continue
            break
        if data:
            yield data.encode("utf-8")
        if not page.get("AdditionalDataPending") or page.get("Marker") in (None, marker):
            return
        marker = page["Marker"]


def download(rds: Any, credentials: Any, instance: str, name: str, *, complete_file: bool = True) -> Iterator[bytes]:
    complete = download_complete(rds, credentials, instance, name) if complete_file else None
    return complete if complete is not None else download_portions(rds, instance, name)
