"""A fast slice of the fuzz driver (the full million-line run is `make fuzz`, figures in BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.fuzz import run

pytestmark = pytest.mark.integration


def test_fuzz_slice_no_crash_every_line_accounted_for(opensearch_url: str, seed: Callable[[int], int]) -> None:
    report = run(10_000, 300, url=opensearch_url, seed=seed(7), batch=1000, huge_every=5)
    assert report.crashes == []
    assert report.unaccounted == 0
    assert report.payloads_dead_lettered == report.malformed == 300
    assert report.stored == report.indexed
    assert report.indexed + report.already_present + report.dead_lettered == report.lines
    assert report.flagged > 500  # the mutations do produce unparseable lines
