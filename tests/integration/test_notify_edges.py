"""Notification edge cases on the real node and moto's server (strict as in notify_aws.py): a channel turned on
later tells only its catch-up window of the backlog; a due finding whose channel keeps failing never ages out and is
sent once when the channel comes back; the notifier lease taken, expired, stolen; two notifiers started together send
each finding exactly once. Lease times come from injected clocks: nothing sleeps."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from handler.config import Settings
from handler.detect.notify.lease import LEASE, LOST, SKEW, Lease
from handler.detect.notify.run import BEFORE_ENABLED, Notifier, Summary
from handler.read.period import iso
from handler.runtime import build_runtime
from tests.integration import test_notify
from tests.integration.notify_aws import check_publish, drain
from tests.integration.test_notify import NOW, _topic_up, brute

notifying = test_notify.channels  # that module's fixture, here by this name (pytest registers the attribute)

T0 = NOW - timedelta(days=5)


def only(ch: Any, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Turns channels on and off as a redeploy would (the runtime's settings, read from the environment again)."""
    on = set(names)
    monkeypatch.setenv("RDSAUDIT_DETECT_TOPIC_ARN", ch.topic_arn if "sns" in on else "")
    monkeypatch.setenv("RDSAUDIT_DETECT_EVENT_BUS", ch.name if "events" in on else "")
    monkeypatch.setenv("RDSAUDIT_DETECT_SECURITY_HUB", "true" if "securityhub" in on else "false")
    ch.runtime.settings = Settings.from_env()


def at(moment: datetime) -> str:
    return iso(moment)


def client_finding(n: int, last: datetime) -> dict[str, Any]:
    doc = brute(10, at(last - timedelta(minutes=4)), at(last))
    return {**doc, "key": f"client=203.0.113.{n}", "client": f"203.0.113.{n}"}


def lease_doc(ch: Any) -> dict[str, Any]:
    return dict(ch.client.get(index=f"{ch.prefix}-findings-state", id="notify")["_source"]["state"])


def test_a_channel_turned_on_later_tells_only_its_catch_up_window(notifying: Any, monkeypatch: Any) -> None:
    ch = notifying
    _topic_up(ch)
    only(ch, monkeypatch, "events")
    for day in range(5):  # events on since T0, seen by a run (here daily) ever since: its moment stays T0
        assert ch.run(T0 + timedelta(days=day)).sent == {"events": 0}
    ch.put("old1", client_finding(1, NOW - timedelta(days=3)))
    ch.put("old2", client_finding(2, NOW - timedelta(days=1, seconds=1)))
    ch.put("edge", client_finding(3, NOW - timedelta(days=1)))  # exactly the window's start: told
    ch.put("recent", client_finding(4, NOW - timedelta(hours=1)))

    only(ch, monkeypatch, "sns", "events")
    summary = ch.run(NOW)
    assert (summary.sent, summary.backlog) == ({"sns": 2, "events": 4}, {"sns": 2, "events": 0}), summary.failures
    assert sorted(m["Subject"].split("(")[1] for m in drain(ch.sqs, ch.sns_queue)) == [
        "client=203.0.113.3)",
        "client=203.0.113.4)",
    ]
    assert len(drain(ch.sqs, ch.events_queue)) == 4  # events was on all along: its window began before T0
    for fid in ("old1", "old2"):
        doc = ch.get(fid)
        assert doc["suppressed"] == {"sns": {"at": at(NOW), "reason": BEFORE_ENABLED}}
        assert doc["notified"] == {"sns": at(NOW), "events": at(NOW)}
    assert "suppressed" not in ch.get("recent")
    assert lease_doc(ch)["channels"] == {"events": at(T0), "sns": at(NOW)}

    again = ch.run(NOW + timedelta(minutes=5))
    assert (again.candidates, again.sent, again.backlog) == (0, {"sns": 0, "events": 0}, {"sns": 0, "events": 0})
    assert drain(ch.sqs, ch.sns_queue) == [] and drain(ch.sqs, ch.events_queue) == []


