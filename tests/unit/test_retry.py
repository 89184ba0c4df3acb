"""The retry decision is a pure function of status and body: a table of cases."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from handler.sinks.retry import Decision, backoff_seconds, item_decision, request_decision


@pytest.mark.parametrize(
    ("status", "error", "decision"),
    [
        (201, None, Decision.INDEXED),
        (200, None, Decision.INDEXED),
        (409, {"type": "version_conflict_engine_exception"}, Decision.ALREADY_PRESENT),
        (429, {"type": "rejected_execution_exception"}, Decision.RETRY),
        (429, {"type": "es_rejected_execution_exception"}, Decision.RETRY),  # Elasticsearch 7.10 naming
        (429, {"type": "something_else_entirely"}, Decision.RETRY),  # by status, never by name
        (500, {"type": "internal"}, Decision.RETRY),
        (503, {"type": "unavailable_shards_exception"}, Decision.RETRY),
        (403, {"type": "cluster_block_exception", "reason": "index read-only / allow delete"}, Decision.RETRY),
        (403, {"type": "security_exception"}, Decision.DEAD_LETTER),
        (400, {"type": "mapper_parsing_exception"}, Decision.DEAD_LETTER),
        (400, {"type": "illegal_argument_exception"}, Decision.DEAD_LETTER),
        (404, {"type": "index_not_found_exception"}, Decision.DEAD_LETTER),
        (413, None, Decision.DEAD_LETTER),
    ],
)
def test_item_decision(status: int, error: object, decision: Decision) -> None:
    assert item_decision(status, error) is decision


@pytest.mark.parametrize(
    ("status", "body", "decision"),
    [
        (None, None, Decision.RETRY),  # reset, refused, timeout
        (429, {"error": "Too Many Requests"}, Decision.RETRY),
        (502, "Bad Gateway", Decision.RETRY),
        (503, None, Decision.RETRY),
        (504, None, Decision.RETRY),
        (500, None, Decision.RETRY),
        (408, None, Decision.RETRY),
        (403, {"message": "Request throttled due to too many requests"}, Decision.RETRY),
        (403, b'{"Message":"Request throttled"}', Decision.RETRY),
        (403, {"message": "User: arn:aws:sts::1:assumed-role/x is not authorized"}, Decision.FAIL),
        (401, None, Decision.FAIL),
        (400, {"error": {"type": "illegal_argument_exception"}}, Decision.FAIL),
        (413, "Request Entity Too Large", Decision.SPLIT),
    ],
)
def test_request_decision(status: int | None, body: object, decision: Decision) -> None:
    assert request_decision(status, body) is decision


def test_backoff_is_jittered_exponential_and_capped(seed: Callable[[int], int]) -> None:
    rng = random.Random(seed(7))
    for attempt in range(12):
        ceiling = min(10.0, 0.2 * 2**attempt)
        samples = [backoff_seconds(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling / 2  # full jitter spreads over the whole range
    assert backoff_seconds(10_000, rng=rng) <= 10.0
