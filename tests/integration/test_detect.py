"""Detections on a workload with planted incidents and known answers (tests/events/detections.py), indexed into the
real node through the forwarder's Lambda entry (which tags the event rules' documents) and read back by the detect
job: every rule fires exactly on its planted incidents (twice each), never on the near-misses, the allowed or
internal accounts or the background; a second run adds nothing; late data inside the overlap is found once, later
data only by an explicit run over its time."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from handler import app
from handler.config import Settings
from handler.detect import job
from handler.read.patterns import audit_pattern, findings_pattern
from handler.read.period import iso, parse_timestamp
from handler.runtime import build_runtime
from tests.events import detections as w
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration


def _index(forwarder: Forwarder, lines: dict[str, list[Any]]) -> None:
    for event, n in w.subscription_events(lines):
        out = forwarder.invoke(event)
        assert (out["indexed"], out["dead_lettered"], out["pending"]) == (n, 0, 0)
    forwarder.refresh()


@pytest.fixture
def detecting(forwarder: Forwarder, monkeypatch: pytest.MonkeyPatch) -> Forwarder:
    monkeypatch.setenv("RDSAUDIT_DETECTIONS", json.dumps(w.OVERRIDES))
    app.reset_runtime()
    return forwarder


def test_every_rule_fires_exactly_on_its_planted_incidents_and_a_rerun_adds_nothing(detecting: Forwarder) -> None:
    workload = w.build()
    _index(detecting, workload.lines)
    runtime = build_runtime(Settings.from_env())
    first = job.run(runtime, w.SINCE, w.UNTIL, now=w.UNTIL)
    got = w.answers(first.findings)
    assert got == Counter(workload.expected), (got - Counter(workload.expected), Counter(workload.expected) - got)
    rules = {r for r, _ in workload.expected}
    assert len(rules) == 14 and all(n == 2 for n in Counter(r for r, _ in workload.expected).values())
    assert sorted(first.new) == sorted(f["finding_id"] for f in first.findings)
    # the burst across midnight: events in two daily indices, one finding
    burst = next(f for f in first.findings if f["rule"] == "brute-force" and f["first"] < iso(w.D))
    assert burst["count"] == 10 and {e["index"] for e in burst["examples"]} == {f"{detecting.prefix}-2026.11.09"}
    assert burst["last"] >= iso(w.D)
    # evidence: masked statements, the connection and its session
    account = next(f for f in first.findings if f["rule"] == "account-change" and "CREATE" in f["examples"][0]["sql"])
    assert "pw1" not in json.dumps(account) and account["examples"][0]["sql"].endswith("'***'")
    assert account["server"] == "db-a" and account["connid"] and account["session"]["key"].startswith("db-a/")
    assert account["instance"] == "db-a" and account["user"] == "admin" and "notified" not in account
    assert account["link"].startswith("/app/discover#/") and account["@timestamp"] == account["first"]

    second = job.run(runtime, w.SINCE, w.UNTIL, now=w.UNTIL + timedelta(minutes=5))
    assert second.new == [] and w.answers(second.findings) == got
    runtime.client.indices.refresh(index=findings_pattern(detecting.prefix))
    stored = runtime.client.count(
        index=findings_pattern(detecting.prefix), body={"query": {"exists": {"field": "rule"}}}
    )
    assert stored["count"] == len(workload.expected)
    # the detected_at of a known finding stays that of its first run
    assert {f["detected_at"] for f in second.findings} == {iso(w.UNTIL)}


def test_audit_reads_exclude_findings(detecting: Forwarder) -> None:
    workload = w.build()
    _index(detecting, {"db-a": [r for r in workload.lines["db-a"] if r[0] > w.D + timedelta(hours=9)]})
    runtime = build_runtime(Settings.from_env())
    audit = runtime.client.count(index=audit_pattern(detecting.prefix))["count"]
    assert job.run(runtime, w.SINCE, w.UNTIL, now=w.UNTIL).findings
    runtime.client.indices.refresh(index=f"{detecting.prefix}-*")
    assert runtime.client.count(index=audit_pattern(detecting.prefix))["count"] == audit
    assert runtime.client.count(index=f"{detecting.prefix}-*")["count"] > audit  # the findings are there


def _burst(client: str, start: Any) -> dict[str, list[Any]]:
    b = w.Workload()
    b.failures(start, "app", client, 10, 10)
    return dict(b.lines)


def test_late_data_inside_the_overlap_is_found_once_later_data_by_an_explicit_run(detecting: Forwarder) -> None:
    runtime = build_runtime(Settings.from_env())
    now = w.D + timedelta(hours=12)

    def brute(result: job.DetectResult) -> list[dict[str, Any]]:
        return [f for f in result.findings if f["rule"] == "brute-force"]

    _index(detecting, _burst("203.0.113.80", now - timedelta(minutes=50)))
    first = job.run(runtime, now=now)  # the first scheduled run: the last hour
    assert first.scheduled and first.period.since == now - job.FIRST_RUN and len(brute(first)) == 1
    # arrives after the run, 10 minutes old: inside the next run's overlap
    _index(detecting, _burst("203.0.113.81", now - timedelta(minutes=10)))
    second = job.run(runtime, now=now + timedelta(minutes=5))
    assert second.period.since == now - job.OVERLAP
    late = [f for f in brute(second) if f["client"] == "203.0.113.81"]
    assert len(late) == 1 and late[0]["finding_id"] in second.new
    assert not [f for f in brute(second) if f["client"] == "203.0.113.80"]  # before this period
    third = job.run(runtime, now=now + timedelta(minutes=10))
    assert third.new == []
    # arrives 40 minutes late: before the scheduled period, found by a run over its time only
    _index(detecting, _burst("203.0.113.82", now - timedelta(minutes=30)))
    fourth = job.run(runtime, now=now + timedelta(minutes=15))
    assert not [f for f in brute(fourth) if f["client"] == "203.0.113.82"] and fourth.new == []
    explicit = job.run(runtime, now - timedelta(hours=1), now + timedelta(minutes=15), now=now + timedelta(minutes=16))
    assert not explicit.scheduled
    assert [f["client"] for f in brute(explicit) if f["finding_id"] in explicit.new] == ["203.0.113.82"]
    assert (
        job.period_for(runtime, None, None, now + timedelta(minutes=20))[0].since
        == now + timedelta(minutes=15) - job.OVERLAP
    )


def _moment(stamp: str) -> str:
    return iso(parse_timestamp(stamp))


def test_the_reports_bursts_are_the_brute_force_findings(
    detecting: Forwarder, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rdsaudit report` on the planted-incident workload, with the overrides `rdsaudit detect` reads
    (RDSAUDIT_DETECTIONS: brute-force allows 198.51.100.0/24): its bursts are exactly detect's brute-force findings
    (client, count, first and last time), the midnight one whole, the near-miss, the allowed client and the
    internal account's failures left out by both."""
    from handler.cli.main import main

    workload = w.build()
    _index(detecting, workload.lines)
    found = job.run(build_runtime(Settings.from_env()), w.SINCE, w.UNTIL, now=w.UNTIL).findings
    brute = sorted(
        (f["client"], f["count"], _moment(f["first"]), _moment(f["last"])) for f in found if f["rule"] == "brute-force"
    )
    assert [c for c, *_ in brute] == ["203.0.113.10", "203.0.113.11"]  # the two planted, as test above
    capsys.readouterr()  # the forwarder's log lines
    assert main(["report", "--since", iso(w.SINCE), "--until", iso(w.UNTIL), "--format", "json", "--out", "-"]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    bursts = data["failed_logins"]["bursts"]
    assert (
        sorted((b["client"], b["failures"], _moment(b["first"]), _moment(b["last"])) for b in bursts["list"]) == brute
    )
    assert brute[0][1] == 10 and brute[0][2] < iso(w.D) <= brute[0][3]  # across midnight: two daily indices, one
    assert bursts["rule"]["id"] == "brute-force"
    assert bursts["rule"]["parameters"] == {"threshold": 10, "window_seconds": 300}
    # the other sections follow their rules too, and say so
    assert data["new_clients"]["lookback"]["days"] == 30 and data["new_clients"]["rule"]["id"] == "new-client"
    assert data["outside_business_hours"]["rule"]["parameters"]["business_hours"] == "08-18"
    privileged = data["privileged_activity"]["users"]
    assert {u["user"] for u in privileged if u["why"] == "rule privileged-remote"} == {"admin", "root"}
