"""A command that writes leaves what it wrote searchable before it exits: `rdsaudit backfill FILE` followed at once
by `rdsaudit report` sees every line (it found nothing before: the last writes were not yet refreshed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handler.app import reset_runtime
from handler.cli import main
from handler.mappings import index_template
from tests.events import MARIADB_LOG, mariadb_lines
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration


def test_backfill_then_report_at_once(forwarder: Forwarder, tmp_path: Path, capsys: Any) -> None:
    client, prefix = forwarder.client, forwarder.prefix
    # The day's index made not to refresh on its own (the template's mappings, refresh_interval -1): only the
    # command's own refresh can make the documents visible, so this fails without it whatever the timing.
    client.indices.put_index_template(name=prefix, body=index_template(prefix))
    client.indices.create(index=f"{prefix}-2026.12.07", body={"settings": {"index": {"refresh_interval": "-1"}}})
    reset_runtime()
    checkpoint = str(tmp_path / "cp.json")
    assert main(["backfill", str(MARIADB_LOG), "--index-prefix", prefix, "--checkpoint", checkpoint]) == 0
    # _count does not refresh: it sees what the backfill made searchable
    assert client.count(index=f"{prefix}-*")["count"] == len(mariadb_lines())
    capsys.readouterr()
    out = tmp_path / "report.json"
    period = ["--since", "2026-12-07", "--until", "2026-12-08"]
    assert main(["report", "--index-prefix", prefix, *period, "--format", "json", "--out", str(out)]) == 0
    assert "check the arguments" not in capsys.readouterr().err
    report = json.loads(out.read_text())
    assert "we,ird" in json.dumps(report)  # the failed login of the user with a comma in its name