def test_a_channel_turned_off_and_on_again_tells_only_the_window_before_it_came_back(
    notifying: Any, monkeypatch: Any
) -> None:
    """sns on, its finding told; off for two days (events on, its runs going on) while findings arrive; on again:
    only the findings of the one-day window before it came back are mailed, the pause's older ones are its backlog."""
    ch = notifying
    _topic_up(ch)
    only(ch, monkeypatch, "sns", "events")
    ch.put("told", client_finding(1, T0 - timedelta(hours=1)))
    assert ch.run(T0).sent == {"sns": 1, "events": 1}
    assert len(drain(ch.sqs, ch.sns_queue)) == 1
    only(ch, monkeypatch, "events")
    ch.put("paused", client_finding(2, T0 + timedelta(hours=12)))
    assert ch.run(T0 + timedelta(days=1)).sent == {"events": 1}
    ch.put("late", client_finding(3, T0 + timedelta(days=1, hours=12)))
    assert ch.run(T0 + timedelta(days=2)).sent == {"events": 1}

    back = T0 + timedelta(days=2, hours=6)  # two days and six hours after sns was last seen
    only(ch, monkeypatch, "sns", "events")
    summary = ch.run(back)
    assert (summary.sent, summary.backlog) == ({"sns": 1, "events": 0}, {"sns": 1, "events": 0}), summary.failures
    assert [m["Subject"].split("(")[1] for m in drain(ch.sqs, ch.sns_queue)] == ["client=203.0.113.3)"]
    assert ch.get("paused")["suppressed"] == {"sns": {"at": at(back), "reason": BEFORE_ENABLED}}
    assert "suppressed" not in ch.get("late") and "suppressed" not in ch.get("told")
    state = lease_doc(ch)
    assert state["channels"] == {"sns": at(back), "events": at(T0)}  # events was on all along
    assert state["last_seen"] == {"sns": at(back), "events": at(back)}
    assert ch.run(back + timedelta(minutes=5)).sent == {"sns": 0, "events": 0}
    assert drain(ch.sqs, ch.sns_queue) == []


def test_a_due_finding_whose_channel_keeps_failing_stays_due_then_is_sent_once(
    notifying: Any, monkeypatch: Any
) -> None:
    ch = notifying
    only(ch, monkeypatch, "sns")  # the topic does not exist yet: every Publish fails with NotFound
    ch.put("f", client_finding(1, NOW - timedelta(hours=1)))
    first = ch.run(NOW)
    assert (first.sent, first.failed, first.backlog) == ({"sns": 0}, {"sns": 1}, {"sns": 0})
    # Three days on (the channel on, runs failing daily), far past the one-day window counted from now, the finding
    # is still due, not backlog.
    for day in (1, 2, 3):
        later = ch.run(NOW + timedelta(days=day))
        assert (later.sent, later.failed, later.backlog) == ({"sns": 0}, {"sns": 1}, {"sns": 0})
    assert "notified" not in ch.get("f")
    _topic_up(ch)
    back = ch.run(NOW + timedelta(days=3, minutes=5))
    assert (back.sent, back.failed) == ({"sns": 1}, {"sns": 0}), back.failures
    assert len(drain(ch.sqs, ch.sns_queue)) == 1
    assert ch.run(NOW + timedelta(days=3, minutes=10)).sent == {"sns": 0}
    assert drain(ch.sqs, ch.sns_queue) == []


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_lease_taken_expired_and_stolen(notifying: Any, monkeypatch: Any) -> None:
    ch = notifying
    _topic_up(ch)
    only(ch, monkeypatch, "sns")
    ch.put("f", client_finding(1, NOW - timedelta(hours=1)))
    clock = Clock(NOW)
    other = Lease(ch.client, ch.prefix, "scheduler/stream-1", clock)
    assert other.take()  # created (op_type=create): the document did not exist

    # Taken: a second run sends nothing and says who holds it, in one line.
    held = Notifier(ch.runtime, clock=clock, holder="host/42").run(NOW)
    assert held.lease == f"the notifier lease is held by scheduler/stream-1 until {at(NOW + LEASE)}"
    assert held.as_log()["lease"] == held.lease and "\n" not in held.lease
    assert (held.candidates, held.sent) == (0, {}) and drain(ch.sqs, ch.sns_queue) == []
    assert not Lease(ch.client, ch.prefix, "third", clock).take()  # a bare take is refused alike

    # Expired (its holder died without releasing): the next run takes it over the version it read, and sends.
    clock.now = NOW + LEASE
    taken = Notifier(ch.runtime, clock=clock, holder="host/42").run(NOW + LEASE)
    assert (taken.lease, taken.sent) == ("", {"sns": 1})
    assert len(drain(ch.sqs, ch.sns_queue)) == 1
    state = lease_doc(ch)
    assert state["lease"] == {
        "holder": "host/42",
        "since": at(clock.now),
        "renewed_at": at(clock.now),
        "expires_at": at(clock.now),
        "released_at": at(clock.now),
    }

    # Stolen: a holder that paused past its expiry learns it at its next write and never overwrites the thief.
    slow = Lease(ch.client, ch.prefix, "slow", clock)
    assert slow.take()
    clock.now += LEASE + timedelta(seconds=1)
    thief = Lease(ch.client, ch.prefix, "thief", clock)
    assert thief.take()
    assert not slow.renew() and slow.refused == LOST
    assert not slow.release()
    assert lease_doc(ch)["lease"]["holder"] == "thief"
    assert thief.release()


