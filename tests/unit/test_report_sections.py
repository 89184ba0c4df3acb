"""Sections built from hand-made engine answers (no node), the seal over the data, and the three renderings."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from handler.detect.catalog import Allow, load_catalog
from handler.read.period import Period
from handler.read.reader import Paging, parse_engine
from handler.report.build import public_endpoint, render
from handler.report.integrity import digest, envelope, verify
from handler.report.model import Raw, ReportOptions
from handler.report.render_md import sparkline
from handler.report.rules import report_rules
from handler.report.sections import build_data

PERIOD = Period(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 4, tzinfo=UTC))  # three days: hourly series
# the catalog's rules, business hours in Paris and a 3-day look-back as if set on the command line
RULES = report_rules(load_catalog(""), timezone="Europe/Paris", new_client_days=3)
OPTIONS = ReportOptions(period=PERIOD, rules=RULES)
MS = int(PERIOD.since.timestamp() * 1000)
HOUR = 3_600_000
NASTY = "GRANT ALL ON `x|y`.* TO 'a'@'%' -- </script><script>alert(1)</script> | pipes"


def raw() -> Raw:
    return Raw(
        engine="OpenSearch 2.19.6",
        paging=Paging("point_in_time", "one snapshot"),
        requests=12,
        total=10,
        indices=[("rdsaudit-2026.07.01", 10)],
        sources=[("111111111111", "eu-west-1", "prod", "prod-1", 9), (None, None, None, None, 1)],
        account_rows=[
            {
                "@timestamp": "2026-07-01T06:30:00.000001Z",
                "user": "dba",
                "client": "10.0.0.1",
                "operation": "QUERY",
                "sql": NASTY,
                "retcode": 0,
                "cluster": "prod",
                "instance": "prod-1",
            },
        ],
        schema_rows=[
            {
                "@timestamp": "2026-07-01T20:00:00Z",
                "user": "etl",
                "client": "10.0.0.2",
                "operation": "CREATE",
                "sql": "orders",
                "db": "shop",
                "instance": "legacy",
            },
        ],
        failed_total=3,
        failed_series=[(MS + 5 * HOUR, 2), (MS + 30 * HOUR, 1)],
        failed_by_user=[("root", 2), (None, 1)],
        failed_by_client=[("203.0.113.7", 3)],
        bursts=[
            {
                "client": "203.0.113.7",
                "first": "2026-07-01T05:00:00.000Z",
                "last": "2026-07-01T05:00:01.000Z",
                "failures": 2,
                "users": ["root"],
                "instances": ["prod-1"],
            }
        ],
        privileged_names=[("admin", "default"), ("dba", "ran account or privilege statements")],
        privileged_ops=[
            ("dba", "QUERY", 2, "2026-07-01T06:30:00.000Z", "2026-07-02T06:30:00.000Z"),
            ("dba", "CONNECT", 1, "2026-07-01T06:29:00.000Z", "2026-07-01T06:29:00.000Z"),
        ],
        privileged_clients=[("dba", "10.0.0.1", 3)],
        # 06:00 UTC = 08:00 Paris on a Wednesday (inside); 20:00 UTC = 22:00 Paris (outside)
        hourly=[(MS + 6 * HOUR, "dba", 3), (MS + 20 * HOUR, "etl", 4), (MS + 20 * HOUR, None, 1)],
        clients_now=[
            ("10.0.0.1", "dba", 3, "2026-07-01T06:29:00.000Z", "2026-07-02T06:30:00.000Z"),
            ("203.0.113.7", "root", 2, "2026-07-01T05:00:00.000Z", "2026-07-01T05:00:01.000Z"),
            ("203.0.113.7", None, 1, "2026-07-02T06:00:00.000Z", "2026-07-02T06:00:00.000Z"),
            ("10.0.0.9", "rdsadmin", 5, "2026-07-01T01:00:00.000Z", "2026-07-01T02:00:00.000Z"),  # internal: skipped
        ],
        clients_before={"10.0.0.1"},
    )


def data() -> dict[str, Any]:
    return build_data(
        raw(),
        OPTIONS,
        endpoint="https://search.example",
        pattern="rdsaudit-*",
        generated_at="2026-10-01T09:00:00Z",
        version="0.1.0",
    )


def _with_statement(sql: str) -> dict[str, Any]:
    r = raw()
    r.account_rows[0]["sql"] = sql
    return build_data(r, OPTIONS, endpoint="e", pattern="p", generated_at="g", version="v")


def test_sections() -> None:
    d = data()
    assert d["coverage"]["previous_period"] == {"since": "2026-06-28T00:00:00Z", "until": "2026-07-01T00:00:00Z"}
    assert d["account_changes"]["rows"][0]["outside_business_hours"] is False
    assert d["schema_changes"]["rows"][0]["outside_business_hours"] is True
    f = d["failed_logins"]
    assert f["series"]["interval"] == "hour" and len(f["series"]["buckets"]) == 72
    assert sum(b["count"] for b in f["series"]["buckets"]) == 3
    assert f["by_user"] == [{"user": "root", "failures": 2}, {"user": None, "failures": 1}]
    assert f["distinct_users"] == 1
    p = d["privileged_activity"]
    assert [(u["user"], u["events"], u["connections"], u["statements"]) for u in p["users"]] == [
        ("dba", 3, 1, 2),
        ("admin", 0, 0, 0),
    ]
    assert p["users"][0]["first_seen"] == "2026-07-01T06:29:00.000Z" and p["active_users"] == 1
    o = d["outside_business_hours"]
    assert o["events"] == 5 and o["by_user"] == [{"user": "etl", "events": 4}, {"user": None, "events": 1}]
    assert o["by_local_hour"][22] == {"hour": 22, "inside": 0, "outside": 5}
    assert o["by_local_hour"][8]["inside"] == 3 and o["schema_changes"] == 1 and o["account_changes"] == 0
    n = d["new_clients"]
    assert [(c["client"], c["events"], c["failed_logins"], c["first_seen"]) for c in n["new"]] == [
        ("203.0.113.7", 3, 3, "2026-07-01T05:00:00.000Z")
    ]
    assert n["lookback"] == {"since": "2026-06-28T00:00:00Z", "until": "2026-07-01T00:00:00Z", "days": 3}
    assert n["clients_in_period"] == 2  # rdsadmin's client is not counted: the rule excludes internal accounts


def test_each_section_states_its_rule_and_where_its_parameters_came_from() -> None:
    d = data()
    bursts = d["failed_logins"]["bursts"]
    assert bursts["rule"]["id"] == "brute-force" and bursts["list"][0]["client"] == "203.0.113.7"
    assert bursts["rule"]["parameters"] == {"threshold": 10, "window_seconds": 300}
    assert bursts["rule"]["set_by"] == {"threshold": "catalog", "window_seconds": "catalog"}
    hours = d["outside_business_hours"]["rule"]
    assert hours["id"] == "ddl-off-hours" and hours["set_by"]["timezone"] == "--timezone"
    assert hours["parameters"] == {"business_hours": "08-18", "business_days": "mon-fri", "timezone": "Europe/Paris"}
    assert d["new_clients"]["rule"]["parameters"] == {"lookback_days": 3}
    assert d["privileged_activity"]["rule"]["parameters"] == {"users": ["admin", "root"]}
    assert set(d["coverage"]["settings"]["rules"]) == {"bursts", "outside_business_hours", "new_clients", "privileged"}
    md, html = render(envelope(d), "md"), render(envelope(d), "html")
    for text in (md, html):
        assert "Detection rule brute-force: threshold 10; window_seconds 300 (from the detection catalog" in text
        assert (
            "Detection rule ddl-off-hours: business_hours 08-18; business_days mon-fri; timezone Europe/Paris" in text
        )
        assert "set by --timezone" in text and "Detection rule new-client: lookback_days 3" in text
        assert "Detection rule privileged-remote: users admin, root" in text


def test_the_bursts_say_what_the_rule_does_not_count_and_that_rows_can_overlap() -> None:
    bursts = dataclasses.replace(RULES.rule("bursts"), allow=Allow.of(["monitor"], ["10.0.0.0/8"], []))
    rules = dataclasses.replace(RULES, rules={**RULES.rules, "bursts": bursts})
    counted = raw()
    counted.bursts_not_counted = 1234
    d = build_data(
        counted, ReportOptions(period=PERIOD, rules=rules), endpoint="e", pattern="p", generated_at="g", version="v"
    )
    skipped = d["failed_logins"]["bursts"]["not_counted"]
    assert skipped["failures"] == 1234 and "rdsadmin" in skipped["internal_users"]
    assert skipped["allowed"] == {"users": ["monitor"], "clients": ["10.0.0.0/8"], "instances": []}
    md, html = render(envelope(d), "md"), render(envelope(d), "html")
    for text in (md, html):
        assert "1,234 failed logins from allowed clients or internal accounts are not counted" in text
        assert "internal accounts (event_scheduler, mysql.infoschema" in text
        assert "allow list (users: monitor; clients: 10.0.0.0/8; instances: none)" in text
        assert "consecutive rows of one client can share failures" in text


def test_consecutive_burst_rows_can_share_failures() -> None:
    """What the note says: a burst starting late in one aligned window holds failures of the next window's burst."""
    from handler.detect.bursts import qualifying_buckets

    rows = [{"@timestamp": f"2026-07-01T05:{s // 60:02d}:{s % 60:02d}Z", "n": s} for s in range(120)]  # 1 a second
    (first, a), (second, b) = qualifying_buckets(rows, 60, 10)
    assert (first, second) == (MS + 5 * HOUR, MS + 5 * HOUR + 60_000)
    assert {r["n"] for r in a} & {r["n"] for r in b} == set(range(60, 119))


