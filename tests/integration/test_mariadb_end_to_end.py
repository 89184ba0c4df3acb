"""From SQL to search with the real audit plugin: a workload through PyMySQL against MariaDB's server_audit
(tests/integration/mariadb.py), every rotated file the plugin wrote sent through the forwarder as CloudWatch
payloads and through a backfill, then looked up in the real node: every statement with the session it went through,
one document per line, the same ids both ways, and no credential the workload used anywhere we store or print."""

from __future__ import annotations

import collections
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from handler.cli import main
from handler.sources.cloudwatch import encode_subscription_event
from handler.transforms.audit_line import decode_line
from handler.transforms.unescape import unescape
from tests.events.generate import plugin_escape
from tests.integration import mariadb_workload
from tests.integration.conftest import Forwarder
from tests.integration.mariadb import MariaDB

pytestmark = pytest.mark.integration
INSTANCE = "mariadb-e2e"
LOG_GROUP = f"/aws/rds/instance/{INSTANCE}/audit"
AUDIT_FIELDS = ("@timestamp", "server", "user", "client", "connid", "queryid", "operation", "db", "sql", "retcode")
# Names with commas that make a TABLE event's `db,table` pair readable two ways: those lines are flagged, not guessed.
AMBIGUOUS_PAIRS = (",shop,n,1,", ",db,comma,t,2,")


def all_docs(client: Any, prefix: str) -> dict[str, dict[str, Any]]:
    client.indices.refresh(index=f"{prefix}-*")
    body = {"size": 10000, "query": {"match_all": {}}, "sort": ["_doc"]}
    resp = client.search(index=f"{prefix}-*", body=body)
    assert resp["hits"]["total"]["value"] < 10000
    return {h["_id"]: h["_source"] for h in resp["hits"]["hits"]}


def expected_sql(sent: mariadb_workload.Sent, limit: int) -> str:
    # the plugin cuts the statement as it writes it (escaped) at server_audit_query_log_limit bytes; a cut
    # character reads as U+FFFD
    return unescape(plugin_escape(sent.sql).encode()[:limit].decode("utf-8", "replace"))


