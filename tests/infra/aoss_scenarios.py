"""What setup and the forwarder send to an OpenSearch Serverless collection, recorded for the IAM contract test
(test_serverless_contract.py), which runs this module in a subprocess so that its recording stays apart from the
domain one: `python -m tests.infra.aoss_scenarios <spec.json>` with {"node", "collection_type", "properties",
"record"}.

The entries run as deployed: setup_handler with the custom resource's properties from the synthesized template
(so the collection name reaches `--aoss-collection`), the forwarder's lambda_handler on a subscription event, both
configured for aoss through the environment, against the strict proxy of tests/integration/aoss_proxy.py in front
of the real node (it refuses what Serverless lacks and checks the aoss signature). The lifecycle policy calls go to
botocore's Stubber, which checks each request against the opensearchserverless model and the expected collection
(moto has no lifecycle policies, and no Serverless endpoint is reachable): setup runs twice, creating the policy and
then updating it for a new retention, and the forwarder, on a fresh index prefix, installs its template itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import urllib.request
import uuid
from typing import Any

from tests.integration import iam_recorder

iam_recorder.install()  # before any boto3 session exists

KEY, SECRET, REGION = "AKIDAOSSCONTRACT", "aoss-contract-secret", "us-east-1"
VERSION = "MTY2NDA1NDE4MDg1OF8x"  # a policy version as the API returns them (20+ characters)
T = "1700000000000001"
LINES = [
    f"{T},i1,app,10.0.0.1,6,0,CONNECT,shop,,0",
    f"{T},i1,admin,10.0.0.2,7,11,QUERY,shop,'CREATE TABLE t (id int)',0",
    f"{T},i1,mallory,10.9.9.9,5,0,FAILED_CONNECT,,,1045",
]


class Context:
    aws_request_id = "aoss-contract"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def lifecycle_stub(collection: str, prefixes: list[str]) -> Any:
    """An opensearchserverless client that expects setup's create, then its update for a new retention."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "opensearchserverless", region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    stub = Stubber(client)
    name = f"{prefixes[0]}-retention"
    ident = {"identifiers": [{"name": name, "type": "retention"}]}

    def rules(days: int) -> dict[str, Any]:
        return {
            "Rules": [
                {"ResourceType": "index", "Resource": [f"index/{collection}/{p}-*"], "MinIndexRetention": f"{days}d"}
                for p in prefixes
            ]
        }

    stub.add_response("batch_get_lifecycle_policy", {"lifecyclePolicyDetails": []}, ident)
    created = {"name": name, "type": "retention", "policy": json.dumps(rules(90)), "description": "rdsaudit retention"}
    stub.add_response("create_lifecycle_policy", {"lifecyclePolicyDetail": {"name": name}}, created)
    found = {"name": name, "type": "retention", "policyVersion": VERSION, "policy": rules(90)}
    stub.add_response("batch_get_lifecycle_policy", {"lifecyclePolicyDetails": [found]}, ident)
    updated = {"name": name, "type": "retention", "policy": json.dumps(rules(30)), "policyVersion": VERSION}
    stub.add_response("update_lifecycle_policy", {"lifecyclePolicyDetail": {"name": name}}, updated)
    stub.activate()
    return client, stub


def run(spec: dict[str, Any]) -> None:
    import boto3

    from handler import app
    from handler.sources.cloudwatch import encode_subscription_event
    from tests.events import AURORA_GROUP, AURORA_STREAM
    from tests.integration.aoss_proxy import AossProxy

    kind, props = spec["collection_type"], spec["properties"]
    setup_prefix, writer_prefix = f"aoss{uuid.uuid4().hex[:10]}", f"aoss{uuid.uuid4().hex[:10]}"
    client, stub = lifecycle_stub(props["AossCollection"], [setup_prefix, f"{setup_prefix}act"])
    make_client = boto3.client
    boto3.client = lambda service, *a, **k: (
        client if service == "opensearchserverless" else make_client(service, *a, **k)
    )
    proxy = AossProxy(spec["node"], kind, KEY, SECRET, REGION)
    os.environ.update(
        {
            iam_recorder.ENV_FILE: spec["record"],
            "PYTEST_CURRENT_TEST": f"tests/infra/aoss_scenarios.py::{kind} (call)",  # what the recorder names
            "OPENSEARCH_URL": proxy.url,
            "OPENSEARCH_AUTH": "sigv4",
            "OPENSEARCH_SERVICE": "aoss",
            "RDSAUDIT_AOSS_COLLECTION_TYPE": kind,
            "RDSAUDIT_DEAD_LETTER": tempfile.mkdtemp(),
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_REGION": REGION,
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        # setup as the custom resource runs it (the deployed function has RDSAUDIT_ENSURE_TEMPLATE=false)
        os.environ.update(
            {"RDSAUDIT_INDEX_PREFIX": setup_prefix, "RDSAUDIT_ACTIVITY_INDEX_PREFIX": f"{setup_prefix}act"}
        )
        os.environ["RDSAUDIT_ENSURE_TEMPLATE"] = "false"
        for request, retention in (("Create", props["RetentionDays"]), ("Update", "30")):
            app.reset_runtime()
            with iam_recorder.recording("setup"):
                app.setup_handler(
                    {"RequestType": request, "ResourceProperties": {**props, "RetentionDays": retention}}, Context()
                )
        if kind == "timeseries":
            stub.assert_no_pending_responses()  # created, then updated, for this collection
        # the forwarder on a prefix whose template does not exist yet: its cold start installs it
        os.environ.update({"RDSAUDIT_INDEX_PREFIX": writer_prefix, "RDSAUDIT_ENSURE_TEMPLATE": "true"})
        os.environ.pop("RDSAUDIT_ACTIVITY_INDEX_PREFIX")
        app.reset_runtime()
        event = encode_subscription_event(LINES, log_group=AURORA_GROUP, log_stream=AURORA_STREAM)
        with iam_recorder.recording("forwarder"):
            result = app.lambda_handler(event, Context())
        assert result["indexed"] == len(LINES), result
        assert proxy.refused == [], proxy.refused
    finally:
        proxy.close()
        boto3.client = make_client
        for prefix in (setup_prefix, f"{setup_prefix}act", writer_prefix):
            for path in (f"/{prefix}-*?allow_no_indices=true&ignore_unavailable=true", f"/_index_template/{prefix}"):
                with contextlib.suppress(OSError):  # nothing was created under that name
                    urllib.request.urlopen(urllib.request.Request(spec["node"] + path, method="DELETE"), timeout=30)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        run(json.load(f))
