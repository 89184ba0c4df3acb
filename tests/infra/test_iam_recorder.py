"""The recorder sees every way out: clients from boto3.client and from boto3.Session().client (made after it was
installed), requests signed by hand, and OpenSearch requests; nothing outside a recording is kept.

botocore's Stubber answers in place of AWS: it hooks `before-call`, after the recorder's `provide-client-params`
has seen the call and before `after-call` reports the answer, exactly where a real response would be."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.integration import iam_recorder


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    monkeypatch.setenv(iam_recorder.ENV_FILE, str(tmp_path / "calls.json"))
    monkeypatch.setattr(iam_recorder, "calls", [])
    iam_recorder.install()
    return iam_recorder


def client(factory: Any) -> Any:
    return factory("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_clients_of_both_factories_are_recorded_with_their_resource(recorder: Any) -> None:
    for factory in (boto3.client, boto3.Session().client):
        s3 = client(factory)
        with Stubber(s3) as stub:
            stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
            stub.add_response("list_objects_v2", {"KeyCount": 0})
            with recorder.recording("backfill", RDSAUDIT_CHECKPOINT="s3://b/cp"):
                with pytest.raises(s3.exceptions.NoSuchKey):
                    s3.get_object(Bucket="b", Key="cp/x.json")
                s3.list_objects_v2(Bucket="b", Prefix="cp/")
    calls = [(c["entry"], c["operation"], c["params"], c["status"], c["error"]) for c in recorder.calls]
    expected = [
        ("backfill", "GetObject", {"Bucket": "b", "Key": "cp/x.json"}, 404, "NoSuchKey"),
        ("backfill", "ListObjectsV2", {"Bucket": "b", "Prefix": "cp/"}, 200, None),
    ]
    assert calls == expected * 2
    assert all(c["env"]["RDSAUDIT_CHECKPOINT"] == "s3://b/cp" and c["service"] == "s3" for c in recorder.calls)


def test_nothing_is_kept_outside_a_recording(recorder: Any) -> None:
    s3 = client(boto3.client)
    with Stubber(s3) as stub:
        stub.add_response("list_objects_v2", {"KeyCount": 0})
        s3.list_objects_v2(Bucket="b")
    assert recorder.calls == []


def test_requests_signed_by_hand_and_opensearch_requests(recorder: Any) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import ConnectionError as NoConnection

    url = "https://rds.us-east-1.amazonaws.com/v13/downloadCompleteLogFile/db-1/audit/server_audit.log"
    with recorder.recording("exporter"):
        SigV4Auth(Credentials("x", "y"), "rds", "us-east-1").add_auth(AWSRequest(method="GET", url=url))
        with pytest.raises(NoConnection):  # nothing listens there: the request is recorded all the same
            OpenSearch(hosts=["http://127.0.0.1:9"], max_retries=0).transport.perform_request("POST", "/_bulk?x=1")
    signed, http = recorder.calls
    assert (signed["kind"], signed["service"], signed["method"], signed["url"]) == ("signed", "rds", "GET", url)
    assert (http["kind"], http["method"], http["path"]) == ("http", "POST", "/_bulk")


def test_unknown_entries_are_refused(recorder: Any) -> None:
    with pytest.raises(ValueError, match="unknown entry"), recorder.recording("nobody"):
        pass
