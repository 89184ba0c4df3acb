"""Exceptions → one line and an exit code: the table the command line's error boundary reads."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError
from opensearchpy.exceptions import AuthenticationException, ConnectionError, TransportError
from requests.exceptions import ConnectionError as HttpUnreachable
from requests.models import Request

from handler.config import Settings
from handler.errors import ConfigError, InputError, Interrupted, MissingPermission, NotAuditLog
from handler.explain import describe

SETTINGS = Settings(opensearch_url="http://127.0.0.1:9299")


def client_error(code: str, operation: str = "ListObjectsV2", **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} message", **extra}}, operation)


CASES = [
    (ConfigError("OPENSEARCH_AUTH must be one of none, basic, sigv4"), "OPENSEARCH_AUTH must be one of", 2),
    (MissingPermission("AccessDenied reading s3://b/k"), "AccessDenied reading s3://b/k", 2),
    (InputError("no dead letters at /x"), "no dead letters at /x", 1),
    (NotAuditLog("f does not look like an audit log"), "f does not look like an audit log", 1),
    (Interrupted("interrupted after 5 records"), "interrupted after 5 records", 130),
    (
        ConnectionError("N/A", "Connection refused", Exception("[Errno 111] Connection refused")),
        "cannot reach OpenSearch at http://127.0.0.1:9299 (connection refused): start it",
        1,
    ),
    (
        ConnectionError("N/A", "x", Exception("Name or service not known")),
        "cannot reach OpenSearch at http://127.0.0.1:9299 (unknown host)",
        1,
    ),
    (
        AuthenticationException(401, "security_exception", {"error": {"reason": "missing credentials"}}),
        "OpenSearch at http://127.0.0.1:9299 refused the request (401: missing credentials)",
        1,
    ),
    (
        TransportError(500, "boom", {"error": {"type": "boom"}}),
        "OpenSearch at http://127.0.0.1:9299 answered 500: boom",
        1,
    ),
    (  # what OpenSearch 2.19 answers to the report's search over an index the template did not create
        TransportError(
            400,
            "search_phase_execution_exception",
            {
                "error": {
                    "root_cause": [
                        {
                            "type": "query_shard_exception",
                            "index": "rdsaudit-2026.12.07",
                            "reason": "No mapping found for [@timestamp] in order to sort on",
                        }
                    ],
                    "type": "search_phase_execution_exception",
                    "reason": "all shards failed",
                },
                "status": 400,
            },
        ),
        "OpenSearch at http://127.0.0.1:9299: rdsaudit-2026.12.07 has no mapping for @timestamp: it was not created "
        "from rdsaudit's index template",
        1,
    ),
    (
        TransportError(
            400,
            "search_phase_execution_exception",
            {
                "error": {
                    "type": "search_phase_execution_exception",
                    "reason": "all shards failed",
                    "failed_shards": [
                        {
                            "index": "x-1",
                            "reason": {
                                "type": "illegal_argument_exception",
                                "index": "x-1",
                                "reason": "Fielddata is disabled on [user] in [x-1]. Text fields are not optimised",
                            },
                        }
                    ],
                }
            },
        ),
        "OpenSearch at http://127.0.0.1:9299: x-1 maps user as text: it was not created",
        1,
    ),
    (NoCredentialsError(), "no AWS credentials found", 2),
    (NoRegionError(), "no AWS region: set AWS_REGION", 2),
    (
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1/b"),
        "cannot reach http://127.0.0.1:1/b: check the network",
        1,
    ),
    (client_error("NoSuchBucket", BucketName="audit"), "bucket audit does not exist", 1),
    (client_error("AccessDenied", "GetObject"), "AWS denied GetObject (AccessDenied message)", 1),
    (client_error("ExpiredToken"), "AWS refused the credentials (ExpiredToken)", 1),
    (client_error("Throttling"), "AWS ListObjectsV2 failed: Throttling: Throttling message", 1),
    (
        HttpUnreachable(request=Request("POST", "http://127.0.0.1:5601/api/saved_objects/_import?x=1").prepare()),
        "cannot reach http://127.0.0.1:5601/api/saved_objects/_import (ConnectionError)",
        1,
    ),
    (FileNotFoundError(2, "No such file or directory", "a.log"), "no such file or directory: a.log", 1),
    (IsADirectoryError(21, "Is a directory", "logs"), "logs is a directory, not a file", 1),
    (PermissionError(13, "Permission denied", "/root/x"), "permission denied: /root/x", 1),
    (ValueError("something we did not expect"), "", 1),
]


@pytest.mark.parametrize(("exc", "message", "code"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_describe(exc: BaseException, message: str, code: int) -> None:
    text, exit_code = describe(exc, SETTINGS)
    assert (text.startswith(message) if message else text == "") and exit_code == code, text
    assert "\n" not in text


def test_without_settings_the_message_still_names_where_to_look() -> None:
    text, _ = describe(ConnectionError("N/A", "refused", Exception("Connection refused")))
    assert "the configured OPENSEARCH_URL" in text
