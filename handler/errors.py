"""The exception types callers act on."""

from __future__ import annotations


class RdsAuditError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(RdsAuditError):
    """A setting is missing or invalid; the message names the variable and what is allowed."""


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


class UnsupportedEngine(ConfigError):
    """The cluster runs an engine or version rdsaudit cannot write to; the message names what was found and the
    oldest version supported."""
