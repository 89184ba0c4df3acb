"""The notification decision as a table: which findings go out on which channel, which stay quiet, for every case
the re-notify interval and the per-channel marks make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handler.detect.notify.decide import decide
from handler.detect.notify.lease import _until, last_seen, newly_enabled
from handler.detect.notify.model import Finding

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SIX_H = timedelta(hours=6)


def finding(fid: str, key: str = "client=203.0.113.9", rule: str = "brute-force", last: str = "", **kw: Any) -> Finding:
    return Finding(
        id=fid,
        index="p-findings-2026.12.07",
        rule=rule,
        title="t",
        severity="medium",
        key=key,
        window_start=last or "2026-12-07T11:00:00Z",
        window_end="",
        first="",
        last=last or "2026-12-07T11:00:00Z",
        count=10,
        **kw,
    )


A = finding("a", last="2026-12-07T11:00:00Z")
B = finding("b", last="2026-12-07T11:05:00Z")
C = finding("c", last="2026-12-07T11:10:00Z")
OTHER_KEY = finding("k", key="client=198.51.100.7")
OTHER_RULE = finding("r", rule="password-spraying")
SENT_SNS = finding("s", notified={"sns": "2026-12-07T11:30:00Z"})
QUIET_SNS = finding("q", suppressed={"sns": {"at": "2026-12-07T11:30:00Z", "by": "x"}})

CASES = [
    # (name, findings, last_sent, channels, interval, {channel: sent ids}, {channel: quiet ids})
    ("new finding, no history: every channel", [A], {}, ["sns", "events"], SIX_H, {"sns": ["a"], "events": ["a"]}, {}),
    ("already sent on sns: only events", [SENT_SNS], {}, ["sns", "events"], SIX_H, {"events": ["s"]}, {}),
    ("suppressed on sns: only events", [QUIET_SNS], {}, ["sns", "events"], SIX_H, {"events": ["q"]}, {}),
    (
        "group sent 1 h ago: quiet",
        [A],
        {("sns", "brute-force", A.key): ("2026-12-07T11:00:00Z", "old")},
        ["sns"],
        SIX_H,
        {},
        {"sns": ["a"]},
    ),
    (
        "group sent 7 h ago: sent again",
        [A],
        {("sns", "brute-force", A.key): ("2026-12-07T05:00:00Z", "old")},
        ["sns"],
        SIX_H,
        {"sns": ["a"]},
        {},
    ),
    (
        "group sent exactly the interval ago: sent again",
        [A],
        {("sns", "brute-force", A.key): ("2026-12-07T06:00:00Z", "old")},
        ["sns"],
        SIX_H,
        {"sns": ["a"]},
        {},
    ),
    (
        "group sent 1 h ago on events only: sns still sends",
        [A],
        {("events", "brute-force", A.key): ("2026-12-07T11:00:00Z", "old")},
        ["sns", "events"],
        SIX_H,
        {"sns": ["a"]},
        {"events": ["a"]},
    ),
    ("three new in one group: the newest stands for the others", [A, C, B], {}, ["sns"], SIX_H, {"sns": ["c"]}, {}),
    (
        "no interval: each finding on its own, oldest first",
        [C, A, B],
        {},
        ["sns"],
        timedelta(0),
        {"sns": ["a", "b", "c"]},
        {},
    ),
    (
        "no interval: a recent send does not quiet",
        [A],
        {("sns", "brute-force", A.key): ("2026-12-07T11:59:00Z", "o")},
        ["sns"],
        timedelta(0),
        {"sns": ["a"]},
        {},
    ),
    ("two keys of one rule: both, in key order", [A, OTHER_KEY], {}, ["sns"], SIX_H, {"sns": ["k", "a"]}, {}),
    ("two rules on one key: both", [A, OTHER_RULE], {}, ["sns"], SIX_H, {"sns": ["a", "r"]}, {}),
    ("no channel enabled: nothing", [A], {}, [], SIX_H, {}, {}),
    ("nothing new: nothing", [], {}, ["sns", "events", "securityhub"], SIX_H, {}, {}),
    (
        "a send in the future (clock skew) counts as recent",
        [A],
        {("sns", "brute-force", A.key): ("2026-12-07T13:00:00Z", "old")},
        ["sns"],
        SIX_H,
        {},
        {"sns": ["a"]},
    ),
]


@pytest.mark.parametrize(
    ("findings", "last_sent", "channels", "interval", "sent", "quiet"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(
    findings: list[Finding],
    last_sent: Any,
    channels: list[str],
    interval: timedelta,
    sent: dict[str, list[str]],
    quiet: dict[str, list[str]],
) -> None:
    plan = decide(findings, last_sent, channels, NOW, interval)
    assert {c: plan.send_ids(c) for c in plan.sends} == sent
    assert {c: plan.quiet_ids(c) for c in plan.quiet} == quiet


def test_the_newest_send_names_what_it_covers() -> None:
    plan = decide([A, C, B], {}, ["sns"], NOW, SIX_H)
    [send] = plan.sends["sns"]
    assert send.finding.id == "c" and [f.id for f in send.covers] == ["b", "a"]


def test_quiet_findings_name_the_send_that_covers_them() -> None:
    plan = decide([A], {("sns", "brute-force", A.key): ("2026-12-07T11:00:00Z", "old")}, ["sns"], NOW, SIX_H)
    [q] = plan.quiet["sns"]
    assert (q.by, q.sent_at) == ("old", "2026-12-07T11:00:00Z")


# Catch-up: sns first enabled at 11:30 with a 1 h window tells findings from 10:30 on; events has no moment.
TOLD_FROM = {"sns": datetime(2026, 12, 7, 10, 30, tzinfo=UTC)}
OLD = finding("old", key="client=192.0.2.1", last="2026-12-07T10:29:59Z")
EDGE = finding("edge", key="client=192.0.2.2", last="2026-12-07T10:30:00Z")
CATCH_UP = [
    # (name, findings, {channel: sent ids}, {channel: backlog ids})
    ("older than the window: backlog on sns, told on events", [OLD], {"events": ["old"]}, {"sns": ["old"]}),
    ("exactly at the window's start: told", [EDGE], {"sns": ["edge"], "events": ["edge"]}, {}),
    (
        "one group across the moment: the recent one told alone, the old one backlog",
        [finding("o", last="2026-12-07T09:00:00Z"), B],
        {"sns": ["b"], "events": ["b"]},
        {"sns": ["o"]},
    ),
    (
        "already handled: neither told nor backlog",
        [finding("h", last="2026-01-01T00:00:00Z", notified={"sns": "x"})],
        {"events": ["h"]},
        {},
    ),
]


@pytest.mark.parametrize(("findings", "sent", "backlog"), [c[1:] for c in CATCH_UP], ids=[c[0] for c in CATCH_UP])
def test_catch_up(findings: list[Finding], sent: dict[str, list[str]], backlog: dict[str, list[str]]) -> None:
    plan = decide(findings, {}, ["sns", "events"], NOW, SIX_H, TOLD_FROM)
    assert {c: plan.send_ids(c) for c in plan.sends} == sent
    assert {c: plan.backlog_ids(c) for c in plan.backlog} == backlog
    assert all(s.covers == () for s in plan.sends.get("sns", []))  # a send never stands for backlog


def test_a_due_finding_never_ages_out_of_the_window() -> None:
    """The window hangs on the moment the channel was first enabled, not on now: a send failing for a month is
    still due."""
    month_later = NOW + timedelta(days=30)
    plan = decide([EDGE], {}, ["sns"], month_later, SIX_H, TOLD_FROM)
    assert plan.send_ids("sns") == ["edge"] and plan.backlog == {}


DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("known", "seen", "enabled"),
    [
        ({}, {}, ["sns"]),  # never enabled
        ({"sns": "2026-12-01T00:00:00Z"}, {"sns": "2026-12-07T11:55:00Z"}, []),  # on all along
        ({"sns": "2026-12-01T00:00:00Z"}, {"sns": "2026-12-06T12:00:00Z"}, []),  # off exactly the window: kept
        ({"sns": "2026-12-01T00:00:00Z"}, {"sns": "2026-12-06T11:59:59Z"}, ["sns"]),  # off longer: enabled again
        ({"sns": "2026-12-01T00:00:00Z"}, {}, ["sns"]),  # recorded before last_seen was kept
        ({"sns": "2026-12-01T00:00:00Z"}, {"sns": "2026-12-08T00:00:00Z"}, []),  # seen by a later moment's run
    ],
)
def test_newly_enabled(known: dict[str, str], seen: dict[str, str], enabled: list[str]) -> None:
    assert newly_enabled(known, seen, ["sns"], NOW, DAY) == dict.fromkeys(enabled, "2026-12-07T12:00:00Z")


def test_last_seen_never_moves_back() -> None:
    seen = {"sns": "2026-12-08T00:00:00Z", "events": "2026-12-06T00:00:00Z", "off": "2026-12-01T00:00:00Z"}
    assert last_seen(seen, ["sns", "events"], NOW) == {"sns": "2026-12-08T00:00:00Z", "events": "2026-12-07T12:00:00Z"}


def test_an_unreadable_lease_expiry_reads_as_never() -> None:
    """Taken over as forged (a node whose mapping types it a date refuses such a value; another may keep it)."""
    assert _until("next tuesday") == datetime.max.replace(tzinfo=UTC)
    assert _until("2026-12-07T12:15:00Z") == NOW + timedelta(minutes=15)
