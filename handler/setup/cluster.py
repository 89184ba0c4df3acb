"""Index template, ISM policy, security roles and role mapping: each compared with what the cluster has, and
written only when it differs. With `dry_run`, reads still happen and writes are reported instead of sent."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from handler.mappings import index_template, ism_policy, security_roles

logger = logging.getLogger("rdsaudit")

ISM_PLUGIN = "opensearch-index-management"
SECURITY_PLUGIN = "opensearch-security"


@dataclass(frozen=True)
class Change:
    what: str
    action: str  # created | updated | unchanged | skipped | would create | would update
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what}: {self.action}" + (f" ({self.detail})" if self.detail else "")


def _checksum(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def ensure_index_template(client: Any, prefix: str) -> str:
    """The cold-start check: one GET; install when missing or different. Returns the action taken."""
    return ClusterSetup(client, prefix).template().action


class ClusterSetup:
    def __init__(
        self, client: Any, prefix: str, *, dry_run: bool = False, activity_prefix: str = "rdsactivity"
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.activity_prefix = activity_prefix
        self.dry_run = dry_run
        self.requests: list[tuple[str, str, Any]] = []  # what a dry run would have sent
        self._plugins: set[str] | None = None

    def _get(self, path: str) -> Any | None:
        """The JSON at `path`, or None when it does not exist."""
        from opensearchpy.exceptions import NotFoundError

        try:
            return self.client.transport.perform_request("GET", path)
        except NotFoundError:
            return None

    def _write(self, method: str, path: str, body: Any, existed: bool) -> str:
        if self.dry_run:
            self.requests.append((method, path, body))
            return "would update" if existed else "would create"
        self.client.transport.perform_request(method, path, body=body)
        return "updated" if existed else "created"

    def plugins(self) -> set[str]:
        if self._plugins is None:
            rows = self.client.cat.plugins(format="json")
            self._plugins = {row["component"] for row in rows}
        return self._plugins

    def template(self, body: dict[str, Any] | None = None, name: str | None = None) -> Change:
        """The audit template, or another (`body`, `name`) such as the Activity Streams one."""
        body = body if body is not None else index_template(self.prefix)
        name = name or self.prefix
        # The cluster normalises what it stores, so compare a checksum kept in _meta rather than the bodies.
        body.setdefault("_meta", {})["checksum"] = _checksum(body)
        path = f"/_index_template/{name}"
        # ignore=404 keeps the client from logging a warning for the expected "not there yet"
        found = self.client.transport.perform_request("GET", path, params={"ignore": 404})
        templates = found.get("index_templates") or [] if isinstance(found, dict) else []
        current = templates[0]["index_template"] if templates else None
        if current is not None and current.get("_meta", {}).get("checksum") == body["_meta"]["checksum"]:
            return Change(f"index template {name}", "unchanged")
        try:
            action = self._write("PUT", path, body, current is not None)
        except Exception as e:
            from opensearchpy.exceptions import AuthorizationException

            if current is not None and isinstance(e, AuthorizationException):
                # A writer role may read but not replace the template: keep indexing with the installed one.
                logger.warning("index template %s differs from this version's but cannot be updated: %s", path, e)
                return Change(f"index template {name}", "unchanged", "differs; not allowed to update")
            raise
        return Change(f"index template {name}", action, f"{body['index_patterns'][0]} with dynamic: false")

    def ism(self, retention_days: int, warm_after_days: int | None = None) -> Change:
        what = f"ISM policy {self.prefix}-retention"
        if ISM_PLUGIN not in self.plugins():
            return Change(what, "skipped", "index management plugin not installed")
        body = ism_policy(self.prefix, retention_days, warm_after_days)
        path = f"/_plugins/_ism/policies/{self.prefix}-retention"
        current = self._get(path)
        if current is not None and _policy_shape(current.get("policy", {})) == _policy_shape(body["policy"]):
            return Change(what, "unchanged")
        if current is not None:
            path += f"?if_seq_no={current['_seq_no']}&if_primary_term={current['_primary_term']}"
        detail = f"delete after {retention_days} days" + (
            f", read-only after {warm_after_days}" if warm_after_days else ""
        )
        return Change(what, self._write("PUT", path, body, current is not None), detail)

    def roles(self, backend_roles: list[str]) -> list[Change]:
        if SECURITY_PLUGIN not in self.plugins():
            return [Change("security roles", "skipped", "security plugin not installed")]
        changes = []
        for name, role in security_roles(self.prefix, self.activity_prefix).items():
            path = f"/_plugins/_security/api/roles/{name}"
            current = (self._get(path) or {}).get(name)
            if current is not None and _role_shape(current) == _role_shape(role):
                changes.append(Change(f"role {name}", "unchanged"))
            else:
                changes.append(Change(f"role {name}", self._write("PUT", path, role, current is not None)))
        if backend_roles:
            changes.append(self._map_writer(backend_roles))
        return changes

    def _map_writer(self, backend_roles: list[str]) -> Change:
        """Add the roles to rdsaudit_writer's backend roles, keeping whatever else is mapped there."""
        name = "rdsaudit_writer"
        path = f"/_plugins/_security/api/rolesmapping/{name}"
        current = (self._get(path) or {}).get(name)
        roles = list((current or {}).get("backend_roles", []))
        missing = [r for r in backend_roles if r not in roles]
        if not missing:
            return Change(f"role mapping {name}", "unchanged", ", ".join(backend_roles))
        body = {
            "backend_roles": [*roles, *missing],
            "hosts": (current or {}).get("hosts", []),
            "users": (current or {}).get("users", []),
        }
        return Change(f"role mapping {name}", self._write("PUT", path, body, current is not None), ", ".join(missing))


def _policy_shape(policy: dict[str, Any]) -> Any:
    """What we define of a policy, without the fields the plugin adds (retry defaults, timestamps, ids)."""
    states = [
        {
            "name": s["name"],
            "actions": [{k: v for k, v in a.items() if k != "retry"} for a in s.get("actions", [])],
            "transitions": s.get("transitions", []),
        }
        for s in policy.get("states", [])
    ]
    templates = [
        {"index_patterns": t.get("index_patterns"), "priority": t.get("priority")}
        for t in policy.get("ism_template") or []
    ]
    return {"default_state": policy.get("default_state"), "states": states, "ism_template": templates}


def _role_shape(role: dict[str, Any]) -> Any:
    return {
        "cluster_permissions": sorted(role.get("cluster_permissions", [])),
        "index_permissions": [
            {
                "index_patterns": sorted(p.get("index_patterns", [])),
                "allowed_actions": sorted(p.get("allowed_actions", [])),
            }
            for p in role.get("index_permissions", [])
        ],
        "tenant_permissions": [
            {
                "tenant_patterns": sorted(p.get("tenant_patterns", [])),
                "allowed_actions": sorted(p.get("allowed_actions", [])),
            }
            for p in role.get("tenant_permissions", [])
        ],
    }
