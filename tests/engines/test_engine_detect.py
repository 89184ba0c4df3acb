"""The detect job on every engine of the matrix (tests/engines/run.py starts the engine): the planted-incident
workload of tests/events/detections.py, forwarded through the Lambda entry (which tags the event rules' documents),
then `rdsaudit detect` over the run's period. Its window rules' exact aggregations (composite paged to the end,
fixed-interval date histograms and min/max on the `date_nanos` timestamp, search_after on (@timestamp, _id), a
point in time where the engine has one) and the findings' upserts must give the exact known answers on each
engine; a rerun and a scheduled run over the end of the period add none.

The focused set: the window rules, whose queries are what differs between engines, and account-change, one event
rule to carry the tagged documents' query; the other event rules are switched off (their tagging is the transform's,
the same on every engine, and each finding's session lookup costs a dozen requests)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from handler import app
from handler.cli import main
from handler.config import Settings
from handler.detect import job
from handler.detect.catalog import catalog_data
from handler.read.patterns import findings_pattern
from handler.read.period import iso
from handler.runtime import build_runtime
from tests.engines.conftest import Target
from tests.events import detections as w
from tests.integration.conftest import FakeContext

supported = pytest.mark.supported
RULES = {r["id"] for r in catalog_data()["rules"] if r["kind"] == "window"} | {"account-change"}
OVERRIDES = {
    "rules": {
        r["id"]: {**w.OVERRIDES["rules"].get(r["id"], {}), **({} if r["id"] in RULES else {"enabled": False})}
        for r in catalog_data()["rules"]
    }
}


def _detect(prefix: str, capsys: Any) -> dict[str, Any]:
    argv = ["detect", "--since", iso(w.SINCE), "--until", iso(w.UNTIL), "--format", "json", "--index-prefix", prefix]
    assert main(argv) == 0
    # the forwarder's JSON log lines go to stdout too; the command's answer is the last line
    result: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return result


@supported
def test_detect_finds_exactly_the_planted_incidents_and_a_rerun_adds_none(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("RDSAUDIT_DETECTIONS", json.dumps(OVERRIDES))
    app.reset_runtime()  # the event rules are read at the cold start
    workload = w.build()
    for event, n in w.subscription_events(workload.lines):
        out = app.lambda_handler(event, FakeContext())
        assert (out["indexed"], out["dead_lettered"], out["pending"]) == (n, 0, 0)
    target.refresh()
    expected = Counter((rule, first) for rule, first in workload.expected if rule in RULES)
    assert {rule for rule, _ in expected} == RULES and len(RULES) == 7

    first = _detect(target.prefix, capsys)
    got = w.answers(first["findings"])
    assert got == expected, (got - expected, expected - got)
    assert (first["new"], first["known"]) == (len(expected), 0)
    # the burst across midnight is one finding over two daily indices
    burst = next(f for f in first["findings"] if f["rule"] == "brute-force" and f["first"] < iso(w.D))
    assert burst["count"] == 10 and burst["last"] >= iso(w.D)

    second = _detect(target.prefix, capsys)
    assert (second["new"], second["known"]) == (0, len(expected)) and w.answers(second["findings"]) == expected
    findings = findings_pattern(target.prefix)
    target.client.indices.refresh(index=findings)
    stored = target.client.count(index=findings, body={"query": {"exists": {"field": "rule"}}})["count"]
    assert stored == len(expected)

    # scheduled runs (no --since): the state document is written, then read back for the next period
    runtime = build_runtime(Settings.from_env())
    scheduled = job.run(runtime, now=w.UNTIL)
    assert scheduled.scheduled and scheduled.period.since == w.UNTIL - job.FIRST_RUN and scheduled.new == []
    assert scheduled.findings and {f["finding_id"] for f in scheduled.findings} <= {
        f["finding_id"] for f in first["findings"]
    }
    later = job.run(runtime, now=w.UNTIL + timedelta(minutes=5))
    assert later.period.since == w.UNTIL - job.OVERLAP and later.new == []
