"""Privileged accounts, for every reader (the report, sessions, detections).

Which names are privileged is one list: the `users` of detection rule privileged-remote (mappings/detection-rules.json,
default admin and root; overridden through RDSAUDIT_DETECTIONS like every rule parameter). There is no field saying
who the master user is, so besides those names every user who ran an account or privilege statement counts as
privileged: only an account able to manage accounts can do that, and a refused attempt is worth a look too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PRIVILEGED_RULE = "privileged-remote"
DETECTED = "ran account or privilege statements"


def configured_privileged(overrides: str = "") -> tuple[str, ...]:
    """The privileged-remote rule's users, with RDSAUDIT_DETECTIONS (`overrides`, already read) applied."""
    from handler.detect.catalog import load_catalog

    return tuple(load_catalog(overrides).rule(PRIVILEGED_RULE).p("users"))


def privileged_names(
    configured: Iterable[str], account_rows: Iterable[dict[str, Any]], why: str = PRIVILEGED_RULE
) -> list[tuple[str, str]]:
    """(user, why) sorted by user: the configured names, then whoever ran account or privilege statements."""
    names: dict[str, str] = dict.fromkeys(configured, why)
    for row in account_rows:
        user = row.get("user")
        if user and user not in names:
            names[str(user)] = DETECTED
    return sorted(names.items())
