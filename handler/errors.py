"""The exception types callers act on. Each carries a message for people and the command line's exit code."""

from __future__ import annotations

from typing import Any


class RdsAuditError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


class ConfigError(RdsAuditError):
    """A setting is missing or invalid; the message names the variable and what is allowed."""

    exit_code = 2


class UsageError(RdsAuditError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = 2


class InputError(RdsAuditError):
    """An input named on the command line does not exist or cannot be read as what it should be."""


class NotAuditLog(InputError):
    """Most of the first lines of an input are not audit lines (binary data, source code): stop before indexing
    thousands of parse failures."""


class DecodeError(RdsAuditError):
    """An input payload cannot be decoded; it is dead-lettered whole."""


class IncompleteWrite(RdsAuditError):
    """Documents could not be written in the time or attempts allowed, or the cluster refused the request
    outright; the invocation raises so Lambda redelivers (safe: document ids are idempotent)."""

    def __init__(self, pending: int, reason: str) -> None:
        super().__init__(f"{pending} documents not written: {reason}")
        self.pending = pending
        self.reason = reason


class DeadLetterError(RdsAuditError):
    """The dead-letter store could not be written; the invocation must fail so nothing is lost."""


class Interrupted(RdsAuditError):
    """Ctrl-C: the message says how far the command got and how to go on."""

    exit_code = 130


class UnsupportedEngine(ConfigError):
    """The cluster runs an engine or version rdsaudit cannot write to; the message names what was found and the
    oldest version supported."""


class MissingPermission(ConfigError):
    """AWS refused a call the deployment must allow: the message names the resource and the permission to grant.
    Retrying cannot help, and it is never read as "not there" (S3 answers 403, not 404, for a missing key when the
    caller lacks s3:ListBucket)."""


class TransientError(RdsAuditError):
    """A dependency is briefly unavailable or throttling (e.g. KMS) and stayed so within the time allowed: the
    input is retried later (a batch item failure), never dead-lettered."""


def access_denied(error: Any, bucket: str, key: str, prefix: str) -> Exception:
    """A 403 on an object the caller expects to read: a missing permission, never "not there yet". Other errors
    are returned unchanged for the caller to raise."""
    answer = getattr(error, "response", {}) or {}
    code = answer.get("Error", {}).get("Code")
    if code != "AccessDenied" and answer.get("ResponseMetadata", {}).get("HTTPStatusCode") != 403:
        return error  # type: ignore[no-any-return]
    scope = f" with an s3:prefix condition matching {prefix!r}" if prefix else ""
    return MissingPermission(
        f"AccessDenied reading s3://{bucket}/{key}: the role needs s3:GetObject on it and s3:ListBucket on bucket "
        f"{bucket}{scope} (without s3:ListBucket, S3 answers 403 instead of 404 for a key that does not exist yet)"
    )
