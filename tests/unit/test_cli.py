from __future__ import annotations

import json
from pathlib import Path

import pytest

from handler.cli import main
from tests.events import SAMPLE_LOG, sample_lines


def test_parse_prints_one_record_per_line_in_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # blank lines are skipped; a CloudWatch export file (every message behind its time) is read as one
    src = tmp_path / "audit.log"
    lines = sample_lines()
    src.write_text("\n".join("2020-10-23T08:36:48.508Z " + line for line in [lines[0], "", *lines[1:]]) + "\n")
    assert main(["parse", str(src), "--log-group", "/aws/rds/cluster/c1/audit", "--log-stream", "i1.audit.log"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == len(lines)
    assert set(out[0]) == {"index", "id", "doc"}
    assert out[0]["doc"]["cluster"] == "c1" and out[0]["doc"]["instance"] == "i1"
    assert out[1]["doc"]["sql"] == "INSERT INTO customers (C_Id, Name) VALUES (3, 'ethan')"
    assert out[-1]["doc"]["tags"] == ["parse_failure"]


def test_parse_matches_the_sample_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(SAMPLE_LOG), "--no-mask"]) == 0
    docs = [json.loads(line)["doc"] for line in capsys.readouterr().out.splitlines()]
    assert "IDENTIFIED BY 's3cr3t,pass'" in docs[5]["sql"]


def test_parse_raw_file_with_time_prefixes_on_single_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The regression: a raw file (its first line plain) with lines copied from the console, their time in front,
    # mixed in. Each parses as the plain line does, with the same document and id; failures stay failures.
    lines = sample_lines()
    plain, mixed = tmp_path / "plain.log", tmp_path / "mixed.log"
    plain.write_text("\n".join(lines) + "\n")
    mixed.write_text(
        "\n".join(line if i % 2 == 0 else "2020-10-23T08:36:48.508Z " + line for i, line in enumerate(lines)) + "\n"
    )
    assert main(["parse", str(plain)]) == 0
    expected = capsys.readouterr().out.splitlines()
    assert main(["parse", str(mixed)]) == 0
    got = capsys.readouterr().out.splitlines()
    assert len(got) == len(expected) == len(lines)
    for want, have in zip(expected, got, strict=True):
        w, h = json.loads(want), json.loads(have)
        assert h["id"] == w["id"]
        if "parse_failure" not in w["doc"].get("tags", []):
            assert h["doc"] == w["doc"]
    assert sum("parse_failure" in json.loads(o)["doc"].get("tags", []) for o in got) == sum(
        "parse_failure" in json.loads(o)["doc"].get("tags", []) for o in expected
    )
