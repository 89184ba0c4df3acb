"""Sample audit lines and subscription events shared by the tests and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handler.sources.cloudwatch import encode_subscription_event

HERE = Path(__file__).parent
SAMPLE_LOG = HERE / "sample-audit.log"
# Lines MariaDB 10.11's server_audit wrote (tests/integration/mariadb_workload.py), byte for byte: names with
# commas, the plugin's quirks (docs/mariadb-server-audit.md).
MARIADB_LOG = HERE / "mariadb" / "server_audit.log"

AURORA_GROUP = "/aws/rds/cluster/demo-aurora/audit"
AURORA_STREAM = "demo-aurora-instance-1.audit.log.0.2024-10-09-18-20.0.2"
RDS_GROUP = "/aws/rds/instance/demo-mysql/audit"
RDS_STREAM = "demo-mysql"


def sample_lines() -> list[str]:
    return [line for line in SAMPLE_LOG.read_text(encoding="utf-8").splitlines() if line.strip()]


def mariadb_lines() -> list[str]:
    from handler.transforms.audit_line import decode_line

    return [decode_line(b) for b in MARIADB_LOG.read_bytes().split(b"\n") if b]


def sample_events(event_time_ms: int = 1_700_000_000_000) -> list[dict[str, Any]]:
    """Two subscription events as CloudWatch delivers them: Aurora lines from a cluster group, the rest from an
    instance group (unparseable lines travel with the latter)."""
    aurora = [(line, event_time_ms) for line in sample_lines() if line[:16].isdigit()]
    others = [(line, event_time_ms) for line in sample_lines() if not line[:16].isdigit()]
    return [
        encode_subscription_event(aurora, log_group=AURORA_GROUP, log_stream=AURORA_STREAM),
        encode_subscription_event(others, log_group=RDS_GROUP, log_stream=RDS_STREAM, first_id=1000),
    ]
