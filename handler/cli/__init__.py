"""`rdsaudit`: parse, backfill, replay, setup and export from the command line."""

from handler.cli.main import main

__all__ = ["main"]
