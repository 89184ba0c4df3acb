"""The IAM contract on the OpenSearch Serverless variants (time series and search, everything optional on): every
recorded call of every Lambda entry is evaluated against that entry's role in the synthesized stack, and every
OpenSearch request also against the collection's data access policy (tests/infra/aoss_access.py), both ways —
no call denied, no grant unused.

On Serverless, IAM allows a data-plane request as aoss:APIAccessAll on the collection and the data access policy
decides the rest, so each OpenSearch request is checked twice. The calls:
- setup and the forwarder's OpenSearch requests are recorded on Serverless itself (tests/infra/aoss_scenarios.py,
  through the strict aoss proxy, in a subprocess): setup with the custom resource's properties from this synth;
- the other entries' calls are those recorded by the integration tests against the domain (test_iam_contract.py),
  without `GET /`: a function configured for aoss knows its engine from its settings and never asks
  (handler/setup/engine.py `for_settings`). That this is the only difference is checked on the forwarder, which
  is recorded both ways. Their S3, KMS, SQS, Kinesis and RDS calls do not depend on the engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.infra.aoss_access import evaluate_data
from tests.infra.aoss_access import report as data_report
from tests.infra.conftest import CONTEXT, synth
from tests.infra.iam_contract import evaluate, report, simulator_ready, unused
from tests.infra.iam_requests import Stack
from tests.infra.iam_template import Template
from tests.infra.test_iam_contract import ALLOWED, FULL, fail_or_skip, recorded_calls
from tests.integration import iam_recorder

ROOT = Path(__file__).resolve().parents[2]
NODE = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200").rstrip("/")  # as tests/integration/conftest.py
# A time series collection has no Detect function, so the full context's Security Hub channel would be refused
# at synth (stack.py): that variant leaves it off, as a user deploying one must.
VARIANTS = {
    "timeseries": {**FULL, "rdsaudit:serverless": "timeseries", "rdsaudit:detectSecurityHub": "false"},
    "search": {**FULL, "rdsaudit:serverless": "search"},
}
# IAM grants no test exercises: the domain's list without its OpenSearch paths, which do not exist here.
ALLOWED_IAM = [a for a in ALLOWED if not a[1].startswith("es:")]
_DESCRIBE = (
    "granted with the writer's permissions: the operations table does not say which checks a _bulk that creates "
    "its daily index makes beyond aoss:CreateIndex, and backfill's checkpoint recheck lists `_cat/indices`"
)
# Data access permissions no recorded request needs, each with the reason it is granted.
ALLOWED_DATA: list[tuple[str, str, str, str]] = [
    *(
        (e, "aoss:DescribeIndex", "index/rdsaudit/rdsaudit-*", _DESCRIBE)
        for e in ("forwarder", "backfill", "exporter", "collector")
    ),
    ("replay", "aoss:DescribeIndex", "index/rdsaudit/rdsaudit-*", _DESCRIBE),
    ("activity", "aoss:DescribeIndex", "index/rdsaudit/rdsactivity-*", _DESCRIBE),
    # replay checks the template like every writer; it only PUTs one that is missing, and the forwarder made it.
    *(
        ("replay", p, "collection/rdsaudit", "the cold-start template install, when the template is missing")
        for p in ("aoss:CreateCollectionItems", "aoss:UpdateCollectionItems")
    ),
]


def _engine_detection(call: dict[str, Any]) -> bool:
    return call["kind"] == "http" and call["method"] == "GET" and call["path"] == "/"


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Stack]:
    out = tmp_path_factory.mktemp("aoss-contract")
    synth(out, **VARIANTS[request.param])
    template = Template(json.loads((out / "RdsAudit.template.json").read_text()))
    return request.param, Stack(template, {**CONTEXT, **VARIANTS[request.param]})


@pytest.fixture(scope="module")
def domain_calls(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    problem = simulator_ready()
    if problem:
        fail_or_skip(problem)
    recorded = recorded_calls(tmp_path_factory.mktemp("calls"))
    missing = set(iam_recorder.ENTRIES) - {c["entry"] for c in recorded}
    if missing:
        fail_or_skip(f"no calls recorded for {sorted(missing)} (do the integration tests run? OpenSearch up?)")
    return recorded


def aoss_recording(kind: str, stack: Stack, tmp: Path) -> list[dict[str, Any]]:
    """Setup and the forwarder on a collection of this kind, run as deployed (aoss_scenarios.py)."""
    try:
        urllib.request.urlopen(f"{NODE}/_cluster/health?wait_for_status=yellow&timeout=10s", timeout=15).close()
    except OSError as e:
        fail_or_skip(f"OpenSearch is not reachable at {NODE} ({e}); run `make opensearch-up`")
    [resource] = [r for r in stack.template.resources.values() if r["Type"] == "Custom::RdsAuditSetup"]
    spec = {
        "node": NODE,
        "collection_type": kind,
        "properties": stack.template.resolve(resource["Properties"]),
        "record": str(tmp / "calls.json"),
    }
    (tmp / "spec.json").write_text(json.dumps(spec))
    run = subprocess.run(
        [sys.executable, "-m", "tests.infra.aoss_scenarios", str(tmp / "spec.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        pytest.fail(f"the Serverless scenarios failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return list(json.loads((tmp / "calls.json").read_text())["calls"])


@pytest.fixture(scope="module")
def calls(
    variant: tuple[str, Stack], domain_calls: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    kind, stack = variant
    on_aoss = aoss_recording(kind, stack, tmp_path_factory.mktemp(f"aoss-{kind}"))
    from_domain = [
        c
        for c in domain_calls
        if c["entry"] != "setup" and not (c["entry"] == "forwarder" and c["kind"] == "http")
        # The detect job's reads (point in time, search_after) are recorded against a domain only: which data access
        # permissions Serverless asks for them is not modelled yet (aoss_access.py), so its OpenSearch requests are
        # left out here; its AWS calls (SNS, EventBridge, Security Hub) are checked like on the domain.
        if not (c["entry"] == "detect" and c["kind"] == "http")
        if not _engine_detection(c)
    ]
    return {"all": from_domain + on_aoss, "aoss": on_aoss, "domain": domain_calls}


def policy_document(stack: Stack) -> list[dict[str, Any]]:
    [policy] = [r for r in stack.template.resources.values() if r["Type"] == "AWS::OpenSearchServerless::AccessPolicy"]
    return list(json.loads(stack.template.resolve(policy["Properties"]["Policy"])))


def test_every_call_is_allowed_by_iam_and_the_data_access_policy_and_every_grant_is_used(
    variant: tuple[str, Stack], calls: dict[str, list[dict[str, Any]]]
) -> None:
    _, stack = variant
    made = [c for c in calls["all"] if stack.has(c["entry"])]
    out = evaluate(stack, made)
    data = evaluate_data(stack, policy_document(stack), [c for c in made if c["kind"] == "http"], ALLOWED_DATA)
    problems = [report(out), *unused(out, ALLOWED_IAM), data_report(data)]
    assert not any(problems), "\n".join(p for p in problems if p)


def test_a_writer_sends_to_serverless_what_it_sends_to_a_domain_less_engine_detection(
    calls: dict[str, list[dict[str, Any]]],
) -> None:
    def shape(recorded: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {
            (c["method"], c["path"].split("/")[1])
            for c in recorded
            if c["entry"] == "forwarder" and c["kind"] == "http" and not _engine_detection(c)
        }

    assert (
        shape(calls["aoss"])
        == shape(calls["domain"])
        == {
            ("GET", "_index_template"),
            ("PUT", "_index_template"),
            ("POST", "_bulk"),
        }
    )
    assert not [c for c in calls["aoss"] if _engine_detection(c)]


def test_the_evaluators_deny(variant: tuple[str, Stack]) -> None:
    """The checks are live: setup may not write documents (data access policy), the forwarder may not touch the
    lifecycle policy (IAM)."""
    problem = simulator_ready()
    if problem:
        fail_or_skip(problem)
    _, stack = variant
    bulk = {"entry": "setup", "test": "synthetic", "env": {}, "kind": "http", "method": "POST", "path": "/_bulk"}
    data = evaluate_data(stack, policy_document(stack), [bulk], [])
    assert [(r.entry, r.permission) for r, _ in data.denied] == [
        ("setup", "aoss:WriteDocument"),
        ("setup", "aoss:CreateIndex"),
    ]
    api = {"entry": "forwarder", "test": "synthetic", "env": {}, "kind": "api", "service": "aoss", "params": {}}
    out = evaluate(stack, [{**api, "operation": "UpdateLifecyclePolicy"}])
    assert [r.action for r, _ in out.denied()] == ["aoss:UpdateLifecyclePolicy"]
