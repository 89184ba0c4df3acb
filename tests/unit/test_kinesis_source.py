from __future__ import annotations

import base64

import pytest

from handler.errors import DecodeError
from handler.sources.cloudwatch import decode_subscription_event, encode_payload, encode_subscription_event
from handler.sources.kinesis import Record, decode_record, event_records, region_of_stream


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        ("arn:aws:kinesis:us-east-1:999999999999:stream/rdsaudit-eu-west-1", "eu-west-1"),
        ("arn:aws:kinesis:us-east-1:999999999999:stream/rdsaudit-collect-ap-southeast-2", "ap-southeast-2"),
        ("arn:aws-us-gov:kinesis:us-gov-west-1:999999999999:stream/audit-us-gov-east-1", "us-gov-east-1"),
        ("arn:aws:kinesis:eu-central-1:999999999999:stream/central-audit", "eu-central-1"),  # its own region
        ("arn:aws:kinesis:eu-central-1:999999999999:stream/audit-v2", "eu-central-1"),
        ("arn:aws:sqs:eu-central-1:999999999999:queue", None),
        (None, None),
    ],
)
def test_region_of_a_collecting_stream(arn: str | None, region: str | None) -> None:
    assert region_of_stream(arn) == region


def test_record_payload_is_the_subscription_payload_with_the_same_key() -> None:
    data = encode_payload([("line", 5)], log_group="/aws/rds/cluster/c/audit", log_stream="c-1", owner="1" * 12)
    record = Record("49590", base64.b64encode(data).decode(), None)
    event = {"awslogs": {"data": record.data}}
    assert decode_record(record) == decode_subscription_event(event)
    assert (
        encode_subscription_event(
            [("line", 5)], log_group="/aws/rds/cluster/c/audit", log_stream="c-1", owner="1" * 12
        ).keys()
        == event.keys()
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("%%%", "Kinesis record data is not valid base64"),
        (base64.b64encode(b"plain").decode(), "Kinesis record data is not valid gzip"),
    ],
)
def test_undecodable_records(data: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode_record(Record("1", data, None))


def test_event_records_need_sequence_numbers() -> None:
    ok = {"Records": [{"kinesis": {"sequenceNumber": "7", "data": "eA=="}, "eventSourceARN": "arn"}]}
    assert event_records(ok) == [Record("7", "eA==", "arn")]
    for bad in ({}, {"Records": {}}, {"Records": [{"kinesis": {"data": "eA=="}}]}, []):
        with pytest.raises(DecodeError):
            event_records(bad)
