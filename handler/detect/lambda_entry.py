"""The scheduled detect function's job: the window job over the time since its previous run, then the notifications
of whatever is new. The schedule passes its scheduled time (EventBridge Scheduler's <aws.scheduler.scheduled-time>),
so a retried invocation covers the same moment as the first attempt."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from handler.detect.notify.run import notify
from handler.read.period import parse_time

if TYPE_CHECKING:
    from handler.runtime import Runtime


def scheduled_time(event: Any, fallback: datetime) -> datetime:
    stamp = event.get("scheduled_time") if isinstance(event, dict) else None
    return parse_time(stamp) if isinstance(stamp, str) and stamp else fallback


def detect_scheduled(event: Any, runtime: Runtime, now: datetime) -> dict[str, Any]:
    at = scheduled_time(event, now)
    from handler.detect.job import run

    # since=None: the time since the previous scheduled run (the job's state document), with its overlap
    result = run(runtime, None, at, at)
    summary = notify(runtime, at)
    job_log = {k: v for k, v in result.as_dict().items() if k != "findings"}  # counts; the findings are indexed
    return {"at": at.isoformat(), "job": job_log, "notify": summary.as_log()}
