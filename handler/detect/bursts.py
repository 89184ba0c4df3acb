"""Bursts of failed logins: at least N failures from one client within a window of W seconds. Pure.

A failure is part of a burst when some window [t, t + W) starting at a failure of the same client holds N or more
failures; overlapping such windows are one burst, which counts every failure between its first and its last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
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


def find_bursts(rows: Iterable[dict[str, Any]], window_seconds: int, threshold: int) -> list[dict[str, Any]]:
    """Bursts in failed-login documents (each with `@timestamp`, `client`, `user`), oldest first."""
    window = timedelta(seconds=window_seconds)
    per_client: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        per_client[row.get("client")].append(row)
    found: list[dict[str, Any]] = []
    for client, failures in per_client.items():
        failures.sort(key=lambda r: (parse_timestamp(r["@timestamp"]), r.get("_id", "")))
        times = [parse_timestamp(r["@timestamp"]) for r in failures]
        spans: list[list[int]] = []  # [first index, last index] of merged qualifying windows
        j = 0
        for i, start in enumerate(times):
            j = max(j, i)
            while j < len(times) and times[j] < start + window:
                j += 1
            if j - i >= threshold:
                if spans and i <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], j - 1)
                else:
                    spans.append([i, j - 1])
        for first, last in spans:
            members = failures[first : last + 1]
            found.append(
                {
                    "client": client,
                    "first": members[0]["@timestamp"],
                    "last": members[-1]["@timestamp"],
                    "failures": len(members),
                    "users": sorted({str(m.get("user")) for m in members if m.get("user") is not None}),
                    "instances": sorted({str(m.get("instance")) for m in members if m.get("instance") is not None}),
                }
            )
    found.sort(key=lambda b: (parse_timestamp(b["first"]), b["client"] or ""))
    return found


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
