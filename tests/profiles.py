"""The Hypothesis profile of a test run, chosen in one place (tests/conftest.py loads it):

- `ci` (selected when CI=true): derandomized — the same examples on every run, nothing read from or written to
  an example database — so a CI failure is reproducible from the commit alone;
- `dev` (the default elsewhere): new random examples on every run, failures kept in .hypothesis/ and replayed
  first on the next run;
- `explore` (HYPOTHESIS_PROFILE=explore): as `dev`, with ten times the examples of every property.

HYPOTHESIS_PROFILE overrides the choice (e.g. HYPOTHESIS_PROFILE=ci to replay CI's examples locally).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from hypothesis import settings

EXPLORE_FACTOR = 10

# From Hypothesis's own defaults, not from whatever it loaded (it picks a derandomized profile when it sees CI).
_BASE = settings.get_profile("default")
settings.register_profile("ci", _BASE, derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", _BASE, derandomize=False, deadline=None, print_blob=True)
settings.register_profile("explore", _BASE, derandomize=False, deadline=None, print_blob=True)


def profile_for(env: Mapping[str, str]) -> str:
    return env.get("HYPOTHESIS_PROFILE") or ("ci" if env.get("CI", "").lower() == "true" else "dev")


PROFILE = profile_for(os.environ)


def examples(n: int) -> int:
    """A property's example count: `n`, or EXPLORE_FACTOR times it under the explore profile."""
    return n * EXPLORE_FACTOR if PROFILE == "explore" else n
