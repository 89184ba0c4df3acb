"""The Activity Streams job: Kinesis (or Firehose) records → decrypted events → documents → the activity pipeline.

Records that cannot be decrypted or read, and events without a usable time, are dead-lettered (kind `activity`)
with the reason; the rest of the batch goes through. Records whose documents could not all be written are
reported as batch item failures, so Kinesis retries only them (ids are deterministic: a retry adds nothing)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from handler.errors import DecodeError, TransientError
from handler.model import Action, Context, Counts
from handler.pipeline import ACTIVITY
from handler.sinks.dead_letter import masked_strings
from handler.sources.activity_streams import Decryptor, cluster_id_from_stream_arn, parse_envelope
from handler.transforms.activity import activity_document, activity_id, masked_event
from handler.transforms.batch import create_body
from handler.transforms.document import index_name

if TYPE_CHECKING:
    from handler.runtime import Runtime

DecryptorFor = Callable[[str | None], Decryptor]
NO_TIME = "logTime missing or not UTC"
NOT_AN_EVENT = "not an event object"


def decryptors(runtime: Runtime, deadline: float | None = None) -> DecryptorFor:
    """A decryptor per cluster for one invocation: data keys are reused within it, never across invocations;
    KMS throttling is retried until `deadline`."""
    made: dict[str, Decryptor] = {}

    def decryptor_for(stream_arn: str | None) -> Decryptor:
        cluster = runtime.settings.das_cluster_id or cluster_id_from_stream_arn(stream_arn)
        if not cluster:
            raise DecodeError(f"no cluster resource id: stream {stream_arn!r} is not aws-rds-das-<id>")
        if cluster not in made:
            made[cluster] = Decryptor(runtime.aws("kms"), cluster, deadline=deadline)
        return made[cluster]

    return decryptor_for


def event_actions(
    events: list[Any],
    *,
    cluster: str | None,
    instance: str | None,
    version: str | None,
    prefix: str,
    mask: bool,
    with_id: bool = True,
) -> tuple[list[Action], list[dict[str, Any]], int]:
    """(actions, dead-letter records of events without a usable time, heartbeats dropped)."""
    actions, unusable, heartbeats = [], [], 0
    for event in events:
        if not isinstance(event, dict):
            shown = masked_strings(event, mask)
            unusable.append({"kind": "activity_event", "reason": NOT_AN_EVENT, "event": shown, "cluster": cluster})
            continue
        if event.get("type") == "heartbeat":
            heartbeats += 1
            continue
        # masked once: the document shows it, and the id leaves out what it had to mask
        masked = masked_event(event)
        shown = masked if mask else event
        built = activity_document(shown, cluster=cluster, instance=instance, version=version, mask=False)
        if built is None:
            unusable.append(event_record(event, cluster, instance, version, mask))
            continue
        doc, day = built
        index = index_name(prefix, day)
        doc_id = activity_id(cluster, event, secret=masked != event)
        actions.append(
            Action(
                index, doc_id, create_body(index, doc_id, doc, with_id=with_id), doc.get("sql", ""), doc["@timestamp"]
            )
        )
    return actions, unusable, heartbeats


def event_record(
    event: dict[str, Any], cluster: str | None, instance: str | None, version: str | None, mask: bool
) -> dict[str, Any]:
    """An event without a usable time, kept so replay can try it again; its statement, error message and
    parameters masked."""
    if mask:
        event = masked_event(event)
    return {
        "kind": "activity_event",
        "reason": NO_TIME,
        "event": event,
        "cluster": cluster,
        "instance": instance,
        "version": version,
    }


def record_actions(
    data: bytes, decryptor: Decryptor, *, prefix: str, mask: bool, with_id: bool = True
) -> tuple[list[Action], list[dict[str, Any]], int]:
    """One encrypted record's actions. Raises DecodeError."""
    envelope = parse_envelope(data)
    activity = decryptor.events(envelope)
    return event_actions(
        activity["databaseActivityEventList"],
        cluster=activity.get("clusterId") or decryptor.cluster_id,
        instance=activity.get("instanceId"),
        version=envelope.get("version"),
        prefix=prefix,
        mask=mask,
        with_id=with_id,
    )


