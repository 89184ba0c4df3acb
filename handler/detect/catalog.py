"""The rule catalog (mappings/detection-rules.json) and the user's overrides, validated into `Rule`s.

Overrides come from one place, RDSAUDIT_DETECTIONS (read by handler/config.py): a JSON object, inline or in a file,
`{"rules": {"<id>": {"enabled": false, "severity": "high", "parameters": {...}, "allow": {...}}}}`. A parameter
keeps the type of its default; an unknown rule, parameter or key is an error, never ignored.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from handler.errors import ConfigError

SEVERITIES = ("low", "medium", "high", "critical")
KINDS = ("event", "window")
FORMAT = "rdsaudit-detection-rules"
_RULE_KEYS = {"enabled", "severity", "parameters", "allow"}
_ALLOW_KEYS = ("users", "clients", "instances")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Allow:
    """Users and instances by name; clients by CIDR (an address) or exact host name."""

    users: frozenset[str] = frozenset()
    clients: tuple[str, ...] = ()
    instances: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, users: list[str], clients: list[str], instances: list[str]) -> Allow:
        networks, hosts = split_clients(clients, "allow.clients")
        return cls(frozenset(users), tuple(clients), frozenset(instances), networks, hosts)

    def client(self, client: str | None) -> bool:
        return client_in(client, self.networks, self.hosts)

    def allows(self, user: str | None, client: str | None, instance: str | None) -> bool:
        return (
            (user is not None and user in self.users)
            or (instance is not None and instance in self.instances)
            or (bool(self.clients) and self.client(client))
        )


def split_clients(values: list[str], where: str) -> tuple[tuple[Network, ...], frozenset[str]]:
    networks: list[Network] = []
    hosts: set[str] = set()
    for value in values:
        if any(c.isdigit() for c in value) and ("/" in value or ":" in value or value.replace(".", "").isdigit()):
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                raise ConfigError(f"detections: {where}: {value!r} is not an address or CIDR") from None
        else:
            hosts.add(value.lower())
    return tuple(networks), frozenset(hosts)


@cache
def _address(client: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(client)
    except ValueError:
        return None


def client_in(client: str | None, networks: tuple[Network, ...], hosts: frozenset[str]) -> bool:
    if not client:
        return False
    if client.lower() in hosts:
        return True
    address = _address(client)
    return address is not None and any(address in n for n in networks)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    kind: str
    mitre: str
    description: str
    response: str
    exclude_internal: bool
    parameters: Mapping[str, Any]
    allow: Allow = field(default_factory=Allow)
    enabled: bool = True

    def p(self, name: str) -> Any:
        return self.parameters[name]

    def with_parameters(self, **values: Any) -> Rule:
        """The rule with some parameters set (a command-line flag, which wins over the catalog); None keeps one."""
        changed = {k: v for k, v in values.items() if v is not None}
        unknown = set(changed) - set(self.parameters)
        if unknown:
            raise KeyError(f"rule {self.id} has no parameter {', '.join(sorted(unknown))}")
        return replace(self, parameters={**self.parameters, **changed})


@dataclass(frozen=True)
class Catalog:
    version: int
    internal_users: frozenset[str]
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def enabled(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.enabled and r.kind == kind]

    def skips(self, rule: Rule, user: str | None, client: str | None, instance: str | None) -> bool:
        """The rule does not apply to this event: an internal account (where the rule excludes them) or allowed."""
        if rule.exclude_internal and user is not None and user in self.internal_users:
            return True
        return rule.allow.allows(user, client, instance)


def business_hours(parameters: Mapping[str, Any]) -> Any:
    """The one reading of `business_hours`, `business_days` and `timezone` (rule ddl-off-hours, whose parameters the
    report's activity outside business hours uses too): a handler.read.period.BusinessHours."""
    from handler.read.period import BusinessHours, load_zone, parse_days, parse_hours

    start, end = parse_hours(parameters["business_hours"])
    load_zone(parameters["timezone"])
    return BusinessHours(start, end, parse_days(parameters["business_days"]), parameters["timezone"])


@cache
def _catalog_text() -> str:
    from handler.mappings import mappings_dir

    return (mappings_dir() / "detection-rules.json").read_text(encoding="utf-8")


def catalog_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_catalog_text())
    return data


def load_catalog(overrides: str = "") -> Catalog:
    """The shipped catalog with the overrides applied (`overrides`: RDSAUDIT_DETECTIONS, already read)."""
    return _load(overrides)


