"""Synthesize the CDK app offline: no Docker, no network (bundling skipped), no credentials."""

from __future__ import annotations

import os
import sys
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


def synth(tmp: Path, **extra: Any) -> tuple[Any, Any]:
    import app as cdk_app
    from aws_cdk import App

    application = App(outdir=str(tmp), context={**cdk_app.FEATURE_FLAGS, **CONTEXT, **extra})
    stack = cdk_app.build(application)
    application.synth()  # cdk-nag runs here: an unacknowledged finding raises
    return application, stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return synth(tmp_path_factory.mktemp("cdk"))[1]


@pytest.fixture(scope="session")
def template(stack: Any) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_stack(stack)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The IAM contract reads what the integration tests recorded in this session: run it after everything."""
    contract = [i for i in items if i.path.name == "test_iam_contract.py"]
    items[:] = [i for i in items if i.path.name != "test_iam_contract.py"] + contract
