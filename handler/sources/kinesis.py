"""Kinesis records written by a CloudWatch Logs destination → subscription payloads, and where they came from.

A destination puts each subscription payload into its stream as one record whose data is the gzip-compressed JSON
CloudWatch Logs also hands a subscribed Lambda (there base64-encoded in `awslogs.data`): "When log events are sent
to the receiving service, they are Base64 encoded and compressed with the GZIP format" (PutSubscriptionFilter,
Amazon CloudWatch Logs API Reference; the base64 is the API's encoding of the bytes). Lambda's Kinesis event gives
each record's data base64-encoded, with its sequence number and the stream's ARN (`eventSourceARN`).

The payload names the sending account (`owner`), not its region. A destination serves the log groups of its own
region only: "The sender account's log groups and the destination must be in the same AWS Region", while the
destination may point to a stream in another region ("Cross-account cross-Region subscriptions using Kinesis Data
Streams", Amazon CloudWatch Logs User Guide). So rdsaudit gives each collecting region its own destination and its
own stream, named `<name>-<region>`, all in the central region (cdk/rdsaudit_cdk/collection.py), and reads the
region from the name of the stream the record came from; a stream whose name does not end in a region is taken to
collect its own region. The central account sets these names: a member account cannot claim another region.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any, NamedTuple

from handler.errors import DecodeError
from handler.sources.cloudwatch import SubscriptionPayload, decode_compressed

# aws partition regions: eu-west-1, us-gov-west-1, ap-southeast-5, us-isob-east-1, eusc-de-east-1 …
_REGION = r"[a-z]{2,4}(?:-(?:gov|iso[a-z]?))?-[a-z]+-\d{1,2}"
_NAMED = re.compile(rf"-(?P<region>{_REGION})$")
_ARN = re.compile(rf"^arn:[a-z-]+:kinesis:(?P<region>{_REGION}):\d{{12}}:stream/(?P<name>[A-Za-z0-9_.-]+)$")


class Record(NamedTuple):
    """One Kinesis record of a Lambda event: what the batch item failures name, and the data as Lambda gives it."""

    sequence: str
    data: str  # base64
    stream_arn: str | None


def event_records(event: Any) -> list[Record]:
    """The records of a Lambda Kinesis event. Raises DecodeError when the event is not one."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise DecodeError("event has no 'Records' list: not a Kinesis event")
    out = []
    for i, item in enumerate(records):
        kinesis = item.get("kinesis") if isinstance(item, dict) else None
        sequence = kinesis.get("sequenceNumber") if isinstance(kinesis, dict) else None
        if not isinstance(sequence, str) or not sequence:
            # without its sequence number a record cannot be reported as failed, nor skipped as done
            raise DecodeError(f"Records[{i}] has no kinesis.sequenceNumber")
        data = kinesis.get("data") if isinstance(kinesis, dict) else None
        arn = item.get("eventSourceARN")
        out.append(Record(sequence, data if isinstance(data, str) else "", arn if isinstance(arn, str) else None))
    return out


def decode_record(record: Record) -> SubscriptionPayload:
    """The record's subscription payload. Its key is `record_key`: a digest of the base64 text, which is the text a
    subscribed Lambda gets for the same payload, so both paths name its dead letters alike. Raises DecodeError."""
    try:
        compressed = base64.b64decode(record.data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise DecodeError(f"Kinesis record data is not valid base64: {e}") from None
    return decode_compressed(compressed, "Kinesis record data", record_key(record))


def region_of_stream(arn: str | None) -> str | None:
    """The region a collecting stream collects: the end of its name (`rdsaudit-eu-west-1`), else its own."""
    m = _ARN.match(arn or "")
    if m is None:
        return None
    named = _NAMED.search(m.group("name"))
    return named.group("region") if named else m.group("region")


def record_key(record: Record) -> str:
    """A stable name for a record's dead letter, decodable or not."""
    return hashlib.blake2b(record.data.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
