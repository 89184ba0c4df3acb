"""Which findings to send on which channel now. Pure: the findings, what each channel last sent per rule and key,
the clock and the interval in; a plan out.

A finding is sent once per channel. A rule that keeps firing on one key (a brute force lasting a day is a finding per
window) is sent again only after the re-notify interval: findings of a group notified on a channel less than the
interval ago are marked quiet on it, and of several due in one run only the newest is sent, standing for the others.
Nothing is marked until its channel has accepted the send, so a failed send is decided again on the next run.

A channel turned on later does not send the backlog: findings whose newest event is older than the channel's
catch-up moment (`told_from`: the catch-up window before it was enabled, or enabled again after a pause) are its
backlog, marked and never sent. The moment is fixed, so a finding once due stays due while its sends fail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handler.detect.notify.model import Finding
from handler.read.period import parse_timestamp

# (channel, rule, key) → (when, finding id) of the group's latest accepted send on that channel
LastSent = Mapping[tuple[str, str, str], tuple[str, str]]


@dataclass(frozen=True)
class Send:
    finding: Finding
    covers: tuple[Finding, ...] = ()  # older findings of the group this message stands for


@dataclass(frozen=True)
class Quiet:
    finding: Finding
    by: str  # the finding whose send, less than the interval ago, covers this one
    sent_at: str


@dataclass
class Plan:
    sends: dict[str, list[Send]] = field(default_factory=dict)
    quiet: dict[str, list[Quiet]] = field(default_factory=dict)

    def send_ids(self, channel: str) -> list[str]:
        return [s.finding.id for s in self.sends.get(channel, [])]

    backlog: dict[str, list[Finding]] = field(default_factory=dict)  # before the channel's catch-up moment

    def quiet_ids(self, channel: str) -> list[str]:
        return [q.finding.id for q in self.quiet.get(channel, [])]

    def backlog_ids(self, channel: str) -> list[str]:
        return [f.id for f in self.backlog.get(channel, [])]


def happened(f: Finding) -> datetime | None:
    """When a finding happened: its newest event (a backfill's finding of last year is old news, however new)."""
    stamp = f.last or f.window_end or f.window_start
    return parse_timestamp(stamp) if stamp else None


def _newest_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.last, f.window_start, f.id), reverse=True)


def decide(
    findings: Sequence[Finding],
    last_sent: LastSent,
    channels: Sequence[str],
    now: datetime,
    interval: timedelta,
    told_from: Mapping[str, datetime] | None = None,
) -> Plan:
    plan = Plan()
    for channel in channels:
        groups: dict[tuple[str, str], list[Finding]] = {}
        oldest = (told_from or {}).get(channel)
        backlog: list[Finding] = []
        for f in findings:
            if f.handled(channel):
                continue
            at = happened(f)
            if oldest is not None and at is not None and at < oldest:
                backlog.append(f)
            else:
                groups.setdefault(f.group, []).append(f)
        if backlog:
            plan.backlog[channel] = backlog
        sends: list[Send] = []
        quiet: list[Quiet] = []
        for (rule, key), members in sorted(groups.items()):
            ordered = _newest_first(members)
            previous = last_sent.get((channel, rule, key))
            if previous is not None and interval > timedelta(0) and now - parse_timestamp(previous[0]) < interval:
                quiet.extend(Quiet(f, by=previous[1], sent_at=previous[0]) for f in ordered)
            elif interval > timedelta(0):
                sends.append(Send(ordered[0], covers=tuple(ordered[1:])))
            else:  # no interval: every finding is told on its own
                sends.extend(Send(f) for f in reversed(ordered))
        if sends:
            plan.sends[channel] = sends
        if quiet:
            plan.quiet[channel] = quiet
    return plan
