from __future__ import annotations

import pytest

from handler.model import Action
from handler.sinks.chunker import Chunker, body_of, chunks


def action(size: int, n: int = 0) -> Action:
    return Action(index_name="i", doc_id=str(n), body=b"x" * size, line=str(n))


def test_byte_bound() -> None:
    out = list(chunks([action(40, n) for n in range(10)], max_bytes=100, max_actions=1000))
    assert [len(c) for c in out] == [2, 2, 2, 2, 2]
    assert all(len(body_of(c)) <= 100 for c in out)


def test_count_bound() -> None:
    out = list(chunks([action(1, n) for n in range(10)], max_bytes=10**6, max_actions=3))
    assert [len(c) for c in out] == [3, 3, 3, 1]


def test_oversized_action_travels_alone() -> None:
    out = list(chunks([action(10, 0), action(500, 1), action(10, 2)], max_bytes=100, max_actions=10))
    assert [[a.doc_id for a in c] for c in out] == [["0"], ["1"], ["2"]]


def test_order_and_nothing_lost() -> None:
    acts = [action(n % 37 + 1, n) for n in range(1000)]
    out = list(chunks(acts, max_bytes=200, max_actions=50))
    assert [a for c in out for a in c] == acts


def test_empty_and_flush() -> None:
    assert list(chunks([], 100, 10)) == []
    c = Chunker(100, 10)
    assert c.add(action(5)) is None
    assert c.flush() is not None
    assert c.flush() is None
    with pytest.raises(ValueError, match="positive"):
        Chunker(0, 1)