def test_a_lease_expiring_further_ahead_than_any_holder_writes_is_taken_with_a_warning(
    notifying: Any, monkeypatch: Any, caplog: Any
) -> None:
    """A lease written years ahead (forged, or a corrupt clock) would refuse every run: no holder writes one further
    than LEASE ahead, so it is taken over and the takeover logged as a WARNING naming its holder. A live holder
    whose clock runs a little ahead of ours (within SKEW) keeps its lease."""
    ch = notifying
    _topic_up(ch)
    only(ch, monkeypatch, "sns")
    ch.put("f", client_finding(1, NOW - timedelta(hours=1)))
    state = f"{ch.prefix}-findings-state"
    skewed = {"holder": "ahead", "since": at(NOW), "renewed_at": at(NOW), "expires_at": at(NOW + LEASE + SKEW)}
    ch.client.index(index=state, id="notify", body={"state": {"lease": skewed, "channels": {}}})
    refused = Notifier(ch.runtime, clock=Clock(NOW), holder="host/42").run(NOW)
    assert refused.lease.startswith("the notifier lease is held by ahead") and refused.sent == {}

    forged = {**skewed, "holder": "mallory", "expires_at": "2999-01-01T00:00:00Z"}
    ch.client.index(index=state, id="notify", body={"state": {"lease": forged, "channels": {}}})
    with caplog.at_level("WARNING", logger="rdsaudit"):
        taken = Notifier(ch.runtime, clock=Clock(NOW), holder="host/42").run(NOW)
    assert (taken.lease, taken.sent) == ("", {"sns": 1}), taken.failures
    assert len(drain(ch.sqs, ch.sns_queue)) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "the notifier lease of mallory expires at 2999-01-01T00:00:00Z, more than 900s ahead: invalid, taken over"
    ]
    assert lease_doc(ch)["lease"]["holder"] == "host/42"


def test_a_run_whose_lease_is_stolen_mid_run_sends_no_further_batch(notifying: Any, monkeypatch: Any) -> None:
    """Twelve mails go in batches of ten, the lease renewed before each: taken away during the first batch, the run
    stops after it; the thief's run sends the other two. Twelve mails in all, none twice."""
    ch = notifying
    _topic_up(ch)
    only(ch, monkeypatch, "sns")
    for n in range(12):
        ch.put(f"c{n:02d}", client_finding(n, NOW - timedelta(hours=1)))
    clock = Clock(NOW)
    thief = Lease(ch.client, ch.prefix, "thief", Clock(NOW + LEASE + timedelta(seconds=1)))
    stolen: list[bool] = []

    def steal_on_the_first(params: dict[str, Any], **_: Any) -> None:
        if not stolen:
            stolen.append(thief.take())

    ch.runtime.aws("sns").meta.events.register("provide-client-params.sns.Publish", steal_on_the_first)
    cut = Notifier(ch.runtime, clock=clock, holder="slow").run(NOW)
    ch.runtime.aws("sns").meta.events.unregister("provide-client-params.sns.Publish", steal_on_the_first)
    assert stolen == [True] and (cut.sent, cut.lease) == ({"sns": 10}, LOST)
    assert lease_doc(ch)["lease"]["holder"] == "thief"  # the stopped run did not release the thief's lease
    assert thief.release()
    ch.client.indices.refresh(index=ch.index)
    rest = Notifier(ch.runtime, clock=clock, holder="next").run(NOW + timedelta(minutes=5))
    assert rest.sent == {"sns": 2}
    assert len({m["Subject"] for m in drain(ch.sqs, ch.sns_queue)}) == 12


