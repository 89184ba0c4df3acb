"""Backfill sources: list objects under s3://bucket/prefix or a local path, and open them as byte streams."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True, slots=True)
class ObjectRef:
    uri: str  # s3://bucket/key or an absolute local path
    size: int
    version: str  # ETag or mtime: a changed object is started over
    last_modified_ms: int

    @property
    def key(self) -> str:
        """The S3 key, or the local path: the layout rules read it."""
        if self.uri.startswith("s3://"):
            return self.uri[5:].split("/", 1)[1] if "/" in self.uri[5:] else ""
        return self.uri


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_client() -> Any:
    import boto3  # honours AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_S3) since botocore 1.31

    return boto3.client("s3")


def list_objects(source: str, s3: Any = None) -> Iterator[ObjectRef]:
    if source.startswith("s3://"):
        bucket, prefix = split_s3_uri(source)
        s3 = s3 or s3_client()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                yield ObjectRef(
                    uri=f"s3://{bucket}/{item['Key']}",
                    size=int(item["Size"]),
                    version=str(item.get("ETag", "")).strip('"'),
                    last_modified_ms=int(item["LastModified"].timestamp() * 1000),
                )
        return
    root = Path(source)
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    if not root.exists():
        raise FileNotFoundError(f"no such file or directory: {source}")
    for path in paths:
        st = path.stat()
        yield ObjectRef(str(path.resolve()), st.st_size, f"{st.st_size}-{st.st_mtime_ns}", int(st.st_mtime * 1000))


def open_object(ref: ObjectRef, s3: Any = None) -> IO[bytes]:
    if ref.uri.startswith("s3://"):
        bucket, key = split_s3_uri(ref.uri)
        body: IO[bytes] = (s3 or s3_client()).get_object(Bucket=bucket, Key=key)["Body"]
        return body
    return open(ref.uri, "rb")


def is_local(source: str) -> bool:
    return not source.startswith("s3://") and os.path.exists(source)
