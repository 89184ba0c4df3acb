"""Where one session's timeline is, one step away: the command line that prints it and the Dashboards view of its
events (the saved search `rdsaudit-search-session`, filtered to the session's server, connection and time)."""

from __future__ import annotations

import shlex
from datetime import timedelta
from urllib.parse import quote

from handler.mappings import DEFAULT_PREFIX
from handler.read.period import iso
from handler.sessions.model import SessionSummary

SAVED_SEARCH = "rdsaudit-search-session"  # as written in mappings/dashboards.ndjson, for the default prefix


def timeline_command(s: SessionSummary) -> str:
    return shlex.join(["rdsaudit", "session", s.server, str(s.connid), "--at", s.start])


def _rison(text: str) -> str:
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def dashboards_path(s: SessionSummary, prefix: str = "rdsaudit") -> str:
    """Relative to the Dashboards URL: Discover on the session saved search (its id follows the index prefix, as
    `rdsaudit setup` imports it), the session's span as the time."""
    search = prefix + SAVED_SEARCH[len(DEFAULT_PREFIX) :]
    until = iso(s.end_at + timedelta(milliseconds=1))  # Dashboards' time range excludes its end
    query = f'server:"{s.server}" and connid:{s.connid}'
    state = f"_g=(time:(from:{_rison(s.start)},to:{_rison(until)}))&_a=(query:(language:kuery,query:{_rison(query)}))"
    return f"app/discover#/view/{search}?" + quote(state, safe="=&(),:!'*")
