"""Window rules on what the real server_audit plugin writes (tests/integration/test_detect_mariadb.py found each of
these): whole-second times, connections numbered in arrival order, the node's own timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handler.detect.catalog import load_catalog
from handler.detect.findings import document
from handler.detect.windows import logins_after_failures, new_clients
from handler.read.period import Period

CATALOG = load_catalog()


def _row(n: int, operation: str, second: str = "23:25:16", **kw: Any) -> dict[str, Any]:
    return {
        "_id": f"id{n}",
        "_index": "rdsaudit-2026.12.07",
        "@timestamp": f"2026-12-07T{second}.000Z",
        "server": "vm",
        "user": "carol",
        "client": "127.0.0.30",
        "connid": n,
        "operation": operation,
        **kw,
    }


def test_a_login_in_the_same_second_as_its_failures_follows_them_by_connection_id() -> None:
    rule = CATALOG.rule("login-after-failures")  # 5 failures within 900 s
    failures = [_row(n, "FAILED_CONNECT", retcode=1045) for n in range(6, 11)]
    login = _row(11, "CONNECT")
    found = logins_after_failures(rule, "carol", "127.0.0.30", failures, [login])
    assert [(f.key, f.count, f.first, f.last) for f in found] == [
        ({"user": "carol", "client": "127.0.0.30"}, 5, failures[0]["@timestamp"], login["@timestamp"])
    ]
    # a failure in that second with a later connection id came after the login: 4 before it are not enough
    late = [*failures[1:], _row(12, "FAILED_CONNECT", retcode=1045)]
    assert logins_after_failures(rule, "carol", "127.0.0.30", late, [login]) == []


def test_a_login_after_failures_names_the_connection_that_got_in() -> None:
    rule = CATALOG.rule("login-after-failures")
    failures = [_row(n, "FAILED_CONNECT", second="23:25:15", retcode=1045) for n in range(6, 11)]
    (finding,) = logins_after_failures(rule, "carol", "127.0.0.30", failures, [_row(11, "CONNECT")])
    doc = document(finding, now="2026-12-07T23:30:00Z", pattern_id="p", catalog_version=1)
    assert (doc["server"], doc["connid"], doc["user"], doc["client"]) == ("vm", 11, "carol", "127.0.0.30")
    assert doc["examples"][0]["id"] == "id11"


class _Reader:
    """Stands in for handler/read/reader.py's Reader with the answers the real node gave for one login exactly at
    the run's start: a `min` aggregation's value_as_string in the field's format (`strict_date_optional_time`,
    milliseconds always written), and that login as the one document."""

    def __init__(self, login: dict[str, Any]) -> None:
        self.login = login

    def composite(self, query: Any, sources: list[dict[str, Any]], aggs: Any = None) -> list[dict[str, Any]]:
        assert [next(iter(s)) for s in sources] == ["user", "client"] and set(aggs) == {"first"}
        key = {"user": self.login["user"], "client": self.login["client"]}
        return [{"key": key, "doc_count": 1, "first": {"value_as_string": self.login["@timestamp"]}}]

    def documents(self, query: Any, fields: list[str]) -> list[dict[str, Any]]:
        return [self.login]


def test_a_new_client_logging_in_at_the_runs_first_second_is_in_the_run() -> None:
    login = _row(11, "CONNECT", user="app", client="127.0.0.40")  # …T23:25:16.000Z
    run = Period(datetime(2026, 12, 7, 23, 25, 16, tzinfo=UTC), datetime(2026, 12, 7, 23, 30, tzinfo=UTC))
    found = new_clients(_Reader(login), CATALOG, CATALOG.rule("new-client"), run)  # type: ignore[arg-type]
    assert [(f.key, f.first) for f in found] == [({"user": "app", "client": "127.0.0.40"}, login["@timestamp"])]
    before = Period(datetime(2026, 12, 7, 23, 25, 17, tzinfo=UTC), run.until)
    assert new_clients(_Reader(login), CATALOG, CATALOG.rule("new-client"), before) == []  # type: ignore[arg-type]


def test_the_session_of_a_login_after_failures_is_looked_up_at_the_login(monkeypatch: Any) -> None:
    from handler.detect import job
    from handler.sessions import lookup

    asked: list[tuple[str, int, str]] = []
    monkeypatch.setattr(
        lookup, "find_session", lambda reader, server, connid, at, **_: asked.append((server, connid, at))
    )
    rule = CATALOG.rule("login-after-failures")
    failures = [_row(n, "FAILED_CONNECT", second="23:25:14", retcode=1045) for n in range(6, 11)]
    (finding,) = logins_after_failures(rule, "carol", "127.0.0.30", failures, [_row(11, "CONNECT")])
    doc = document(finding, now="2026-12-07T23:30:00Z", pattern_id="p", catalog_version=1)
    job._with_session(None, CATALOG, finding, doc)  # type: ignore[arg-type]
    assert asked == [("vm", 11, "2026-12-07T23:25:16.000Z")]  # the failures' connections hold no event of it


def test_a_failure_on_another_server_in_the_logins_second_counts_whatever_its_connection_id() -> None:
    # Aurora: one cluster endpoint, several instances, each numbering its own connections from its own start
    rule = CATALOG.rule("login-after-failures")  # 5 failures within 900 s
    earlier = [_row(n, "FAILED_CONNECT", second="23:25:15", retcode=1045) for n in range(6, 10)]
    login = _row(11, "CONNECT", server="writer-1")
    elsewhere = _row(500, "FAILED_CONNECT", server="reader-2", retcode=1045)  # same second, unrelated id
    (finding,) = logins_after_failures(rule, "carol", "127.0.0.30", [*earlier, elsewhere], [login])
    assert finding.count == 5
    assert {r["_id"] for r in finding.rows} == {"id6", "id7", "id8", "id9", "id500", "id11"}
    # on the login's own server a later id in that second still came after it: 4 before it are not enough
    same = _row(500, "FAILED_CONNECT", server="writer-1", retcode=1045)
    assert logins_after_failures(rule, "carol", "127.0.0.30", [*earlier, same], [login]) == []


ODD = 'o"brien\\x'  # MySQL allows any character in a quoted user name: `CREATE USER 'o"brien\\x'@'%'`
ODD_QUERY = 'user:"o\\"brien\\\\x"'  # Lucene's phrase escapes: \" and \\


def test_a_login_after_failures_query_escapes_the_user_name() -> None:
    rule = CATALOG.rule("login-after-failures")
    failures = [_row(n, "FAILED_CONNECT", second="23:25:15", user=ODD, retcode=1045) for n in range(6, 11)]
    (finding,) = logins_after_failures(rule, ODD, "127.0.0.30", failures, [_row(11, "CONNECT", user=ODD)])
    assert finding.query.endswith(f'AND {ODD_QUERY} AND client:"127.0.0.30"')


def test_a_new_client_query_escapes_the_user_name() -> None:
    login = _row(11, "CONNECT", user=ODD, client="127.0.0.40")
    run = Period(datetime(2026, 12, 7, 23, 25, 16, tzinfo=UTC), datetime(2026, 12, 7, 23, 30, tzinfo=UTC))
    (finding,) = new_clients(_Reader(login), CATALOG, CATALOG.rule("new-client"), run)  # type: ignore[arg-type]
    assert finding.query == f'operation:CONNECT AND {ODD_QUERY} AND client:"127.0.0.40"'


class _ReadsReader:
    """Stands in for the Reader in bulk_reads: one (user, window, client) bucket over the threshold, in the shape
    a composite aggregation answers (key per source, doc_count, min/max value_as_string)."""

    def composite(self, query: Any, sources: list[dict[str, Any]], aggs: Any = None) -> list[dict[str, Any]]:
        assert [next(iter(s)) for s in sources] == ["user", "t", "client"]
        stamp = "2026-12-07T23:25:16.000Z"
        key = {"user": ODD, "t": 1796685900000, "client": "127.0.0.40"}
        return [
            {"key": key, "doc_count": 10**6, "first": {"value_as_string": stamp}, "last": {"value_as_string": stamp}}
        ]

    def documents(self, query: Any, fields: list[str]) -> list[dict[str, Any]]:
        return [_row(11, "READ", user=ODD)]


def test_a_bulk_read_query_escapes_the_user_name() -> None:
    from handler.detect.windows import bulk_reads

    run = Period(datetime(2026, 12, 7, 23, 25, tzinfo=UTC), datetime(2026, 12, 7, 23, 30, tzinfo=UTC))
    (finding,) = bulk_reads(_ReadsReader(), CATALOG, CATALOG.rule("bulk-read"), run)  # type: ignore[arg-type]
    assert finding.query.endswith(f") AND {ODD_QUERY}")
