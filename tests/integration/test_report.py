"""`rdsaudit report` on a generated quarter with known answers: every count in the report equals the matching
`_count` query and the generator's own answer, with pages small enough that every list spans several of them — on
the default node (OpenSearch 2.19: point in time) and on OpenSearch 1.3 (no point in time: search_after only)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from handler import app
from handler.detect.catalog import Allow, load_catalog
from handler.read.events import saved_search
from handler.read.period import Period, iso, outside_intervals, parse_time
from handler.read.queries import Scope, between, term
from handler.report.build import make_report, render
from handler.report.model import ReportOptions
from handler.report.rules import report_rules
from tests.events import report_quarter as q
from tests.integration import chromium
from tests.integration.conftest import FakeContext, Forwarder
from tests.integration.nodes import extra_node
from tests.integration.test_report_browser import CHARTS, OUTPUT, assert_looks_right

pytestmark = pytest.mark.integration

PAGE = 7
URL = "http://127.0.0.1:9200"
# as on the command line: the generator's bursts (5 in 60 s), business hours and a look-back of the previous quarter
RULES = report_rules(
    load_catalog(""),
    burst_failures=5,
    burst_window=60,
    business_hours=f"{q.HOURS[0]:02d}-{q.HOURS[1]:02d}",
    timezone=q.ZONE,
    new_client_days=(q.SINCE - q.PREVIOUS).days,
)
OPTIONS = ReportOptions(period=Period(q.SINCE, q.UNTIL), rules=RULES, page_size=PAGE)


@pytest.fixture(scope="module")
def quarter() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    recs = q.records()
    return q.events(recs), q.answers(recs)


def _index(events: list[dict[str, Any]]) -> None:
    for event in events:
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = app.lambda_handler(event, FakeContext())
        assert outcome["pending"] == 0 and outcome["dead_lettered"] == 0, outcome


class Counts:
    """`_count` on the report's index pattern, in the report's scope."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client, self.pattern = client, f"{prefix}-*"
        self.scope = Scope(OPTIONS.period)
        self.asked = 0

    def __call__(self, *clauses: dict[str, Any], index: str | None = None, period: Period | None = None) -> int:
        self.asked += 1
        body = {"query": self.scope.query(*clauses, period=period)}
        return int(self.client.count(index=index or self.pattern, body=body)["count"])


def check_exact(client: Any, prefix: str, report: dict[str, Any], known: dict[str, Any]) -> int:
    """Every count of the report against `_count` and the known answer; returns how many counts were compared."""
    d, count = report["data"], Counts(client, prefix)
    c = d["coverage"]
    assert c["documents"] == count() == known["documents"]
    assert {i["index"]: i["documents"] for i in c["indices"]} == {
        f"{prefix}-{k}": v for k, v in known["indices"].items()
    }
    for i in c["indices"]:
        assert i["documents"] == count(index=i["index"])
    assert {s["instance"]: s["documents"] for s in c["sources"]} == dict(known["sources"])
    for s in c["sources"]:
        assert s["documents"] == count(term("cluster", s["cluster"]), term("instance", s["instance"]))

    for section, key in (("account_changes", "account_changes"), ("schema_changes", "schema_changes")):
        rows = d[section]["rows"]
        assert d[section]["count"] == len(rows) == count(saved_search(section)) == known[key] > PAGE
        assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
        assert not any(q.SECRET in (r["statement"] or "") for r in rows)  # stored statements are masked

    f, failed = d["failed_logins"], saved_search("failed_logins")
    assert f["total"] == count(failed) == known["failed"]
    assert {u["user"]: u["failures"] for u in f["by_user"]} == dict(known["failed_by_user"])
    assert {c["client"]: c["failures"] for c in f["by_client"]} == dict(known["failed_by_client"])
    assert len(f["by_user"]) > PAGE and len(f["by_client"]) > PAGE
    for u in f["by_user"]:
        assert u["failures"] == count(failed, term("user", u["user"]))
    for cl in f["by_client"]:
        assert cl["failures"] == count(failed, term("client", cl["client"]))
    assert {b["start"][:10]: b["count"] for b in f["series"]["buckets"] if b["count"]} == dict(known["failed_by_day"])
    for b in f["series"]["buckets"]:
        day = Period(parse_time(b["start"]), parse_time(b["start"]) + timedelta(days=1))
        assert b["count"] == count(failed, period=day)
    assert sorted((b["client"], b["failures"]) for b in f["bursts"]["list"]) == known["bursts"]
    for b in f["bursts"]["list"]:
        assert b["failures"] == count(failed, term("client", b["client"]), between(b["first"], b["last"]))
    internal = {"terms": {"user": sorted(OPTIONS.rules.catalog.internal_users)}}
    assert f["bursts"]["not_counted"]["failures"] == count(failed, internal) == 0  # the generator has none

    p = d["privileged_activity"]
    assert {u["user"] for u in p["users"]} == set(known["privileged"])
    for u in p["users"]:
        ops, who = known["privileged"][u["user"]], term("user", u["user"])
        assert u["events"] == count(who) == sum(ops.values())
        assert u["connections"] == count(who, term("operation", "CONNECT")) == ops["CONNECT"]
        assert u["failed_logins"] == count(who, failed) == ops["FAILED_CONNECT"]
        assert u["statements"] == count(who, term("operation", "QUERY")) == ops["QUERY"]
        for cl in u["clients"]:
            assert cl["events"] == count(who, term("client", cl["client"]))

    o = d["outside_business_hours"]
    ranges = [
        {"range": {"@timestamp": {"gte": iso(a), "lt": iso(b)}}}
        for a, b in outside_intervals(OPTIONS.period, OPTIONS.hours)
    ]
    off = {"bool": {"should": ranges, "minimum_should_match": 1}}
    assert o["events"] == count(off) == known["outside"]
    assert {u["user"]: u["events"] for u in o["by_user"]} == dict(known["outside_by_user"])
    for u in o["by_user"]:
        assert u["events"] == count(off, term("user", u["user"]))
    assert o["account_changes"] == count(off, saved_search("account_changes"))
    assert o["schema_changes"] == count(off, saved_search("schema_changes"))

    s, names = d["privileged_sessions"], [u["user"] for u in p["users"] if u["user"] != "rdsadmin"]
    privileged_events = {"bool": {"should": [{"terms": {"user": names}}, saved_search("account_changes")]}}
    assert s["count"] == len(s["sessions"]) == len({x["key"] for x in s["sessions"]}) > PAGE
    within = 0
    for x in s["sessions"]:
        span = between(x["start"], x["end"])
        mine = count(privileged_events, span, term("server", x["server"]), {"term": {"connid": x["connid"]}})
        assert mine > 0 and x["timeline"].startswith(f"rdsaudit session {x['server']} {x['connid']} --at ")
        within += mine
    assert within == count(privileged_events)  # every privileged event in exactly one listed session

    n = d["new_clients"]
    assert [c["client"] for c in sorted(n["new"], key=lambda c: c["client"])] == known["new_clients"]
    assert len(n["new"]) > PAGE
    previous = OPTIONS.rules.lookback(OPTIONS.period)
    assert previous == OPTIONS.period.previous() and n["lookback"]["days"] == 92
    for cl in n["new"]:
        assert cl["events"] == count(term("client", cl["client"])) == known["clients"][cl["client"]]
        assert count(term("client", cl["client"]), period=previous) == 0
        assert cl["failed_logins"] == count(failed, term("client", cl["client"]))
    assert n["clients_in_period"] == len(known["clients"])
    return count.asked


