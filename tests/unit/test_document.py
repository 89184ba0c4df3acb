from __future__ import annotations

import json
from collections.abc import Callable

from handler.model import Context, RawEvent
from handler.transforms.audit_line import AuditRecord, parse_line
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context
from handler.transforms.document import audit_document, document_id, index_name

AURORA_QUERY = (
    "1603440571474649,database-1-instance-1,admin,1.34.6.81,30,973788,QUERY,mysqldemo,"
    "'CREATE USER \\'x\\' IDENTIFIED BY \\'hunter2\\'',0"
)
FIELDS = {
    "@timestamp",
    "server",
    "user",
    "client",
    "connid",
    "queryid",
    "operation",
    "db",
    "sql",
    "sql_lower",
    "sql_fingerprint",
    "sql_fingerprint_hash",
    "table",
    "retcode",
    "connection_type",
    "log_group",
    "log_stream",
    "owner",
    "cluster",
    "instance",
}


def record(line: str) -> AuditRecord:
    rec = parse_line(line)
    assert isinstance(rec, AuditRecord)
    return rec


def test_context_from_cluster_group() -> None:
    ctx = cloudwatch_context(
        "/aws/rds/cluster/prod-aurora/audit", "prod-aurora-1.audit.log.2.2024-10-09-18-20.0.1", "1"
    )
    assert (ctx.cluster, ctx.instance) == ("prod-aurora", "prod-aurora-1")


def test_context_from_instance_group() -> None:
    ctx = cloudwatch_context("/aws/rds/instance/mysql-1/audit", "mysql-1", "1")
    assert (ctx.cluster, ctx.instance) == (None, "mysql-1")


def test_context_unknown_group() -> None:
    ctx = cloudwatch_context("/custom/group", "s", None)
    assert (ctx.cluster, ctx.instance, ctx.owner) == (None, None, None)


def test_document_fields_and_masking() -> None:
    ctx = cloudwatch_context("/aws/rds/cluster/c/audit", "i.audit.log.0", "123456789012")
    doc = audit_document(record(AURORA_QUERY), ctx)
    assert set(doc) <= FIELDS
    assert doc["sql"] == "CREATE USER 'x' IDENTIFIED BY '***'"
    assert doc["@timestamp"] == "2020-10-23T08:09:31.474649Z"
    assert doc["cluster"] == "c" and doc["instance"] == "i" and doc["owner"] == "123456789012"
    unmasked = audit_document(record(AURORA_QUERY), ctx, mask=False)
    assert "hunter2" in unmasked["sql"]


def test_statement_prefix_and_fingerprint() -> None:
    """`sql_lower` holds the statement's start for "starts with" searches; the fingerprint is taken of the masked
    statement even when masking is off, so it never holds the password the unmasked `sql` keeps."""
    ctx = Context()
    doc = audit_document(record(AURORA_QUERY), ctx)
    assert doc["sql_lower"] == "create user 'x' identified by '***'"
    assert doc["sql_fingerprint"] == "CREATE USER ? IDENTIFIED BY ?"
    assert len(doc["sql_fingerprint_hash"]) == 16
    unmasked = audit_document(record(AURORA_QUERY), ctx, mask=False)
    assert (unmasked["sql_fingerprint"], unmasked["sql_fingerprint_hash"]) == (
        doc["sql_fingerprint"],
        doc["sql_fingerprint_hash"],
    )
    long = record("1603440571474649,i,app,h,30,9,QUERY,db,'" + "SELECT " + "a, " * 400 + "b FROM t',0")
    assert len(audit_document(long, ctx)["sql_lower"]) == 256
    table = audit_document(record("1603440571474649,i,app,h,30,9,READ,db,orders,0"), ctx)
    assert table["sql_lower"] == "orders" and "sql_fingerprint" not in table  # a TABLE event names a table


