"""Builds the optional compiled scanner of audit lines (`_scan.c`) next to its source, with the C compiler Python
itself was built with; nothing else changes: `parse_line` uses it when it imports, the pure-Python parser when it
does not (the Lambda package ships without it).

    python -m handler.transforms.accelerator          # build in place
    python -m handler.transforms.accelerator --remove  # back to pure Python
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

SOURCE = Path(__file__).with_name("_scan.c")


def target(directory: Path = SOURCE.parent) -> Path:
    return directory / ("_scan" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def build(directory: Path = SOURCE.parent) -> Path:
    """Compile `_scan.c` into `directory`; raises CalledProcessError (with the compiler's output) when it fails."""
    out = target(directory)
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    flags = ["-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-I", sysconfig.get_paths()["include"]]
    # The compiler Python was built with, on our own source: no outside input reaches this command.
    command = [*compiler, *flags, str(SOURCE), "-o", str(out)]
    subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    return out


def main(argv: list[str]) -> int:
    if "--remove" in argv:
        target().unlink(missing_ok=True)
        return 0
    try:
        print(build())
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"could not build the scanner ({e}): the pure-Python parser stays in use", file=sys.stderr)
        print(getattr(e, "stderr", "") or "", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