def event_ms(line: str) -> int:
    when = datetime.strptime(line[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def snapshot(server: MariaDB, root: Path) -> list[Path]:
    """The audit files as the dump layout holds them (the instance from the key), oldest first."""
    target = root / "RDS" / INSTANCE / "audit" / "2026-12-07"
    target.mkdir(parents=True)
    return [Path(shutil.copy2(p, target / p.name)) for p in server.audit_files()]


def test_workload_to_search_forwarder_and_backfill_agree(
    mariadb: MariaDB, forwarder: Forwarder, client: Any, tmp_path: Path, capsys: Any
) -> None:
    work = mariadb_workload.run(mariadb)
    mariadb.rotate()
    files = snapshot(mariadb, tmp_path / "archive")
    assert len(files) >= 3, "the workload should go through several real rotations"
    lines = [decode_line(b) for f in files for b in f.read_bytes().split(b"\n") if b]

    # the forwarder: each file as the payloads CloudWatch would deliver for it
    for n, f in enumerate(files):
        # CloudWatch takes each event's time from the line (the server's clock: UTC here, as on RDS)
        messages = [(m, event_ms(m)) for m in (decode_line(b) for b in f.read_bytes().split(b"\n") if b)]
        event = encode_subscription_event(messages, log_group=LOG_GROUP, log_stream=INSTANCE, first_id=n * 10**6)
        outcome = forwarder.invoke(event)
        assert outcome.get("batchItemFailures", []) == [], outcome
    live = all_docs(client, forwarder.prefix)

    # the backfill of the same files into another prefix
    backfill_prefix = "b" + forwarder.prefix[1:]  # not under the forwarder's pattern: a template of its own
    try:
        checkpoint = str(tmp_path / "cp.json")
        args = ["backfill", str(tmp_path / "archive"), "--index-prefix", backfill_prefix, "--checkpoint", checkpoint]
        assert main(args) == 0
        backfilled = all_docs(client, backfill_prefix)
    finally:
        client.indices.delete(index=f"{backfill_prefix}-*", allow_no_indices=True, ignore_unavailable=True)
        client.indices.delete_index_template(name=backfill_prefix, ignore=[404])
    capsys.readouterr()
    parse_out = []
    for f in files:
        assert main(["parse", str(f)]) == 0
        parse_out.append(capsys.readouterr().out)

    # one document per line, the same ids and fields both ways (and in `rdsaudit parse`)
    assert len(live) == len(lines) == len(backfilled)
    assert set(live) == set(backfilled)
    for doc_id, doc in live.items():
        # a flagged line's time is its event's live, the last parsed line's in a file (README): same second or next
        fields = AUDIT_FIELDS[1:] if "message" in doc else AUDIT_FIELDS
        assert {k: doc.get(k) for k in (*fields, "message")} == {
            k: backfilled[doc_id].get(k) for k in (*fields, "message")
        }, doc_id
    parsed_ids = {json.loads(r)["id"] for out in parse_out for r in out.split("\n") if r}
    assert parsed_ids == set(live)

    # every statement the workload sent, with its session's user, client, database, connection id and return code
    by_conn: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for doc in sorted(live.values(), key=lambda d: (d.get("connid", 0), d.get("queryid", 0))):
        if doc.get("operation") == "QUERY":
            by_conn[doc["connid"]].append(doc)
    for sent in work.sent:
        candidates = by_conn[sent.connid]
        if sent.secret:
            match = next((d for d in candidates if d["sql"].split(" ")[:2] == sent.sql.split(" ")[:2]), None)
        elif sent.sql.startswith("EXECUTE "):  # the plugin logs the prepared statement's text for EXECUTE
            match = next((d for d in candidates if d["sql"] == "INSERT INTO items (name, price) VALUES (?, ?)"), None)
        else:
            want = expected_sql(sent, mariadb.query_log_limit)
            match = next((d for d in candidates if d["sql"] == want), None)
        assert match is not None, f"not found: {str(sent)[:300]}"
        candidates.remove(match)
        got = (match["user"], match["client"], match["retcode"], match["db"] if sent.db is not None else None)
        assert got == (sent.user, sent.client, sent.retcode, sent.db), str(sent)[:300]

    # failed logins and COM_CHANGE_USER as the plugin writes them
    failed = collections.Counter(
        (d["user"], d["client"]) for d in live.values() if d.get("operation") == "FAILED_CONNECT"
    )
    assert failed == collections.Counter(work.failed_logins)
    changes = {(d["connid"], d["retcode"]): d for d in live.values() if d.get("operation") == "CHANGEUSER"}
    for connid, user, code in work.change_users:
        doc = changes[(connid, code)]
        if code == 0:  # a successful change: empty user and host, garbage in the database field
            assert (doc.get("user", ""), doc.get("client", "")) == ("", ""), doc  # empty fields are left out
            assert doc["db"] not in mariadb_workload.DATABASES
        else:  # refused: the user it asked for, an empty database
            assert (doc["user"], doc.get("db", "")) == (user, ""), doc

    # flagged lines are only the ambiguous `db,table` pairs
    flagged = [d for d in live.values() if "parse_failure" in d.get("tags", [])]
    assert flagged and all(any(p in d["message"] for p in AMBIGUOUS_PAIRS) for d in flagged), flagged[:3]
    assert all(d["parse_error"].startswith("ambiguous") for d in flagged)

    # no credential anywhere: documents (both ways), dead letters, `parse` output
    stored = [json.dumps(live), json.dumps(backfilled), *parse_out]
    stored += [p.read_text(errors="replace") for p in forwarder.dead_letter_dir.rglob("*") if p.is_file()]
    assert [mariadb_workload.leaked(text) for text in stored] == [[] for _ in stored]
    # …which the plugin's own log does hold (the check would see a leak)
    assert mariadb_workload.leaked("\n".join(lines))
