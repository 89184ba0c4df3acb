"""Where what cannot be indexed is kept, with the reason: an S3 bucket in Lambda, a directory locally.

Objects are named by the batch they came from, so a redelivered batch overwrites its own dead letters instead of
adding copies. Never talks to OpenSearch.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

from handler.errors import DeadLetterError
from handler.model import Context, Rejection
from handler.transforms.sql_secrets import mask_raw_line as mask_line


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


def rejection_record(rejection: Rejection, ctx: Context, family: str, *, mask: bool = True) -> dict[str, Any]:
    """A document OpenSearch refused. Replay writes `document` under `index` and `id` as they are, so the record
    needs no raw line: `line` is kept for people to read, masked like the document."""
    action = rejection.action
    record = {
        "kind": "document",
        "family": family,
        "reason": error_reason(rejection.error, mask),
        "status": rejection.status,
        "error": masked_strings(rejection.error, mask),  # OpenSearch may quote the offending value
        "index": action.index_name,
        "id": action.doc_id,
        "document": action.document(),
        "line": mask_line(action.line) if mask else action.line,
        "event_ms": action.event_ms,
    }
    record.update({k: v for k, v in ctx._asdict().items() if v})
    return record


def payload_record(event: Any, reason: str, *, mask: bool = True) -> dict[str, Any]:
    """A whole event that could not be decoded, with every readable string masked: what could not be parsed may
    still hold a statement with a password."""
    return {"kind": "payload", "reason": reason, "event": _masked_event(event) if mask else event}


def error_reason(error: Any, mask: bool = True) -> str:
    """OpenSearch's error in one line; masked, since it may quote the rejected value."""
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            reason += f" (caused by {cause.get('type', '')}: {cause.get('reason', '')})"
    else:
        reason = str(error)
    return mask_line(reason) if mask else reason


def masked_strings(value: Any, mask: bool = True) -> Any:
    """Every string inside `value` masked (a dead letter may hold any shape of input)."""
    if not mask:
        return value
    if isinstance(value, str):
        return mask_line(value)
    if isinstance(value, dict):
        return {k: masked_strings(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [masked_strings(v, mask) for v in value]
    return value


def _masked_event(event: Any) -> Any:
    """The event with its strings masked. When `awslogs.data` decodes (base64, gzip), its content is masked and
    encoded again the same way, so a replay sees the same shape; bytes that do not even gunzip stay as they are
    (no reader, ours included, can see a statement in them)."""
    import base64
    import binascii
    import gzip
    import zlib

    masked = masked_strings(event, True)
    awslogs = event.get("awslogs") if isinstance(event, dict) else None
    data = awslogs.get("data") if isinstance(awslogs, dict) else None
    if not isinstance(data, str):
        return masked
    try:
        text = gzip.decompress(base64.b64decode(data, validate=True)).decode("utf-8", "replace")
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error):
        return {**masked, "awslogs": {**masked["awslogs"], "data": data}}
    try:
        content = json.dumps(masked_strings(json.loads(text), True), ensure_ascii=False)
    except ValueError:
        content = mask_line(text)
    encoded = base64.b64encode(gzip.compress(content.encode("utf-8", "surrogatepass"))).decode("ascii")
    return {**masked, "awslogs": {**masked["awslogs"], "data": encoded}}


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
    def __init__(self, url: str, client: Callable[[], Any]) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._s3 = client  # called when needed: boto3 stays off the cold path, dead letters are rare

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


def dead_letter_store(location: str, s3: Callable[[], Any]) -> DeadLetterStore:
    """`s3` gives the S3 client when one is first needed."""
    if location.startswith("s3://"):
        return S3DeadLetters(location, s3)
    return LocalDeadLetters(location)
