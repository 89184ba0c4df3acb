"""The Hypothesis profile is explicit (tests/profiles.py): derandomized under CI, exploring everywhere else."""

from __future__ import annotations

from hypothesis import settings

from tests.profiles import PROFILE, profile_for
from tests.unit.test_sql_secrets_properties import MASKER


def test_ci_replays_and_elsewhere_explores() -> None:
    assert profile_for({"CI": "true"}) == "ci" and profile_for({"CI": "false"}) == profile_for({}) == "dev"
    assert profile_for({"CI": "true", "HYPOTHESIS_PROFILE": "explore"}) == "explore"
    ci, dev, explore = (settings.get_profile(name) for name in ("ci", "dev", "explore"))
    assert ci.derandomize and ci.database is None
    assert not dev.derandomize and not explore.derandomize


def test_the_run_uses_its_profile_and_the_masker_properties_follow_it() -> None:
    assert settings.default.derandomize == settings.get_profile(PROFILE).derandomize
    assert MASKER.derandomize == settings.default.derandomize  # never pinned: outside CI they explore
