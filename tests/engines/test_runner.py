"""The engine runner's verdicts, without starting an engine: a missing one skips locally and fails under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines import run
from tests.engines.matrix import ENGINES

OPENSEARCH_3 = next(spec for spec in ENGINES if spec.needs_java21)


@pytest.fixture
def no_java21(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(run, "JAVA21_HOME", tmp_path / "no-jdk")


def test_missing_java21_fails_under_ci(
    no_java21: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    assert run.run_engine(OPENSEARCH_3, "python")[0] == "failed"
    assert run.main([OPENSEARCH_3.label]) == 1
    out = capsys.readouterr().out
    assert f"== {OPENSEARCH_3.title}: failed: no Java 21+" in out and "0 passed, 1 failed" in out


def test_missing_java21_skips_locally_with_one_line(
    no_java21: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert run.main([OPENSEARCH_3.label]) == 0
    out = capsys.readouterr().out
    assert f"== {OPENSEARCH_3.title}: skipped: no Java 21+" in out and "1 skipped" in out
