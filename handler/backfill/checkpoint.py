"""Where a backfill remembers its progress: finished objects, and how far it got inside unfinished ones.

A local run keeps one JSON manifest file (written atomically by the one process that owns it). The Lambda path
keeps one small S3 object per source object, so concurrent invocations never write the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from handler.errors import access_denied

if TYPE_CHECKING:
    from handler.backfill.process import BackfillOptions


@dataclass(frozen=True, slots=True)
class Progress:
    version: str  # the object's ETag or mtime when the progress was recorded
    position: int  # events of the object fully handled (written, present, dead-lettered or outside the window)
    done: bool
    indices: dict[str, int] = field(default_factory=dict)  # documents known present, per index, from this object


class Checkpoint(Protocol):
    def get(self, uri: str) -> Progress | None: ...

    def put(self, uri: str, progress: Progress) -> None: ...

    def flush(self) -> None: ...


class LocalManifest:
    """One JSON file for a whole run, valid only for the run it was written for: `identity` names everything that
    decides what a run writes (sources, endpoint, index prefix, window, options). A manifest written for another
    identity is not used (`stale` says why)."""

    def __init__(self, path: str | os.PathLike[str], identity: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.identity = identity or {}
        self._objects: dict[str, dict[str, Any]] = {}
        self.stale = ""
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            recorded = data.get("identity", {})
            if identity is not None and recorded != identity:
                differs = sorted(k for k in set(recorded) | set(identity) if recorded.get(k) != identity.get(k))
                self.stale = f"written for another run ({', '.join(differs) or 'format'} differs)"
            else:
                self._objects = dict(data.get("objects", {}))

    def get(self, uri: str) -> Progress | None:
        entry = self._objects.get(uri)
        if entry is None:
            return None
        indices = {str(k): int(v) for k, v in entry.get("indices", {}).items()}
        return Progress(str(entry["version"]), int(entry["position"]), bool(entry["done"]), indices)

    def put(self, uri: str, progress: Progress) -> None:
        self._objects[uri] = {
            "version": progress.version,
            "position": progress.position,
            "done": progress.done,
            "indices": progress.indices,
        }

    def forget(self, uri: str) -> None:
        self._objects.pop(uri, None)

    def uris(self) -> list[str]:
        return list(self._objects)

    def flush(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".checkpoint-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 2, "identity": self.identity, "objects": self._objects}, f, indent=1, sort_keys=True)
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
        indices = {str(k): int(v) for k, v in entry.get("indices", {}).items()}
        return Progress(str(entry["version"]), int(entry["position"]), bool(entry["done"]), indices)

    def put(self, uri: str, progress: Progress) -> None:
        entry = {
            "uri": uri,
            "version": progress.version,
            "position": progress.position,
            "done": progress.done,
            "indices": progress.indices,
        }
        self._s3().put_object(Bucket=self.bucket, Key=self._key(uri), Body=json.dumps(entry).encode())

    def flush(self) -> None:
        return None


def run_identity(
    sources: list[str], options: BackfillOptions, *, endpoint: str, index_prefix: str, mask: bool
) -> dict[str, Any]:
    """Everything that decides what a backfill writes: a rerun with any of it changed is another run."""
    resolved = sorted(s if s.startswith("s3://") else str(Path(s).resolve()) for s in sources)
    return {
        "sources": resolved,
        "endpoint": endpoint,
        "index_prefix": index_prefix,
        "since": options.since,
        "until": options.until,
        "log_group": options.log_group,
        "mask": mask,
    }


def default_manifest_path(cache_dir: str, identity: dict[str, Any]) -> Path:
    """The same run finds the same manifest; another run (other prefix, window, endpoint, …) another one."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_dir).expanduser() / "rdsaudit" / "backfill" / f"{digest}.json"


def open_checkpoint(location: str, identity: dict[str, Any] | None = None, s3: Any = None) -> Checkpoint:
    if location.startswith("s3://"):
        return S3Checkpoints(location, s3)
    return LocalManifest(location, identity)
