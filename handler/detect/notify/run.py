"""One notification run: read the findings some enabled channel has not handled, decide, send, and mark each
finding in its index (`notified.<channel>` once accepted or covered, with `suppressed.<channel>` when another send
covers it), so a rerun sends nothing twice and a failed send is decided again next time.

A send whose mark cannot be written would go out again on the next run: the marks are written right after each
channel's sends, and a failure to write them is counted in the run's summary (and makes the entry fail). Marks are
written with `refresh=true`: the next run finds unhandled findings by search, which sees only refreshed documents,
and two notifiers once sent a finding twice when one searched before the other's marks were visible.

Only the holder of the notifier lease (lease.py) reads, sends and marks; a run that cannot take it sends nothing and
says why in its summary. A channel turned on later, or on again after a pause longer than the catch-up window (no
run had it on: `last_seen` in the lease's document), tells only the window of its backlog (decide.py); the rest is
marked `suppressed.<channel>` with the reason "before channel enabled" and counted as `backlog`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from handler.detect.notify import channels as ch
from handler.detect.notify.decide import LastSent, Send, decide
from handler.detect.notify.lease import Lease, catch_up_from, holder_name, last_seen, newly_enabled
from handler.detect.notify.model import Finding, from_document
from handler.model import Action
from handler.read.patterns import findings_pattern
from handler.read.period import iso
from handler.read.reader import Reader
from handler.sinks.chunker import body_of, chunks

if TYPE_CHECKING:
    from handler.runtime import Runtime

FIELDS = ["*"]
# The job's state document shares the findings' indices (`<prefix>-findings-state`): only findings have a rule.
IS_FINDING = {"exists": {"field": "rule"}}
Marks = list[tuple[Finding, dict[str, Any]]]  # a finding and the partial document that marks it
BATCH = {"sns": 10, "events": ch.EVENTS_PER_CALL, "securityhub": ch.FINDINGS_PER_CALL}
BEFORE_ENABLED = "before channel enabled"
# Marks per bulk request: a long-off channel's backlog can be every finding kept; the lease is renewed between them.
MARKS_PER_REQUEST = 500


@dataclass
class Summary:
    channels: list[str]
    candidates: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    quiet: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # the first reasons, one line each
    marks_failed: int = 0
    backlog: dict[str, int] = field(default_factory=dict)  # marked, not sent: before the channel was enabled
    lease: str = ""  # why this run did not send (or stopped): the lease held or lost; "" when it held it

    def as_log(self) -> dict[str, Any]:
        out = {
            "channels": self.channels,
            "candidates": self.candidates,
            "sent": self.sent,
            "quiet": self.quiet,
            "backlog": self.backlog,
            "failed": self.failed,
            "failures": self.failures[:5],
            "marks_failed": self.marks_failed,
        }
        return {**out, "lease": self.lease} if self.lease else out


def enabled_channels(runtime: Runtime) -> list[str]:
    s = runtime.settings
    return [
        name
        for name, on in (
            ("sns", bool(s.detect_topic_arn)),
            ("events", bool(s.detect_event_bus)),
            ("securityhub", s.detect_security_hub),
        )
        if on
    ]


def _unhandled(channels: list[str]) -> dict[str, Any]:
    should = [{"bool": {"must_not": [{"exists": {"field": f"notified.{c}"}}]}} for c in channels]
    return {"bool": {"should": should, "minimum_should_match": 1, "filter": [IS_FINDING]}}


def _recently_sent(channels: list[str], since: str) -> dict[str, Any]:
    should = [{"range": {f"notified.{c}": {"gte": since}}} for c in channels]
    return {"bool": {"should": should, "minimum_should_match": 1, "filter": [IS_FINDING]}}


def _covered(channel: str, stamp: str, by: str) -> dict[str, Any]:
    """A finding another message stands for: handled on the channel (`notified`, the field the findings template
    indexes and the next run's query reads) and `suppressed` saying by which finding (kept in `_source` only)."""
    return {"notified": {channel: stamp}, "suppressed": {channel: {"at": stamp, "by": by}}}


def _before_enabled(channel: str, stamp: str) -> dict[str, Any]:
    return {"notified": {channel: stamp}, "suppressed": {channel: {"at": stamp, "reason": BEFORE_ENABLED}}}


def last_sent(recent: list[Finding], channels: list[str]) -> LastSent:
    out: dict[tuple[str, str, str], tuple[str, str]] = {}
    for f in recent:
        for c in channels:
            at = None if c in f.suppressed else f.notified.get(c)  # only the group's own sends count
            group = (c, *f.group)
            if at and (group not in out or at > out[group][0]):
                out[group] = (at, f.id)
    return out


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """`clock` times the lease (real time; `run`'s `now` is the scheduled moment the marks and decisions use);
    `holder` names this run in the lease (default: the Lambda's log stream, or host/pid)."""

    def __init__(
        self,
        runtime: Runtime,
        account: Callable[[], str] | None = None,
        clock: Callable[[], datetime] = _wall_clock,
        holder: str = "",
        marks_per_request: int = MARKS_PER_REQUEST,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._account_of = account or self._caller_account
        self._account: str | None = None
        self.clock = clock
        self.holder = holder or holder_name(self.settings.log_stream)
        self.marks_per_request = marks_per_request

    def _caller_account(self) -> str:
        # GetCallerIdentity needs no permission ("No permissions are required", AWS STS API Reference).
        return str(self.runtime.aws("sts").get_caller_identity()["Account"])

    def account(self) -> str:
        if self._account is None:
            self._account = self._account_of()
        return self._account

    def read(self, channels: list[str], now: datetime) -> tuple[list[Finding], list[Finding]]:
        pattern = findings_pattern(self.settings.index_prefix)
        since = iso(now - timedelta(seconds=self.settings.detect_renotify_seconds))
        url = self.settings.dashboards_url
        with Reader(self.runtime.client, pattern) as reader:
            todo = [from_document(d, url) for d in reader.documents(_unhandled(channels), FIELDS)]
            recent = [from_document(d, url) for d in reader.documents(_recently_sent(channels, since), FIELDS)]
        return todo, recent

    def run(self, now: datetime) -> Summary:
        channels = enabled_channels(self.runtime)
        summary = Summary(channels)
        if not channels:
            return summary
        lease = Lease(self.runtime.client, self.settings.index_prefix, self.holder, self.clock)
        if not lease.take():
            summary.lease = lease.refused
            return summary
        try:
            self._run(lease, channels, now, summary)
        finally:
            if lease.held and not lease.release():
                summary.lease = lease.refused
        return summary

    def _run(self, lease: Lease, channels: list[str], now: datetime, summary: Summary) -> None:
        catch_up = timedelta(seconds=self.settings.detect_catch_up_seconds)
        enabled = newly_enabled(lease.channels, lease.seen, channels, now, catch_up)
        if not lease.renew(enabled, last_seen(lease.seen, channels, now)):
            summary.lease = lease.refused
            return
        told_from = catch_up_from({c: lease.channels[c] for c in channels}, catch_up)
        todo, recent = self.read(channels, now)
        summary.candidates = len(todo)
        interval = timedelta(seconds=self.settings.detect_renotify_seconds)
        plan = decide(todo, last_sent(recent, channels), channels, now, interval, told_from)
        stamp = iso(now)
        for channel in channels:
            backlog = plan.backlog.get(channel, [])
            summary.backlog[channel] = len(backlog)
            if not self._mark(lease, [(f, _before_enabled(channel, stamp)) for f in backlog], summary):
                return
            quiet = plan.quiet.get(channel, [])
            summary.quiet[channel] = len(quiet)
            if not self._mark(lease, [(q.finding, _covered(channel, stamp, q.by)) for q in quiet], summary):
                return
            summary.sent[channel] = summary.failed[channel] = 0
            sends = plan.sends.get(channel, [])
            # Marked batch by batch: a run cut short (the function's timeout) re-sends at most one batch.
            for i in range(0, len(sends), BATCH[channel]):
                if not lease.renew():  # taken from us (we paused past its expiry): its new holder sends the rest
                    summary.lease = lease.refused
                    return
                outcome = self._send(channel, sends[i : i + BATCH[channel]], stamp)
                marks: Marks = []
                for s in outcome.accepted:
                    marks.append((s.finding, {"notified": {channel: stamp}}))
                    marks += [(c, _covered(channel, stamp, s.finding.id)) for c in s.covers]
                summary.sent[channel] += len(outcome.accepted)
                summary.quiet[channel] += sum(len(s.covers) for s in outcome.accepted)
                summary.failed[channel] += len(outcome.failed)
                summary.failures += [f"{channel} {s.finding.id}: {reason}" for s, reason in outcome.failed]
                if not self._mark(lease, marks, summary):
                    return

    def _send(self, channel: str, sends: list[Send], stamp: str) -> ch.Outcome:
        s, region = self.settings, self.settings.aws_region
        if channel == "sns":
            return ch.sns(self.runtime.aws("sns"), s.detect_topic_arn, sends)
        if channel == "events":
            return ch.events(self.runtime.aws("events"), s.detect_event_bus, sends, self.account(), region)
        return ch.securityhub(self.runtime.aws("securityhub"), sends, self.account(), region, stamp)

    def _mark(self, lease: Lease, marks: Marks, summary: Summary) -> bool:
        """Partial updates by id (other channels' marks stay), in requests bounded like the forwarder's (count and
        bytes), the lease renewed between them; False when it was lost: the rest stays unmarked, counted failed."""
        actions = [Action(f.index, f.id, _update_lines(f, doc).encode(), "") for f, doc in marks]
        done = 0
        for chunk in chunks(actions, self.settings.bulk_max_bytes, self.marks_per_request):
            if done and not lease.renew():
                summary.marks_failed += len(actions) - done
                summary.lease = lease.refused
                return False
            summary.marks_failed += self._bulk(chunk)
            done += len(chunk)
        return True

    def _bulk(self, chunk: list[Action]) -> int:
        """The number of findings of `chunk` that could not be marked."""
        from opensearchpy.exceptions import OpenSearchException

        try:
            answer = self.runtime.client.bulk(body=body_of(chunk), refresh="true")
        except OpenSearchException:
            return len(chunk)
        return sum(1 for item in answer.get("items", []) if item.get("update", {}).get("status", 500) >= 300)


def _update_lines(f: Finding, doc: dict[str, Any]) -> str:
    return json.dumps({"update": {"_index": f.index, "_id": f.id}}) + "\n" + json.dumps({"doc": doc}) + "\n"


def notify(runtime: Runtime, now: datetime) -> Summary:
    return Notifier(runtime).run(now)
