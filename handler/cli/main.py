"""Argument parsing and the one error boundary. Exit codes: 0 done, 1 the command could not finish, 2 a wrong
command line or setting, 130 interrupted (Ctrl-C). A closed output pipe (`rdsaudit parse FILE | head`) ends
quietly with 0. A traceback only with --debug or LOG_LEVEL=DEBUG."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from handler.cli import backfill, export, parse, replay, setup
from handler.explain import FAILED, INTERRUPTED, USAGE, describe
from handler.report import command as report

COMMANDS = (parse, backfill, replay, setup, export, report)


class _Parser(argparse.ArgumentParser):
    """Usage mistakes in one line, with where to look, instead of argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(USAGE)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    parser = _Parser(prog="rdsaudit", description="RDS and Aurora MySQL audit logs into OpenSearch")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.add(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = f"rdsaudit {args.command}"
    try:
        code: int = args.run(args)
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as e:
        settings = getattr(args, "settings", None)
        message, code = describe(e, settings)
        if _debug(args, settings):
            raise
        if not message:
            message = f"unexpected {type(e).__name__}: {str(e)[:300]} (run with --debug for the traceback)"
            code = FAILED
        print(f"{name}: {message}", file=sys.stderr)
        return code


def _debug(args: argparse.Namespace, settings: Any) -> bool:
    return bool(args.debug or (settings is not None and settings.log_level == "DEBUG"))


def _quiet_stdout() -> None:
    """The reader went away: send what is still buffered nowhere, so the interpreter's exit stays silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