def test_table_events_name_their_table() -> None:
    """`table`: what sessions aggregate "tables touched" on (template version 2 has no keyword of `sql`); only
    the plugin's table events have it, RENAME's `old|newdb.new` object as written."""
    ctx = Context()
    for op, obj in (("READ", "orders"), ("WRITE", "Invoices"), ("CREATE", "t"), ("RENAME", "t_old|db.t_new")):
        doc = audit_document(record(f"1603440571474649,i,app,h,30,9,{op},db,{obj},"), ctx)
        assert doc["table"] == doc["sql"] == obj, op
    assert "table" not in audit_document(record(AURORA_QUERY), ctx)
    assert "table" not in audit_document(record("1603440571474649,i,app,h,30,0,CONNECT,db,,0"), ctx)
    assert "table" not in audit_document(record("1603440571474649,i,app,h,30,9,READ,db,,"), ctx)


def test_empty_fields_are_omitted() -> None:
    doc = audit_document(record("20201130 23:08:45,localhost.localdomain,,,2,0,DISCONNECT,,,0"), Context())
    assert doc == {
        "@timestamp": "2020-11-30T23:08:45Z",
        "server": "localhost.localdomain",
        "connid": 2,
        "queryid": 0,
        "operation": "DISCONNECT",
        "retcode": 0,
    }


def test_index_name() -> None:
    assert index_name("rdsaudit", "2020.10.23") == "rdsaudit-2020.10.23"


def test_ids_depend_on_line_and_occurrence_only() -> None:
    assert document_id("a") == document_id("a")
    assert document_id("a") != document_id("b")
    assert document_id("a", 1) not in {document_id("a"), document_id("a", 2)}


def test_batch_ids_identical_lines_distinct_and_context_free() -> None:
    line = "20201130 23:08:45,localhost.localdomain,,,2,0,DISCONNECT,,,0"
    a = BatchTransformer(Context(log_group="g1"), TransformOptions())
    ids = [a.action(RawEvent(line, 0)).doc_id for _ in range(3)]
    assert len(set(ids)) == 3
    b = BatchTransformer(Context(log_group="other"), TransformOptions(index_prefix="x"))
    assert b.action(RawEvent(line, 99)).doc_id == ids[0]  # the same line from another source: same id


def test_parse_failure_document_uses_event_time() -> None:
    t = BatchTransformer(Context(log_group="g"), TransformOptions())
    action = t.action(RawEvent("not an audit line IDENTIFIED BY 'pw'", 1_700_000_000_123))
    doc = action.document()
    assert action.index_name == "rdsaudit-2023.11.14"
    assert doc["@timestamp"] == "2023-11-14T22:13:20.123Z"
    assert doc["tags"] == ["parse_failure"]
    assert doc["message"] == "not an audit line IDENTIFIED BY '***'"
    assert "expected at least 10" in doc["parse_error"]
    assert action.flagged


def test_parse_failure_without_time_takes_previous_record_time() -> None:
    t = BatchTransformer(Context(), TransformOptions())
    t.action(RawEvent("20201130 23:08:45,h,,,2,0,DISCONNECT,,,0"))
    doc = t.action(RawEvent("garbage")).document()
    assert doc["@timestamp"] == "2020-11-30T23:08:45Z"


def test_bulk_body_is_ndjson_create() -> None:
    t = BatchTransformer(Context(), TransformOptions(index_prefix="audit"))
    action = t.action(RawEvent(AURORA_QUERY, 0))
    head, doc, end = action.body.split(b"\n")
    assert end == b""
    assert json.loads(head) == {"create": {"_index": "audit-2020.10.23", "_id": action.doc_id}}
    assert json.loads(doc)["queryid"] == 973788


def test_lone_surrogate_does_not_break_encoding() -> None:
    t = BatchTransformer(Context(), TransformOptions())
    action = t.action(RawEvent("1603440571474649,i,u,h,1,2,QUERY,db,'x\ud800y',0", 0))
    assert action.document()["sql"] == "x\ufffdy"


