"""bench.storage's search timing: a ratio to the old index holds however the machine's load moves between rounds,
since each round times every variant back to back and the ratio is taken round by round."""

from __future__ import annotations

from typing import Any

from bench.storage_searches import slower, time_interleaved


class Node:
    """A node whose every search costs its index's base time times the round's load; the clock is its own."""

    def __init__(self, cost: dict[str, float], loads: list[float], per_round: int) -> None:
        self.now, self.cost, self.loads, self.per_round = 0.0, cost, loads, per_round
        self.calls: list[str] = []

    def clock(self) -> float:
        return self.now

    def request(self, method: str, path: str, body: Any) -> Any:
        assert method == "POST" and path.endswith("/_search?request_cache=false")
        index = path.split("/")[1]
        self.now += self.cost[index] * self.loads[len(self.calls) // self.per_round]
        self.calls.append(index)
        return {"hits": {"total": {"value": 3}}}


def test_ratios_survive_load_that_moves_between_rounds() -> None:
    queries = {"a": {"query": {"match_all": {}}}, "b": {"size": 0}}
    plan = {"old": ("i-old", queries), "new": ("i-new", queries), "lz4": ("i-lz4", queries)}
    loads = [100.0, 1.0, 1.0, 9.0, 0.5, 30.0]  # the first (warm-up) round at a load the others never see
    node = Node({"i-old": 2.0, "i-new": 5.0, "i-lz4": 2.2}, loads, per_round=len(plan) * len(queries))
    out = time_interleaved(node.request, plan, rounds=5, warmup=1, clock=node.clock)
    assert len(node.calls) == 6 * 6
    # each round starts with another variant; a search runs on every variant before the next search
    assert [node.calls[r * 6] for r in range(6)] == ["i-old", "i-new", "i-lz4", "i-old", "i-new", "i-lz4"]
    assert node.calls[6:9] == ["i-new", "i-lz4", "i-old"]
    assert out["new"]["a"]["ratio_to_old"] == 2.5 and out["lz4"]["b"]["ratio_to_old"] == 1.1
    assert "ratio_to_old" not in out["old"]["a"] and out["old"]["a"]["hits"] == 3
    assert out["old"]["a"]["ms"] == 2000.0  # 2 s at the timed rounds' median load, 1: the warm-up's 100 is not timed
    assert slower(out["new"]) == ["a", "b"] and slower(out["lz4"]) == []
