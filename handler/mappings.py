"""The JSON definitions in `mappings/`, found next to the package (Lambda asset) or at the repository root,
rewritten for the index prefix in use."""

from __future__ import annotations

import copy
import itertools
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handler.read.patterns import (
    audit_days_pattern,
    audit_pattern,
    audit_write_patterns,
    findings_days_pattern,
    findings_documents_pattern,
    findings_pattern,
)

if TYPE_CHECKING:
    from handler.setup.engine import Engine

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE / "_mappings", _HERE.parent / "mappings")
DEFAULT_PREFIX = "rdsaudit"


def mappings_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mappings folder not found in {', '.join(map(str, _CANDIDATES))}")


@cache
def _text(name: str) -> str:
    return (mappings_dir() / name).read_text(encoding="utf-8")


def _load(name: str) -> Any:
    return copy.deepcopy(json.loads(_text(name)))


def index_template(prefix: str, engine: Engine | None = None) -> dict[str, Any]:
    """The composable index template, its pattern rewritten for `prefix`, in `engine`'s variant.

    mappings/index-template.json is the one definition, written for every engine rdsaudit supports (Elasticsearch
    7.0 on); `engine` (None: that portable form) only swaps in the cheaper field types an engine has."""
    body: dict[str, Any] = _load("index-template.json")
    body["index_patterns"] = [f"{prefix}-*"]
    if engine is not None:
        for_engine(body, engine)
    return body


# What each version of mappings/index-template.json changed, for `rdsaudit setup` to say on an update.
TEMPLATE_CHANGES = {
    2: "best_compression codec; sql without sql.keyword and sql.lower (sql_lower: the statement's first 256 "
    "characters, lowercase, for starts-with and exact matches; the saved searches match both); sql_fingerprint and "
    "sql_fingerprint_hash (top statements); table (a table event's table name, for sessions' tables touched)",
}


def template_upgrade(installed: int | None, new: int | None) -> str:
    """What an update of the template brings, and what it leaves alone."""
    versions = [v for v in sorted(TEMPLATE_CHANGES) if (installed or 1) < v <= (new or 1)]
    what = "; ".join(f"version {v}: {TEMPLATE_CHANGES[v]}" for v in versions) or "definition changed"
    return f"{what}. Existing indices keep their mappings (nothing is rewritten); the next daily index gets these"


def for_engine(body: dict[str, Any], engine: Engine) -> dict[str, Any]:
    """`body` (the portable template) in `engine`'s variant, in place.

    Measured and not taken (bench/storage.py, BENCHMARKS.md): OpenSearch 2.12's match_only_text for `sql` saves a
    fifth of the bytes but checks every phrase against _source, 80 times slower; `wildcard` (OpenSearch 2.15) keeps
    the whole statement once more."""
    if engine.serverless:
        # Serverless collections manage their own storage: there is no codec to choose.
        body["template"]["settings"]["index"].pop("codec", None)
    return body


def findings_index_template(prefix: str) -> dict[str, Any]:
    """The findings' template: above the audit template's priority, whose `<prefix>-*` matches their indices too."""
    body: dict[str, Any] = _load("findings-index-template.json")
    body["index_patterns"] = [findings_pattern(prefix)]
    return body


def activity_index_template(prefix: str) -> dict[str, Any]:
    body: dict[str, Any] = _load("activity-index-template.json")
    body["index_patterns"] = [f"{prefix}-*"]
    return body


def legacy_template(body: dict[str, Any]) -> dict[str, Any]:
    """A composable template as a legacy `_template` body (Elasticsearch 7.0–7.7): the same settings and mappings,
    `priority` as `order`, and `_meta` (with the checksum) inside the mappings, where legacy templates keep it."""
    template = body["template"]
    mappings = {**template["mappings"], "_meta": body["_meta"]}
    legacy = {"index_patterns": body["index_patterns"], "order": body.get("priority", 0), "mappings": mappings}
    legacy["settings"] = template["settings"]
    if "version" in body:
        legacy["version"] = body["version"]
    return legacy


def serverless_template(body: dict[str, Any], collection_type: str) -> dict[str, Any]:
    """The template for a Serverless collection that assigns document ids: `event_hash` (our id, kept as a field)
    mapped as a keyword; on time series collections `@timestamp` a top-level `date`, as they require (millisecond
    precision: the microseconds stay in the stored document but no longer order the search)."""
    body = copy.deepcopy(body)
    properties = body["template"]["mappings"]["properties"]
    properties["event_hash"] = {"type": "keyword"}
    if collection_type == "timeseries":
        properties["@timestamp"] = {"type": "date"}
    return body


# A day's index takes its last live events minutes after midnight UTC, and the exporter-plus-backfill path hours
# later: two days after its creation nothing writes to it any more, and it is merged into one segment.
CLOSED_AFTER_DAYS = 2


