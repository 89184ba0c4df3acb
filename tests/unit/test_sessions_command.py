"""`rdsaudit sessions` / `rdsaudit session` argument handling and the session key: usage errors exit 2, an
unreachable cluster exits 1, each one line on stderr."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handler.cli import main
from handler.errors import InputError
from handler.sessions import parse_key, session_key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["session", "db-1", "abc"], "argument CONNID: invalid int value: 'abc'"),
        (["session", "db-1"], "the following arguments are required: CONNID"),
        (["session", "db-1", "7", "--at", "soon"], "--at: not an ISO 8601 date or time: 'soon'"),
        (["sessions", "--since", "last week"], "--since: not an ISO 8601 date or time"),
        (["sessions", "--since", "2026-03-10", "--until", "2026-03-09"], "must be after --since"),
        (["sessions", "--gap", "0"], "must be at least 1"),
        (["sessions", "--format", "csv"], "invalid choice: 'csv'"),
        (["sessions", "--index-prefix", "UPPER"], "not a valid index prefix"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own checks (types, choices) exit from parsing
        code = e.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rdsaudit {args[0]}: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("args", [["sessions"], ["session", "db-1", "7"]])
def test_unreachable_cluster_is_one_line(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENSEARCH_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("OPENSEARCH_REQUEST_TIMEOUT", "2")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"rdsaudit {args[0]}: cannot reach OpenSearch at http://127.0.0.1:9 (connection refused)")
    assert err.count("\n") == 1


def test_key_round_trip() -> None:
    key = session_key("prod-1", 42, "2026-03-09T23:40:00.000000Z")
    assert key == "prod-1/42/2026-03-09T23:40:00Z"  # the same moment however the stored time was written
    assert session_key("prod-1", 42, "2026-03-09T23:40:00Z") == key
    assert session_key("ip-10-1-0-50", 7, "2026-03-09T23:40:00.000250Z") == "ip-10-1-0-50/7/2026-03-09T23:40:00.000250Z"
    assert parse_key(key) == ("prod-1", 42, datetime(2026, 3, 9, 23, 40, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["", "prod-1", "prod-1/x/2026-03-09", "prod-1/42/", "prod-1/42/someday"])
def test_malformed_keys(bad: str) -> None:
    with pytest.raises(InputError, match="not a session key"):
        parse_key(bad)
