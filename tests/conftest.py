"""Settings of every test run: the Hypothesis profile (tests/profiles.py), and the seeds of random tests.

A random test draws from its own `random.Random(seed(N))`: N by default, or RDSAUDIT_TEST_SEED when set (to try
other seeds, or replay one); when it fails, its report names the seeds it used and how to replay them."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator

import pytest
from hypothesis import settings

from tests.profiles import PROFILE

settings.load_profile(PROFILE)

SEED_ENV = "RDSAUDIT_TEST_SEED"
_SEEDS = pytest.StashKey[list[int]]()


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Callable[[int], int]:
    used = request.node.stash.setdefault(_SEEDS, [])

    def take(default: int) -> int:
        value = int(os.environ.get(SEED_ENV) or default)
        used.append(value)
        return value

    return take


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    seeds = item.stash.get(_SEEDS, [])
    if report.failed and seeds:
        replay = f"{SEED_ENV}={seeds[0]} pytest '{item.nodeid}'"
        report.sections.append(("random seeds", f"seeds {seeds}; replay: {replay}"))
    return report
