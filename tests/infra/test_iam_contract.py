"""The IAM contract: what each Lambda entry really calls (recorded while the integration tests run it) against
what its role in the synthesized stack allows, both ways — no call denied, no grant unused.

tests/infra/conftest.py runs this module after every other test, so in `make test` it reads the calls the
integration tests just recorded. Run on its own, it runs those integration tests first (in a subprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import CONTEXT, synth
from tests.infra.iam_contract import evaluate, report, simulator_ready, unused, write_table
from tests.infra.iam_requests import Stack
from tests.infra.iam_template import ACCOUNT, REGION, Template
from tests.integration import iam_recorder

ROOT = Path(__file__).resolve().parents[2]
# Everything optional switched on, with the names the integration tests use where a name must agree.
DAS_CLUSTER = "cluster-4HNY5V4RRNPKKYB7ICFKE5JBQQ"  # tests/integration/test_activity_streams.CLUSTER
FULL = {
    "rdsaudit:activityStreamArn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/aws-rds-das-{DAS_CLUSTER}",
    "rdsaudit:activityKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "rdsaudit:activityClusterId": DAS_CLUSTER,
    "rdsaudit:autoSubscribe": "true",
    "rdsaudit:exportInstances": ["prod-mysql-1"],  # tests/integration/test_export.INSTANCE
    "rdsaudit:exportIndex": "true",
    "rdsaudit:adminRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rdsaudit-admins",
    "rdsaudit:collectFrom": "o-a1b2c3d4e5",  # the collector: tests/integration/test_collect.py
    "rdsaudit:region": REGION,
    "rdsaudit:detectSecurityHub": "true",  # the notification tests import into Security Hub
}
# The member stack (its own template): the function subscribing audit log groups to the central destination.
MEMBER = {"rdsaudit:sendTo": "arn:aws:logs:*:999999999999:destination:rdsaudit"}  # test_subscribe's destination
# The integration tests that run the entries inside `recording(...)`.
SCENARIOS = [
    f"tests/integration/{name}.py"
    for name in (
        "test_forwarder",
        "test_collect",
        "test_backfill",
        "test_export",
        "test_activity_streams",
        "test_setup",
        "test_security",
        "test_subscribe",
        "test_replay",
        "test_notify",
        "test_detect_entry",
    )
]
# Grants no test can exercise, each with the reason it is still needed.
# (entry, action pattern, resource pattern, reason)
ALLOWED: list[tuple[str, str, str, str]] = [
    # Lambda itself uses the execution role: the event source mapping reads the stream, and failure records go to
    # the on-failure queues (sqs:SendMessage, and kms:GenerateDataKey/Decrypt for their key).
    ("activity", "kinesis:*", "*", "the event source mapping polls the stream with the function's role"),
    ("collector", "kinesis:*", "*", "the event source mappings poll the collecting streams with the function's role"),
    ("collector", "kms:Decrypt", "*", "the mappings read records encrypted under the stack's key"),
    ("collector", "sqs:SendMessage", "*", "the event source mappings' on-failure destination"),
    ("collector", "kms:GenerateDataKey", "*", "dead letters to S3 and the on-failure queue under the stack's key"),
    ("collector", "s3:PutObject", "*", "dead letters to S3, as the forwarder's tests exercise"),
    ("activity", "sqs:SendMessage", "*", "the event source mapping's on-failure destination"),
    ("forwarder", "sqs:SendMessage", "*", "asynchronous invocation's on-failure destination"),
    ("forwarder", "kms:Decrypt", "*", "delivery to the on-failure queue under the stack's key"),
    ("activity", "kms:Decrypt", "*", "delivery to the on-failure queue under the stack's key"),
    # The Activity Streams tests keep dead letters in a directory (they assert on its files); the S3 writer and
    # its grant are the forwarder's, exercised by its tests.
    ("activity", "s3:PutObject", "*", "dead letters to S3, as the forwarder's tests exercise"),
    ("activity", "kms:GenerateDataKey", "*", "dead letters to S3 under the bucket's key"),
    # s3transfer aborts a multipart upload that fails midway; the crash test dies before the upload starts.
    ("exporter", "s3:AbortMultipartUpload", "*", "cleanup of a failed multipart upload"),
    # The index-management plugin is not served on Maven Central (shared toolchain notes), so no test node has
    # it; setup's ISM requests are checked against the documented shape in tests/unit/test_mappings.py.
    ("setup", "es:ESHttp*", "*/_plugins/_ism/*", "setup's ISM policy, on domains that have the plugin"),
    # the write blocks setup reads and lifts only where ISM manages the findings (handler/setup/ism_move.py): shown
    # against a stand-in plugin over the real node in test_ism_move.py, which records no calls
    ("setup", "es:ESHttp*", "*-findings-*/_settings*", "the old audit policy's write blocks, where ISM is"),
    # replay checks the template like every writer; it only PUTs one that is missing, and the forwarder made it.
    ("replay", "es:ESHttpPut", "*", "the cold-start template install, when the template is missing"),
    # Lambda's runtime writes each function's own logs with its execution role (AWSLambdaBasicExecutionRole, on
    # "*" only: "[*]" matches that literal resource, no narrower grant of these actions is excused).
    *(
        (entry, action, "[*]", "the function's own CloudWatch logs, written by the Lambda runtime")
        for entry in (
            "forwarder",
            "backfill",
            "exporter",
            "activity",
            "setup",
            "subscribe",
            "collector",
            "member",
            "detect",
        )
        for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    ),
]


def fail_or_skip(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def recorded_calls(tmp: Path) -> list[dict[str, Any]]:
    """The calls recorded in this session, or (run on its own) the scenarios run here to record them."""
    if set(iam_recorder.ENTRIES) <= {c["entry"] for c in iam_recorder.calls}:
        return list(iam_recorder.calls)
    given = os.environ.get(iam_recorder.ENV_FILE)  # a recording named by the caller
    if given and Path(given).exists():
        calls = list(json.loads(Path(given).read_text())["calls"])
        if set(iam_recorder.ENTRIES) <= {c["entry"] for c in calls}:
            return calls
    path = tmp / "calls.json"
    env = {**os.environ, iam_recorder.ENV_FILE: str(path)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SCENARIOS],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        pytest.fail(f"the recording scenarios failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return list(json.loads(path.read_text())["calls"]) if path.exists() else []


# The full context with the archive bucket given (backfill and exporter share it), and with the exporter's own
# archive bucket (encrypted under the stack's key; no backfill then).
VARIANTS = {"archive-given": FULL, "archive-created": {**FULL, "rdsaudit:archiveBucket": ""}, "member": MEMBER}


@pytest.fixture(scope="module", params=list(VARIANTS))
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    out = tmp_path_factory.mktemp("contract")
    synth(out, **VARIANTS[request.param])
    name = "RdsAuditMember" if request.param == "member" else "RdsAudit"
    template = Template(json.loads((out / f"{name}.template.json").read_text()))
    return Stack(template, {**CONTEXT, **VARIANTS[request.param]})


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    problem = simulator_ready()
    if problem:
        fail_or_skip(problem)
    recorded = recorded_calls(tmp_path_factory.mktemp("calls"))
    missing = set(iam_recorder.ENTRIES) - {c["entry"] for c in recorded}
    if missing:
        fail_or_skip(f"no calls recorded for {sorted(missing)} (do the integration tests run? OpenSearch up?)")
    return recorded


def test_every_call_is_allowed_and_every_grant_is_used(stack: Stack, calls: list[dict[str, Any]]) -> None:
    out = evaluate(stack, [c for c in calls if stack.has(c["entry"])])
    if stack.has("backfill"):
        write_table(out)
    problems = [report(out), *unused(out, ALLOWED)]
    assert not any(problems), "\n".join(p for p in problems if p)


def test_the_evaluator_denies(stack: Stack) -> None:
    """The check is live: a request outside the role's grants is denied (the forwarder deleting an index)."""
    problem = simulator_ready()
    if problem:
        fail_or_skip(problem)
    if stack.has("member"):  # the member's function unsubscribing a group
        group = {"logGroupName": "/aws/rds/cluster/prod/audit"}
        call = {"entry": "member", "test": "synthetic", "env": {}, "kind": "api", "service": "logs"}
        out = evaluate(stack, [{**call, "operation": "DeleteSubscriptionFilter", "params": group}])
        assert [r.action for r, _ in out.denied()] == ["logs:DeleteSubscriptionFilter"]
        return
    call = {"entry": "forwarder", "test": "synthetic", "env": {}, "kind": "http", "method": "DELETE"}
    out = evaluate(stack, [{**call, "path": "/rdsaudit-2020.10.23"}])
    assert [r.action for r, _ in out.denied()] == ["es:ESHttpDelete"]


