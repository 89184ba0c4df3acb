"""Detections on incidents the real server_audit plugin wrote (tests/integration/mariadb.py, a server of this
module's own): real clients plant each incident with a near-miss beside it (tests/integration/mariadb_incidents.py),
the plugin's files go through the forwarder into the real node, `rdsaudit detect` runs over the period, and the
findings are exactly the planted ones (rule and key); a rerun adds nothing; no password the workload used is in
anything stored or printed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handler import app
from handler.cli import main
from handler.read.patterns import findings_pattern
from handler.read.period import iso
from handler.sources.cloudwatch import encode_subscription_event
from handler.transforms.audit_line import decode_line
from tests.integration import mariadb as mdb
from tests.integration.conftest import Forwarder
from tests.integration.mariadb_incidents import OVERRIDES, SECRETS, Plant, incidents, next_second, setup
from tests.integration.test_mariadb_end_to_end import event_ms

pytestmark = pytest.mark.integration
INSTANCE = "mariadb-detect"


@pytest.fixture(scope="module")
def server() -> Iterator[mdb.MariaDB]:
    problem = mdb.missing()
    if problem:
        mdb._unavailable(problem)
    try:
        own = mdb.start()  # its own: the workload sets global variables (server_audit_logging, excl_users)
    except RuntimeError as e:
        mdb._unavailable(str(e))
        raise
    try:
        yield own
    finally:
        mdb.stop(own)


def _index(forwarder: Forwarder, server: mdb.MariaDB) -> list[str]:
    lines = []
    for n, f in enumerate(server.audit_files()):
        messages = [(m, event_ms(m)) for m in (decode_line(b) for b in f.read_bytes().split(b"\n") if b)]
        event = encode_subscription_event(
            messages, log_group=f"/aws/rds/instance/{INSTANCE}/audit", log_stream=INSTANCE, first_id=n * 10**6
        )
        out = forwarder.invoke(event)
        assert (out["dead_lettered"], out["pending"]) == (0, 0), out
        lines += [m for m, _ in messages]
    forwarder.refresh()
    return lines


def _detect(capsys: pytest.CaptureFixture[str], prefix: str, since: datetime, until: datetime) -> tuple[str, Any]:
    capsys.readouterr()
    args = ["detect", "--since", iso(since), "--until", iso(until), "--format", "json", "--index-prefix", prefix]
    assert main(args) == 0
    out = capsys.readouterr()
    return out.out + out.err, json.loads(out.out)


def test_incidents_the_plugin_wrote_are_found_exactly_once(
    server: mdb.MariaDB,
    forwarder: Forwarder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RDSAUDIT_DETECTIONS", json.dumps(OVERRIDES))
    app.reset_runtime()  # the forwarder tags with the overrides
    while datetime.now(UTC).strftime("%M:%S") >= "59:30":  # an event rule's finding is per connection and UTC hour
        next_second()
    p = Plant(server)
    setup(p)
    since = next_second()
    incidents(p)
    until = next_second() + timedelta(seconds=1)
    lines = _index(forwarder, server)
    assert max(event_ms(m) for m in lines if "shop.scratch" in m) < since.timestamp() * 1000  # setup before
    # what the weakened audit did not write
    assert not [m for m in lines if "SELECT COUNT(*) FROM t" in m or "unlogged" in m]
    hidden = [m.split(",")[6] for m in lines if m.split(",")[4] == str(p.hidden_connid)]
    assert hidden == ["CONNECT", "DISCONNECT"]

    printed, first = _detect(capsys, forwarder.prefix, since, until)
    got = Counter((f["rule"], f["key"]) for f in first["findings"])
    want = Counter(p.expected)
    assert got == want, (got - want, want - got)
    assert first["new"] == len(p.expected)
    by_key = {(f["rule"], f["key"]): f for f in first["findings"]}
    assert {k: by_key[k]["count"] for k in p.counts} == p.counts
    for user, connid in p.logins.items():  # the connection that got in, and its session
        login = next(f for f in first["findings"] if f["rule"] == "login-after-failures" and f["user"] == user)
        assert (login["server"], login["connid"], login["examples"][0]["operation"]) == (p.host, connid, "CONNECT")
        assert login["session"]["key"].startswith(f"{p.host}/") and login["session"]["summary"]["user"] == user
    refused = by_key[("export-to-file", next(k for r, k in p.expected if r == "export-to-file"))]
    assert sorted(e.get("sql", "")[:6] for e in refused["examples"]) == ["SELECT", "SELECT"]

    printed_again, second = _detect(capsys, forwarder.prefix, since, until)
    assert second["new"] == 0 and Counter((f["rule"], f["key"]) for f in second["findings"]) == want
    client = forwarder.client
    client.indices.refresh(index=findings_pattern(forwarder.prefix))
    stored = client.count(index=findings_pattern(forwarder.prefix), body={"query": {"exists": {"field": "rule"}}})
    assert stored["count"] == len(p.expected)

    # no password anywhere we store or print (every document of the prefix: audit, findings, state)
    client.indices.refresh(index=f"{forwarder.prefix}-*")
    docs = client.search(index=f"{forwarder.prefix}-*", body={"size": 10000, "query": {"match_all": {}}})
    assert docs["hits"]["total"]["value"] < 10000
    texts = [json.dumps(docs["hits"]["hits"]), printed, printed_again]
    assert [[s for s in SECRETS if s in text] for text in texts] == [[], [], []]
    # the statements that carried them are there (masked), so the check looked where they would be
    account = next(f for f in first["findings"] if f["rule"] == "account-change")
    assert [e["sql"].split(" ")[:2] for e in account["examples"]][:4] == [
        ["CREATE", "USER"],
        ["GRANT", "SELECT"],
        ["SET", "PASSWORD"],
        ["ALTER", "USER"],
    ]
