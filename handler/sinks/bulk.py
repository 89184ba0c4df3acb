"""The bulk loop: chunk, send, sort each item into indexed / already present / retry / dead letter.

The sender is any callable that posts an NDJSON body and returns the parsed response, raising SendFailure for a
non-2xx status or no response at all; `sinks.opensearch` provides the real one.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from handler.model import Action, Rejection, SinkResult
from handler.sinks.chunker import body_of, chunks
from handler.sinks.retry import Decision, backoff_seconds, item_decision, request_decision

logger = logging.getLogger("rdsaudit")


class SendFailure(Exception):
    """A bulk request without a 2xx response; `status` is None when no response came (reset, refused, timeout)."""

    def __init__(self, status: int | None, body: Any, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.body = body
        self.reason = reason


Sender = Callable[[bytes, float], dict[str, Any]]


class BulkWriter:
    def __init__(
        self,
        send: Sender,
        *,
        max_bytes: int = 5 * 1024 * 1024,
        max_actions: int = 10_000,
        max_attempts: int = 8,
        request_timeout: float = 30.0,
        min_request_seconds: float = 1.0,
        backoff_base: float = 0.2,
        backoff_cap: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.send = send
        self.max_bytes = max_bytes
        self.max_actions = max_actions
        self.max_attempts = max_attempts
        self.request_timeout = request_timeout
        self.min_request_seconds = min_request_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock = clock
        self.sleep = sleep
        self.rng = rng

    def write(self, actions: Iterable[Action], deadline: float | None = None) -> SinkResult:
        """Write every action once; `deadline` is on `clock`'s scale, None for no deadline.

        Actions are consumed lazily, one chunk at a time, so a large batch is never held twice in memory.
        """
        result = SinkResult()
        todo: Iterator[list[Action]] = chunks(actions, self.max_bytes, self.max_actions)
        attempt = 0
        while True:
            retry: list[Action] = []
            reason = self._pass(todo, deadline, result, retry)
            if result.pending:
                return result
            if not retry:
                return result
            attempt += 1
            wait = backoff_seconds(attempt - 1, base=self.backoff_base, cap=self.backoff_cap, rng=self.rng)
            out_of_time = deadline is not None and self.clock() + wait + self.min_request_seconds > deadline
            if attempt >= self.max_attempts or out_of_time:
                why = "the deadline" if out_of_time else f"{attempt} attempts"
                result.pending, result.pending_reason = retry, f"still failing after {why}: {reason}"
                return result
            result.retries += 1
            # One line per retry round, whatever the outage: the libraries' own per-request logs stay off.
            logger.warning(
                "retrying %d documents in %.1f s (attempt %d of %d): %s",
                len(retry),
                wait,
                attempt + 1,
                self.max_attempts,
                reason,
            )
            self.sleep(wait)
            todo = chunks(retry, self.max_bytes, self.max_actions)

    def _pass(
        self, todo: Iterator[list[Action]], deadline: float | None, result: SinkResult, retry: list[Action]
    ) -> str:
        """Send each chunk once; failures that may pass go to `retry`. Sets result.pending when it must stop."""
        reason = ""
        split: deque[list[Action]] = deque()
        while True:
            chunk = split.popleft() if split else next(todo, None)
            if chunk is None:
                return reason
            timeout = self._timeout(deadline)
            if timeout is None:
                self._stop(result, chunk, split, todo, retry, "deadline reached before every document was written")
                return reason
            result.requests += 1
            try:
                response = self.send(body_of(chunk), timeout)
            except SendFailure as failure:
                decision = request_decision(failure.status, failure.body)
                if decision is Decision.SPLIT:
                    if len(chunk) == 1:
                        result.rejected.append(
                            Rejection(chunk[0], 413, "document alone exceeds the request size limit")
                        )
                    else:
                        mid = len(chunk) // 2
                        split.appendleft(chunk[mid:])
                        split.appendleft(chunk[:mid])
                    continue
                if decision is Decision.RETRY:
                    retry.extend(chunk)
                    reason = f"bulk request: {failure.reason}"
                    continue
                # Refused outright (auth, malformed): nothing later in this invocation would fare better.
                why = f"bulk request refused ({failure.status}): {failure.reason}"
                self._stop(result, chunk, split, todo, retry, why)
                return reason
            reason = self._sort_items(response, chunk, result, retry) or reason

    @staticmethod
    def _stop(
        result: SinkResult,
        chunk: list[Action],
        split: deque[list[Action]],
        todo: Iterator[list[Action]],
        retry: list[Action],
        why: str,
    ) -> None:
        pending = retry + chunk
        for rest in split:
            pending.extend(rest)
        for rest in todo:
            pending.extend(rest)
        result.pending, result.pending_reason = pending, why

    def _timeout(self, deadline: float | None) -> float | None:
        if deadline is None:
            return self.request_timeout
        left = deadline - self.clock()
        if left < self.min_request_seconds:
            return None
        return min(self.request_timeout, left)

    @staticmethod
    def _sort_items(response: dict[str, Any], chunk: list[Action], result: SinkResult, retry: list[Action]) -> str:
        items = response.get("items")
        if not isinstance(items, list) or len(items) != len(chunk):
            # A response that does not account for every action proves nothing: send them all again.
            retry.extend(chunk)
            return "bulk response did not list every item"
        reason = ""
        all_ok = response.get("errors") is False
        for action, item in zip(chunk, items, strict=True):
            if all_ok:
                decision = Decision.INDEXED
                error = None
            else:
                outcome = next(iter(item.values())) if isinstance(item, dict) and item else {}
                status = outcome.get("status", 0) if isinstance(outcome, dict) else 0
                error = outcome.get("error") if isinstance(outcome, dict) else None
                decision = item_decision(int(status) if isinstance(status, int) else 0, error)
            if decision is Decision.INDEXED:
                result.indexed += 1
                result.indices[action.index_name] = result.indices.get(action.index_name, 0) + 1
            elif decision is Decision.ALREADY_PRESENT:
                result.already_present += 1
                result.already[action.index_name] = result.already.get(action.index_name, 0) + 1
            elif decision is Decision.RETRY:
                retry.append(action)
                reason = f"item status {status}: {_error_summary(error)}"
            else:
                result.rejected.append(Rejection(action, status, error))
        return reason


def _error_summary(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type', '')}: {str(error.get('reason', ''))[:200]}"
    return str(error)[:200]
