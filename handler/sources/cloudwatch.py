"""CloudWatch Logs subscription event → payload metadata and raw events.

`{"awslogs": {"data": base64(gzip(JSON))}}`; the JSON carries messageType, owner, logGroup, logStream and
logEvents. Control messages are health checks and carry no audit lines. Unknown keys are ignored.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import zlib
from typing import Any, NamedTuple

import orjson

from handler.errors import DecodeError
from handler.model import RawEvent

DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"


class SubscriptionPayload(NamedTuple):
    message_type: str
    owner: str | None
    log_group: str | None
    log_stream: str | None
    events: list[RawEvent]
    key: str  # payload_key(event): names this payload's dead letters, the same on every redelivery


def payload_key(event: Any) -> str:
    """The one name of an event, decodable or not: its dead letters (documents OpenSearch refused, or the whole
    payload when it cannot be decoded) are stored under it, so a redelivery overwrites rather than adds.

    A digest of the base64 text Lambda delivers, because an undecodable event may have no gzip bytes to digest."""
    data = (
        event.get("awslogs", {}).get("data")
        if isinstance(event, dict) and isinstance(event.get("awslogs"), dict)
        else None
    )
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else json.dumps(event, default=str).encode()
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def decode_subscription_event(event: Any) -> SubscriptionPayload:
    """Raise DecodeError, with the reason, for anything that is not a well-formed subscription payload."""
    if not isinstance(event, dict) or not isinstance(event.get("awslogs"), dict):
        raise DecodeError("event has no 'awslogs' object")
    data = event["awslogs"].get("data")
    if not isinstance(data, str):
        raise DecodeError("'awslogs.data' is missing or not a string")
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise DecodeError(f"'awslogs.data' is not valid base64: {e}") from None
    return decode_compressed(compressed, "'awslogs.data'", payload_key(event))


def decode_compressed(compressed: bytes, what: str, key: str) -> SubscriptionPayload:
    """A gzip-compressed subscription payload, as CloudWatch Logs puts it in a Kinesis record or (base64-encoded) in
    a Lambda event. `what` names the input in the reasons; `key` names its dead letters. Raises DecodeError."""
    try:
        text = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as e:
        raise DecodeError(f"{what} is not valid gzip: {e}") from None
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses what the standard parser accepts (lone surrogate escapes, other encodings): ask it too
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise DecodeError(f"payload is not valid JSON: {str(e)[:200]}") from None
    return parse_payload(payload, key)


def parse_payload(payload: Any, key: str) -> SubscriptionPayload:
    if not isinstance(payload, dict):
        raise DecodeError("payload is not a JSON object")
    message_type = payload.get("messageType")
    if not isinstance(message_type, str):
        raise DecodeError("payload has no string 'messageType'")
    owner, log_group, log_stream = (_optional_str(payload, k) for k in ("owner", "logGroup", "logStream"))
    if message_type == CONTROL_MESSAGE:
        return SubscriptionPayload(message_type, owner, log_group, log_stream, [], key)
    if message_type != DATA_MESSAGE:
        raise DecodeError(f"unknown messageType {message_type[:50]!r}")
    log_events = payload.get("logEvents")
    if not isinstance(log_events, list):
        raise DecodeError("payload has no 'logEvents' list")
    events = []
    for i, item in enumerate(log_events):
        if not isinstance(item, dict):
            raise DecodeError(f"logEvents[{i}] is not an object")
        message, timestamp = item.get("message"), item.get("timestamp")
        if not isinstance(message, str):
            raise DecodeError(f"logEvents[{i}].message is missing or not a string")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp < 2**53:
            raise DecodeError(f"logEvents[{i}].timestamp is missing or not an epoch-millisecond integer")
        events.append(RawEvent(message.rstrip("\r\n"), timestamp))
    return SubscriptionPayload(message_type, owner, log_group, log_stream, events, key)


def _optional_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise DecodeError(f"'{key}' is not a string")
    return value or None


def encode_subscription_event(lines: list[str] | list[tuple[str, int]], **fields: Any) -> dict[str, Any]:
    """Build an event exactly as CloudWatch Logs delivers it to a subscribed Lambda (demo, tests, replay): the
    payload of `encode_payload` (same arguments), base64-encoded in `awslogs.data`."""
    data = encode_payload(lines, **fields)
    return {"awslogs": {"data": base64.b64encode(data).decode("ascii")}}


def encode_payload(
    lines: list[str] | list[tuple[str, int]],
    *,
    log_group: str,
    log_stream: str,
    owner: str = "123456789012",
    message_type: str = DATA_MESSAGE,
    first_id: int = 0,
) -> bytes:
    """The gzip-compressed payload, as CloudWatch Logs puts it into a Kinesis record through a destination.

    `lines` are messages, or (message, epoch ms) pairs; without a time, the event time is now.
    """
    import time

    now_ms = int(time.time() * 1000)
    events = []
    for n, item in enumerate(lines):
        message, timestamp = (item, now_ms) if isinstance(item, str) else item
        # Real ids are 56-digit decimal strings.
        events.append({"id": str(10**55 + first_id + n), "timestamp": timestamp, "message": message})
    body = {
        "messageType": message_type,
        "owner": owner if message_type == DATA_MESSAGE else "CloudwatchLogs",
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["rdsaudit"],
        "logEvents": events,
    }
    return gzip.compress(json.dumps(body).encode("utf-8", "surrogatepass"))
