"""Ids, index names and documents stay byte-identical to those pinned before the transform was made faster
(tests/events/pinned.py says why the fixture is never regenerated to make these pass)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handler.cli import main
from tests.events import pinned

PINNED = pinned.load()


def _first_difference(actual: list[list[Any]], expected: list[list[Any]]) -> str:
    for i, (a, e) in enumerate(zip(actual, expected, strict=False)):
        if a != e:
            return f"record {i} (line {PINNED['lines'][i]!r}):\n  expected {e}\n  actual   {a}"
    return f"{len(actual)} records, expected {len(expected)}"


def test_file_run_is_byte_identical() -> None:
    events, ctx, options = pinned.runs(PINNED["lines"], PINNED["events"])["file"]
    actual = pinned.transform(events, ctx, options)
    assert actual == PINNED["file"], _first_difference(actual, PINNED["file"])


@pytest.mark.parametrize("name", ["cloudwatch", "unmasked"])
def test_other_runs_are_byte_identical(name: str) -> None:
    events, ctx, options = pinned.runs(PINNED["lines"], PINNED["events"])[name]
    assert pinned.digest(pinned.transform(events, ctx, options)) == PINNED[name]


def pinned_file(tmp_path: Path) -> Path:
    """The pinned lines as a raw audit file of the instance the file run names."""
    path = tmp_path / "RDS" / "pin-instance" / "audit" / "audit.log"
    path.parent.mkdir(parents=True)
    path.write_bytes("".join(line + "\n" for line in PINNED["lines"]).encode())
    return path


def expected_parse_output() -> bytes:
    return b"".join(
        b'{"index":"%s","id":"%s","doc":%s}\n' % (index.encode(), doc_id.encode(), doc.encode())
        for index, doc_id, doc in PINNED["file"]
    )


def test_parse_output_is_byte_identical(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["parse", str(pinned_file(tmp_path))]) == 0
    assert capsysbinary.readouterr().out == expected_parse_output()
