"""Sessions: what one connection did, from login to logout.

A session is one connection on one server: the events of one (`server`, `connid`) pair from an opening event
(CONNECT, or FAILED_CONNECT: a refused login is a session whose login failed) up to its DISCONNECT. Where the
events of a pair are not preceded by an opening event (the CONNECT is older than the indices kept, or was lost),
the session begins at the **first event seen**: the earliest stored event of the pair after the pair's previous
DISCONNECT (or the pair's earliest stored event at all). "Seen" is searched backward through every index, never
limited to the period asked about, so it does not depend on the query. A session without a DISCONNECT ends at its
last event before the next opening event of the same pair (connection ids restart at 1 after a server restart), or
at the pair's last stored event: its end is then marked unknown (`closed: false`).

Events of one pair are ordered by `@timestamp`, then, within one timestamp (RDS for MySQL writes whole seconds),
opening events first and DISCONNECT last.

**The session key** is `SERVER/CONNID/START`: the audit line's own `server` field (the serverhost the database
writes), the connection id and the start event's `@timestamp` in UTC ISO 8601 (`handler.read.period.iso`:
microseconds only when there are some). All three come from the audit line itself, so a line forwarded live and the
same line backfilled from S3 give the same key; the cluster, instance and owner come from the delivery (a log group,
an object key) and are reported in the summary, not keyed on: a backfill of an export may not know the account.
Two sessions with the same connection id on one server (before and after a restart) differ by their start.

Public API (kept stable: detections call it): `session_key`, `parse_key`, `find_session`, `SessionSummary`,
`list_sessions` and `timeline`.
"""

from handler.sessions.key import parse_key, session_key
from handler.sessions.lookup import find_session
from handler.sessions.model import SessionSummary

__all__ = ["SessionSummary", "find_session", "parse_key", "session_key"]
