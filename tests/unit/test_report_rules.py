"""The report's parameters come from the detection catalog (rules brute-force, ddl-off-hours, new-client,
privileged-remote) with the overrides `rdsaudit detect` reads (RDSAUDIT_DETECTIONS); a command-line flag wins."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handler.cli.main import build_parser
from handler.cli.sessions import _privileged
from handler.config import Settings
from handler.detect.catalog import load_catalog
from handler.errors import ConfigError
from handler.report.command import _options
from handler.report.rules import report_rules

OVERRIDES = {
    "rules": {
        "brute-force": {"parameters": {"threshold": 20, "window_seconds": 120}, "allow": {"clients": ["10.9.0.0/16"]}},
        "ddl-off-hours": {
            "parameters": {"business_hours": "07-19", "business_days": "tue-sat", "timezone": "Asia/Dubai"}
        },
        "new-client": {"parameters": {"lookback_days": 7}},
        "privileged-remote": {"parameters": {"users": ["dbadmin"]}},
    }
}
PERIOD = ["--since", "2026-07-01", "--until", "2026-10-01"]


def options(*flags: str, env: dict[str, str] | None = None) -> Any:
    parser, _ = build_parser()
    args = parser.parse_args(["report", *PERIOD, *flags])
    return _options(args, Settings.from_env(env or {}).detections)


def test_without_overrides_the_report_uses_the_shipped_rules() -> None:
    rules = options().rules
    catalog = load_catalog("")
    assert (rules.burst_failures, rules.burst_window_seconds) == (10, 300)
    assert (rules.burst_failures, rules.burst_window_seconds) == (
        catalog.rule("brute-force").p("threshold"),
        catalog.rule("brute-force").p("window_seconds"),
    )
    assert rules.hours.describe() == "08:00–18:00 Mon–Fri, UTC"
    assert rules.new_client_days == 30 == catalog.rule("new-client").p("lookback_days")
    assert rules.privileged_users == ("admin", "root") == tuple(catalog.rule("privileged-remote").p("users"))
    assert all(by == "catalog" for s in ("bursts", "new_clients") for by in rules.note(s)["set_by"].values())


def test_the_detect_jobs_overrides_become_the_reports_parameters() -> None:
    rules = options(env={"RDSAUDIT_DETECTIONS": json.dumps(OVERRIDES)}).rules
    assert (rules.burst_failures, rules.burst_window_seconds) == (20, 120)
    assert rules.hours.describe() == "07:00–19:00 Tue–Sat, Asia/Dubai"
    assert rules.new_client_days == 7 and rules.privileged_users == ("dbadmin",)
    # the allow list and internal accounts are the rule's too: the report skips what detect skips
    bursts = rules.rule("bursts")
    assert rules.catalog.skips(bursts, "app", "10.9.1.1", None) and rules.catalog.skips(
        bursts, "rdsadmin", "1.2.3.4", None
    )
    assert not rules.catalog.skips(bursts, "app", "1.2.3.4", None)


def test_a_flag_wins_over_the_catalog_and_says_so() -> None:
    env = {"RDSAUDIT_DETECTIONS": json.dumps(OVERRIDES)}
    rules = options(
        "--burst-failures", "3", "--business-hours", "09-17", "--new-client-days", "90", "--privileged-user", "x",
        env=env,
    ).rules  # fmt: skip
    assert (rules.burst_failures, rules.burst_window_seconds) == (3, 120)  # the window still from the override
    assert rules.hours.describe() == "09:00–17:00 Tue–Sat, Asia/Dubai"
    assert rules.new_client_days == 90 and rules.privileged_users == ("x",)
    assert rules.note("bursts")["set_by"] == {"threshold": "--burst-failures", "window_seconds": "catalog"}
    assert rules.note("new_clients")["set_by"] == {"lookback_days": "--new-client-days"}
    assert rules.note("privileged")["set_by"] == {"users": "--privileged-user"}
    assert rules.rule("bursts").allow.clients == ("10.9.0.0/16",)  # a flag changes one parameter, nothing else


def test_flags_are_checked_by_the_catalogs_one_reading_of_business_hours() -> None:
    with pytest.raises(ConfigError, match="business hours must be START-END"):
        report_rules(load_catalog(""), business_hours="9-5pm")
    with pytest.raises(ConfigError, match="unknown time zone"):
        report_rules(load_catalog(""), timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="detections: unknown rule nope"):
        options(env={"RDSAUDIT_DETECTIONS": '{"rules": {"nope": {}}}'})


def test_sessions_default_to_the_same_privileged_list(monkeypatch: pytest.MonkeyPatch) -> None:
    parser, _ = build_parser()
    monkeypatch.delenv("RDSAUDIT_DETECTIONS", raising=False)
    assert _privileged(parser.parse_args(["sessions"])) == ("admin", "root")
    monkeypatch.setenv("RDSAUDIT_DETECTIONS", json.dumps(OVERRIDES))
    assert _privileged(parser.parse_args(["sessions"])) == ("dbadmin",)
    assert _privileged(parser.parse_args(["sessions", "--privileged-user", "y"])) == ("y",)
