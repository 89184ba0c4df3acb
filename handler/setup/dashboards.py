"""Import the saved objects into OpenSearch Dashboards (global tenant, overwrite), skipping the import when
every object is already there as defined."""

from __future__ import annotations

import json
from typing import Any

from handler.mappings import dashboards_ndjson
from handler.setup.cluster import Change

_HEADERS = {"osd-xsrf": "true", "securitytenant": "global"}


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
        raise RuntimeError(f"Dashboards import reported errors: {json.dumps(result.get('errors'))[:500]}")
    action = "updated" if current else "created"
    return Change(what, action, f"{result.get('successCount', len(objects))} imported into the global tenant")


def _differs(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    if current is None:
        return True
    attrs = current.get("attributes", {})
    return any(attrs.get(k) != v for k, v in wanted["attributes"].items()) or _refs(current) != _refs(wanted)


def _refs(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r["name"], r["type"], r["id"]) for r in obj.get("references", []))