def test_a_large_backlog_is_marked_in_bounded_requests_the_lease_renewed_between(
    notifying: Any, monkeypatch: Any
) -> None:
    """Five findings of the backlog, marked two per request (injected; 500 by default): three bulk requests, the
    lease renewed before the second and the third. Stolen before the second, the run stops: the three findings left
    are counted unmarked, and the thief's run marks them."""
    ch = notifying
    only(ch, monkeypatch, "sns")
    for n in range(5):
        ch.put(f"b{n}", client_finding(n, NOW - timedelta(days=3)))
    bulk, sizes = ch.runtime.client.bulk, []

    def counted(*args: Any, **kw: Any) -> Any:
        sizes.append(kw["body"].count(b"\n") // 2)
        return bulk(*args, **kw)

    clock = Clock(NOW)
    renewals: list[datetime] = []
    renew = Lease.renew

    def renewed(self: Lease, *args: Any) -> bool:
        renewals.append(self.clock())
        return renew(self, *args)

    monkeypatch.setattr(ch.runtime.client, "bulk", counted)
    monkeypatch.setattr(Lease, "renew", renewed)
    summary = Notifier(ch.runtime, clock=clock, holder="host/42", marks_per_request=2).run(NOW)
    assert (summary.backlog, summary.marks_failed, summary.lease) == ({"sns": 5}, 0, "")
    assert sizes == [2, 2, 1]
    assert len(renewals) == 3  # the run's start (channels recorded), then between the requests
    ch.client.indices.refresh(index=ch.index)
    for n in range(5):
        assert ch.get(f"b{n}")["suppressed"]["sns"]["reason"] == BEFORE_ENABLED

    for n in range(5, 10):
        ch.put(f"b{n}", client_finding(n, NOW - timedelta(days=3)))
    sizes.clear()
    thief = Lease(ch.client, ch.prefix, "thief", Clock(NOW + 2 * LEASE))  # past the slow run's expiry
    stolen: list[bool] = []

    def stealing(*args: Any, **kw: Any) -> Any:
        answer = counted(*args, **kw)
        if not stolen:  # during the first request
            stolen.append(thief.take())
        return answer

    monkeypatch.setattr(ch.runtime.client, "bulk", stealing)
    later = NOW + timedelta(minutes=5)
    cut = Notifier(ch.runtime, clock=Clock(later), holder="slow", marks_per_request=2).run(later)
    assert (stolen, cut.marks_failed, cut.lease, sizes) == ([True], 3, LOST, [2])
    assert thief.release()
    monkeypatch.setattr(ch.runtime.client, "bulk", counted)
    ch.client.indices.refresh(index=ch.index)
    rest = Notifier(ch.runtime, clock=Clock(later), holder="next", marks_per_request=2).run(later)
    assert (rest.backlog, rest.marks_failed, rest.lease) == ({"sns": 3}, 0, "")


def test_two_notifiers_started_together_send_each_finding_once(notifying: Any, monkeypatch: Any) -> None:
    """The scheduler's run and a manual one, at the same moment, each with its own runtime (clients, connections),
    released together by a barrier: one holds the lease and sends; the other is refused or, starting after the
    release, finds every finding marked. moto's queues hold exactly one mail and one event per finding."""
    ch = notifying
    _topic_up(ch)
    only(ch, monkeypatch, "sns", "events")
    ids = [f"r{n}" for n in range(6)]
    for n, fid in enumerate(ids):
        ch.put(fid, client_finding(n, NOW - timedelta(hours=1)))
    settings = Settings.from_env()
    runtimes = [build_runtime(settings) for _ in range(2)]
    for r in runtimes:
        r.aws("sns").meta.events.register("provide-client-params.sns.Publish", check_publish)
        r.aws("events")  # clients built before the barrier: the race is over the node, not boto3's setup
    barrier = threading.Barrier(2)
    results: dict[str, Summary] = {}
    errors: list[BaseException] = []

    def notifier(name: str, runtime: Any) -> None:
        try:
            barrier.wait(timeout=30)
            results[name] = Notifier(runtime, holder=name).run(NOW)
        except BaseException as e:  # reported below: a thread's exception would otherwise vanish
            errors.append(e)

    threads = [threading.Thread(target=notifier, args=(f"n{i}", r)) for i, r in enumerate(runtimes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and sorted(results) == ["n0", "n1"]
    assert sum(s.sent.get("sns", 0) for s in results.values()) == len(ids)
    mails = drain(ch.sqs, ch.sns_queue)
    events = drain(ch.sqs, ch.events_queue)
    assert sorted(m["Message"].rsplit("Finding ", 1)[1].split()[0] for m in mails) == ids
    assert sorted(e["detail"]["id"] for e in events) == ids
