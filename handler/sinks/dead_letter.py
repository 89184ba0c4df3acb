"""Where what cannot be indexed is kept, with the reason: an S3 bucket in Lambda, a directory locally.

Objects are named by the batch they came from, so a redelivered batch overwrites its own dead letters instead of
adding copies. Never talks to OpenSearch.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

from handler.errors import DeadLetterError


class DeadLetterStore(Protocol):
    def write(self, kind: str, key: str, records: list[dict[str, Any]]) -> str:
        """Store records (JSON lines) under kind/date/key; return where they went."""
        ...

    def locations(self, kind: str) -> Iterator[str]:
        """Every stored object of one kind ("documents" or "payloads")."""
        ...

    def read(self, location: str) -> list[dict[str, Any]]: ...

    def rewrite(self, location: str, records: list[dict[str, Any]]) -> None:
        """Keep only `records` at `location`; remove it when none are left (after a replay)."""
        ...


def _ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(r, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass") + b"\n" for r in records
    )


def _records(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def _name(kind: str, key: str) -> str:
    return f"{kind}/{time.strftime('%Y-%m-%d', time.gmtime())}/{key}.ndjson"


class LocalDeadLetters:
    """For local runs. (pathlib and tempfile are imported here, off the Lambda cold path.)"""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        from pathlib import Path

        self.directory: Path = Path(directory)

    def write(self, kind: str, key: str, records: list[dict[str, Any]]) -> str:
        import tempfile

        path = self.directory / _name(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(_ndjson(records))
            os.replace(tmp, path)
        except OSError as e:
            raise DeadLetterError(f"cannot write dead letters to {path}: {e}") from e
        return str(path)

    def locations(self, kind: str) -> Iterator[str]:
        yield from (str(p) for p in sorted((self.directory / kind).glob("*/*.ndjson")))

    def read(self, location: str) -> list[dict[str, Any]]:
        with open(location, "rb") as f:
            return _records(f.read())

    def rewrite(self, location: str, records: list[dict[str, Any]]) -> None:
        import tempfile
        from pathlib import Path

        path = Path(location)
        if not records:
            path.unlink(missing_ok=True)
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(_ndjson(records))
        os.replace(tmp, path)


class S3DeadLetters:
    def __init__(self, url: str, client: Any = None) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    def _s3(self) -> Any:
        if self._client is None:
            import boto3  # off the cold path: dead letters are rare

            self._client = boto3.client("s3")
        return self._client

    def write(self, kind: str, key: str, records: list[dict[str, Any]]) -> str:
        name = _name(kind, key)
        object_key = f"{self.prefix}/{name}" if self.prefix else name
        try:
            self._s3().put_object(
                Bucket=self.bucket, Key=object_key, Body=_ndjson(records), ContentType="application/x-ndjson"
            )
        except Exception as e:  # botocore raises many types; every one means the dead letter is not stored
            raise DeadLetterError(f"cannot write dead letters to s3://{self.bucket}/{object_key}: {e}") from e
        return f"s3://{self.bucket}/{object_key}"

    def locations(self, kind: str) -> Iterator[str]:
        prefix = f"{self.prefix}/{kind}/" if self.prefix else f"{kind}/"
        for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith(".ndjson"):
                    yield f"s3://{self.bucket}/{item['Key']}"

    def read(self, location: str) -> list[dict[str, Any]]:
        key = location.removeprefix(f"s3://{self.bucket}/")
        return _records(self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def rewrite(self, location: str, records: list[dict[str, Any]]) -> None:
        key = location.removeprefix(f"s3://{self.bucket}/")
        if not records:
            self._s3().delete_object(Bucket=self.bucket, Key=key)
        else:
            self._s3().put_object(
                Bucket=self.bucket, Key=key, Body=_ndjson(records), ContentType="application/x-ndjson"
            )


def dead_letter_store(location: str) -> DeadLetterStore:
    if location.startswith("s3://"):
        return S3DeadLetters(location)
    return LocalDeadLetters(location)