def test_series_refuses_buckets_it_cannot_place() -> None:
    broken = raw()
    broken.failed_series = [(MS + 90 * HOUR, 1)]
    with pytest.raises(ValueError, match="outside the series"):
        build_data(broken, OPTIONS, endpoint="e", pattern="p", generated_at="g", version="v")


def test_seal_detects_any_edit() -> None:
    report = envelope(data())
    html = render(report, "html")
    assert verify(html)[0] and verify(render(report, "json"))[0]
    edited = json.loads(render(report, "json"))
    edited["data"]["failed_logins"]["total"] = 2
    ok, stated, actual = verify(json.dumps(edited))
    assert not ok and stated == report["sha256"] and actual == digest(edited["data"])
    with pytest.raises(ValueError, match="no report data"):
        verify(render(report, "md"))


def test_html_is_self_contained_and_escapes_statements() -> None:
    html = render(envelope(data()), "html")
    assert "<script>alert" not in html and "&lt;/script&gt;" in html  # shown escaped, and the data block holds
    assert html.count("</script>") == 1  # only the data block's own end
    assert "default-src 'none'" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    for chart in (
        "failed-logins-series",
        "failed-logins-users",
        "failed-logins-clients",
        "privileged-events",
        "outside-hours-by-hour",
        "outside-hours-by-day",
    ):
        assert f'data-chart="{chart}"' in html
    assert "CREATE table shop.orders" in html


