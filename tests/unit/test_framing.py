"""The one line reader, for every input format: what becomes an event, with which time and context."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from handler.errors import DecodeError
from handler.model import RawEvent
from handler.sources.framing import TRUNCATION_MARKER, is_blank, read_batches

AURORA = "1603442208508100,database-1-instance-1,admin,1.34.6.81,50,0,CONNECT,,,0"
RDS = "20221201 14:07:05,ip-10-22-1-51,rdsadmin,localhost,821,0,CONNECT,,,0,SOCKET"


def events(data: bytes, key: str = "x.log", log_group: str | None = None) -> list[list[RawEvent]]:
    return [list(b.events) for b in read_batches(io.BytesIO(data), key, log_group)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (f"{AURORA}\n{RDS}\n".encode(), [AURORA, RDS]),
        (f"{AURORA}\r\n\r\n{RDS}".encode(), [AURORA, RDS]),  # CRLF, a blank line, no final newline
        (f"{AURORA}\n \t\r\n\n".encode(), [AURORA]),  # blank: only spaces, tabs and CR
        (b"\x1d\n" + AURORA.encode() + b"\n", ["\x1d", AURORA]),  # a control character is content, not blank
        (b"\x0c\x0b\n", ["\x0c\x0b"]),
        # a download page's cut marker stays: the line then fails to parse and is indexed flagged, marker and all
        ((AURORA + TRUNCATION_MARKER + "\n" + RDS).encode(), [AURORA + TRUNCATION_MARKER, RDS]),
        (AURORA.encode()[:30] + b"\xe2\x82\n", [AURORA[:30] + "\ufffd"]),  # cut inside a UTF-8 character
    ],
)
def test_raw_lines(data: bytes, expected: list[str]) -> None:
    [batch] = events(data)
    assert [e.line for e in batch] == expected
    assert all(e.timestamp_ms is None for e in batch)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # lines copied from the console or `aws logs filter-log-events` into a raw file, one by one
        (
            f"{RDS}\n2020-10-23T08:36:48.508Z {AURORA}\n{RDS}\n".encode(),
            [RawEvent(RDS), RawEvent(AURORA, 1603442208508), RawEvent(RDS)],
        ),
        # the first line decides nothing: a raw file that starts plain and then has only prefixed lines
        (
            f"{AURORA}\n2022-12-01T14:07:05.000Z {RDS}\n2022-12-01T14:07:06.250Z {RDS}\n".encode(),
            [RawEvent(AURORA), RawEvent(RDS, 1669903625000), RawEvent(RDS, 1669903626250)],
        ),
        # not a time: kept as written (it then fails to parse, flagged)
        (f"{RDS}\n2020-13-45T08:36:48.508Z {AURORA}\n".encode(),
         [RawEvent(RDS), RawEvent("2020-13-45T08:36:48.508Z " + AURORA)]),
        # a prefix alone is an empty event, as in an export object: no line
        (f"{RDS}\n2020-10-23T08:36:48.508Z \n".encode(), [RawEvent(RDS)]),
        # no continuation lines in a raw file: the line after a prefixed one is a record of its own
        (f"{RDS}\n2020-10-23T08:36:48.508Z {AURORA}\n{AURORA}\n".encode(),
         [RawEvent(RDS), RawEvent(AURORA, 1603442208508), RawEvent(AURORA)]),
    ],
)  # fmt: skip
def test_raw_lines_with_time_prefixes_one_by_one(data: bytes, expected: list[RawEvent]) -> None:
    [batch] = events(data)
    assert batch == expected


def test_gzip_every_member_and_by_content_not_name() -> None:
    data = gzip.compress(f"{AURORA}\n".encode()) + gzip.compress(f"{RDS}\n".encode())
    [batch] = events(data, key="no-extension")
    assert [e.line for e in batch] == [AURORA, RDS]


def test_export_lines_with_continuations() -> None:
    data = (
        f"2020-10-23T08:36:48.508Z {AURORA}\n"
        "2020-10-23T08:36:49.000Z first line of a message\n"
        "its second line\n"
        "\n"
        f"2020-10-23T08:36:50.001Z {RDS}\n"
    ).encode()
    [batch] = events(data, key="exports/task/i-1.audit.log.0.2020/000000.gz")
    assert batch == [
        RawEvent(AURORA, 1603442208508),
        RawEvent("first line of a message\nits second line\n", 1603442209000),
        RawEvent(RDS, 1603442210001),
    ]


def test_contexts_from_the_layout() -> None:
    [b] = read_batches(io.BytesIO(AURORA.encode()), "archive/RDS/prod-1/audit/2023-11-14/a.log")
    assert b.ctx.instance == "prod-1"
    data = f"2020-10-23T08:36:48.508Z {AURORA}\n".encode()
    [b] = read_batches(io.BytesIO(data), "t/task/c1-i2.audit.log.0.x/000000.gz", "/aws/rds/cluster/c1/audit")
    assert (b.ctx.cluster, b.ctx.instance, b.ctx.log_group) == ("c1", "c1-i2", "/aws/rds/cluster/c1/audit")


def payload(lines: list[str], message_type: str = "DATA_MESSAGE") -> bytes:
    body = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/aws/rds/cluster/c/audit",
        "logStream": "c-1.audit.log.0",
        "logEvents": [{"id": str(i), "timestamp": 1_700_000_000_000 + i, "message": m} for i, m in enumerate(lines)],
    }
    return json.dumps(body).encode()


def test_firehose_payloads_back_to_back_control_messages_skipped() -> None:
    data = gzip.compress(payload([AURORA]) + payload([], "CONTROL_MESSAGE")) + gzip.compress(payload([RDS, "x"]))
    batches = list(read_batches(io.BytesIO(data), "firehose/2024/01/01/obj"))
    assert [[e.line for e in b.events] for b in batches] == [[AURORA], [RDS, "x"]]
    assert [b.name for b in batches] == ["payload-0", "payload-2"]
    assert batches[0].ctx.cluster == "c" and batches[0].ctx.owner == "123456789012"


def test_firehose_object_cut_mid_payload_is_an_error() -> None:
    with pytest.raises(DecodeError, match="payload 1 is not valid JSON"):
        list(read_batches(io.BytesIO(payload([AURORA]) + payload([RDS])[:40]), "obj"))


def test_corrupt_gzip_is_an_error() -> None:
    with pytest.raises(DecodeError, match="unreadable content"):
        for b in read_batches(io.BytesIO(gzip.compress(AURORA.encode() * 1000)[:200]), "obj"):
            list(b.events)


@pytest.mark.parametrize(("line", "blank"), [("", True), (" \t\r", True), ("\x1d", False), ("\u00a0", False)])
def test_blank(line: str, blank: bool) -> None:
    assert is_blank(line) is blank
