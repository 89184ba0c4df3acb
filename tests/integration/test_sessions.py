"""Sessions on a generated workload with known answers (tests/events/sessions.py), indexed into the real node once
live (the forwarder's Lambda entry with CloudWatch payloads) and once from a backfill of the raw files: every
summary equals the generator's answer field by field, keys agree between the two, and each timeline is the
session's events in order. Pages are small (7) so that every list spans several."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handler import app
from handler.read.period import Period, iso, parse_time
from handler.read.reader import Reader
from handler.sessions import find_session
from handler.sessions.listing import Filters, list_sessions
from handler.sessions.lookup import find_bounds
from handler.sessions.model import SessionSummary
from handler.sessions.timeline import timeline
from tests.events import sessions as w
from tests.integration.conftest import OPENSEARCH_URL, FakeContext

pytestmark = pytest.mark.integration

PAGE = 7
RECS = w.records()
SESSIONS = w.by_session(RECS)


class Indexed:
    def __init__(self, client: Any, prefix: str, live: bool) -> None:
        self.client, self.prefix, self.live = client, prefix, live
        self.pattern = f"{prefix}-*"

    def reader(self) -> Reader:
        return Reader(self.client, self.pattern, PAGE)


@contextlib.contextmanager
def _prefix(client: Any, tmp: Path) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENSEARCH_URL", OPENSEARCH_URL)
        mp.setenv("RDSAUDIT_INDEX_PREFIX", prefix)
        mp.setenv("RDSAUDIT_DEAD_LETTER", str(tmp / "dead-letter"))
        mp.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
        app.reset_runtime()
        try:
            yield prefix
        finally:
            app.reset_runtime()
            client.indices.delete(index=f"{prefix}-*", allow_no_indices=True, ignore_unavailable=True)
            client.indices.delete_index_template(name=prefix, ignore=[404])


@pytest.fixture(scope="module")
def live(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    with _prefix(client, tmp_path_factory.mktemp("live")) as prefix:
        for event in w.events(RECS):
            with contextlib.redirect_stdout(io.StringIO()):
                outcome = app.lambda_handler(event, FakeContext())
            assert outcome["pending"] == 0 and outcome["dead_lettered"] == 0, outcome
        client.indices.refresh(index=f"{prefix}-*")
        yield Indexed(client, prefix, live=True)


@pytest.fixture(scope="module")
def backfilled(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    from handler.cli.main import main

    tmp = tmp_path_factory.mktemp("backfill")
    with _prefix(client, tmp) as prefix:
        source = w.dump(RECS, tmp / "download")
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["backfill", str(source), "--index-prefix", prefix, "--checkpoint", str(tmp / "cp")]) == 0
        client.indices.refresh(index=f"{prefix}-*")
        yield Indexed(client, prefix, live=False)


@pytest.fixture(params=["live", "backfilled"])
def indexed(request: pytest.FixtureRequest) -> Indexed:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def comparable(summary: SessionSummary) -> dict[str, Any]:
    """The summary in the generator's terms: changes as (time, statement) or (time, operation, statement)."""
    d = summary.as_dict()
    d["account_changes"] = [(c["time"], c["statement"]) for c in d["account_changes"]]
    d["schema_changes"] = [(c["time"], c["operation"], c["statement"]) for c in d["schema_changes"]]
    for name in ("detections", "stream_gaps", "notes"):
        d.pop(name)
    return d


