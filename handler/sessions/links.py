"""Where one session's timeline is, one step away: the command line that prints it and the Dashboards view of its
events (the saved search `rdsaudit-search-session`, filtered to the session's server, connection and time)."""

from __future__ import annotations

import shlex
from datetime import timedelta
from urllib.parse import quote

from handler.read.period import iso
from handler.sessions.model import SessionSummary

SAVED_SEARCH = "rdsaudit-search-session"


def timeline_command(s: SessionSummary) -> str:
    return shlex.join(["rdsaudit", "session", s.server, str(s.connid), "--at", s.start])


def _rison(text: str) -> str:
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def dashboards_path(s: SessionSummary) -> str:
    """Relative to the Dashboards URL: Discover on the session saved search, the session's span as the time."""
    until = iso(s.end_at + timedelta(milliseconds=1))  # Dashboards' time range excludes its end
    query = f'server:"{s.server}" and connid:{s.connid}'
    state = f"_g=(time:(from:{_rison(s.start)},to:{_rison(until)}))&_a=(query:(language:kuery,query:{_rison(query)}))"
    return f"app/discover#/view/{SAVED_SEARCH}?" + quote(state, safe="=&(),:!'*")
