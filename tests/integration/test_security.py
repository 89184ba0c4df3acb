"""The security roles on a real node with the security plugin (2.19.4: the newest version Maven Central serves
the plugin for): setup creates and maps them, the forwarder indexes as rdsaudit_writer, and the writer can do
nothing else. (The index-management plugin is not on Maven Central: the ISM policy is checked against the
documented API shape in tests/unit/test_mappings.py.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handler import app
from handler.cli import main
from tests.events import sample_events, sample_lines
from tests.integration.conftest import recording
from tests.integration.nodes import extra_node

pytestmark = pytest.mark.integration
# A throwaway password for a node bound to 127.0.0.1 for the length of the tests.
ADMIN_PASSWORD = "Rdsaudit-Local-Test-7q!"
FORWARDER_ROLE = "arn:aws:iam::123456789012:role/rdsaudit-forwarder"
USER_PASSWORD = "Writer-Local-Test-3k!"


@pytest.fixture(scope="module")
def secure_node(opensearch_url: str) -> Iterator[str]:
    env = {"OPENSEARCH_SECURITY": "1", "OPENSEARCH_HEAP": "512m", "OPENSEARCH_INITIAL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with extra_node("secure", env, scheme="https") as url:
        yield url


def client(url: str, user: str, password: str) -> Any:
    from opensearchpy import OpenSearch

    return OpenSearch(hosts=[url], http_auth=(user, password), verify_certs=False, ssl_show_warn=False, timeout=30)


def as_user(monkeypatch: pytest.MonkeyPatch, url: str, prefix: str, user: str, password: str, tmp_path: Path) -> None:
    for k, v in {
        "OPENSEARCH_URL": url,
        "OPENSEARCH_AUTH": "basic",
        "OPENSEARCH_USERNAME": user,
        "OPENSEARCH_PASSWORD": password,
        "OPENSEARCH_VERIFY_CERTS": "false",
        "RDSAUDIT_INDEX_PREFIX": prefix,
        "RDSAUDIT_DEAD_LETTER": str(tmp_path / "dl"),
    }.items():
        monkeypatch.setenv(k, v)
    app.reset_runtime()


def status(call: Any) -> int:
    from opensearchpy.exceptions import TransportError

    try:
        call()
    except TransportError as e:
        return int(e.status_code)
    return 200


def test_setup_roles_and_least_privilege(
    secure_node: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    prefix = f"sec{uuid.uuid4().hex[:8]}"
    admin = client(secure_node, "admin", ADMIN_PASSWORD)
    as_user(monkeypatch, secure_node, prefix, "admin", ADMIN_PASSWORD, tmp_path)
    with recording("setup"):  # the CLI runs the setup function's code (run_setup), here with the security plugin
        assert main(["setup", "--index-prefix", prefix, "--role-arn", FORWARDER_ROLE]) == 0
    first = capsys.readouterr().out
    assert "role rdsaudit_writer:" in first and "role rdsaudit_reader:" in first
    assert "role mapping rdsaudit_writer:" in first and FORWARDER_ROLE in first
    assert "skipped (index management plugin not installed)" in first
    assert ADMIN_PASSWORD not in first
    assert main(["setup", "--index-prefix", prefix, "--role-arn", FORWARDER_ROLE]) == 0
    second = capsys.readouterr().out
    assert "created" not in second and "updated" not in second, second

    # The forwarder's identity: an internal user carrying the IAM role as backend role, as SigV4 callers do.
    admin.transport.perform_request(
        "PUT",
        "/_plugins/_security/api/internalusers/rdsaudit_test_writer",
        body={"password": USER_PASSWORD, "backend_roles": [FORWARDER_ROLE]},
    )
    admin.transport.perform_request(
        "PUT", "/_plugins/_security/api/internalusers/rdsaudit_test_reader", body={"password": USER_PASSWORD}
    )
    admin.transport.perform_request(
        "PUT", "/_plugins/_security/api/rolesmapping/rdsaudit_reader", body={"users": ["rdsaudit_test_reader"]}
    )
    admin.indices.create(index=f"other-{prefix}", body={"settings": {"number_of_replicas": 0}})
    admin.index(index=f"other-{prefix}", body={"secret": "not for the writer"}, refresh=True)

    # The forwarder, as rdsaudit_writer, indexes a whole batch (template check included).
    as_user(monkeypatch, secure_node, prefix, "rdsaudit_test_writer", USER_PASSWORD, tmp_path)
    outcomes = [app.lambda_handler(e, None) for e in sample_events()]
    assert sum(o["indexed"] for o in outcomes) == len(sample_lines())
    admin.indices.refresh(index=f"{prefix}-*")
    assert admin.count(index=f"{prefix}-*")["count"] == len(sample_lines())

    writer = client(secure_node, "rdsaudit_test_writer", USER_PASSWORD)
    day = f"{prefix}-2020.10.23"
    assert status(lambda: writer.indices.delete(index=day)) == 403
    assert status(lambda: writer.search(index=f"other-{prefix}")) == 403
    assert status(lambda: writer.search(index=f"{prefix}-*")) == 403
    assert status(lambda: writer.index(index=f"other-{prefix}", body={"x": 1})) == 403
    assert status(lambda: writer.indices.put_index_template(name=prefix, body={"index_patterns": ["x-*"]})) == 403
    # The notifier's lease and marks are out of its reach: its credentials cannot silence the notifications.
    lease = {"state": {"lease": {"holder": "x", "expires_at": "2999-01-01T00:00:00Z"}}}
    assert status(lambda: writer.index(index=f"{prefix}-findings-state", id="notify", body=lease)) == 403
    findings_day = f"{prefix}-findings-2020.10.23"
    assert status(lambda: writer.index(index=findings_day, body={"notified": {"sns": "2020-10-23T00:00:00Z"}})) == 403
    bulk = writer.bulk(body=f'{{"index": {{"_index": "{prefix}-findings-state", "_id": "notify"}}}}\n{{"x": 1}}\n')
    assert bulk["items"][0]["index"]["status"] == 403
    assert status(lambda: writer.index(index=f"{prefix}-1970.01.01", body={"user": "x"})) == 200  # a bad epoch's day
    admin.indices.delete(index=f"{prefix}-1970.01.01")

    reader = client(secure_node, "rdsaudit_test_reader", USER_PASSWORD)
    assert reader.count(index=f"{prefix}-*")["count"] == len(sample_lines())
    assert status(lambda: reader.index(index=day, body={"user": "x"})) == 403
    assert status(lambda: reader.search(index=f"other-{prefix}")) == 403
    # …and is all `rdsaudit report` needs, point in time included.
    as_user(monkeypatch, secure_node, prefix, "rdsaudit_test_reader", USER_PASSWORD, tmp_path)
    report = tmp_path / "report.json"
    assert main(["report", "--since", "2020-01-01", "--until", "2025-01-01", "--out", str(report)]) == 0
    coverage = json.loads(report.read_text())["data"]["coverage"]
    assert coverage["documents"] == len(sample_lines()) and coverage["paging"]["method"] == "point_in_time"

    app.reset_runtime()
    admin.indices.delete(index=f"{prefix}-*,other-{prefix}")


def test_one_team_reads_only_its_accounts_documents(
    secure_node: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """README "Many accounts and regions": document-level security on `owner`, the role as the README gives it."""
    from handler.sources.cloudwatch import encode_subscription_event

    prefix = f"dls{uuid.uuid4().hex[:8]}"
    admin = client(secure_node, "admin", ADMIN_PASSWORD)
    as_user(monkeypatch, secure_node, prefix, "admin", ADMIN_PASSWORD, tmp_path)
    lines = sample_lines()
    for owner, part in (("111111111111", lines[:5]), ("333333333333", lines[5:])):
        event = encode_subscription_event(
            [(line, 1_700_000_000_000) for line in part],
            log_group="/aws/rds/cluster/prod/audit",  # both accounts call their cluster prod
            log_stream="prod-1.audit.log.0",
            owner=owner,
        )
        app.lambda_handler(event, None)
    admin.indices.refresh(index=f"{prefix}-*")
    role = {
        "cluster_permissions": ["cluster_composite_ops_ro"],
        "index_permissions": [
            {
                "index_patterns": [f"{prefix}-*"],
                "allowed_actions": ["read", "indices:admin/mappings/get", "indices:admin/resolve/index"],
                "dls": json.dumps({"terms": {"owner": ["111111111111", "222222222222"]}}),
            }
        ],
        "tenant_permissions": [{"tenant_patterns": ["global_tenant"], "allowed_actions": ["kibana_all_read"]}],
    }
    team = f"rdsaudit_reader_{prefix}"
    admin.transport.perform_request("PUT", f"/_plugins/_security/api/roles/{team}", body=role)
    admin.transport.perform_request(
        "PUT", f"/_plugins/_security/api/internalusers/{team}_user", body={"password": USER_PASSWORD}
    )
    admin.transport.perform_request(
        "PUT", f"/_plugins/_security/api/rolesmapping/{team}", body={"users": [f"{team}_user"]}
    )
    reader = client(secure_node, f"{team}_user", USER_PASSWORD)
    assert reader.count(index=f"{prefix}-*")["count"] == 5
    owners = reader.search(index=f"{prefix}-*", body={"size": 0, "aggs": {"o": {"terms": {"field": "owner"}}}})[
        "aggregations"
    ]["o"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in owners] == [("111111111111", 5)]
    # the report, point in time included, sees the team's accounts only
    as_user(monkeypatch, secure_node, prefix, f"{team}_user", USER_PASSWORD, tmp_path)
    report = tmp_path / "team.json"
    assert main(["report", "--since", "2020-01-01", "--until", "2030-01-01", "--out", str(report)]) == 0
    coverage = json.loads(report.read_text())["data"]["coverage"]
    assert coverage["documents"] == 5 and coverage["paging"]["method"] == "point_in_time"
    assert {s["account"] for s in coverage["sources"]} == {"111111111111"}
    app.reset_runtime()
    admin.indices.delete(index=f"{prefix}-*")
    admin.transport.perform_request("DELETE", f"/_plugins/_security/api/roles/{team}")


DETECTOR_ROLE = "arn:aws:iam::123456789012:role/rdsaudit-detect"


def test_the_detect_job_runs_as_reader_and_detector_only(
    secure_node: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    """The detect function's role, as setup maps it (rdsaudit_reader + rdsaudit_detector): it reads the audit
    indices, writes findings and its state, and can change nothing else."""
    from handler.sources.cloudwatch import encode_subscription_event

    prefix = f"det{uuid.uuid4().hex[:8]}"
    admin = client(secure_node, "admin", ADMIN_PASSWORD)
    as_user(monkeypatch, secure_node, prefix, "admin", ADMIN_PASSWORD, tmp_path)
    args = ["setup", "--index-prefix", prefix, "--role-arn", FORWARDER_ROLE, "--detector-role-arn", DETECTOR_ROLE]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "role rdsaudit_detector:" in out and f"index template {prefix}-findings:" in out
    assert "role mapping rdsaudit_detector:" in out and "role mapping rdsaudit_reader:" in out
    # twelve failed logins of root from one client within a minute: a brute force (10 in 5 minutes)
    base = 1_700_000_000_000_000
    lines = [f"{base + i * 5_000_000},prod-1,root,10.9.9.9,{500 + i},0,FAILED_CONNECT,,,1045" for i in range(12)]
    event = encode_subscription_event(
        [(line, base // 1000 + i * 5000) for i, line in enumerate(lines)],
        log_group="/aws/rds/cluster/prod/audit",
        log_stream="prod-1.audit.log.0",
        owner="123456789012",
    )
    assert app.lambda_handler(event, None)["indexed"] == 12
    admin.indices.refresh(index=f"{prefix}-*")
    admin.transport.perform_request(
        "PUT",
        "/_plugins/_security/api/internalusers/rdsaudit_test_detector",
        body={"password": USER_PASSWORD, "backend_roles": [DETECTOR_ROLE]},
    )
    as_user(monkeypatch, secure_node, prefix, "rdsaudit_test_detector", USER_PASSWORD, tmp_path)
    period = ["--since", "2023-11-14T00:00:00Z", "--until", "2023-11-16T00:00:00Z", "--format", "json"]
    capsys.readouterr()  # the forwarder's log lines
    assert main(["detect", *period]) == 0
    found = json.loads(capsys.readouterr().out)
    # …and the instance then fell silent for the rest of the period
    assert sorted(f["rule"] for f in found["findings"]) == ["audit-silence", "brute-force"] and found["new"] == 2
    assert main(["detect"]) == 0  # the scheduled run: it writes its state document too
    admin.indices.refresh(index=f"{prefix}-findings-*")
    assert admin.count(index=f"{prefix}-findings-2*")["count"] == 2

    detector = client(secure_node, "rdsaudit_test_detector", USER_PASSWORD)
    day = f"{prefix}-2023.11.14"
    assert status(lambda: detector.index(index=day, body={"user": "x"})) == 403
    assert status(lambda: detector.indices.delete(index=day)) == 403
    assert status(lambda: detector.indices.delete(index=f"{prefix}-findings-*")) == 403
    body = {"index_patterns": ["x-*"]}
    assert status(lambda: detector.indices.put_index_template(name=f"{prefix}-findings", body=body)) == 403
    app.reset_runtime()
    admin.indices.delete(index=f"{prefix}-*")
