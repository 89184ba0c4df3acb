"""The detection rules whose parameters the report's sections use, so the report and `rdsaudit detect` (and the
scheduled job) can never disagree: bursts are rule brute-force, activity outside business hours rule ddl-off-hours,
new clients rule new-client's look-back, privileged accounts rule privileged-remote's users. The catalog comes with
the same overrides the detect job reads (RDSAUDIT_DETECTIONS); a command-line flag wins over both. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from typing import Any

from handler.detect.catalog import Catalog, Rule, load_catalog
from handler.detect.catalog import business_hours as hours_of
from handler.read.period import BusinessHours, Period
from handler.read.privileged import PRIVILEGED_RULE

BURSTS, OFF_HOURS, NEW_CLIENT = "brute-force", "ddl-off-hours", "new-client"
# section → (rule id, its parameters the section uses)
SECTIONS = {
    "bursts": (BURSTS, ("threshold", "window_seconds")),
    "outside_business_hours": (OFF_HOURS, ("business_hours", "business_days", "timezone")),
    "new_clients": (NEW_CLIENT, ("lookback_days",)),
    "privileged": (PRIVILEGED_RULE, ("users",)),
}


@dataclass(frozen=True)
class ReportRules:
    catalog: Catalog  # internal accounts and the allow lists come from here, unchanged
    rules: dict[str, Rule]  # section → its rule, with the command line's parameters applied
    flags: dict[str, str]  # "rule.parameter" → the flag that set it

    def rule(self, section: str) -> Rule:
        return self.rules[section]

    @cached_property  # read per row of the change tables: parse once
    def hours(self) -> BusinessHours:
        hours: BusinessHours = hours_of(self.rules["outside_business_hours"].parameters)
        return hours

    @property
    def burst_failures(self) -> int:
        return int(self.rules["bursts"].p("threshold"))

    @property
    def burst_window_seconds(self) -> int:
        return int(self.rules["bursts"].p("window_seconds"))

    @property
    def new_client_days(self) -> int:
        return int(self.rules["new_clients"].p("lookback_days"))

    @property
    def privileged_users(self) -> tuple[str, ...]:
        return tuple(self.rules["privileged"].p("users"))

    def burst_exclusions(self) -> dict[str, Any]:
        """Whose failures rule brute-force does not count: the internal accounts (when it excludes them) and its
        allow list, as the catalog (with RDSAUDIT_DETECTIONS) has them."""
        rule = self.rules["bursts"]
        return {
            "internal_users": sorted(self.catalog.internal_users) if rule.exclude_internal else [],
            "allowed": {
                "users": sorted(rule.allow.users),
                "clients": list(rule.allow.clients),
                "instances": sorted(rule.allow.instances),
            },
        }

    def lookback(self, period: Period) -> Period:
        """The days before the period whose clients are not new (rule new-client's lookback_days)."""
        return Period(period.since - timedelta(days=self.new_client_days), period.since)

    def note(self, section: str) -> dict[str, Any]:
        """What a section states about its rule: id, the parameters it used and where each came from."""
        rule_id, names = SECTIONS[section]
        rule = self.rules[section]
        return {
            "id": rule_id,
            "title": rule.title,
            "parameters": {n: rule.p(n) for n in names},
            "set_by": {n: self.flags.get(f"{rule_id}.{n}", "catalog") for n in names},
            "catalog_version": self.catalog.version,
        }


def report_rules(
    catalog: Catalog,
    *,
    burst_failures: int | None = None,
    burst_window: int | None = None,
    business_hours: str | None = None,
    business_days: str | None = None,
    timezone: str | None = None,
    new_client_days: int | None = None,
    privileged_users: tuple[str, ...] = (),
) -> ReportRules:
    """The report's rules from the catalog (with its overrides), then the command line's flags (None: not given)."""
    given: dict[str, tuple[str, str, Any]] = {
        "--burst-failures": ("bursts", "threshold", burst_failures),
        "--burst-window": ("bursts", "window_seconds", burst_window),
        "--business-hours": ("outside_business_hours", "business_hours", business_hours),
        "--business-days": ("outside_business_hours", "business_days", business_days),
        "--timezone": ("outside_business_hours", "timezone", timezone),
        "--new-client-days": ("new_clients", "lookback_days", new_client_days),
        "--privileged-user": ("privileged", "users", list(privileged_users) or None),
    }
    rules = {section: catalog.rule(rule_id) for section, (rule_id, _) in SECTIONS.items()}
    flags: dict[str, str] = {}
    for flag, (section, name, value) in given.items():
        if value is not None:
            rules[section] = rules[section].with_parameters(**{name: value})
            flags[f"{SECTIONS[section][0]}.{name}"] = flag
    hours_of(rules["outside_business_hours"].parameters)  # flags are checked by the catalog's one reading
    return ReportRules(catalog, rules, flags)


@cache
def shipped() -> ReportRules:
    """The shipped catalog without overrides: the report's defaults when it is built without a command line."""
    return report_rules(load_catalog(""))
