"""`rdsaudit report` argument handling: usage errors exit 2, expected failures exit 1, each one line on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handler.cli import main
from handler.report.integrity import envelope
from tests.unit.test_report_sections import data

Q3 = ["report", "--since", "2026-07-01", "--until", "2026-10-01"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report"], "--since and --until are required"),
        (["report", "--since", "2026-10-01", "--until", "2026-07-01"], "must be after --since"),
        (["report", "--since", "yesterday", "--until", "2026-07-01"], "not an ISO 8601 date"),
        ([*Q3, "--business-hours", "9-5"], "business hours must be START-END"),
        ([*Q3, "--business-days", "weekdays"], "business days must be day names"),
        ([*Q3, "--timezone", "Mars/Olympus"], "unknown time zone"),
        ([*Q3, "--burst-failures", "1"], "--burst-failures must be at least 2, got 1"),
        ([*Q3, "--new-client-days", "0"], "--new-client-days must be at least 1, got 0"),
        ([*Q3, "--top", "0"], "--top must be at least 1, got 0"),
        ([*Q3, "--out", "r.pdf"], "--out r.pdf: the report is written as HTML"),
        ([*Q3, "--index-prefix", "UPPER"], "not a valid index prefix"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("rdsaudit report: ") and message in err and err.count("\n") == 1


def test_unreachable_endpoint_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("OPENSEARCH_REQUEST_TIMEOUT", "2")
    assert main([*Q3, "--out", "-"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rdsaudit report: cannot reach OpenSearch at http://127.0.0.1:9 (connection refused)")
    assert err.count("\n") == 1


def test_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "report.json"
    report = envelope(data())
    good.write_text(json.dumps(report))
    assert main(["report", "--verify", str(good)]) == 0
    assert f"matches its SHA-256 {report['sha256']}" in capsys.readouterr().out
    report["data"]["account_changes"]["rows"] = []
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(report))
    assert main(["report", "--verify", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "edited after it was made" in err and err.count("\n") == 1
    assert main(["report", "--verify", str(tmp_path / "missing.html")]) == 1
