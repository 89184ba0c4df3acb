"""Bursts of failed logins (rules brute-force and password-spraying, and the report's bursts, which are
brute-force's findings): at least N failures from one client within a window of W seconds. Pure.

A failure is part of a burst when some window [t, t + W) starting at a failure of the same client holds N or more
failures; the qualifying windows that start in one aligned bucket [k·W, (k+1)·W) are one finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from handler.read.period import parse_timestamp


def candidate_ranges(
    counts: Iterable[tuple[str | None, int, int]], window_ms: int, threshold: int
) -> list[tuple[str | None, int, int]]:
    """From failure counts per (client, fixed window of W), the [start, end) ms ranges to read in full.

    Any qualifying window [t, t + W) lies within the fixed windows k and k + 1 where k = floor(t / W), so reading
    every pair (k, k + 1) whose counts add up to N misses no burst; touching ranges are merged, so a long burst is
    read in one piece.
    """
    per_client: dict[str | None, dict[int, int]] = defaultdict(dict)
    for client, start, count in counts:
        per_client[client][start] = count
    ranges: list[tuple[str | None, int, int]] = []
    for client in sorted(per_client, key=lambda c: (c is None, c or "")):
        windows = per_client[client]
        spans = sorted(
            (start, start + 2 * window_ms)
            for start, count in windows.items()
            if count + windows.get(start + window_ms, 0) >= threshold
        )
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        ranges.extend((client, start, end) for start, end in merged)
    return ranges


def epoch_ms(stamp: str) -> int:
    moment = parse_timestamp(stamp)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def qualifying_buckets(
    rows: list[dict[str, Any]], window_seconds: int, threshold: int, distinct: str | None = None
) -> list[tuple[int, list[dict[str, Any]]]]:
    """One key's rows (oldest first) → the aligned buckets [k·W, (k+1)·W) in which some row starts a window
    [t, t + W) holding `threshold` or more rows (or, with `distinct`, rows with that many distinct values of that
    field), each with the rows of all its qualifying windows.

    A finding is one such bucket: it depends only on the data, not on where a run started, so a rerun or an
    overlapping run finds the same bucket again (the same finding id) and a long attack makes one finding per W.
    """
    window_ms = window_seconds * 1000
    times = [epoch_ms(r["@timestamp"]) for r in rows]
    found: dict[int, list[int]] = {}  # bucket → [first row, last row] of its qualifying windows
    seen: dict[Any, int] = defaultdict(int)
    j = 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + window_ms:
            if distinct:
                seen[rows[j].get(distinct)] += 1
            j += 1
        size = sum(1 for v, n in seen.items() if n and v is not None) if distinct else j - i
        if size >= threshold:
            bucket = start // window_ms * window_ms
            span = found.setdefault(bucket, [i, j - 1])
            span[1] = max(span[1], j - 1)
        if distinct:
            seen[rows[i].get(distinct)] -= 1
    return [(bucket, rows[a : b + 1]) for bucket, (a, b) in sorted(found.items())]
