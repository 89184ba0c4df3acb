"""What to do with a bulk response, and how long to wait before trying again. Pure functions of status and body.

Throttling arrives as a whole-request 429 (or 403 "Request throttled" from Amazon OpenSearch Service), or as
per-item 429s inside a 200. Decisions go by status, never by exception name, which differs between OpenSearch
(`rejected_execution_exception`) and Elasticsearch 7.10 domains (`es_rejected_execution_exception`).
"""

from __future__ import annotations

import enum
import random
from typing import Any


class Decision(enum.Enum):
    INDEXED = "indexed"
    ALREADY_PRESENT = "already_present"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"
    SPLIT = "split"  # whole request too large: halve the chunk
    FAIL = "fail"  # whole request refused for a reason retrying cannot fix (auth, malformed): raise


def item_decision(status: int, error: Any = None) -> Decision:
    """One item of a bulk `create` response."""
    if 200 <= status < 300:
        return Decision.INDEXED
    if status == 409:  # created before, by an earlier delivery or a backfill: ids are idempotent
        return Decision.ALREADY_PRESENT
    if status == 429 or status >= 500:
        return Decision.RETRY
    if status == 403 and _error_type(error) == "cluster_block_exception":
        # Index or cluster blocked (disk watermark, read-only): lifted by an operator, not by dead-lettering.
        return Decision.RETRY
    return Decision.DEAD_LETTER


def request_decision(status: int | None, body: Any = None) -> Decision:
    """A whole bulk request that did not get a 2xx; `status` None means no response (reset, refused, timeout)."""
    if status is None or status == 429 or status >= 500:
        return Decision.RETRY
    if status == 413:
        return Decision.SPLIT
    if status == 403 and "throttl" in _text(body).lower():
        return Decision.RETRY
    if status == 408:
        return Decision.RETRY
    return Decision.FAIL


def backoff_seconds(attempt: int, *, base: float = 0.2, cap: float = 10.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]; attempt counts from 0."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return (rng or random).uniform(0, ceiling)


def _error_type(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("type", ""))
    return ""


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    if isinstance(body, dict):
        return str(body.get("message", "")) + " " + str(body.get("error", ""))
    return str(body or "")