def process_kinesis(
    event: dict[str, Any], runtime: Runtime, decryptor_for: DecryptorFor, deadline: float | None = None
) -> tuple[list[dict[str, str]], Counts, dict[str, Any]]:
    """(batch item failures, counts, what else the log line reports)."""
    prefix, mask = runtime.settings.activity_prefix, runtime.settings.mask_secrets
    records = event.get("Records", [])
    dead: list[dict[str, Any]] = []
    per_record: list[tuple[str, list[Action]]] = []
    later: list[str] = []  # records KMS could not serve in time: Kinesis delivers them again
    heartbeats = 0
    for record in records:
        kinesis = record.get("kinesis", {})
        sequence = kinesis.get("sequenceNumber", "")
        try:
            data = base64.b64decode(kinesis.get("data", ""), validate=True)
            decryptor = decryptor_for(record.get("eventSourceARN"))
            with_id = runtime.options.document_ids
            actions, unusable, dropped = record_actions(data, decryptor, prefix=prefix, mask=mask, with_id=with_id)
        except TransientError:
            later.append(sequence)
            continue
        except (DecodeError, binascii.Error, ValueError) as e:
            dead.append({"kind": "activity_record", "reason": str(e), "sequence": sequence, "record": record})
            continue
        heartbeats += dropped
        dead += unusable
        per_record.append((sequence, actions))
    key = hashlib.blake2b(orjson.dumps(records), digest_size=16).hexdigest()
    counts = runtime.pipeline(ACTIVITY).write(
        Context(), (a for _, actions in per_record for a in actions), key=key, deadline=deadline
    )
    failures = [{"itemIdentifier": seq} for seq in later] + [
        {"itemIdentifier": seq} for seq, actions in per_record if any(a.doc_id in counts.pending_ids for a in actions)
    ]
    extra: dict[str, Any] = {"records": len(records), "heartbeats": heartbeats, "failed_records": len(failures)}
    if dead:
        extra["records_dead_lettered"] = len(dead)
        extra["activity_dead_letter"] = runtime.dead_letters.write("activity", key, dead)
    return failures, counts, extra


def process_firehose(event: dict[str, Any], runtime: Runtime, decryptor_for: DecryptorFor) -> dict[str, Any]:
    """Firehose data transformation: each record out as NDJSON documents (Ok), Dropped when only heartbeats, or
    ProcessingFailed (and dead-lettered with the reason). A TransientError (KMS throttled past the deadline)
    fails the invocation, which Firehose retries, rather than sending readable records to its error output."""
    prefix, mask = runtime.settings.activity_prefix, runtime.settings.mask_secrets
    out, dead = [], []
    source = event.get("sourceKinesisStreamArn")
    for record in event.get("records", []):
        rid = record.get("recordId")
        try:
            data = base64.b64decode(record.get("data", ""), validate=True)
            actions, unusable, _ = record_actions(
                data, decryptor_for(source), prefix=prefix, mask=mask, with_id=runtime.options.document_ids
            )
        except (DecodeError, binascii.Error, ValueError) as e:
            dead.append({"kind": "activity_record", "reason": str(e), "record": {**record, "eventSourceARN": source}})
            out.append({"recordId": rid, "result": "ProcessingFailed", "data": record.get("data", "")})
            continue
        dead += unusable
        if not actions:
            out.append({"recordId": rid, "result": "Dropped", "data": ""})
            continue
        lines = b"".join(a.body.split(b"\n", 2)[1] + b"\n" for a in actions)
        out.append({"recordId": rid, "result": "Ok", "data": base64.b64encode(lines).decode("ascii")})
    if dead:
        key = hashlib.blake2b(orjson.dumps(event.get("records", [])), digest_size=16).hexdigest()
        runtime.dead_letters.write("activity", key, dead)
    return {"records": out}
