"""Index template, ISM policy, security roles and role mapping: each compared with what the cluster has, and
written only when it differs. With `dry_run`, reads still happen and writes are reported instead of sent.

The engine (handler/setup/engine.py) is found once per ClusterSetup and decides the API used for each piece:
composable or legacy templates, `_plugins` or `_opendistro` plugin paths, and nothing but templates on
OpenSearch Serverless."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from handler.mappings import (
    findings_ism_policy,
    index_template,
    ism_policy,
    legacy_template,
    security_roles,
    serverless_template,
    template_upgrade,
)
from handler.setup.engine import Engine, detect

logger = logging.getLogger("rdsaudit")

# _cat/plugins component names → the path prefix that plugin answers under. Open Distro's index management
# plugin was `opendistro_index_management` (its build.gradle up to 1.12) and `opendistro-index-management`
# (1.13, as _cat/plugins lists it); its security plugin is `opendistro_security`.
ISM_PLUGINS = {
    "opensearch-index-management": "_plugins",
    "opendistro-index-management": "_opendistro",
    "opendistro_index_management": "_opendistro",
}
SECURITY_PLUGINS = {"opensearch-security": "_plugins", "opendistro_security": "_opendistro"}
_STATE_WORDS = {"closed": "read-only and force-merged", "ultrawarm": "UltraWarm", "cold": "cold storage"}
# The error types an engine gives for "no template by that name" (as opposed to "no such API").
_MISSING_TEMPLATE = {"resource_not_found_exception", "index_template_missing_exception"}


@dataclass(frozen=True)
class Change:
    what: str
    action: str  # created | updated | unchanged | skipped | would create | would update
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what}: {self.action}" + (f" ({self.detail})" if self.detail else "")


def audit_policy_id(prefix: str) -> str:
    return f"{prefix}-retention"


def findings_policy_id(prefix: str) -> str:
    return f"{prefix}-findings-retention"


def _checksum(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class ClusterSetup:
    def __init__(
        self,
        client: Any,
        prefix: str,
        *,
        dry_run: bool = False,
        activity_prefix: str = "rdsactivity",
        engine: Engine | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.activity_prefix = activity_prefix
        self.dry_run = dry_run
        self.requests: list[tuple[str, str, Any]] = []  # what a dry run would have sent
        self._plugins: set[str] | None = None
        self._engine = engine
        self._legacy_api = False  # set when the composable template API turned out to be missing

    def engine(self) -> Engine:
        """The engine, asked once (GET /); refuses engines rdsaudit cannot write to."""
        if self._engine is None:
            self._engine = detect(self.client)
        self._engine.check_supported()
        return self._engine

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

    def _plugin_prefix(self, known: dict[str, str]) -> str | None:
        found = sorted(name for name in known if name in self.plugins())
        return known[found[0]] if found else None

    def template(self, body: dict[str, Any] | None = None, name: str | None = None) -> Change:
        """The audit template, or another (`body`, `name`) such as the Activity Streams one."""
        engine = self.engine()
        body = body if body is not None else index_template(self.prefix, engine)
        name = name or self.prefix
        if engine.generates_ids:
            body = serverless_template(body, engine.collection_type)
        # The cluster normalises what it stores, so compare a checksum kept in _meta rather than the bodies.
        body.setdefault("_meta", {})["checksum"] = _checksum(body)
        if engine.legacy_templates or self._legacy_api:
            return self._legacy_template(body, name)
        path = f"/_index_template/{name}"
        from opensearchpy.exceptions import TransportError

        try:
            # ignore=404 keeps the client from logging a warning for the expected "not there yet"
            found = self.client.transport.perform_request("GET", path, params={"ignore": 404})
        except TransportError as e:
            if e.status_code != 405:
                raise
            found = {"error": {"type": "method_not_allowed"}}
        if isinstance(found, dict) and "error" in found and _error_type(found) not in _MISSING_TEMPLATE:
            # No composable template API (Elasticsearch before 7.8 answers 405) although the version did not
            # say so, e.g. behind a proxy that rewrites GET /: use the legacy API from now on.
            self._legacy_api = True
            return self._legacy_template(body, name)
        templates = found.get("index_templates") or [] if isinstance(found, dict) else []
        current = templates[0]["index_template"] if templates else None
        return self._put_template(path, body, name, current, body)

    def _legacy_template(self, body: dict[str, Any], name: str) -> Change:
        """Elasticsearch 7.0–7.7: the same mappings and checksum through `_template` (checksum in mappings._meta)."""
        path = f"/_template/{name}"
        found = self.client.transport.perform_request("GET", path, params={"ignore": 404})
        current = found.get(name) if isinstance(found, dict) else None
        meta = (current or {}).get("mappings", {}).get("_meta") if current else None
        kept = {"_meta": meta, "version": current.get("version")} if current else None
        return self._put_template(path, legacy_template(body), name, kept, body)

    def _put_template(
        self, path: str, payload: dict[str, Any], name: str, current: dict[str, Any] | None, body: dict[str, Any]
    ) -> Change:
        if current is not None and (current.get("_meta") or {}).get("checksum") == body["_meta"]["checksum"]:
            return Change(f"index template {name}", "unchanged")
        try:
            action = self._write("PUT", path, payload, current is not None)
        except Exception as e:
            from opensearchpy.exceptions import AuthorizationException

            if current is not None and isinstance(e, AuthorizationException):
                # A writer role may read but not replace the template: keep indexing with the installed one.
                logger.warning("index template %s differs from this version's but cannot be updated: %s", path, e)
                return Change(f"index template {name}", "unchanged", "differs; not allowed to update")
            raise
        detail = f"{body['index_patterns'][0]} with dynamic: false"
        if current is not None:
            detail += "; " + template_upgrade(current.get("version"), body.get("version"))
        return Change(f"index template {name}", action, detail)

    def ism(
        self,
        retention_days: int,
        warm_after_days: int | None = None,
        ultrawarm_after_days: int | None = None,
        cold_after_days: int | None = None,
    ) -> Change:
        """The audit indices' policy, `<prefix>-retention`."""
        body = ism_policy(
            self.prefix,
            retention_days,
            warm_after_days,
            ultrawarm_after_days=ultrawarm_after_days,
            cold_after_days=cold_after_days,
        )
        return self._ism(audit_policy_id(self.prefix), body)

    def findings_ism(self, retention_days: int) -> Change:
        """The findings' own policy, `<prefix>-findings-retention`: findings outlive the audit events."""
        return self._ism(findings_policy_id(self.prefix), findings_ism_policy(self.prefix, retention_days))

    def _ism(self, name: str, body: dict[str, Any]) -> Change:
        what = f"ISM policy {name}"
        engine = self.engine()
        if engine.serverless:
            return Change(what, "skipped", "OpenSearch Serverless has no ISM: retention is a lifecycle policy")
        base = self._plugin_prefix(ISM_PLUGINS)
        if base is None:
            return Change(what, "skipped", "index management plugin not installed")
        note = ""
        if engine.distribution == "elasticsearch" and engine.version < (7, 10):
            # ism_template came with Open Distro 1.13 (Elasticsearch 7.10); older plugins refuse the field.
            del body["policy"]["ism_template"]
            note = "; no ism_template before Elasticsearch 7.10: attach the policy to new indices yourself"
        path = f"/{base}/_ism/policies/{name}"
        current = self._get(path)
        if current is not None and _policy_shape(current.get("policy", {})) == _policy_shape(body["policy"]):
            return Change(what, "unchanged")
        if current is not None:
            path += f"?if_seq_no={current['_seq_no']}&if_primary_term={current['_primary_term']}"
            patterns = [p for t in body["policy"].get("ism_template", []) for p in t["index_patterns"]]
            if _policy_shape(current["policy"])["ism_template"] != _policy_shape(body["policy"])["ism_template"]:
                # ISM keeps an index under the policy that took it at creation (README, "Retention")
                note += f"; now for new {', '.join(patterns)} only: indices it manages already stay under it"
        ages = {
            t["state_name"]: t["conditions"]["min_index_age"].rstrip("d")
            for s in body["policy"]["states"]
            for t in s["transitions"]
        }
        detail = f"delete after {ages['delete']} days" + "".join(
            f", {_STATE_WORDS[state]} after {age}" for state, age in ages.items() if state != "delete"
        )
        return Change(what, self._write("PUT", path, body, current is not None), detail + note)

    def roles(self, backend_roles: list[str], detector_roles: tuple[str, ...] | list[str] = ()) -> list[Change]:
        if self.engine().serverless:
            reason = "OpenSearch Serverless has no security plugin: grant access with a data access policy"
            return [Change("security roles", "skipped", reason)]
        base = self._plugin_prefix(SECURITY_PLUGINS)
        if base is None:
            return [Change("security roles", "skipped", "security plugin not installed")]
        changes = []
        for name, role in security_roles(self.prefix, self.activity_prefix).items():
            path = f"/{base}/_security/api/roles/{name}"
            current = (self._get(path) or {}).get(name)
            if current is not None and _role_shape(current) == _role_shape(role):
                changes.append(Change(f"role {name}", "unchanged"))
            else:
                changes.append(Change(f"role {name}", self._write("PUT", path, role, current is not None)))
        if backend_roles:
            changes.append(self._map(base, "rdsaudit_writer", backend_roles))
        if detector_roles:  # the detect job reads as a reader and writes findings as the detector
            changes.append(self._map(base, "rdsaudit_reader", list(detector_roles)))
            changes.append(self._map(base, "rdsaudit_detector", list(detector_roles)))
        return changes

    def _map(self, base: str, name: str, backend_roles: list[str]) -> Change:
        """Add the roles to the role's backend roles, keeping whatever else is mapped there."""
        path = f"/{base}/_security/api/rolesmapping/{name}"
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


def _error_type(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    return str(error.get("type", "")) if isinstance(error, dict) else ""


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
