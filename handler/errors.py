"""The exception types callers act on. Each carries a message for people and the command line's exit code."""

from __future__ import annotations


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
