"""Bursts of failed logins: the sliding-window rule, its edges, and the candidate windows the query layer reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from handler.detect.bursts import candidate_ranges, find_bursts
from handler.read.period import iso
from tests.profiles import examples

T0 = datetime(2026, 8, 1, 12, tzinfo=UTC)


def _rows(client: str, seconds: list[float], user: str = "root") -> list[dict[str, Any]]:
    return [{"@timestamp": iso(T0 + timedelta(seconds=s)), "client": client, "user": user} for s in seconds]


def test_window_edges() -> None:
    assert [b["failures"] for b in find_bursts(_rows("a", [0, 14.9, 29.8, 44.7, 59.6]), 60, 5)] == [5]
    assert find_bursts(_rows("b", [0, 15, 30, 45, 60]), 60, 5) == []  # the 5th is 60 s after the 1st
    assert find_bursts(_rows("c", [0, 1, 2, 3]), 60, 5) == []


def test_overlapping_windows_make_one_burst_and_separate_ones_two() -> None:
    rows = _rows("a", [0, 10, 20, 30, 40, 50, 61, 70]) + _rows("a", [3600 + i for i in range(6)], user="admin")
    found = find_bursts(rows, 60, 5)
    assert [(b["failures"], b["first"], b["users"]) for b in found] == [
        (8, iso(T0), ["root"]),
        (6, iso(T0 + timedelta(hours=1)), ["admin"]),
    ]


def test_clients_are_separate() -> None:
    rows = _rows("a", [0, 1, 2]) + _rows("b", [0.5, 1.5, 2.5])
    assert find_bursts(rows, 60, 5) == []
    assert [b["client"] for b in find_bursts(rows, 60, 3)] == ["a", "b"]


@settings(max_examples=examples(200))
@given(
    times=st.lists(st.integers(0, 3_000_000), min_size=0, max_size=40),
    window=st.integers(1, 120),
    threshold=st.integers(2, 6),
)
def test_candidate_ranges_miss_no_burst(times: list[int], window: int, threshold: int) -> None:
    """Reading only the candidate ranges finds exactly the bursts that reading everything finds."""
    rows = [{"@timestamp": iso(T0 + timedelta(milliseconds=ms)), "client": "x", "user": "u"} for ms in times]
    window_ms, base = window * 1000, int(T0.timestamp() * 1000)
    counts: dict[int, int] = {}
    for ms in times:
        start = (base + ms) // window_ms * window_ms
        counts[start] = counts.get(start, 0) + 1
    ranges = candidate_ranges([("x", s, n) for s, n in counts.items()], window_ms, threshold)
    read = [r for r, ms in zip(rows, times, strict=True) if any(a <= base + ms < b for _, a, b in ranges)]
    assert find_bursts(read, window, threshold) == find_bursts(rows, window, threshold)
