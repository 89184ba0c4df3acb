"""`rdsaudit parse FILE` shows exactly what a backfill of FILE indexes: the same documents under the same ids
and indices, for every audit file bundled in tests/events and for a slice of fuzzed lines."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handler.cli import main
from handler.sources.framing import is_skipped_object
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[1] / "events"
AUDIT_FILES = sorted(p for p in EVENTS.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc", ".json"))


def parsed(path: Path, prefix: str, capsys: Any, *flags: str) -> dict[tuple[str, str], Any]:
    capsys.readouterr()
    assert main(["parse", str(path), "--index-prefix", prefix, *flags]) == 0
    # NDJSON is split on "\n" only: str.splitlines would also cut at U+2028 or NEL inside a string
    records = [json.loads(line) for line in capsys.readouterr().out.split("\n") if line]
    return {(r["index"], r["id"]): r["doc"] for r in records}


def indexed(forwarder: Forwarder) -> dict[tuple[str, str], Any]:
    forwarder.refresh()
    resp = forwarder.client.search(index=f"{forwarder.prefix}-*", body={"size": 10000, "query": {"match_all": {}}})
    return {(h["_index"], h["_id"]): h["_source"] for h in resp["hits"]["hits"]}


def backfilled(forwarder: Forwarder, path: Path, tmp_path: Path, *flags: str) -> None:
    checkpoint = str(tmp_path / f"cp-{path.name}.json")
    assert main(["backfill", str(path), "--index-prefix", forwarder.prefix, "--checkpoint", checkpoint, *flags]) == 0


def test_bundled_files_are_audit_files() -> None:
    assert len(AUDIT_FILES) >= 4 and any(is_skipped_object(str(p)) for p in AUDIT_FILES)


@pytest.mark.parametrize("path", AUDIT_FILES, ids=lambda p: str(p.relative_to(EVENTS)))
def test_parse_and_backfill_agree(path: Path, forwarder: Forwarder, tmp_path: Path, capsys: Any) -> None:
    expected = parsed(path, forwarder.prefix, capsys)
    backfilled(forwarder, path, tmp_path)
    assert indexed(forwarder) == expected
    if is_skipped_object(str(path)):
        assert expected == {}  # CloudWatch's export write test: skipped by both, and said so
    else:
        assert expected


def test_fuzzed_lines_parse_and_backfill_agree(
    forwarder: Forwarder, tmp_path: Path, capsys: Any, seed: Callable[[int], int]
) -> None:
    from bench.fuzz import mutate
    from tests.events.generate import audit_line

    rng = random.Random(seed(12))
    lines = [mutate(audit_line(rng, i), rng) for i in range(3000)]
    path = tmp_path / "fuzzed.log"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    # over half of the mutated lines no longer parse: both commands need --force for such a file
    expected = parsed(path, forwarder.prefix, capsys, "--force")
    backfilled(forwarder, path, tmp_path, "--force")
    got = indexed(forwarder)
    assert len(got) > 2500  # newlines and blank lines in the mutations make the count inexact
    assert got == expected
