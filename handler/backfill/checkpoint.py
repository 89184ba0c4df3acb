"""Where a backfill remembers its progress: finished objects, and how far it got inside unfinished ones.

A local run keeps one JSON manifest file (written atomically by the one process that owns it). The Lambda path
keeps one small S3 object per source object, so concurrent invocations never write the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from handler.errors import access_denied


@dataclass(frozen=True, slots=True)
class Progress:
    version: str  # the object's ETag or mtime when the progress was recorded
    position: int  # events of the object fully written (indexed, present or dead-lettered)
    done: bool


class Checkpoint(Protocol):
    def get(self, uri: str) -> Progress | None: ...

    def put(self, uri: str, progress: Progress) -> None: ...

    def flush(self) -> None: ...


class LocalManifest:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._objects: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._objects = dict(data.get("objects", {}))

    def get(self, uri: str) -> Progress | None:
        entry = self._objects.get(uri)
        if entry is None:
            return None
        return Progress(str(entry["version"]), int(entry["position"]), bool(entry["done"]))

    def put(self, uri: str, progress: Progress) -> None:
        self._objects[uri] = {"version": progress.version, "position": progress.position, "done": progress.done}

    def flush(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".checkpoint-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "objects": self._objects}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


class S3Checkpoints:
    """One object per source object under s3://bucket/prefix; each put is written at once."""

    def __init__(self, url: str, client: Any = None) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._client = client

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _key(self, uri: str) -> str:
        name = hashlib.sha256(uri.encode()).hexdigest()[:32] + ".json"
        return f"{self.prefix}/{name}" if self.prefix else name

    def get(self, uri: str) -> Progress | None:
        s3 = self._s3()
        key = self._key(uri)
        try:
            body = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        except s3.exceptions.ClientError as e:
            raise access_denied(e, self.bucket, key, f"{self.prefix}/" if self.prefix else "") from None
        entry = json.loads(body)
        return Progress(str(entry["version"]), int(entry["position"]), bool(entry["done"]))

    def put(self, uri: str, progress: Progress) -> None:
        entry = {"uri": uri, "version": progress.version, "position": progress.position, "done": progress.done}
        self._s3().put_object(Bucket=self.bucket, Key=self._key(uri), Body=json.dumps(entry).encode())

    def flush(self) -> None:
        return None


def default_manifest_path(sources: list[str]) -> Path:
    """The same command finds the same manifest."""
    digest = hashlib.sha256("\n".join(sorted(sources)).encode()).hexdigest()[:16]
    return Path(f".rdsaudit-backfill-{digest}.json")


def open_checkpoint(location: str) -> Checkpoint:
    if location.startswith("s3://"):
        return S3Checkpoints(location)
    return LocalManifest(location)
