"""One notifier at a time: a lease in the findings' state index (`<prefix>-findings-state`, id `notify`), and, kept
in the same document, the moment each channel was (last) enabled and the last run that had it on (`last_seen`).

Two runs can overlap (the schedule and a manual run, or a run slower than its schedule): both would read the same
unhandled findings and send them twice. The lease is taken with `op_type=create` when the document does not exist,
or, once its holder released it or its time ran out, by overwriting exactly the version read (`if_seq_no` and
`if_primary_term`): of two runs racing, the node accepts one write and answers 409 to the other ("Optimistic
concurrency control", OpenSearch documentation). Every later write (renewal, the channels' first moments, the
release) is conditional the same way, so a holder whose lease was taken from it (it paused past the expiry) finds
out at its next write and stops, and never overwrites the new holder's lease. A lease expiring further ahead than any
holder writes (LEASE, plus SKEW for clocks) is forged or corrupt: taken over, with a WARNING naming its holder.

Released by writing it expired rather than deleting it: the detector's role may index and update its findings'
documents but not delete them, and the channels' first moments must outlive the lease. Time comes from an injected
clock, so tests need no sleep."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from handler.read.patterns import state_index
from handler.read.period import iso, parse_timestamp

LEASE_ID = "notify"
LEASE = timedelta(seconds=900)  # longer than the detect function's 5-minute timeout: a live holder never loses it
# How far a live holder's clock may run ahead of ours before its lease looks forged (clocks are NTP-synced;
# a CLI host may drift more than a Lambda): a valid lease never expires later than LEASE + SKEW from now.
SKEW = timedelta(seconds=120)
logger = logging.getLogger("rdsaudit")
LOST = "the notifier lease expired and another run took it: this run stopped sending"


def holder_name(log_stream: str) -> str:
    """The Lambda's log stream (where its JSON line is), else this host and process (the command line)."""
    return log_stream or f"{socket.gethostname()}/{os.getpid()}"


class Lease:
    def __init__(self, client: Any, prefix: str, holder: str, clock: Callable[[], datetime]) -> None:
        self.client, self.index, self.holder, self.clock = client, state_index(prefix), holder, clock
        self.channels: dict[str, str] = {}  # channel → when it was enabled (first, or again after a pause)
        self.seen: dict[str, str] = {}  # channel → the last run (holding the lease) that had it on
        self.refused = ""  # why the lease could not be taken or was lost: one line
        self._version: tuple[int, int] | None = None  # (seq_no, primary_term) of our last write
        self._since: datetime | None = None

    @property
    def held(self) -> bool:
        return self._version is not None

    def take(self) -> bool:
        from opensearchpy.exceptions import NotFoundError

        now = self.clock()
        try:
            doc = self.client.transport.perform_request("GET", f"/{self.index}/_doc/{LEASE_ID}")
        except NotFoundError:
            return self._write(now, {"op_type": "create"})
        state = (doc.get("_source") or {}).get("state") or {}
        self.channels = {str(k): str(v) for k, v in (state.get("channels") or {}).items()}
        self.seen = {str(k): str(v) for k, v in (state.get("last_seen") or {}).items()}
        lease = state.get("lease") or {}
        expires = lease.get("expires_at")
        # A released lease is free whatever the clocks say (the releaser's may run ahead of ours).
        until = _until(expires) if expires and not lease.get("released_at") else None
        if until is not None and until > now + LEASE + SKEW:
            # No holder writes further ahead than LEASE: a forged or corrupt lease would otherwise refuse every run.
            logger.warning(
                "the notifier lease of %s expires at %s, more than %ds ahead: invalid, taken over",
                lease.get("holder"),
                expires,
                LEASE.total_seconds(),
            )
        elif until is not None and until > now:
            self.refused = f"the notifier lease is held by {lease.get('holder')} until {expires}"
            return False
        return self._write(now, _version_params(doc["_seq_no"], doc["_primary_term"]))

    def renew(self, channels: Mapping[str, str] | None = None, seen: Mapping[str, str] | None = None) -> bool:
        """Extends the lease (and records `channels`' enabled moments, `seen`'s last runs); False when it was taken
        from us."""
        if self._version is None:
            return False
        self.channels = {**self.channels, **(channels or {})}
        self.seen = {**self.seen, **(seen or {})}
        return self._write(self.clock(), _version_params(*self._version), lost=LOST)

    def release(self) -> bool:
        if self._version is None:
            return False
        released = self._write(self.clock(), _version_params(*self._version), released=True, lost=LOST)
        self._version = None
        return released

    def _write(self, now: datetime, params: dict[str, str], released: bool = False, lost: str = "") -> bool:
        from opensearchpy.exceptions import ConflictError

        self._since = self._since or now
        lease = {"holder": self.holder, "since": iso(self._since), "renewed_at": iso(now)}
        lease |= {"expires_at": iso(now), "released_at": iso(now)} if released else {"expires_at": iso(now + LEASE)}
        body = {"state": {"lease": lease, "channels": self.channels, "last_seen": self.seen}}
        try:  # no refresh: the lease is only ever read by id, and a GET by id is real time
            answer = self.client.transport.perform_request(
                "PUT", f"/{self.index}/_doc/{LEASE_ID}", body=body, params=params
            )
        except ConflictError:
            self._version = None
            self.refused = lost or "the notifier lease was taken by another run at the same moment"
            return False
        self._version = (int(answer["_seq_no"]), int(answer["_primary_term"]))
        return True


def _until(expires: Any) -> datetime:
    """When a lease expires; one no clock can read (forged or corrupt) as never, so that it is taken over."""
    try:
        return parse_timestamp(str(expires))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def _version_params(seq_no: int, primary_term: int) -> dict[str, str]:
    return {"if_seq_no": str(seq_no), "if_primary_term": str(primary_term)}


def newly_enabled(
    known: Mapping[str, str], seen: Mapping[str, str], channels: list[str], now: datetime, catch_up: timedelta
) -> dict[str, str]:
    """The channels enabled now, with their moment to record: never enabled before, or off for longer than the
    catch-up window (no run had them on since; none recorded, from before `last_seen` was kept): turned on again,
    they tell the window before now, not the whole pause's backlog. A shorter pause keeps the earlier moment."""
    return {
        c: iso(now) for c in channels if c not in known or c not in seen or now - parse_timestamp(seen[c]) > catch_up
    }


def last_seen(seen: Mapping[str, str], channels: list[str], now: datetime) -> dict[str, str]:
    """`now` for the channels on in this run; never moved back (a run for an earlier moment, by hand)."""
    return {c: seen[c] if c in seen and parse_timestamp(seen[c]) > now else iso(now) for c in channels}


def catch_up_from(known: Mapping[str, str], catch_up: timedelta) -> dict[str, datetime]:
    """Per channel, the oldest finding it tells: `catch_up` before it was (last) enabled. A fixed moment, so a
    finding that was due stays due however long its sends keep failing."""
    return {c: parse_timestamp(at) - catch_up for c, at in known.items()}
