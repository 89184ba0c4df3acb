"""The notification settings (handler/config.py): the re-notify interval's bounds, and where findings' Dashboards
links start."""

from __future__ import annotations

import pytest

from handler.config import Settings
from handler.errors import ConfigError


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.detect_renotify_seconds == 21600 and s.dashboards_url == ""
    assert (s.detect_topic_arn, s.detect_event_bus, s.detect_security_hub) == ("", "", False)


@pytest.mark.parametrize("value", ["-1", "2592001", "six hours"])
def test_renotify_out_of_range_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="RDSAUDIT_DETECT_RENOTIFY_SECONDS"):
        Settings.from_env({"RDSAUDIT_DETECT_RENOTIFY_SECONDS": value})


def test_renotify_zero_is_allowed() -> None:
    assert Settings.from_env({"RDSAUDIT_DETECT_RENOTIFY_SECONDS": "0"}).detect_renotify_seconds == 0


def test_dashboards_url_of_a_managed_domain_and_given() -> None:
    domain = "https://search-audit-abc123.eu-west-1.es.amazonaws.com"
    assert Settings.from_env({"OPENSEARCH_URL": domain}).dashboards_url == f"{domain}/_dashboards"
    given = {"OPENSEARCH_URL": domain, "RDSAUDIT_DASHBOARDS_URL": "https://dash.example/_dashboards/"}
    assert Settings.from_env(given).dashboards_url == "https://dash.example/_dashboards"
    # Serverless and self-managed clusters: no guess, links stay paths
    assert Settings.from_env({"OPENSEARCH_URL": "http://127.0.0.1:9200"}).dashboards_url == ""


def test_dashboards_url_with_credentials_is_refused_and_not_echoed() -> None:
    with pytest.raises(ConfigError, match="RDSAUDIT_DASHBOARDS_URL") as e:
        Settings.from_env({"RDSAUDIT_DASHBOARDS_URL": "https://admin:hunter2@dash.example"})
    assert "hunter2" not in str(e.value)


def test_catch_up_window_default_bounds_and_zero() -> None:
    assert Settings.from_env({}).detect_catch_up_seconds == 86400
    assert Settings.from_env({"RDSAUDIT_DETECT_CATCH_UP_SECONDS": "0"}).detect_catch_up_seconds == 0
    for bad in ("-1", "day", str(367 * 86400)):
        with pytest.raises(ConfigError, match="RDSAUDIT_DETECT_CATCH_UP_SECONDS"):
            Settings.from_env({"RDSAUDIT_DETECT_CATCH_UP_SECONDS": bad})


def test_the_lease_holder_is_the_log_stream_in_lambda_and_host_pid_elsewhere() -> None:
    import os
    import socket

    from handler.detect.notify.lease import holder_name

    stream = "2026/12/07/[$LATEST]0123456789abcdef"
    assert Settings.from_env({"AWS_LAMBDA_LOG_STREAM_NAME": stream}).log_stream == stream
    assert holder_name(stream) == stream
    assert holder_name(Settings.from_env({}).log_stream) == f"{socket.gethostname()}/{os.getpid()}"