def test_managed_policies_are_evaluated(stack: Stack) -> None:
    """A role's AWS-managed policy grants what its documented document says (logs for the function's own log
    group), and nothing more (the forwarder still may not delete an index)."""
    problem = simulator_ready()
    if problem:
        fail_or_skip(problem)
    entry = "forwarder" if stack.has("forwarder") else "member"  # the member stack's one function
    call = {"entry": entry, "test": "synthetic", "env": {}, "kind": "api", "service": "logs"}
    out = evaluate(stack, [{**call, "operation": "CreateLogGroup", "params": {"logGroupName": "/aws/lambda/f"}}])
    assert len(out.results) == 1 and out.denied() == [], out.results
    granted = {(policy, action) for policy, action, _ in out.granted[entry]}
    assert ("AWSLambdaBasicExecutionRole", "logs:PutLogEvents") in granted


def test_an_object_in_no_configured_bucket_is_unmapped(stack: Stack) -> None:
    """The backfill reads what its event names; only the test bucket recorded as the archive stands for the
    stack's archive bucket, anything else is a location the contract cannot place."""
    from tests.infra.iam_requests import ARCHIVE, Translator, Unmapped

    call = {"entry": "backfill", "test": "synthetic", "kind": "api", "service": "s3", "operation": "GetObject"}
    archived = {**call, "env": {ARCHIVE: "test-archive"}, "params": {"Bucket": "test-archive", "Key": "RDS/a.log"}}
    if not stack.has("backfill"):  # the archive-created variant: no backfill function, nothing to place
        with pytest.raises(Unmapped, match="no function"):
            Translator(stack).requests(archived)
        return
    assert Translator(stack).requests(archived)[0].resource == "arn:aws:s3:::audit-archive/RDS/a.log"
    with pytest.raises(Unmapped, match="elsewhere"):
        Translator(stack).requests({**archived, "params": {"Bucket": "elsewhere", "Key": "RDS/a.log"}})
