"""Synthesize the CDK app offline: no Docker, no network (bundling skipped), no credentials.

A synthesis takes seconds (jsii, then cdk-nag over every construct) and many tests ask for the same context: each
distinct context (and the environment the app reads) is synthesized once per session. Callers then get the same
app and stack, which are only read (Template.from_stack gives a new Template each call; the app does not synthesize
again), and their own copy of the templates in their own directory, so a test that edits a file edits only its own.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

CDK = Path(__file__).resolve().parents[2] / "cdk"
sys.path.insert(0, str(CDK))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

CONTEXT = {
    "aws:cdk:bundling-stacks": [],  # the asset is built by `make synth`; tests need no pip download
    "rdsaudit:clusters": ["prod-aurora"],
    "rdsaudit:instances": ["mysql-1"],
    "rdsaudit:archiveBucket": "audit-archive",
    "rdsaudit:alarmEmail": "dba@example.com",
}


_SYNTHESIZED: dict[str, tuple[Any, Any, Path]] = {}  # context key -> app, stack, cloud assembly directory
_CACHE: list[tempfile.TemporaryDirectory[str]] = []  # removed when the session's interpreter exits
# What the app reads besides its context (rdsaudit_cdk.stack: the region when rdsaudit:region is not given).
_ENVIRONMENT = ("CDK_DEFAULT_REGION", "CDK_DEFAULT_ACCOUNT")


def synth(tmp: Path, **extra: Any) -> tuple[Any, Any]:
    """The app and its first stack for CONTEXT plus `extra`, with the templates and manifests (the assembly's files;
    asset directories stay in the cache) copied into `tmp`. A context that fails raises every time (nothing kept)."""
    import app as cdk_app

    context = {**cdk_app.FEATURE_FLAGS, **CONTEXT, **extra}
    key = json.dumps([context, [os.environ.get(name) for name in _ENVIRONMENT]], sort_keys=True, default=str)
    if key not in _SYNTHESIZED:
        if not _CACHE:
            _CACHE.append(tempfile.TemporaryDirectory(prefix="rdsaudit-synth-"))
        out = Path(tempfile.mkdtemp(dir=_CACHE[0].name))
        _SYNTHESIZED[key] = (*_synthesize(out, context), out)
    application, stack, out = _SYNTHESIZED[key]
    tmp.mkdir(parents=True, exist_ok=True)
    for path in out.iterdir():
        if path.is_file():
            shutil.copyfile(path, tmp / path.name)
    return application, stack


def _synthesize(out: Path, context: dict[str, Any]) -> tuple[Any, Any]:
    import app as cdk_app
    from aws_cdk import App

    application = App(outdir=str(out), context=context)
    stack = cdk_app.build(application)
    application.synth()  # cdk-nag runs here: an unacknowledged finding raises
    return application, stack


def cfn_lint(*templates: Path) -> list[str]:
    """cfn-lint's findings (errors and warnings, what makes its command exit non-zero) on the templates, through its
    Python API in this process: no interpreter start and rule loading per template. W3005 (a DependsOn also implied
    by a GetAtt) is how aws-cdk-lib writes role dependencies: harmless."""
    from cfnlint.api import ManualArgs, lint_by_config

    matches = lint_by_config(ManualArgs(templates=[str(t) for t in templates], ignore_checks=["W3005"]))
    return [str(m) for m in matches]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return synth(tmp_path_factory.mktemp("cdk"))[1]


@pytest.fixture(scope="session")
def template(stack: Any) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_stack(stack)


CONTRACTS = ("test_iam_contract.py", "test_serverless_contract.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The IAM contracts read what the integration tests recorded in this session: run them after everything."""
    contract = [i for i in items if i.path.name in CONTRACTS]
    items[:] = [i for i in items if i.path.name not in CONTRACTS] + contract
