"""Reading an index pattern completely, on every engine the project supports.

Exact means paged to the end: aggregations are composite and followed by `after_key` until an empty page; documents
are sorted on (`@timestamp`, `_id`) and followed by `search_after`. Where the engine has a point in time (OpenSearch
2.4+: `/_search/point_in_time`; Elasticsearch 7.10+ with x-pack: `/_pit`) every request of the report runs against
one, so all sections see the same snapshot. OpenSearch 1.x has none: requests then go to the index pattern itself
and the report says so, and checks that the period's document count did not change while it ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from handler.read.queries import Query

KEEP_ALIVE = "5m"
SORT = [{"@timestamp": {"order": "asc"}}, {"_id": {"order": "asc"}}]


@dataclass(frozen=True)
class Engine:
    distribution: str  # "opensearch" | "elasticsearch" | "unknown"
    version: tuple[int, ...]

    @property
    def name(self) -> str:
        label = {"opensearch": "OpenSearch", "elasticsearch": "Elasticsearch"}.get(self.distribution, self.distribution)
        return f"{label} {'.'.join(map(str, self.version))}".strip()

    def pit_api(self) -> str | None:
        """Which point-in-time API to try, or None where the engine has none."""
        if self.distribution == "opensearch" and self.version >= (2, 4):
            return "opensearch"
        if self.distribution == "elasticsearch" and self.version >= (7, 10):
            return "elasticsearch"
        return None


def parse_engine(info: Any) -> Engine:
    version = info.get("version", {}) if isinstance(info, dict) else {}
    number = str(version.get("number", ""))
    parts = tuple(int(p) for p in number.split("-", maxsplit=1)[0].split(".") if p.isdigit())
    distribution = str(version.get("distribution", "elasticsearch" if number else "unknown"))
    return Engine(distribution, parts)


@dataclass(frozen=True)
class Paging:
    method: str  # "point_in_time" | "search_after"
    detail: str


class NoIndices(Exception):
    """The index pattern matches no index: a wrong prefix or endpoint rather than a quiet period."""


def require_indices(client: Any, pattern: str) -> None:
    # _resolve/index rather than GET <pattern>: rdsaudit_reader may resolve and read, not get index settings.
    if not client.transport.perform_request("GET", f"/_resolve/index/{pattern}").get("indices"):
        raise NoIndices(f"no index matches {pattern}")


class Reader:
    """Searches over one index pattern, inside a point in time when the engine has one. Use as a context manager."""

    def __init__(self, client: Any, pattern: str, page_size: int = 1000) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.client = client
        self.pattern = pattern
        self.page_size = page_size
        self.engine = Engine("unknown", ())
        self.paging = Paging("search_after", "")
        self.requests = 0
        self._pit: tuple[str, str] | None = None  # (api, id)

    def __enter__(self) -> Reader:
        from opensearchpy.exceptions import TransportError

        try:
            self.engine = parse_engine(self.client.transport.perform_request("GET", "/"))
        except TransportError as e:  # rdsaudit_reader may not read the root document; Serverless has none
            self.engine = Engine(f"unknown (GET / answered {e.status_code})", ())
        why = f"{self.engine.name} has no point in time"
        known = self.engine.distribution in ("opensearch", "elasticsearch")
        # An engine that would not say what it is gets both point-in-time APIs tried, OpenSearch's first.
        candidates = [self.engine.pit_api()] if known else ["opensearch", "elasticsearch"]
        for api in filter(None, candidates):
            try:
                self._pit = (api, self._open_pit(api))
                break
            except TransportError as e:
                why = f"opening a point in time failed ({e.status_code} {str(e.error)[:120]})"
        if self._pit:
            endpoint = "/_search/point_in_time" if self._pit[0] == "opensearch" else "/_pit"
            self.paging = Paging(
                "point_in_time",
                f"one point in time ({endpoint}) for every request: all sections read the same snapshot; "
                "documents paged with search_after on (@timestamp, _id), aggregations composite to the last page",
            )
        else:
            self.paging = Paging(
                "search_after",
                f"{why}: documents paged with search_after on (@timestamp, _id) and aggregations composite to the "
                "last page, each request on the live indices; the period's document count is compared before and "
                "after the run",
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pit:
            api, pit_id = self._pit
            self._pit = None
            try:
                if api == "opensearch":
                    self._request("DELETE", "/_search/point_in_time", {"pit_id": [pit_id]})
                else:
                    self._request("DELETE", "/_pit", {"id": pit_id})
            except Exception:  # noqa: S110 - closing is best effort: the keep-alive expires it anyway
                pass

    def _open_pit(self, api: str) -> str:
        if api == "opensearch":
            answer = self._request("POST", f"/{self.pattern}/_search/point_in_time", params={"keep_alive": KEEP_ALIVE})
            return str(answer["pit_id"])
        answer = self._request("POST", f"/{self.pattern}/_pit", params={"keep_alive": KEEP_ALIVE})
        return str(answer["id"])

    def _request(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        self.requests += 1
        return self.client.transport.perform_request(method, path, body=body, params=params or {})

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._pit:
            api, pit_id = self._pit
            answer: dict[str, Any] = self._request(
                "POST", "/_search", {**body, "pit": {"id": pit_id, "keep_alive": KEEP_ALIVE}}
            )
            # Engines may hand back a new id for the same point in time; the newest one must be used next.
            self._pit = (api, str(answer.get("pit_id") or pit_id))
            return answer
        return dict(
            self._request(
                "POST",
                f"/{self.pattern}/_search",
                body,
                params={"allow_no_indices": "true", "ignore_unavailable": "true"},
            )
        )

    def count(self, query: Query) -> int:
        answer = self.search({"size": 0, "track_total_hits": True, "query": query})
        return int(answer["hits"]["total"]["value"])

    def composite(
        self, query: Query, sources: list[dict[str, Any]], aggs: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every bucket of a composite aggregation, page after page until an empty one."""
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {"size": self.page_size, "sources": sources}
            if after is not None:
                composite["after"] = after
            group: dict[str, Any] = {"composite": composite}
            if aggs:
                group["aggs"] = aggs
            answer = self.search({"size": 0, "track_total_hits": False, "query": query, "aggs": {"g": group}})
            result = answer["aggregations"]["g"]
            buckets = result.get("buckets", [])
            if not buckets or "after_key" not in result:
                return
            yield from buckets
            after = result["after_key"]

    def documents(self, query: Query, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every matching document, oldest first, as `_source` plus `_index` and `_id`."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": self.page_size,
                "track_total_hits": False,
                "query": query,
                "sort": SORT,
                "_source": fields,
            }
            if after is not None:
                body["search_after"] = after
            hits = self.search(body)["hits"]["hits"]
            if not hits:
                return
            for hit in hits:
                yield {**hit.get("_source", {}), "_index": hit["_index"], "_id": hit["_id"]}
            after = hits[-1]["sort"]