def _same_data(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two reports of the same data read with different page sizes agree on everything but how they paged."""
    for report in (a, b):
        report["data"]["coverage"].pop("paging")
        report["data"]["coverage"].pop("generated_at")
    assert json.dumps(a["data"], sort_keys=True) == json.dumps(b["data"], sort_keys=True)


def test_quarter_exact_on_the_default_node(forwarder: Forwarder, quarter: Any, tmp_path: Path) -> None:
    events, known = quarter
    _index(events)
    forwarder.refresh()
    report = make_report(forwarder.client, pattern=f"{forwarder.prefix}-*", endpoint=URL, options=OPTIONS)
    assert report["data"]["coverage"]["paging"]["method"] == "point_in_time"
    assert report["data"]["coverage"]["consistency"] is None
    assert check_exact(forwarder.client, forwarder.prefix, report, known) > 150
    if chromium.binary():  # the browser check proper (and its skip/fail rule) is test_report_browser's
        page = tmp_path / "quarter.html"
        page.write_text(render(report, "html"), encoding="utf-8")
        check = chromium.check_page(page)
        (OUTPUT / "report-quarter.png").parent.mkdir(parents=True, exist_ok=True)
        (OUTPUT / "report-quarter.png").write_bytes(check.png)
        assert_looks_right(check, CHARTS)
    bigger = dataclasses.replace(OPTIONS, page_size=1000)
    one_page = make_report(forwarder.client, pattern=f"{forwarder.prefix}-*", endpoint=URL, options=bigger)
    _same_data(report, one_page)

    # an allowed client's failures leave the bursts and are counted as not counted
    client = known["bursts"][0][0]
    bursts = dataclasses.replace(RULES.rule("bursts"), allow=Allow.of([], [client], []))
    allowing = dataclasses.replace(OPTIONS, rules=dataclasses.replace(RULES, rules={**RULES.rules, "bursts": bursts}))
    allowed = make_report(forwarder.client, pattern=f"{forwarder.prefix}-*", endpoint=URL, options=allowing)
    b = allowed["data"]["failed_logins"]["bursts"]
    assert sorted((r["client"], r["failures"]) for r in b["list"]) == [r for r in known["bursts"] if r[0] != client]
    failed = saved_search("failed_logins")
    assert (
        b["not_counted"]["failures"] == Counts(forwarder.client, forwarder.prefix)(failed, term("client", client)) > 0
    )
    assert b["not_counted"]["allowed"]["clients"] == [client]


def test_quarter_exact_on_opensearch_1_3(
    opensearch_url: str, quarter: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opensearchpy import OpenSearch

    events, known = quarter
    prefix = "quarter"
    with extra_node("report-os13", {"OPENSEARCH_VERSION": "1.3.20"}) as url:
        monkeypatch.setenv("OPENSEARCH_URL", url)
        monkeypatch.setenv("RDSAUDIT_INDEX_PREFIX", prefix)
        monkeypatch.setenv("RDSAUDIT_DEAD_LETTER", str(tmp_path / "dead-letter"))
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
        app.reset_runtime()
        try:
            _index(events)
        finally:
            app.reset_runtime()
        client = OpenSearch(hosts=[url], timeout=60)
        assert client.info()["version"]["number"] == "1.3.20"
        client.indices.refresh(index=f"{prefix}-*")
        report = make_report(client, pattern=f"{prefix}-*", endpoint=url, options=OPTIONS)
        coverage = report["data"]["coverage"]
        assert coverage["engine"] == "OpenSearch 1.3.20"
        assert coverage["paging"]["method"] == "search_after"
        assert "OpenSearch 1.3.20 has no point in time" in coverage["paging"]["detail"]
        assert coverage["consistency"] == {
            "documents_at_start": known["documents"],
            "documents_at_end": known["documents"],
            "unchanged": True,
        }
        assert check_exact(client, prefix, report, known) > 150
