"""Import the saved objects into OpenSearch Dashboards (global tenant, overwrite), skipping the import when every
object is already there as defined, and make the audit index pattern the default one when none is set.

Checked against OpenSearch Dashboards' source: the import route (src/core/server/saved_objects/routes/import.ts)
takes one multipart field `file` whose name ends in `.ndjson`; every non-GET request needs an `osd-xsrf` header
(src/core/server/http/lifecycle_handlers.ts; Kibana 7.10 wants `kbn-xsrf`); on first load Dashboards saves an index
pattern back with its JSON-string attributes re-serialized by JSON.stringify (index_patterns.ts `get` →
`updateSavedObject`, index_pattern.ts `getAsSavedObjectBody`), so those attributes are compared parsed."""

from __future__ import annotations

import json
from typing import Any

from handler.errors import RdsAuditError
from handler.mappings import JSON_ATTRIBUTES, dashboards_ndjson, default_index_pattern_id
from handler.setup.cluster import Change

_HEADERS = {"osd-xsrf": "true", "kbn-xsrf": "true", "securitytenant": "global"}
# Where the advanced settings (uiSettings) answer: OpenSearch Dashboards, then Kibana 7.10.
_SETTINGS_PATHS = ("/api/opensearch-dashboards/settings", "/api/kibana/settings")


class DashboardsImportError(RdsAuditError):
    """Dashboards answered the import with errors (success: false)."""


def dashboards_session(auth: Any, verify: bool) -> Any:
    import requests

    session = requests.Session()
    session.auth = auth
    session.verify = verify
    session.headers.update(_HEADERS)
    return session


def import_saved_objects(
    session: Any,
    url: str,
    prefix: str,
    *,
    activity_prefix: str = "rdsactivity",
    dry_run: bool = False,
    timeout: float = 30,
) -> Change:
    ndjson = dashboards_ndjson(prefix, activity_prefix)
    objects = [json.loads(line) for line in ndjson.splitlines()]
    what = f"Dashboards objects ({len(objects)})"
    base = url.rstrip("/")
    found = session.post(
        f"{base}/api/saved_objects/_bulk_get",
        json=[{"type": o["type"], "id": o["id"]} for o in objects],
        timeout=timeout,
    )
    found.raise_for_status()
    current = {(o["type"], o["id"]): o for o in found.json().get("saved_objects", []) if "error" not in o}
    stale = [o for o in objects if _differs(current.get((o["type"], o["id"])), o)]
    if not stale:
        return Change(what, "unchanged")
    if dry_run:
        return Change(
            what, "would import", f"POST {base}/api/saved_objects/_import?overwrite=true, {len(stale)} differ"
        )
    response = session.post(
        f"{base}/api/saved_objects/_import",
        params={"overwrite": "true"},
        files={"file": ("rdsaudit.ndjson", ndjson.encode(), "application/ndjson")},
        timeout=timeout,
    )
    response.raise_for_status()
    result = response.json()
    if not result.get("success", False):
        errors = [f"{e.get('type')} {e.get('id')}: {e.get('error', {}).get('type')}" for e in result.get("errors", [])]
        raise DashboardsImportError(f"Dashboards import reported errors: {'; '.join(errors)[:500]}")
    action = "updated" if current else "created"
    return Change(what, action, f"{result.get('successCount', len(objects))} imported into the global tenant")


def default_index_pattern(session: Any, url: str, prefix: str, *, dry_run: bool = False, timeout: float = 30) -> Change:
    """Make the audit index pattern the default one, unless another default was chosen already."""
    wanted = default_index_pattern_id(prefix)
    what = "default index pattern"
    base = url.rstrip("/")
    for path in _SETTINGS_PATHS:
        answer = session.get(f"{base}{path}", timeout=timeout)
        if answer.status_code != 404:
            break
    answer.raise_for_status()
    current = answer.json().get("settings", {}).get("defaultIndex", {}).get("userValue")
    if current == wanted:
        return Change(what, "unchanged", wanted)
    if current:
        return Change(what, "skipped", f"left as {current}, chosen before")
    if dry_run:
        return Change(what, "would create", f"POST {base}{path}/defaultIndex")
    session.post(f"{base}{path}/defaultIndex", json={"value": wanted}, timeout=timeout).raise_for_status()
    return Change(what, "created", wanted)


def _differs(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    if current is None:
        return True
    attrs = current.get("attributes", {})
    return any(_value(k, attrs.get(k)) != _value(k, v) for k, v in wanted["attributes"].items()) or _refs(
        current
    ) != _refs(wanted)


def _value(name: str, value: Any) -> Any:
    """An attribute as compared: JSON-string attributes parsed, since Dashboards re-serializes them."""
    try:
        if name in JSON_ATTRIBUTES and isinstance(value, str):
            return json.loads(value)
        if name == "kibanaSavedObjectMeta" and isinstance(value, dict):
            return {k: json.loads(v) if k == "searchSourceJSON" and isinstance(v, str) else v for k, v in value.items()}
    except ValueError:
        return value
    return value


def _refs(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r["name"], r["type"], r["id"]) for r in obj.get("references", []))