def ism_policy(
    prefix: str,
    retention_days: int,
    warm_after_days: int | None = None,
    *,
    ultrawarm_after_days: int | None = None,
    cold_after_days: int | None = None,
) -> dict[str, Any]:
    """hot → closed (read-only, force-merged to one segment: the smallest and fastest an index gets) after
    `warm_after_days` (default CLOSED_AFTER_DAYS) → on Amazon OpenSearch Service, optionally UltraWarm and then cold
    storage → delete after `retention_days`. A state whose age is not below the next one's is left out."""
    body: dict[str, Any] = _load("ism-policy.json")
    policy = body["policy"]
    policy["ism_template"][0]["index_patterns"] = [audit_days_pattern(prefix)]
    hot, delete = policy["states"]
    closed = warm_after_days if warm_after_days is not None else CLOSED_AFTER_DAYS
    steps: list[tuple[dict[str, Any], int]] = [(hot, 0)]
    if closed < retention_days:
        steps.append(
            ({"name": "closed", "actions": [{"read_only": {}}, {"force_merge": {"max_num_segments": 1}}]}, closed)
        )
    if ultrawarm_after_days is not None and steps[-1][1] < ultrawarm_after_days < retention_days:
        steps.append(({"name": "ultrawarm", "actions": [{"warm_migration": {}}]}, ultrawarm_after_days))
    if cold_after_days is not None and steps[-1][1] < cold_after_days < retention_days:
        steps.append(
            ({"name": "cold", "actions": [{"cold_migration": {"timestamp_field": "@timestamp"}}]}, cold_after_days)
        )
        delete["actions"] = [{"cold_delete": {}}]  # an index in cold storage is deleted by cold_delete
    steps.append((delete, retention_days))
    for (state, _), (following, age) in itertools.pairwise(steps):
        state["transitions"] = [{"state_name": following["name"], "conditions": {"min_index_age": f"{age}d"}}]
    policy["states"] = [state for state, _ in steps]
    return body


def findings_ism_policy(prefix: str, retention_days: int) -> dict[str, Any]:
    """hot → delete after `retention_days`, for the daily findings only: its template's priority is above the audit
    policy's, and neither pattern matches the detect job's state index, which no retention may delete."""
    body: dict[str, Any] = _load("findings-ism-policy.json")
    policy = body["policy"]
    policy["ism_template"][0]["index_patterns"] = [findings_days_pattern(prefix)]
    policy["states"][0]["transitions"][0]["conditions"]["min_index_age"] = f"{retention_days}d"
    return body


def security_roles(prefix: str, activity_prefix: str = "rdsactivity") -> dict[str, Any]:
    """The reader covers the audit and the Activity Streams indices; the writer only their daily indices, never the
    findings nor the state index (the notifier's lease and marks: a forwarder's credentials must not silence it);
    the detector only the findings indices (it reads as rdsaudit_reader)."""
    roles: dict[str, Any] = _load("security-roles.json")
    for role in roles.values():
        for perm in role.get("index_permissions", []):
            if perm["index_patterns"] == [f"{DEFAULT_PREFIX}-findings-*"]:
                perm["index_patterns"] = [f"{prefix}-findings-*"]
            elif perm["index_patterns"] == audit_write_patterns(DEFAULT_PREFIX):
                perm["index_patterns"] = [*audit_write_patterns(prefix), f"{activity_prefix}-*"]
            else:
                perm["index_patterns"] = [f"{prefix}-*", f"{activity_prefix}-*"]
    return roles


AUDIT_PATTERN_ID = "rdsaudit-index-pattern"
ACTIVITY_PATTERN_ID = "rdsactivity-index-pattern"
# Attributes OpenSearch Dashboards stores as JSON text. It writes them with JSON.stringify (compact) when it saves an
# object itself, so we write them the same way and compare them parsed, never as text.
JSON_ATTRIBUTES = ("fieldFormatMap", "visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fields", "typeMeta")


def compact_json(value: Any) -> str:
    """What JavaScript's JSON.stringify writes: no spaces, non-ASCII as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _rename(value: str, prefix: str, activity_prefix: str) -> str:
    """Ids and titles are written for the default prefixes; other prefixes get their own, so two prefixes
    imported into one tenant keep separate objects."""
    for default, wanted in (("rdsactivity", activity_prefix), (DEFAULT_PREFIX, prefix)):
        for sep in ("-", ":"):
            if value.startswith(default + sep):
                return wanted + value[len(default) :]
    return value


def dashboards_ndjson(prefix: str, activity_prefix: str = "rdsactivity") -> str:
    """The saved objects, with ids, references, titles and index pattern titles rewritten for the prefixes in use,
    and every JSON-string attribute written compactly."""
    lines = []
    for line in _text("dashboards.ndjson").splitlines():
        obj = json.loads(line)
        attrs = obj["attributes"]
        default_title = attrs["title"]
        obj["id"] = _rename(obj["id"], prefix, activity_prefix)
        for ref in obj.get("references", []):
            ref["id"] = _rename(ref["id"], prefix, activity_prefix)
        if obj["type"] == "index-pattern":
            if default_title.startswith("rdsactivity"):
                attrs["title"] = f"{activity_prefix}-*"
            elif default_title.startswith(f"{DEFAULT_PREFIX}-findings"):
                attrs["title"] = findings_documents_pattern(prefix)  # the job's state document is no finding
            else:
                attrs["title"] = audit_pattern(prefix)  # findings are not audit events
        else:
            attrs["title"] = _rename(default_title, prefix, activity_prefix)
        for name in JSON_ATTRIBUTES:
            if isinstance(attrs.get(name), str):
                attrs[name] = compact_json(json.loads(attrs[name]))
        meta = attrs.get("kibanaSavedObjectMeta")
        if meta and isinstance(meta.get("searchSourceJSON"), str):
            meta["searchSourceJSON"] = compact_json(json.loads(meta["searchSourceJSON"]))
        lines.append(compact_json(obj))
    return "\n".join(lines) + "\n"


def default_index_pattern_id(prefix: str) -> str:
    return _rename(AUDIT_PATTERN_ID, prefix, "rdsactivity")


def saved_objects(prefix: str = DEFAULT_PREFIX, activity_prefix: str = "rdsactivity") -> list[dict[str, Any]]:
    return [json.loads(line) for line in dashboards_ndjson(prefix, activity_prefix).splitlines()]


def activity_index_template_fields() -> Any:
    return _load("activity-index-template.json")["template"]["mappings"]["properties"]
