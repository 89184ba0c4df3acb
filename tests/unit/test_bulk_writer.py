"""The bulk loop's bookkeeping, with a scripted sender (the real node is exercised in tests/integration)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from handler.model import Action
from handler.sinks.bulk import BulkWriter, SendFailure


def actions(n: int) -> list[Action]:
    out = []
    for i in range(n):
        head = json.dumps({"create": {"_index": "x", "_id": str(i)}}).encode()
        out.append(Action(index_name="x", doc_id=str(i), body=head + b"\n" + b'{"n":%d}\n' % i, line=f"line {i}"))
    return out


def ids_in(body: bytes) -> list[str]:
    lines = body.split(b"\n")
    return [json.loads(h)["create"]["_id"] for h in lines[0:-1:2]]


class Script:
    """Answers each request with `decide(ids, call_number)`: a per-id status dict, or raises SendFailure."""

    def __init__(self, decide: Callable[[list[str], int], dict[str, int]]) -> None:
        self.decide = decide
        self.calls: list[list[str]] = []

    def __call__(self, body: bytes, timeout: float) -> dict[str, Any]:
        ids = ids_in(body)
        self.calls.append(ids)
        statuses = self.decide(ids, len(self.calls))
        items = []
        for i in ids:
            s = statuses.get(i, 201)
            item: dict[str, Any] = {"_id": i, "status": s}
            if s >= 300:
                item["error"] = {"type": "t", "reason": "r"}
            items.append({"create": item})
        return {"errors": any(s >= 300 for s in statuses.values()), "items": items}


def writer(send: Any, **kw: Any) -> BulkWriter:
    kw.setdefault("sleep", lambda s: None)
    return BulkWriter(send, **kw)


def test_all_indexed_in_byte_bounded_chunks() -> None:
    script = Script(lambda ids, n: {})
    acts = actions(100)
    result = writer(script, max_bytes=len(acts[-1].body) * 10).write(acts)
    assert result.indexed == 100 and not result.pending and not result.rejected
    assert all(len(c) <= 10 for c in script.calls) and len(script.calls) >= 10
    assert [i for c in script.calls for i in c] == [str(i) for i in range(100)]


def test_item_429_retried_only_for_failed_items() -> None:
    script = Script(lambda ids, n: {"3": 429, "7": 503} if n == 1 else {})
    result = writer(script).write(actions(10))
    assert result.indexed == 10
    assert script.calls[1] == ["3", "7"]
    assert result.retries == 1


def test_409_counts_as_already_present_and_400_is_rejected() -> None:
    script = Script(lambda ids, n: {"1": 409, "2": 400})
    result = writer(script).write(actions(5))
    assert (result.indexed, result.already_present) == (3, 1)
    assert [r.action.doc_id for r in result.rejected] == ["2"]
    assert len(script.calls) == 1


def test_whole_request_throttle_then_success() -> None:
    def decide(ids: list[str], n: int) -> dict[str, int]:
        if n <= 2:
            raise SendFailure(429 if n == 1 else None, None, "throttled")
        return {}

    result = writer(Script(decide)).write(actions(4))
    assert result.indexed == 4 and result.retries == 2


def test_413_splits_until_it_fits_and_a_lone_oversized_document_is_rejected() -> None:
    def decide(ids: list[str], n: int) -> dict[str, int]:
        if len(ids) > 2 or "5" in ids:
            raise SendFailure(413, None, "too large")
        return {}

    script = Script(decide)
    result = writer(script).write(actions(8))
    assert result.indexed == 7
    assert [r.action.doc_id for r in result.rejected] == ["5"]
    assert sorted(i for c in script.calls if len(c) <= 2 and "5" not in c for i in c) == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "6",
        "7",
    ]


def test_gives_up_after_max_attempts_and_reports_pending() -> None:
    script = Script(lambda ids, n: {"0": 429})
    result = writer(script, max_attempts=3).write(actions(3))
    assert result.indexed == 2
    assert [a.doc_id for a in result.pending] == ["0"]
    assert "3 attempts" in result.pending_reason
    assert len(script.calls) == 3


def test_auth_failure_stops_and_leaves_everything_pending() -> None:
    def decide(ids: list[str], n: int) -> dict[str, int]:
        raise SendFailure(403, {"message": "not authorized"}, "forbidden")

    result = writer(Script(decide), max_actions=2).write(actions(6))
    assert len(result.pending) == 6 and result.indexed == 0
    assert "refused (403)" in result.pending_reason


def test_deadline_stops_before_sending_and_respects_remaining_time() -> None:
    now = [0.0]
    timeouts: list[float] = []

    def send(body: bytes, timeout: float) -> dict[str, Any]:
        timeouts.append(timeout)
        now[0] += 4.0  # each request takes 4 s
        ids = ids_in(body)
        return {"errors": False, "items": [{"create": {"_id": i, "status": 201}} for i in ids]}

    w = writer(send, max_actions=1, clock=lambda: now[0], request_timeout=30.0, min_request_seconds=1.0)
    result = w.write(actions(5), deadline=10.0)
    assert result.indexed == 3  # at 0, 4 and 8 s; at 12 s the deadline has passed
    assert len(result.pending) == 2 and "deadline" in result.pending_reason
    assert timeouts == [10.0, 6.0, 2.0]  # never a request timeout past the deadline


SEED = 26


class Clock:
    """The writer's clock and sleep: sleeping advances the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def seeded_writer(script: Script, clock: Clock) -> BulkWriter:
    """A writer on `clock` whose first backoff is `random.Random(SEED).uniform(0, 100.0)`."""
    return BulkWriter(
        script,
        clock=lambda: clock.now,
        sleep=clock.sleep,
        rng=random.Random(SEED),
        backoff_base=100.0,
        backoff_cap=100.0,
    )


def test_backoff_that_would_cross_the_deadline_is_not_taken() -> None:
    # the writer's first wait, drawn from a generator seeded as the writer's is: the deadline falls inside it
    first_wait = random.Random(SEED).uniform(0, 100.0)
    assert first_wait > 5.0, f"seed {SEED}: pick a seed whose first wait crosses the deadline"
    clock, script = Clock(), Script(lambda ids, n: {"0": 429})
    w = seeded_writer(script, clock)
    result = w.write(actions(1), deadline=first_wait - 1.0)
    assert clock.slept == [] and len(script.calls) == 1, f"seed {SEED}"  # no backoff, no second request
    assert len(result.pending) == 1 and "after the deadline" in result.pending_reason, f"seed {SEED}"


def test_backoff_that_fits_before_the_deadline_is_taken() -> None:
    first_wait = random.Random(SEED).uniform(0, 100.0)
    clock, script = Clock(), Script(lambda ids, n: {"0": 429} if n == 1 else {})
    w = seeded_writer(script, clock)
    result = w.write(actions(1), deadline=first_wait + 1.5)  # the wait and a request's minimum time still fit
    assert clock.slept == [first_wait] and len(script.calls) == 2, f"seed {SEED}"
    assert result.indexed == 1 and not result.pending, f"seed {SEED}"


def test_response_without_every_item_is_retried() -> None:
    calls = []

    def send(body: bytes, timeout: float) -> dict[str, Any]:
        calls.append(1)
        ids = ids_in(body)
        if len(calls) == 1:
            return {"errors": False, "items": []}
        return {"errors": False, "items": [{"create": {"_id": i, "status": 201}} for i in ids]}

    result = writer(send).write(actions(3))
    assert result.indexed == 3 and len(calls) == 2
