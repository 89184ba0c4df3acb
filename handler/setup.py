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
    from opensearchpy.exceptions import NotFoundError

    wanted = index_template(prefix)
    name = template_name(prefix)
    try:
        found = client.indices.get_index_template(name=name)
    except NotFoundError:
        client.indices.put_index_template(name=name, body=wanted)
        return "created"
    templates: list[dict[str, Any]] = found.get("index_templates") or []
    current: dict[str, Any] = templates[0].get("index_template", {}) if templates else {}
    if int(current.get("version") or 0) >= int(wanted["version"]):
        return "current"
    client.indices.put_index_template(name=name, body=wanted)
    return "updated"