@cache
def _load(overrides: str) -> Catalog:
    data = catalog_data()
    if data.get("format") != FORMAT:
        raise ConfigError("detection-rules.json: not an rdsaudit detection catalog")
    changes = parse_overrides(overrides)
    unknown = set(changes) - {r["id"] for r in data["rules"]}
    if unknown:
        known = ", ".join(r["id"] for r in data["rules"])
        raise ConfigError(f"detections: unknown rule {', '.join(sorted(unknown))} (rules: {known})")
    rules = tuple(_rule(spec, changes.get(spec["id"], {})) for spec in data["rules"])
    return Catalog(int(data["version"]), frozenset(data["internal_users"]), rules)


def parse_overrides(text: str) -> dict[str, dict[str, Any]]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}"
        raise ConfigError(f"RDSAUDIT_DETECTIONS is not valid JSON: {e.msg} at {where}") from None
    if not isinstance(value, dict) or set(value) - {"rules"} or not isinstance(value.get("rules", {}), dict):
        raise ConfigError('RDSAUDIT_DETECTIONS must be a JSON object {"rules": {"<rule id>": {...}}}')
    rules: dict[str, dict[str, Any]] = value.get("rules", {})
    for rule_id, change in rules.items():
        if not isinstance(change, dict) or set(change) - _RULE_KEYS:
            raise ConfigError(
                f"detections: rule {rule_id}: an object with {', '.join(sorted(_RULE_KEYS))} only; got {change!r}"
            )
    return rules


def _rule(spec: dict[str, Any], change: dict[str, Any]) -> Rule:
    rule_id = spec["id"]
    if spec["kind"] not in KINDS or spec["severity"] not in SEVERITIES:
        raise ConfigError(f"detection-rules.json: rule {rule_id}: bad kind or severity")
    severity = change.get("severity", spec["severity"])
    if severity not in SEVERITIES:
        raise ConfigError(f"detections: rule {rule_id}: severity must be one of {', '.join(SEVERITIES)}")
    enabled = change.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"detections: rule {rule_id}: enabled must be true or false")
    parameters = dict(spec["parameters"])
    for name, value in change.get("parameters", {}).items():
        if name not in parameters:
            known = ", ".join(parameters) or "none"
            raise ConfigError(f"detections: rule {rule_id}: unknown parameter {name!r} (parameters: {known})")
        parameters[name] = _typed(rule_id, name, value, parameters[name])
    allow = {**spec["allow"], **change.get("allow", {})}
    if set(allow) - set(_ALLOW_KEYS):
        raise ConfigError(f"detections: rule {rule_id}: allow takes {', '.join(_ALLOW_KEYS)}")
    for key in _ALLOW_KEYS:
        if not isinstance(allow.get(key, []), list) or not all(isinstance(v, str) for v in allow.get(key, [])):
            raise ConfigError(f"detections: rule {rule_id}: allow.{key} must be a list of strings")
    _check(rule_id, parameters)
    return Rule(
        id=rule_id,
        title=spec["title"],
        severity=severity,
        kind=spec["kind"],
        mitre=spec.get("mitre", ""),
        description=spec["description"],
        response=spec["response"],
        exclude_internal=bool(spec["exclude_internal"]),
        parameters=parameters,
        allow=Allow.of(allow.get("users", []), allow.get("clients", []), allow.get("instances", [])),
        enabled=enabled,
    )


def _typed(rule_id: str, name: str, value: Any, default: Any) -> Any:
    wanted = type(default)
    ok = isinstance(value, wanted) and not (wanted is int and isinstance(value, bool))
    if wanted is list:
        ok = ok and all(isinstance(v, str) for v in value)
    if not ok:
        raise ConfigError(
            f"detections: rule {rule_id}: parameter {name} must be {wanted.__name__} like {default!r}; got {value!r}"
        )
    if wanted is int and value < 1:
        raise ConfigError(f"detections: rule {rule_id}: parameter {name} must be at least 1; got {value}")
    return value


def _check(rule_id: str, parameters: Mapping[str, Any]) -> None:
    """Values whose meaning is more than their type."""
    if "business_hours" in parameters:
        business_hours(parameters)
    if "allowed_clients" in parameters:
        split_clients(parameters["allowed_clients"], f"{rule_id}.allowed_clients")
    for obj in parameters.get("objects", []):
        if obj.count(".") != 1 or not all(obj.split(".")):
            raise ConfigError(f"detections: rule {rule_id}: objects are database.table or database.*; got {obj!r}")
