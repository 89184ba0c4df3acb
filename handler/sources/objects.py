"""Backfill sources: list objects under s3://bucket/prefix or a local path, and open them as byte streams."""

from __future__ import annotations

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


def list_objects(source: str, s3: Any = None) -> Iterator[ObjectRef]:
    if source.startswith("s3://"):
        bucket, prefix = split_s3_uri(source)
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
    if not root.exists():
        raise FileNotFoundError(2, "No such file or directory", source)
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in paths:
        yield local_ref(str(path))


def open_object(ref: ObjectRef, s3: Any = None) -> IO[bytes]:
    if ref.uri.startswith("s3://"):
        bucket, key = split_s3_uri(ref.uri)
        body: IO[bytes] = s3.get_object(Bucket=bucket, Key=key)["Body"]
        return body
    return open(ref.uri, "rb")


def targets_from_event(event: Any) -> list[tuple[str, str]]:
    """(bucket, key) pairs named by a backfill invocation: an S3 event notification, an EventBridge "Object
    Created" event, or one Step Functions Distributed Map item ({"Bucket"/"bucket", "Key"/"key"})."""
    from urllib.parse import unquote_plus

    if not isinstance(event, dict):
        raise ValueError("backfill event must be a JSON object")
    if isinstance(event.get("Records"), list):
        # keys in S3 notifications are URL-encoded, spaces as '+'
        return [(r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"])) for r in event["Records"]]
    detail = event.get("detail")
    if isinstance(detail, dict) and "bucket" in detail:
        return [(detail["bucket"]["name"], detail["object"]["key"])]
    bucket = event.get("Bucket", event.get("bucket"))
    key = event.get("Key", event.get("key"))
    if isinstance(bucket, str) and isinstance(key, str):
        return [(bucket, key)]
    raise ValueError("backfill event names no object: expected S3 Records, an EventBridge detail, or Bucket and Key")


def head_object(bucket: str, key: str, s3: Any = None) -> ObjectRef:
    info = s3.head_object(Bucket=bucket, Key=key)
    return ObjectRef(
        uri=f"s3://{bucket}/{key}",
        size=int(info["ContentLength"]),
        version=str(info.get("ETag", "")).strip('"'),
        last_modified_ms=int(info["LastModified"].timestamp() * 1000),
    )


def local_ref(path: str) -> ObjectRef:
    """A local file as backfill lists it (same uri, key and time), so `parse FILE` and a backfill agree."""
    from handler.errors import InputError

    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path} is a directory: parse reads one file (backfill reads directories)")
    st = p.stat()  # FileNotFoundError names the path
    return ObjectRef(str(p.resolve()), st.st_size, f"{st.st_size}-{st.st_mtime_ns}", int(st.st_mtime * 1000))
