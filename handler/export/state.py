"""Per-instance export state in one S3 object, written with a conditional write so that two overlapping runs
cannot both advance it. Files are known by the digest of their first line: rotation renames them, it does not
change what they hold."""

from __future__ import annotations

import json
from typing import Any

from handler.errors import access_denied


class ConcurrentRun(Exception):
    """Another export advanced this instance's state since it was read."""


class ExportState:
    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.etag: str | None = None
        self.files: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, Any] | None = None

    def load(self) -> ExportState:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except self.s3.exceptions.NoSuchKey:
            return self
        except self.s3.exceptions.ClientError as e:
            prefix = self.key.rsplit("/", 1)[0] + "/" if "/" in self.key else ""
            raise access_denied(e, self.bucket, self.key, prefix) from None
        data = json.loads(obj["Body"].read())
        self.etag = obj["ETag"]
        self.files, self.pending = data.get("files", {}), data.get("pending")
        return self

    def save(self) -> None:
        body = json.dumps({"version": 1, "files": self.files, "pending": self.pending}, sort_keys=True).encode()
        condition = {"IfMatch": self.etag} if self.etag else {"IfNoneMatch": "*"}
        try:
            answer = self.s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=body,  # encrypted with the bucket's default key (the stack's archive key)
                ContentType="application/json",
                **condition,
            )
        except self.s3.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise ConcurrentRun(f"s3://{self.bucket}/{self.key} changed since it was read") from None
            raise
        self.etag = answer["ETag"]
