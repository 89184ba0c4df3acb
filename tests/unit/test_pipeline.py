"""The one write path with a scripted sender: every action ends indexed, already present, dead-lettered (with
the reason, masked) or pending, and the counts say which."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from handler.model import Context, RawEvent
from handler.pipeline import Pipeline
from handler.sinks.bulk import BulkWriter, SendFailure
from handler.sinks.dead_letter import LocalDeadLetters
from handler.transforms.batch import BatchTransformer, TransformOptions

CTX = Context(log_group="/aws/rds/cluster/c/audit", log_stream="c-1.audit.log", cluster="c", instance="c-1")
LINES = [f"1603442208508{i:03d},c-1,admin,10.0.0.{i},5,{i},QUERY,db,'select {i}',0" for i in range(10)]
SECRET_LINE = "1603442208508999,c-1,admin,h,5,9,QUERY,db,'CREATE USER u IDENTIFIED BY \\'hunter2\\'',0"


class Node:
    """Answers bulk requests like OpenSearch: per-item statuses by the document's `queryid`, a whole-request
    failure, or a clock jump (the request took that long)."""

    def __init__(self, by_queryid: dict[int, int] | None = None, fail_with: int | None = None) -> None:
        self.by_queryid = by_queryid or {}
        self.fail_with = fail_with
        self.requests = 0
        self.now = 0.0

    def send(self, body: bytes, timeout: float) -> dict[str, Any]:
        self.requests += 1
        if self.fail_with is not None:
            raise SendFailure(self.fail_with, {"error": "unavailable"}, f"{self.fail_with} unavailable")
        lines = body.split(b"\n")
        items = []
        for doc in lines[1::2][: len(lines) // 2]:
            status = self.by_queryid.get(json.loads(doc).get("queryid", -1), 201)
            item: dict[str, Any] = {"status": status}
            if status >= 300:
                item["error"] = {"type": "mapper_parsing_exception", "reason": f"status {status}"}
            items.append({"create": item})
        return {"errors": any("error" in i["create"] for i in items), "items": items}


def pipeline(node: Node, tmp_path: Path, **kw: Any) -> tuple[Pipeline, list[str]]:
    ensured: list[str] = []
    writer = BulkWriter(node.send, sleep=lambda s: None, clock=lambda: node.now, max_attempts=3, **kw)
    p = Pipeline(writer, LocalDeadLetters(tmp_path), ensure_template=lambda: ensured.append("audit"))
    return p, ensured


def actions(lines: list[str]) -> Any:
    return BatchTransformer(CTX, TransformOptions()).actions(RawEvent(line, None) for line in lines)


def test_every_action_accounted_for(tmp_path: Path) -> None:
    node = Node({1: 409, 2: 400, 3: 429})
    p, ensured = pipeline(node, tmp_path)
    counts = p.write(CTX, actions([*LINES, "not an audit line"]), key="batch-1")
    assert (counts.received, counts.indexed, counts.already_present, counts.dead_lettered, counts.pending) == (
        11,
        8,
        1,
        1,
        1,
    )
    assert counts.flagged == 1 and counts.balanced()
    assert counts.pending_reason.startswith("still failing after 3 attempts: item status 429")
    assert counts.rejections == {"mapper_parsing_exception: status 400": 1}
    assert ensured == ["audit"]
    [location] = counts.dead_letters
    [record] = [json.loads(line) for line in Path(location).read_text().splitlines()]
    assert (record["kind"], record["family"], record["status"], record["cluster"]) == ("document", "audit", 400, "c")
    assert record["document"]["queryid"] == 2 and record["id"] and record["index"] == "rdsaudit-2020.10.23"


def test_dead_letters_are_masked_and_replayable_without_the_raw_line(tmp_path: Path) -> None:
    p, _ = pipeline(Node({9: 400}), tmp_path)
    counts = p.write(CTX, actions([SECRET_LINE]), key="k")
    text = Path(counts.dead_letters[0]).read_text()
    assert "hunter2" not in text
    record = json.loads(text)
    assert record["document"]["sql"] == "CREATE USER u IDENTIFIED BY '***'"
    assert record["id"] == next(iter(actions([SECRET_LINE]))).doc_id  # the id of the original line


def test_whole_request_refused_leaves_everything_pending(tmp_path: Path) -> None:
    p, _ = pipeline(Node(fail_with=401), tmp_path)
    counts = p.write(CTX, actions(LINES), key="k")
    assert (counts.received, counts.pending, counts.indexed) == (10, 10, 0)
    assert counts.pending_reason.startswith("bulk request refused (401)")
    assert len(counts.pending_ids) == 10 and counts.balanced()


def test_deadline_reached_before_the_first_request(tmp_path: Path) -> None:
    node = Node()
    p, _ = pipeline(node, tmp_path)
    counts = p.write(CTX, actions(LINES), key="k", deadline=0.5)  # less than a request's minimum time left
    assert (counts.pending, node.requests) == (10, 0)
    assert counts.pending_reason == "deadline reached before every document was written"


def test_nothing_to_write_still_checks_the_template_once(tmp_path: Path) -> None:
    p, ensured = pipeline(Node(), tmp_path)
    assert p.write(CTX, [], key="k").received == 0
    p.write(CTX, actions(LINES[:1]), key="k")
    assert len(ensured) == 2  # the pipeline asks each time; the runtime answers from its cache
