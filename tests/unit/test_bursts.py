"""Bursts of failed logins (rule brute-force, and the report's bursts, which are its findings): the sliding-window
rule in aligned buckets, its edges, and the candidate windows the query layer reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from handler.detect.bursts import candidate_ranges, qualifying_buckets
from handler.read.period import iso
from tests.profiles import examples

T0 = datetime(2026, 8, 1, 12, tzinfo=UTC)


def _rows(client: str, seconds: list[float], user: str = "root") -> list[dict[str, Any]]:
    return [{"@timestamp": iso(T0 + timedelta(seconds=s)), "client": client, "user": user} for s in seconds]


def find(rows: list[dict[str, Any]], window: int, threshold: int) -> list[tuple[str, int, str, list[str]]]:
    """(bucket start, failures, first, users) per finding, as the brute-force rule sees one client's rows."""
    ordered = sorted(rows, key=lambda r: r["@timestamp"])
    return [
        (iso(datetime.fromtimestamp(start / 1000, UTC)), len(rs), rs[0]["@timestamp"], sorted({r["user"] for r in rs}))
        for start, rs in qualifying_buckets(ordered, window, threshold)
    ]


def test_window_edges() -> None:
    assert [n for _, n, _, _ in find(_rows("a", [0, 14.9, 29.8, 44.7, 59.6]), 60, 5)] == [5]
    assert find(_rows("b", [0, 15, 30, 45, 60]), 60, 5) == []  # the 5th is 60 s after the 1st
    assert find(_rows("c", [0, 1, 2, 3]), 60, 5) == []


def test_overlapping_windows_in_one_bucket_make_one_finding_and_separate_ones_two() -> None:
    # windows starting at 0 … 30 s qualify (30 s: 30, 40, 50, 61, 70); all start in the bucket [0, 60 s)
    rows = _rows("a", [0, 10, 20, 30, 40, 50, 61, 70]) + _rows("a", [3600 + i for i in range(6)], user="admin")
    assert find(rows, 60, 5) == [
        (iso(T0), 8, iso(T0), ["root"]),
        (iso(T0 + timedelta(hours=1)), 6, iso(T0 + timedelta(hours=1)), ["admin"]),
    ]


def test_an_attack_longer_than_the_window_is_one_finding_per_bucket() -> None:
    rows = _rows("a", [i * 10 for i in range(18)])  # 0 … 170 s, six in every minute
    assert [(start, n) for start, n, _, _ in find(rows, 60, 5)] == [
        (iso(T0), 11),  # windows from 0 … 50 s reach to 100 s
        (iso(T0 + timedelta(seconds=60)), 11),
        (iso(T0 + timedelta(seconds=120)), 6),  # windows from 120 and 130 s: 120 … 170
    ]


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
    assert find(read, window, threshold) == find(rows, window, threshold)
