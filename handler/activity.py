"""Activity Streams pipeline: Kinesis records (or Firehose records) → decrypted events → documents → sink.

Records that cannot be decrypted or read are dead-lettered with the reason; the rest of the batch goes through.
Records whose documents could not all be written are reported as batch item failures, so Kinesis retries only
them (ids are deterministic: a retry adds no duplicates)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson

from handler.errors import DecodeError
from handler.model import Action, Context
from handler.pipeline import rejection_record
from handler.sinks.bulk import BulkWriter
from handler.sinks.dead_letter import DeadLetterStore
from handler.sources.activity_streams import Decryptor, parse_envelope
from handler.transforms.activity import activity_document, activity_id
from handler.transforms.batch import create_body
from handler.transforms.document import index_name


def record_actions(
    data: bytes, decryptor: Decryptor, *, prefix: str, mask: bool
) -> tuple[list[Action], list[dict[str, Any]], int]:
    """(actions, events without a usable time, heartbeats dropped) for one record. Raises DecodeError."""
    envelope = parse_envelope(data)
    activity = decryptor.events(envelope)
    cluster = activity.get("clusterId") or decryptor.cluster_id
    instance = activity.get("instanceId")
    actions, unusable, heartbeats = [], [], 0
    for event in activity["databaseActivityEventList"]:
        if not isinstance(event, dict) or event.get("type") == "heartbeat":
            heartbeats += 1
            continue
        built = activity_document(event, cluster=cluster, instance=instance, version=envelope.get("version"), mask=mask)
        if built is None:
            unusable.append(event)
            continue
        doc, day = built
        index = index_name(prefix, day)
        doc_id = activity_id(cluster, event)
        actions.append(Action(index, doc_id, create_body(index, doc_id, doc), doc.get("sql", ""), doc["@timestamp"]))
    return actions, unusable, heartbeats


def process_kinesis(
    event: dict[str, Any],
    decryptor_for: Any,
    *,
    writer: BulkWriter,
    dead_letters: DeadLetterStore,
    prefix: str,
    mask: bool,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Returns the partial batch response plus counts."""
    counts: dict[str, Any] = {"records": 0, "indexed": 0, "already_present": 0, "heartbeats": 0, "dead_lettered": 0}
    failures: list[dict[str, str]] = []
    dead: list[dict[str, Any]] = []
    per_record: list[tuple[str, list[Action]]] = []
    for record in event.get("Records", []):
        counts["records"] += 1
        kinesis = record.get("kinesis", {})
        sequence = kinesis.get("sequenceNumber", "")
        try:
            data = base64.b64decode(kinesis.get("data", ""), validate=True)
            decryptor = decryptor_for(record.get("eventSourceARN"))
            actions, unusable, heartbeats = record_actions(data, decryptor, prefix=prefix, mask=mask)
        except (DecodeError, binascii.Error, ValueError) as e:
            dead.append({"kind": "activity_record", "reason": str(e), "sequence": sequence, "record": record})
            continue
        counts["heartbeats"] += heartbeats
        dead += [{"kind": "activity_event", "reason": "logTime missing or not UTC", "event": ev} for ev in unusable]
        per_record.append((sequence, actions))
    all_actions = [a for _, actions in per_record for a in actions]
    result = writer.write(all_actions, deadline)
    counts["indexed"], counts["already_present"] = result.indexed, result.already_present
    dead += [rejection_record(r, Context()) for r in result.rejected]
    pending = {a.doc_id for a in result.pending}
    failures = [{"itemIdentifier": seq} for seq, actions in per_record if any(a.doc_id in pending for a in actions)]
    if dead:
        key = hashlib.blake2b(orjson.dumps(event.get("Records", [])), digest_size=16).hexdigest()
        counts["dead_letter"] = dead_letters.write("activity", key, dead)
        counts["dead_lettered"] = len(dead)
    return {"batchItemFailures": failures, **counts}


def process_firehose(
    event: dict[str, Any], decryptor_for: Any, *, prefix: str, mask: bool, dead_letters: DeadLetterStore
) -> dict[str, Any]:
    """Firehose data transformation: each record out as NDJSON documents (Ok), Dropped when only heartbeats, or
    ProcessingFailed (and dead-lettered with the reason)."""
    out, dead = [], []
    source = event.get("sourceKinesisStreamArn")
    for record in event.get("records", []):
        rid = record.get("recordId")
        try:
            data = base64.b64decode(record.get("data", ""), validate=True)
            actions, unusable, _ = record_actions(data, decryptor_for(source), prefix=prefix, mask=mask)
        except (DecodeError, binascii.Error, ValueError) as e:
            dead.append({"kind": "activity_record", "reason": str(e), "record": record})
            out.append({"recordId": rid, "result": "ProcessingFailed", "data": record.get("data", "")})
            continue
        dead += [{"kind": "activity_event", "reason": "logTime missing or not UTC", "event": ev} for ev in unusable]
        if not actions:
            out.append({"recordId": rid, "result": "Dropped", "data": ""})
            continue
        lines = b"".join(a.body.split(b"\n", 2)[1] + b"\n" for a in actions)
        out.append({"recordId": rid, "result": "Ok", "data": base64.b64encode(lines).decode("ascii")})
    if dead:
        key = hashlib.blake2b(orjson.dumps(event.get("records", [])), digest_size=16).hexdigest()
        dead_letters.write("activity", key, dead)
    return {"records": out}
