"""Ids, index names and documents stay byte-identical to those pinned before the transform was made faster
(tests/events/pinned.py says why the fixture is never regenerated to make these pass)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from handler import parse_output
from handler.cli import main
from handler.transforms import audit_line
from handler.transforms.batch import TransformOptions
from tests.unit import pinned

PINNED = pinned.load()


@pytest.fixture(autouse=True)
def _pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-Python parser here, compiled scanner built or not (test_accelerator.py compares the two)."""
    monkeypatch.setattr(audit_line, "_scan", None)


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


@pytest.mark.parametrize(("block_bytes", "compress"), [(700, False), (4096, False), (50_000, False), (700, True)])
def test_parse_output_is_byte_identical_across_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int, compress: bool
) -> None:
    """Small blocks: repeats of a line fall in other blocks than its first occurrence, and blocks start with
    unparseable lines whose time comes from an earlier block. Plain files are read by the workers, gzip content
    is sent to them."""
    monkeypatch.setattr(parse_output, "BLOCK_BYTES", block_bytes)
    path = pinned_file(tmp_path)
    if compress:
        path.write_bytes(gzip.compress(path.read_bytes()))
    out = tmp_path / "out.ndjson"
    request = parse_output.ParseRequest(TransformOptions(), fallback_ms=0)
    with path.open("rb") as raw, out.open("wb") as sink:
        parse_output.write_records(raw, str(path), sink, request, size=1 << 30, workers=2)
    assert out.read_bytes() == expected_parse_output()


def test_blocks_of_unparseable_lines_take_the_time_of_an_earlier_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_output, "BLOCK_BYTES", 64)
    lines = [PINNED["lines"][0], *(["garbage"] * 40), PINNED["lines"][0], "garbage", PINNED["lines"][5]] * 3
    path = tmp_path / "audit.log"
    path.write_text("\n".join(lines))  # no final line break
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"out-{workers}.ndjson"
        request = parse_output.ParseRequest(TransformOptions(), fallback_ms=1_000, force=True)  # mostly garbage
        with path.open("rb") as raw, out.open("wb") as sink:
            parse_output.write_records(raw, str(path), sink, request, size=1 << 30, workers=workers)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == len(lines)


def test_a_large_file_that_is_not_an_audit_log_stops_before_any_process_starts(tmp_path: Path) -> None:
    from handler.errors import NotAuditLog

    path = tmp_path / "notes.txt"
    path.write_text("just some text\n" * 2000)
    request = parse_output.ParseRequest(TransformOptions(), name=str(path))
    with path.open("rb") as raw, pytest.raises(NotAuditLog):
        parse_output.write_records(raw, str(path), io.BytesIO(), request, size=1 << 30, workers=2)
