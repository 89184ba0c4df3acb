"""Byte- and count-bounded chunks of encoded bulk actions. Pure: fed actions, yields chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from handler.model import Action


class Chunker:
    """Feed actions with `add`; a full chunk comes back as soon as the next action would overflow it.

    An action larger than `max_bytes` on its own travels alone: OpenSearch, not the chunker, decides whether it
    is too big (a 413 then dead-letters just that one).
    """

    def __init__(self, max_bytes: int, max_actions: int) -> None:
        if max_bytes < 1 or max_actions < 1:
            raise ValueError("chunk limits must be positive")
        self.max_bytes = max_bytes
        self.max_actions = max_actions
        self._chunk: list[Action] = []
        self._size = 0

    def add(self, action: Action) -> list[Action] | None:
        size = len(action.body)
        full = None
        if self._chunk and (self._size + size > self.max_bytes or len(self._chunk) >= self.max_actions):
            full = self._chunk
            self._chunk, self._size = [], 0
        self._chunk.append(action)
        self._size += size
        return full

    def flush(self) -> list[Action] | None:
        if not self._chunk:
            return None
        full, self._chunk, self._size = self._chunk, [], 0
        return full


def chunks(actions: Iterable[Action], max_bytes: int, max_actions: int) -> Iterator[list[Action]]:
    chunker = Chunker(max_bytes, max_actions)
    for action in actions:
        full = chunker.add(action)
        if full is not None:
            yield full
    last = chunker.flush()
    if last is not None:
        yield last


def body_of(chunk: list[Action]) -> bytes:
    return b"".join(a.body for a in chunk)
