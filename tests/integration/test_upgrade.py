"""Upgrading to template version 2 on the real node: a daily index written by the previous release (version 1's
template and documents) beside one written now. Setup says what changed and rewrites nothing; every saved search,
the report and Dashboards' view of the fields (field capabilities, what the index pattern is built from) work over
both; top statements group the new documents and count the old ones they cannot group."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from handler.cli import main
from handler.model import RawEvent
from handler.read.events import saved_search
from handler.read.period import Period
from handler.report.build import make_report, render
from handler.report.model import ReportOptions
from handler.sources.cloudwatch import encode_subscription_event
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context
from handler.transforms.fingerprint import fingerprint, fingerprint_hash
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration

V1 = Path(__file__).resolve().parents[1] / "events" / "index-template-v1.json"
GROUP, STREAM = "/aws/rds/cluster/up/audit", "up-1.audit.log.0.2026-07-01-00-00.0.1"
DAY1, DAY2 = 1_782_864_000_000_000, 1_782_950_400_000_000  # 2026-07-01 and 2026-07-02, 00:00 UTC, in µs
STATEMENTS = [
    ("CREATE USER \\'bob\\'@\\'%\\' IDENTIFIED BY \\'s3cret\\'", 0),
    ("GRANT SELECT ON shop.* TO \\'bob\\'@\\'%\\'", 0),
    ("CREATE TABLE t_{n} (id int, " + "c{n} varchar(20), " * 30 + "PRIMARY KEY (id))", 0),  # longer than 256
    ("SELECT * FROM orders WHERE id = {n}", 0),
    ("SELECT * FROM orders WHERE id = {n}", 0),
    ("select * from orders where id in ({n}, 2, 3)", 1146),
]


def lines(base_us: int) -> list[str]:
    out = []
    for n, (sql, retcode) in enumerate(STATEMENTS):
        out.append(f"{base_us + n},up-1,app,10.0.0.{n},7,{n + 1},QUERY,shop,'{sql.format(n=n)}',{retcode}")
    out.append(f"{base_us + 99},up-1,mallory,10.0.0.9,8,0,FAILED_CONNECT,,,1045")
    return out


NEW_FIELDS = ("sql_lower", "sql_fingerprint", "sql_fingerprint_hash", "table")  # what version 1 did not write


def write(forwarder: Forwarder, day_lines: list[str], strip: tuple[str, ...] = NEW_FIELDS) -> None:
    """Documents of `day_lines` as the transform builds them, without the fields `strip` names (as an older
    release wrote them), bulk-written with their ids."""
    transformer = BatchTransformer(
        cloudwatch_context(GROUP, STREAM, "1"), TransformOptions(index_prefix=forwarder.prefix)
    )
    body = []
    for action in transformer.actions(RawEvent(line) for line in day_lines):
        doc = {k: v for k, v in action.document().items() if k not in strip}
        body += [{"create": {"_index": action.index_name, "_id": action.doc_id}}, doc]
    assert not forwarder.client.bulk(body=body, refresh=True)["errors"]


def old_release(forwarder: Forwarder, day_lines: list[str] | None = None) -> str:
    """Day 1 as the previous release left it: version 1's template and index, its documents (no new fields)."""
    prefix, client = forwarder.prefix, forwarder.client
    template = json.loads(V1.read_text(encoding="utf-8"))
    template["index_patterns"] = [f"{prefix}-*"]
    client.indices.put_index_template(name=prefix, body=template)
    write(forwarder, lines(DAY1) if day_lines is None else day_lines)
    return f"{prefix}-2026.07.01"