def test_skip_keeps_later_ids_and_failure_times_identical() -> None:
    lines = ["20201130 23:08:45,h,,,2,0,DISCONNECT,,,0"] * 3 + ["garbage", "20201130 23:08:45,h,,,2,0,DISCONNECT,,,0"]
    full = BatchTransformer(Context(), TransformOptions())
    expected = [full.action(RawEvent(line)) for line in lines]
    resumed = BatchTransformer(Context(), TransformOptions())
    for line in lines[:2]:
        resumed.skip(RawEvent(line))
    rest = [resumed.action(RawEvent(line)) for line in lines[2:]]
    assert [(a.doc_id, a.index_name, a.body) for a in rest] == [(a.doc_id, a.index_name, a.body) for a in expected[2:]]


def test_occurrence_memory_is_bounded() -> None:
    from handler.transforms.batch import Occurrences

    occ = Occurrences(limit=3)
    assert [occ.next(b"a"), occ.next(b"a"), occ.next(b"b"), occ.next(b"c"), occ.next(b"d")] == [0, 1, 0, 0, 0]
    assert occ.next(b"a") == 0  # forgotten: oldest first
    assert occ.next(b"d") == 1


def test_occurrences_forget_in_first_seen_order_like_a_plain_model(seed: Callable[[int], int]) -> None:
    import random

    from handler.transforms.batch import Occurrences

    rng = random.Random(seed(7))
    occ, counts, order = Occurrences(limit=50), {}, []  # the model: a dict and a list, oldest first
    for _ in range(5000):
        digest = bytes([rng.randrange(80)])
        if digest in counts:
            expected = counts[digest]
            counts[digest] += 1
        else:
            if len(counts) >= 50:
                del counts[order.pop(0)]
            counts[digest], expected = 1, 0
            order.append(digest)
        assert occ.next(digest) == expected


def test_the_id_of_a_line_with_a_password_cannot_test_guesses() -> None:
    """Everything in a line but the password can be read back from its (masked) document, and the id is a fast
    unkeyed hash: digested raw, it would confirm a guessed password offline. Such lines are digested masked."""
    import hashlib

    from handler.transforms.document import id_from_digest, line_digest
    from handler.transforms.sql_secrets import mask_raw_line

    line = "1603439251354761,i1,admin,h,30,7,QUERY,db,'CREATE USER u IDENTIFIED BY \\'Summer2024!\\'',0"
    action = BatchTransformer(Context(), TransformOptions()).action(RawEvent(line))
    guess = id_from_digest(hashlib.blake2b(line.encode(), digest_size=16).digest())
    assert action.doc_id != guess
    assert action.doc_id == id_from_digest(line_digest(line, secret=True)) == document_id(line)
    # identified by the event's fields, not by the masker's output: a better masker later keeps the id
    assert action.doc_id != id_from_digest(line_digest(mask_raw_line(line)))
    # the same with masking off (forensic use): the id does not depend on that setting
    unmasked = BatchTransformer(Context(), TransformOptions(mask_secrets=False)).action(RawEvent(line))
    assert unmasked.doc_id == action.doc_id and "Summer2024!" in unmasked.document()["sql"]
    # a line without a credential keeps the digest of the line itself
    plain = "1603439251354761,i1,admin,h,30,8,QUERY,db,'select 1',0"
    assert document_id(plain) == id_from_digest(hashlib.blake2b(plain.encode(), digest_size=16).digest())


def test_an_activity_event_with_a_password_is_identified_without_it() -> None:
    from handler.transforms.activity import activity_id

    event = {"logTime": "2020-05-22 18:07:13.267214+00", "sessionId": "124", "statementId": 2, "substatementId": 1}
    with_secret = {**event, "commandText": "CREATE USER 'r'@'%' IDENTIFIED BY 'Summer2024!'"}
    other_secret = {**event, "commandText": "CREATE USER 'r'@'%' IDENTIFIED BY 'Winter2025!'"}
    assert activity_id("c", with_secret) == activity_id("c", other_secret) == activity_id("c", event)
    plain = {**event, "commandText": "SELECT 1"}
    assert activity_id("c", plain) != activity_id("c", event)  # other events keep their whole content in the id
