"""Runtime.make_searchable: what a writing command does before it exits (tests/integration covers a real node)."""

from __future__ import annotations

from typing import Any

from handler.config import Settings
from handler.runtime import Runtime
from handler.setup.engine import Engine


class Indices:
    def __init__(self) -> None:
        self.refreshed: list[str] = []

    def refresh(self, index: str, **_: Any) -> None:
        self.refreshed.append(index)


class Client:
    def __init__(self) -> None:
        self.indices = Indices()


def runtime(**settings: Any) -> tuple[Runtime, Client]:
    client = Client()
    rt = Runtime(Settings(opensearch_url="http://127.0.0.1:9299", **settings), client, writer=None)
    return rt, client


def test_refreshes_exactly_the_indices_written_in_url_sized_groups() -> None:
    rt, client = runtime()
    rt._engine = Engine("opensearch", "2.19.6")  # as GET / would have told
    names = [f"rdsaudit-2026.01.{d:02d}" for d in range(1, 32)] * 2 + [
        f"rdsaudit-2026.02.{d:02d}" for d in range(1, 29)
    ]
    # 59 distinct indices, the January ones twice
    assert rt.make_searchable(names) is None
    assert [len(group.split(",")) for group in client.indices.refreshed] == [50, 9]
    assert sorted(",".join(client.indices.refreshed).split(",")) == sorted(set(names))
    assert rt.make_searchable([]) is None and len(client.indices.refreshed) == 2


def test_serverless_has_no_refresh_and_says_so() -> None:
    rt, client = runtime(sigv4_service="aoss")
    note = rt.make_searchable(["rdsaudit-2026.01.01"])
    assert note is not None and "no refresh" in note and "within seconds" in note
    assert client.indices.refreshed == []