def test_old_and_new_indices_side_by_side(forwarder: Forwarder, capsys: Any, tmp_path: Path) -> None:
    client, prefix = forwarder.client, forwarder.prefix
    old = old_release(forwarder)
    old_mapping = client.indices.get_mapping(index=old)[old]["mappings"]
    assert "keyword" in old_mapping["properties"]["sql"]["fields"]  # truly version 1

    assert main(["setup", "--index-prefix", prefix]) == 0
    out = capsys.readouterr().out
    assert f"index template {prefix}: updated" in out
    assert "version 2: best_compression codec" in out and "Existing indices keep their mappings" in out
    assert client.indices.get_mapping(index=old)[old]["mappings"] == old_mapping  # nothing rewritten

    event = encode_subscription_event(lines(DAY2), log_group=GROUP, log_stream=STREAM)
    assert forwarder.invoke(event)["indexed"] == len(STATEMENTS) + 1
    new = f"{prefix}-2026.07.02"
    assert client.indices.get_settings(index=new)[new]["settings"]["index"]["codec"] == "best_compression"
    forwarder.refresh()

    # every saved search finds its events in both indices
    pattern = f"{prefix}-*"
    for event_class, per_day in (("account_changes", 2), ("schema_changes", 1), ("failed_logins", 1)):
        hits = forwarder.search(saved_search(event_class))
        assert sorted(h["_index"] for h in hits) == sorted([old] * per_day + [new] * per_day), event_class

    # Dashboards builds the index pattern from field capabilities: no field has two types across the indices
    caps = client.transport.perform_request("GET", f"/{pattern}/_field_caps", params={"fields": "*"})["fields"]
    conflicts = {name: list(types) for name, types in caps.items() if len(types) > 1}
    assert not conflicts, conflicts
    assert caps["sql_fingerprint_hash"]["keyword"]["aggregatable"] and caps["user"]["keyword"]["aggregatable"]

    options = ReportOptions(period=Period(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 3, tzinfo=UTC)))
    report = make_report(client, pattern=pattern, endpoint="http://127.0.0.1:9200", options=options)
    data = report["data"]
    assert {i["index"]: i["documents"] for i in data["coverage"]["indices"]} == {old: 7, new: 7}
    assert data["account_changes"]["count"] == 4 and data["schema_changes"]["count"] == 2
    assert data["failed_logins"]["total"] == 2
    assert all("s3cret" not in r["statement"] for r in data["account_changes"]["rows"])
    top = data["top_statements"]
    assert top["without_fingerprint"] == len(STATEMENTS)  # day 1's statements: indexed before fingerprints
    select = fingerprint("SELECT * FROM orders WHERE id = 3")
    first = top["by_count"][0]
    assert (first["fingerprint"], first["hash"], first["events"]) == (select, fingerprint_hash(select), 2)
    assert top["events"] == len(STATEMENTS) and top["distinct"] == len(STATEMENTS) - 1
    failing = top["by_failures"]
    assert [(f["fingerprint"], f["failures"]) for f in failing] == [("select * from orders where id in (?+)", 1)]
    assert [u["user"] for u in top["by_user"]] == ["app"]
    for fmt in ("md", "html"):
        text = render(report, fmt)
        assert "Top statements" in text and select in text and "before fingerprints existed" in text


def _table_event(us: int, op: str, table: str) -> str:
    return f"{us},up-1,app,10.0.0.5,9,{us % 1000},{op},shop,{table},"


def test_session_tables_over_old_and_new_indices(forwarder: Forwarder) -> None:
    """One session over three daily indices: version 1's (day 1), one that maps both `table` and `sql.keyword`
    (day 2: an operator who put sql.keyword back for exact matches) and version 2's (day 3). Each table event is
    counted once: by `sql.keyword` where `table` is not mapped (even a newer release's document in the old
    index), by `table` where it is; a table event stored with neither name is counted in a note."""
    from handler.mappings import index_template
    from handler.read.reader import Reader
    from handler.sessions import find_session
    from handler.sessions.listing import list_sessions

    client, prefix = forwarder.client, forwarder.prefix
    day3 = DAY2 + 86_400_000_000
    day1 = [f"{DAY1 + 10},up-1,app,10.0.0.5,9,0,CONNECT,shop,,0"]
    touched = [("READ", "orders"), ("READ", "orders"), ("WRITE", "invoices")]
    day1 += [_table_event(DAY1 + 20 + n, op, table) for n, (op, table) in enumerate(touched)]
    old_release(forwarder, day1)
    write(forwarder, [_table_event(DAY1 + 50, "READ", "orders")], strip=())  # the new release, the day's index old
    client.indices.put_index_template(name=prefix, body=index_template(prefix))
    both = f"{prefix}-2026.07.02"
    keyword = {"sql": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 8191}}}}
    client.indices.create(index=both, body={"mappings": {"properties": keyword}})
    later = [_table_event(DAY2 + 10, "READ", "orders"), _table_event(day3 + 11, "READ", "Customers")]
    disconnect = f"{day3 + 90},up-1,app,10.0.0.5,9,0,DISCONNECT,shop,,0"
    event = encode_subscription_event([*later, disconnect], log_group=GROUP, log_stream=STREAM)
    assert forwarder.invoke(event)["indexed"] == 3
    forwarder.refresh()
    mapped = client.indices.get_mapping(index=both)[both]["mappings"]["properties"]
    assert "table" in mapped and "keyword" in mapped["sql"]["fields"]
    tables = [{"table": "orders", "events": 4}, {"table": "Customers", "events": 1}, {"table": "invoices", "events": 1}]
    period = Period(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 4, tzinfo=UTC))

    def summaries() -> list[Any]:
        with Reader(client, f"{prefix}-*", page_size=2) as reader:
            found = find_session(reader, "up-1", 9)
            (listed,) = list_sessions(reader, period)  # one CONNECT … DISCONNECT: the listing's own aggregation
        assert found is not None
        return [found, listed]

    for summary in summaries():
        assert summary.tables == tables and summary.operations["READ"] == 5
        assert not any("table name" in n for n in summary.notes)

    write(forwarder, [_table_event(day3 + 12, "READ", "orders")])  # an older release, version 2's index
    forwarder.refresh()
    for summary in summaries():
        assert summary.tables == tables and summary.operations["READ"] == 6
        assert "1 table event(s) without a stored table name: not in the tables touched" in summary.notes
