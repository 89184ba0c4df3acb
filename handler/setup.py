"""What must exist in OpenSearch before documents arrive: the index template (more with the setup issue)."""

from __future__ import annotations

from typing import Any

from handler.mappings import index_template


def template_name(prefix: str) -> str:
    return prefix


def ensure_index_template(client: Any, prefix: str) -> str:
    """Install the template when it is missing or older than ours; one GET when it is current.

    Returns "created", "updated" or "current".
    """
    wanted = index_template(prefix)
    name = template_name(prefix)
    # ignore=404 keeps the client from logging a warning for the expected "not there yet"
    found = client.indices.get_index_template(name=name, ignore=404)
    if "index_templates" not in found:
        client.indices.put_index_template(name=name, body=wanted)
        return "created"
    templates: list[dict[str, Any]] = found.get("index_templates") or []
    current: dict[str, Any] = templates[0].get("index_template", {}) if templates else {}
    if int(current.get("version") or 0) >= int(wanted["version"]):
        return "current"
    client.indices.put_index_template(name=name, body=wanted)
    return "updated"
