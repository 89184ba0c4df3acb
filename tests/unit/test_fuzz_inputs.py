"""The fuzz driver's inputs (bench/fuzz.py) come from its seeded generator alone: a seed replays a run."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from bench.fuzz import malformed_payload, mutate
from tests.events.generate import audit_line


def draw(seed: int) -> tuple[list[str], list[Any]]:
    rng = random.Random(seed)
    lines = [mutate(audit_line(rng, i), rng) for i in range(300)]
    return lines, [malformed_payload(rng, i) for i in range(20)]  # every kind twice


def test_the_same_seed_draws_the_same_inputs(seed: Callable[[int], int]) -> None:
    s = seed(7)
    first = draw(s)
    assert draw(s) == first
    assert draw(s + 1) != first