def expected(name: str, live: bool) -> dict[str, Any]:
    known = w.answer(SESSIONS[name], live)
    known["account_changes"] = [(t, s.replace(w.SECRET, "***")) for t, s in known["account_changes"]]
    return known


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_find_session_equals_the_generator(indexed: Indexed, name: str) -> None:
    rs = SESSIONS[name]
    probes = [None if name in ("reuse-101", "reuse-102", "reuse-106", "long", "stream-gap") else rs[-1].stored_at]
    probes += [rs[0].stored_at, rs[len(rs) // 2].stored_at]
    with indexed.reader() as reader:
        for at in probes:
            found = find_session(reader, rs[0].server, rs[0].connid, at)
            assert found is not None, (name, at)
            assert comparable(found) == expected(name, indexed.live), (name, at)


def test_find_session_notes_and_gaps(live: Indexed) -> None:
    with live.reader() as reader:
        gap = find_session(reader, w.I2, 300)
        long = find_session(reader, w.RDS_SERVER, 200)
        open_end = find_session(reader, w.I1, 102)
        before = find_session(reader, w.I1, 101, "2026-03-09T00:00:00Z")
    assert gap and long and open_end
    assert [g["since"][:16] for g in gap.stream_gaps] == ["2026-03-09T22:01"]
    assert [g["until"][:16] for g in gap.stream_gaps] == ["2026-03-10T00:02"]
    assert any("events may be missing" in n for n in gap.notes)
    assert long.stream_gaps == [] and any(n.startswith("longer than a day") for n in long.notes)
    assert any(n.startswith("no DISCONNECT seen") for n in open_end.notes)
    assert before is None  # nothing of that connection at or before then


def _with_events_in(since: datetime, until: datetime) -> set[str]:
    return {name for name, rs in SESSIONS.items() if any(since <= r.stored_at < until for r in rs)}


WINDOWS = [
    (w.DAY, w.DAY + timedelta(days=2)),  # everything
    (w.DAY + timedelta(days=1), w.DAY + timedelta(days=2)),  # the second day: sessions begun the day before
    (w.DAY + timedelta(hours=24, minutes=35), w.DAY + timedelta(hours=24, minutes=42)),  # around the restart
]


@pytest.mark.parametrize("window", WINDOWS, ids=["two-days", "second-day", "restart"])
def test_list_sessions_equals_the_generator(indexed: Indexed, window: tuple[datetime, datetime]) -> None:
    since, until = window
    with indexed.reader() as reader:
        listed = list_sessions(reader, Period(since, until))
    names = _with_events_in(since, until)
    assert len(names) >= 2
    by_key = {expected(n, indexed.live)["key"]: n for n in names}
    assert [s.key for s in listed] == sorted(by_key, key=lambda k: (parse_time(k.split("/", 2)[2]), k), reverse=True)
    for s in listed:
        assert comparable(s) == expected(by_key[s.key], indexed.live)
        began_before = s.start_at < since
        assert began_before == any(n.startswith("started before the period") for n in s.notes)


def test_list_sessions_filters(live: Indexed) -> None:
    period = Period(w.DAY, w.DAY + timedelta(days=2))
    cases = [
        (Filters(users=("report",)), {"changeuser", "reuse-102"}),
        (Filters(clients=("10.0.1.8",)), {"lost-disconnect", "reuse-106"}),
        (Filters(login_failed=True), {"failed-login"}),
        (Filters(privileged=True), {"admin"}),
    ]
    with live.reader() as reader:
        for filters, names in cases:
            keys = {s.key for s in list_sessions(reader, period, filters=filters)}
            assert keys == {expected(n, True)["key"] for n in names}, filters
        only_rds = list_sessions(reader, period, clusters=[w.RDS])
    assert [s.key for s in only_rds] == [expected("long", True)["key"]]


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_timeline_is_the_sessions_events_in_order(indexed: Indexed, name: str) -> None:
    rs = SESSIONS[name]
    with indexed.reader() as reader:
        bounds = find_bounds(reader, rs[0].server, rs[0].connid, rs[-1].stored_at)
        assert bounds is not None
        items = list(timeline(reader, bounds))
    events = [i for i in items if i["kind"] == "event"]
    masked = [r.obj.replace(w.SECRET, "***") if r.op == "QUERY" else r.obj for r in rs]
    assert [(e["time"], e["operation"], e["user"], e["statement"] or "") for e in events] == [
        (iso(r.stored_at), r.op, r.user, m) for r, m in zip(rs, masked, strict=True)
    ]
    pauses = [i for i in items if i["kind"] == "pause"]
    assert all(p["seconds"] >= 300 for p in pauses)
    stamps = [r.stored_at for r in rs]
    gaps = [(iso(a), iso(b)) for a, b in itertools.pairwise(stamps) if (b - a).total_seconds() >= 300]
    assert [(p["since"], p["until"]) for p in pauses] == gaps


def test_cli_lists_and_prints_sessions(live: Indexed, capsys: pytest.CaptureFixture[str]) -> None:
    from handler.cli.main import main

    prefix = ["--index-prefix", live.prefix, "--page-size", str(PAGE)]
    period = ["--since", "2026-03-09", "--until", "2026-03-11"]
    assert main(["sessions", *period, *prefix, "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["sessions"]
    assert sorted(s["key"] for s in listed) == sorted(expected(n, True)["key"] for n in SESSIONS)
    assert main(["sessions", *period, *prefix, "--privileged"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("1 session(s)") and "admin" in out[2] and "privileged" in out[2]

    rs = SESSIONS["admin"]
    at = iso(rs[2].stored_at)
    assert main(["session", w.I1, "102", "--at", at, *prefix, "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["kind"] == "session" and lines[0]["key"] == expected("admin", True)["key"]
    assert [e["operation"] for e in lines[1:] if e["kind"] == "event"] == [r.op for r in rs]
    assert main(["session", w.I1, "102", "--at", at, *prefix]) == 0
    text = capsys.readouterr().out
    assert w.SECRET not in text and "IDENTIFIED BY '***'" in text and text.startswith(f"session {lines[0]['key']}")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["session", w.I1, "999"], 1, f"no event of connection 999 on server {w.I1} in "),
        (["session", w.I1, "101", "--at", "2020-01-01"], 1, "at or before 2020-01-01"),
        (["session", w.I1, "101", "--at", "yesterday"], 2, "--at: not an ISO 8601 date or time: 'yesterday'"),
        (["sessions", "--since", "2026-03-10", "--until", "2026-03-09"], 2, "must be after --since"),
    ],
)
def test_cli_errors_are_one_line(
    live: Indexed, args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from handler.cli.main import main

    assert main([*args, "--index-prefix", live.prefix]) == code
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and captured.out == ""


def test_cli_no_index_is_one_line(opensearch_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from handler.cli.main import main

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENSEARCH_URL", opensearch_url)
        assert main(["sessions", "--index-prefix", f"none{uuid.uuid4().hex[:8]}"]) == 1
    err = capsys.readouterr().err
    assert "no index matches none" in err and err.count("\n") == 1