def test_markdown_tables_survive_pipes_and_newlines() -> None:
    md = render(envelope(data()), "md")
    assert "<script>" not in md and "&lt;/script&gt;" in md and "\\| pipes" in md
    row = next(line for line in md.splitlines() if "GRANT ALL" in line)
    assert len(row.replace("\\|", "").split(" | ")) == 7  # seven cells: escaped pipes split nothing
    assert "`SELECT 1 \\| 2 FROM t`" in render(envelope(_with_statement("SELECT 1 |\n2 FROM t")), "md")
    assert sparkline([0, 1, 8]) == " ▁█"


def test_endpoint_never_shows_credentials_and_engines_are_told_apart() -> None:
    assert public_endpoint("https://user:secret@search.example:443/path?x=1") == "https://search.example:443/path"
    assert parse_engine({"version": {"distribution": "opensearch", "number": "2.19.6"}}).pit_api() == "opensearch"
    assert parse_engine({"version": {"distribution": "opensearch", "number": "1.3.20"}}).pit_api() is None
    assert parse_engine({"version": {"number": "7.10.2"}}).pit_api() == "elasticsearch"
    assert parse_engine({"version": {"number": "7.9.3"}}).name == "Elasticsearch 7.9.3"
    assert parse_engine(None).name == "unknown"
