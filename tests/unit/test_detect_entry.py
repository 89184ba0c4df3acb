"""The scheduled detect entry: the moment it covers is the schedule's (a retried invocation covers the same one),
and it runs the window job before the notifications."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime
from typing import Any

import pytest

from handler.detect import lambda_entry

NOW = datetime(2026, 12, 7, 10, 7, 31, tzinfo=UTC)


def test_the_scheduled_time_wins_over_the_clock() -> None:
    at = lambda_entry.scheduled_time({"scheduled_time": "2026-12-07T10:05:00Z"}, NOW)
    assert at == datetime(2026, 12, 7, 10, 5, tzinfo=UTC)
    assert lambda_entry.scheduled_time({}, NOW) == NOW and lambda_entry.scheduled_time(None, NOW) == NOW


def test_job_then_notifications_at_the_scheduled_time(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[tuple[str, Any]] = []
    job = types.ModuleType("handler.detect.job")

    class Result:
        def as_dict(self) -> dict[str, Any]:
            return {"new": 1, "known": 0, "findings": [{"finding_id": "x"}]}

    job.run = lambda runtime, since, until, now: order.append(("job", (since, until, now))) or Result()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "handler.detect.job", job)

    class Summary:
        def as_log(self) -> dict[str, Any]:
            return {"sent": {}}

    monkeypatch.setattr(lambda_entry, "notify", lambda runtime, at: order.append(("notify", at)) or Summary())
    out = lambda_entry.detect_scheduled({"scheduled_time": "2026-12-07T10:05:00Z"}, object(), NOW)  # type: ignore[arg-type]
    at = datetime(2026, 12, 7, 10, 5, tzinfo=UTC)
    assert order == [("job", (None, at, at)), ("notify", at)]
    assert out == {"at": "2026-12-07T10:05:00+00:00", "job": {"new": 1, "known": 0}, "notify": {"sent": {}}}
