from __future__ import annotations

import base64
import gzip
import json

import pytest

from handler.errors import DecodeError
from handler.sources.cloudwatch import (
    CONTROL_MESSAGE,
    decode_subscription_event,
    encode_subscription_event,
    payload_key,
)


def wrap(raw: bytes) -> dict[str, object]:
    return {"awslogs": {"data": base64.b64encode(raw).decode()}}


def test_round_trip() -> None:
    event = encode_subscription_event([("line one", 5), ("line two", 6)], log_group="/g", log_stream="s")
    payload = decode_subscription_event(event)
    assert [(e.line, e.timestamp_ms) for e in payload.events] == [("line one", 5), ("line two", 6)]
    assert (payload.log_group, payload.log_stream, payload.owner) == ("/g", "s", "123456789012")
    assert payload.key == payload_key(event)


def test_one_name_per_event_whichever_path_names_it() -> None:
    """Dead letters are stored under the event's name: a redelivery (the same event) must overwrite them."""
    event = encode_subscription_event([("line one", 5)], log_group="/g", log_stream="s")
    redelivered = json.loads(json.dumps(event))
    assert decode_subscription_event(redelivered).key == decode_subscription_event(event).key == payload_key(event)
    other = encode_subscription_event([("line two", 5)], log_group="/g", log_stream="s")
    assert decode_subscription_event(other).key != payload_key(event)


def test_unknown_keys_ignored_and_control_message_has_no_events() -> None:
    body = {
        "messageType": CONTROL_MESSAGE,
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE"}],
        "policyLevel": "ACCOUNT_LEVEL_POLICY",
        "somethingNew": 1,
    }
    payload = decode_subscription_event(wrap(gzip.compress(json.dumps(body).encode())))
    assert payload.message_type == CONTROL_MESSAGE
    assert payload.events == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({}, "no 'awslogs'"),
        ({"awslogs": "x"}, "no 'awslogs'"),
        ({"awslogs": {}}, "missing or not a string"),
        ({"awslogs": {"data": "!!!not base64"}}, "not valid base64"),
        (wrap(b"plain text"), "not valid gzip"),
        (wrap(gzip.compress(b"x" * 100)[:-10]), "not valid gzip"),
        (wrap(gzip.compress(b"{not json")), "not valid JSON"),
        (wrap(gzip.compress(b"[1,2]")), "not a JSON object"),
        (wrap(gzip.compress(b'{"logEvents": []}')), "messageType"),
        (wrap(gzip.compress(b'{"messageType": "OTHER"}')), "unknown messageType"),
        (wrap(gzip.compress(b'{"messageType": "DATA_MESSAGE"}')), "logEvents"),
        (wrap(gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": [1]}')), "not an object"),
        (wrap(gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": [{"timestamp": 1}]}')), "message"),
        (wrap(gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": [{"message": "m"}]}')), "timestamp"),
        (
            wrap(gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": [{"message": "m", "timestamp": "1"}]}')),
            "timestamp",
        ),
        (wrap(gzip.compress(b'{"messageType": "DATA_MESSAGE", "logGroup": 5, "logEvents": []}')), "logGroup"),
    ],
)
def test_undecodable_payloads_say_why(event: dict[str, object], reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode_subscription_event(event)
    assert len(payload_key(event)) == 32
