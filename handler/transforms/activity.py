"""Activity Streams event → document in the audit schema (same field names where the meaning is the same), id and
index. Pure. Record versions 1.0-1.2, MySQL and PostgreSQL; unknown fields are ignored."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from handler.transforms.document import id_from_digest
from handler.transforms.sql_secrets import Dialect, mask_raw_line, mask_sql

# logTime: "2020-05-22 18:07:13.267214+00" (MySQL) or "2019-11-27 23:24:01.071+00" (PostgreSQL)
_LOG_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?\s*(?:\+00(?::?00)?|Z)?$")
# DAS name → our name, for fields kept as they are (strings); the shared ones are mapped in activity_document.
_KEPT = {
    "class": "class",
    "objectType": "object_type",
    "objectName": "object_name",
    "sessionId": "session_id",
    "clientApplication": "client_application",
    "errorMessage": "error_message",
    "serverType": "engine",
    "serverVersion": "engine_version",
    "dbProtocol": "db_protocol",
    "transactionId": "transaction_id",
}
_NUMBERS = {
    "rowCount": "row_count",
    "statementId": "statement_id",
    "substatementId": "substatement_id",
    "remotePort": "remote_port",
    "pid": "pid",
}


def activity_time(log_time: Any) -> tuple[str, str] | None:
    """(@timestamp, YYYY.MM.DD) from logTime, or None when it is not a UTC time we recognise."""
    if not isinstance(log_time, str):
        return None
    m = _LOG_TIME.match(log_time.strip())
    if m is None:
        return None
    y, mo, d, hms, frac = m.groups()
    stamp = f"{y}-{mo}-{d}T{hms}" + (f".{frac}" if frac else "") + "Z"
    return stamp, f"{y}.{mo}.{d}"


def event_dialect(event: dict[str, Any]) -> Dialect:
    """Whose SQL the event holds: `serverType` is "PostgreSQL" for Aurora PostgreSQL, "MySQL" otherwise (Aurora
    User Guide, "databaseActivityEventList JSON array for database activity streams")."""
    engine = f"{event.get('serverType') or ''} {event.get('dbProtocol') or ''}".lower()
    return "postgresql" if "postgres" in engine else "mysql"


def masked_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with every field that can quote a statement masked: `commandText` as a statement, `errorMessage`
    (MySQL quotes the statement: `… near 'EXIST bob IDENTIFIED BY '…'' at line 1`) and each `paramList` string
    (the bind variables and procedure arguments Aurora PostgreSQL reports) as text."""
    dialect = event_dialect(event)
    out = dict(event)
    text, error = event.get("commandText"), event.get("errorMessage")
    if isinstance(text, str):
        out["commandText"] = mask_sql(text, dialect)
    if isinstance(error, str):
        out["errorMessage"] = mask_raw_line(error, dialect)
    if "paramList" in event:
        out["paramList"] = _masked_params(event["paramList"], dialect)
    return out


def _masked_params(value: Any, dialect: Dialect) -> Any:
    if isinstance(value, str):
        return mask_raw_line(value, dialect)
    if isinstance(value, list):
        return [_masked_params(v, dialect) for v in value]
    return value


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None


def activity_document(
    event: dict[str, Any], *, cluster: str | None, instance: str | None, version: str | None, mask: bool = True
) -> tuple[dict[str, Any], str] | None:
    """(document, day), or None for an event without a usable logTime (the caller dead-letters it)."""
    when = activity_time(event.get("logTime"))
    if when is None:
        return None
    doc: dict[str, Any] = {"@timestamp": when[0]}
    for ours, theirs in (
        ("server", "serverHost"),
        ("user", "dbUserName"),
        ("client", "remoteHost"),
        ("db", "databaseName"),
        ("operation", "command"),
    ):
        value = event.get(theirs)
        if isinstance(value, str) and value:
            doc[ours] = value
    dialect = event_dialect(event)
    sql = event.get("commandText")
    if isinstance(sql, str) and sql:
        doc["sql"] = mask_sql(sql, dialect) if mask else sql
    retcode = _int(event.get("exitCode"))
    if retcode is not None:
        doc["retcode"] = retcode
    for theirs, ours in _KEPT.items():
        value = event.get(theirs)
        if value not in (None, ""):
            doc[ours] = str(value)
    if mask and "error_message" in doc:
        doc["error_message"] = mask_raw_line(doc["error_message"], dialect)
    for theirs, ours in _NUMBERS.items():
        number = _int(event.get(theirs))
        if number is not None:
            doc[ours] = number
    if cluster:
        doc["cluster"] = cluster
    if instance:
        doc["instance"] = instance
    if version:
        doc["record_version"] = version
    return doc, when[1]


_STATEMENT_FIELDS = ("commandText", "errorMessage", "paramList")


def activity_id(cluster: str | None, event: dict[str, Any], *, secret: bool | None = None) -> str:
    """Derived from the event's content, so a redelivered Kinesis record writes nothing new.

    An event whose statement holds a credential (`secret`; found by masking when not given) is identified without
    the fields that quote it (its time, session, statement ids and the rest still name one event): an unkeyed hash
    over the password would let anyone who reads the document test guesses offline."""
    if secret is None:
        secret = masked_event(event) != event
    if secret:
        event = {k: v for k, v in event.items() if k not in _STATEMENT_FIELDS}
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.blake2b(f"{cluster}\x00{canonical}".encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return id_from_digest(digest)
