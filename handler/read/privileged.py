"""Privileged accounts, for every reader (the report, sessions, detections).

There is no field saying who the master user is, so besides the configured names (defaults: admin, root,
rdsadmin) every user who ran an account or privilege statement counts as privileged: only an account able to manage
accounts can do that, and a refused attempt is worth a look too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# RDS's default master user is `admin`, self-managed MySQL's `root`; `rdsadmin` is the account RDS itself uses.
DEFAULT_PRIVILEGED = ("admin", "root", "rdsadmin")
INTERNAL = ("rdsadmin",)  # the account RDS itself uses, for its monitoring connections
DETECTED = "ran account or privilege statements"


def privileged_names(
    configured: Iterable[str], account_rows: Iterable[dict[str, Any]], why: str = "default"
) -> list[tuple[str, str]]:
    """(user, why) sorted by user: the configured names, then whoever ran account or privilege statements."""
    names: dict[str, str] = dict.fromkeys(configured, why)
    for row in account_rows:
        user = row.get("user")
        if user and user not in names:
            names[str(user)] = DETECTED
    return sorted(names.items())
