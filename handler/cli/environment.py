"""Settings and the runtime for a command: the environment, with the command's own overrides."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from handler.config import Settings, valid_index_prefix
from handler.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from handler.runtime import Runtime


def settings_for(args: argparse.Namespace) -> Settings:
    """Read once per command and kept on `args`, so the error boundary can name the endpoint in its messages."""
    settings = Settings.from_env()
    prefix = getattr(args, "index_prefix", None)
    if prefix:
        if not valid_index_prefix(prefix):
            raise ConfigError(
                f"--index-prefix {prefix!r} is not a valid index prefix: lowercase letters, digits, '_', '.', '+' "
                "or '-', not starting with a symbol"
            )
        settings = settings._replace(index_prefix=prefix)
    args.settings = settings
    return settings


def runtime_for(args: argparse.Namespace) -> Runtime:
    from handler.logs import configure_logging, log_to_stderr
    from handler.runtime import build_runtime

    settings = getattr(args, "settings", None) or settings_for(args)
    configure_logging("DEBUG" if getattr(args, "debug", False) else settings.log_level)
    log_to_stderr()
    return build_runtime(settings)


def time_arg(text: str) -> str:
    """An ISO 8601 date or time (UTC unless it says otherwise) → the sortable form the backfill compares."""
    from handler.backfill.process import sortable_time

    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r} (e.g. 2024-01-31T12:00)") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return sortable_time(dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)
