"""Argument parsing and the one error boundary. Exit codes: 0 done, 1 the command could not finish, 2 a wrong
command line or setting, 130 interrupted (Ctrl-C). A closed output pipe (`rdsaudit parse FILE | head`) ends
quietly with 0. A traceback only with --debug or LOG_LEVEL=DEBUG."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from handler.cli import backfill, detect, export, parse, replay, sessions, setup
from handler.explain import FAILED, INTERRUPTED, USAGE, describe
from handler.report import command as report

COMMANDS = (parse, backfill, replay, setup, export, report, sessions, detect)


class _Parser(argparse.ArgumentParser):
    """Usage mistakes in one line, with where to look, instead of argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(USAGE)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from handler import __version__

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's own default must not undo `rdsaudit --debug <command>`
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback too")
    parser = _Parser(
        prog="rdsaudit",
        description="RDS and Aurora MySQL audit logs into OpenSearch. Settings come from the environment "
        "(OPENSEARCH_URL, OPENSEARCH_AUTH, RDSAUDIT_INDEX_PREFIX, …: see the README's configuration table).",
        epilog="exit codes: 0 done, 1 could not finish, 2 wrong command line or setting, 130 interrupted",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure after its message")
    parser.add_argument("--version", action="version", version=f"rdsaudit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub, common)
    return parser, dict(sub.choices)


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        _unrecognized(commands[args.command], extras)
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
        if not message:
            message = f"unexpected {type(e).__name__}: {str(e)[:300]} (run with --debug for the traceback)"
            code = FAILED
        print(f"{name}: {message}", file=sys.stderr)
        if _debug(args, settings):
            raise  # the line first, then the traceback
        return code


def _unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> NoReturn:
    """The subcommand's own error, with a guess: `--sinse` → did you mean --since?"""
    import difflib

    options = [o for action in parser._actions for o in action.option_strings]
    guesses = [m for e in extras if e.startswith("-") for m in difflib.get_close_matches(e.split("=")[0], options, 1)]
    hint = f"; did you mean {' '.join(guesses)}?" if guesses else ""
    parser.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def _debug(args: argparse.Namespace, settings: Any) -> bool:
    return bool(args.debug or (settings is not None and settings.log_level == "DEBUG"))


def _quiet_stdout() -> None:
    """The reader went away: send what is still buffered nowhere, so the interpreter's exit stays silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
