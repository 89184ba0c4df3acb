"""Records every AWS request a Lambda entry makes, for the IAM contract test (tests/infra/test_iam_contract.py).

Three ways out of the process are watched, because a role's policy has to cover all of them:
- botocore API calls, through event hooks (`provide-client-params` sees the caller's parameters, `after-call` the
  answer). They are added to botocore's BUILTIN_HANDLERS, which every botocore session registers when it is made,
  so clients from `boto3.client(...)`, `boto3.Session().client(...)` and `botocore.session.get_session()` are all
  seen; a client copies its session's handlers when it is created, hence `install()` runs before any session;
- requests signed with botocore's SigV4 signer outside an API call (the RDS complete-file download);
- OpenSearch HTTP requests (opensearch-py's Transport), which IAM authorizes as es:ESHttp<Method> on the path.

A recording is opened around a Lambda entry call with `with recording("backfill"):`; calls made outside any
recording (test set-up, assertions) are not kept. Calls go to one JSON file per test session.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The Lambda entries whose roles the contract covers (the names the contract test maps to template functions).
ENTRIES = (
    "forwarder",
    "collector",
    "backfill",
    "exporter",
    "activity",
    "setup",
    "subscribe",
    "member",
    "replay",
    "detect",
)
# Settings that say where an entry reads and writes: the contract test maps the test's values onto the stack's.
ENV = (
    "AWS_REGION",
    "OPENSEARCH_URL",
    "RDSAUDIT_INDEX_PREFIX",
    "RDSAUDIT_ACTIVITY_INDEX_PREFIX",
    "RDSAUDIT_DEAD_LETTER",
    "RDSAUDIT_CHECKPOINT",
    "RDSAUDIT_EXPORT_BUCKET",
    "RDSAUDIT_EXPORT_PREFIX",
    "RDSAUDIT_FORWARDER_ARN",
    "RDSAUDIT_DAS_CLUSTER_ID",
    "RDSAUDIT_DESTINATION_ARN",
    "RDSAUDIT_DESTINATION_ROLE_ARN",
    "RDSAUDIT_DETECT_TOPIC_ARN",
    "RDSAUDIT_DETECT_EVENT_BUS",
)
# The parameters that name a resource or a condition value; bodies and payloads are never kept.
PARAMS = (
    "Bucket",
    "Key",
    "Prefix",
    "UploadId",
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "QueueUrl",
    "KeyId",
    "EncryptionContext",
    "DBInstanceIdentifier",
    "LogFileName",
    "logGroupName",
    "destinationArn",
    "roleArn",
    "logGroupNamePrefix",
    "FunctionName",
    "TopicArn",
)
ENV_FILE = "RDSAUDIT_IAM_RECORD"

_lock = threading.Lock()
_active: list[dict[str, Any]] = []  # the open recordings; calls belong to the innermost
calls: list[dict[str, Any]] = []
_installed = False


def record_path() -> str:
    """One file per test session: named by the environment (a parent run), else a fresh temporary file."""
    path = os.environ.get(ENV_FILE)
    if not path:
        path = os.path.join(tempfile.gettempdir(), f"rdsaudit-iam-{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
        os.environ[ENV_FILE] = path
    return path


def _current() -> dict[str, Any] | None:
    with _lock:
        return _active[-1] if _active else None


def _add(call: dict[str, Any]) -> dict[str, Any] | None:
    rec = _current()
    if rec is None:
        return None
    call = {"entry": rec["entry"], "test": rec["test"], "env": rec["env"], **call}
    with _lock:
        calls.append(call)
    return call


def _scalar_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in PARAMS if k in params and isinstance(params[k], str | dict)}


def _on_params(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    call = _add(
        {
            "kind": "api",
            # the IAM service prefix is the signing name (s3, sqs, kms, logs, rds, lambda, ...)
            "service": model.service_model.signing_name,
            "operation": model.name,
            "params": _scalar_params(params),
        }
    )
    if call is not None and context is not None:
        context["rdsaudit_iam_call"] = call


def _on_after_call(http_response: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
    call = (context or {}).get("rdsaudit_iam_call")
    if call is not None:
        call["status"] = getattr(http_response, "status_code", None)
        call["error"] = (parsed or {}).get("Error", {}).get("Code")


def _wrap_sigv4() -> None:
    from botocore.auth import SigV4Auth

    original = SigV4Auth.add_auth

    def add_auth(self: Any, request: Any) -> Any:
        # API calls carry botocore's request context; a request built by hand (AWSRequest()) has none.
        if not getattr(request, "context", None):
            _add({"kind": "signed", "service": self._service_name, "method": request.method, "url": request.url})
        return original(self, request)

    SigV4Auth.add_auth = add_auth  # type: ignore[method-assign]


def _wrap_opensearch() -> None:
    from opensearchpy.transport import Transport

    original = Transport.perform_request

    def perform_request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        call = _add({"kind": "http", "service": "es", "method": method.upper(), "path": url.split("?", 1)[0]})
        try:
            answer = original(self, method, url, *args, **kwargs)
        except Exception as e:
            if call is not None:
                call["status"] = getattr(e, "status_code", None)
            raise
        if call is not None:
            call["status"] = 200
        return answer

    Transport.perform_request = perform_request  # type: ignore[method-assign]


def install() -> None:
    """Hook botocore and opensearch-py once per process (idempotent)."""
    global _installed
    if _installed:
        return
    import botocore.handlers

    botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params", _on_params))
    botocore.handlers.BUILTIN_HANDLERS.append(("after-call", _on_after_call))
    import boto3

    if boto3.DEFAULT_SESSION is not None:  # made before install(): hook it too (its existing clients stay blind)
        boto3.DEFAULT_SESSION._session.register("provide-client-params", _on_params)
        boto3.DEFAULT_SESSION._session.register("after-call", _on_after_call)
    _wrap_sigv4()
    _wrap_opensearch()
    _installed = True


def _write() -> None:
    with _lock:
        data = {"version": 1, "calls": list(calls)}
    path = record_path()
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, default=str)
    os.replace(tmp, path)


@contextmanager
def recording(entry: str, **extra_env: str) -> Iterator[None]:
    """Attribute the AWS calls made inside to the Lambda entry `entry` (one of ENTRIES). `extra_env` adds
    settings given on a command line rather than in the environment (e.g. replay's --queue)."""
    if entry not in ENTRIES:
        raise ValueError(f"unknown entry {entry!r}: one of {ENTRIES}")
    install()
    env = {k: os.environ[k] for k in ENV if k in os.environ}
    rec = {"entry": entry, "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0], "env": {**env, **extra_env}}
    with _lock:
        _active.append(rec)
    try:
        yield
    finally:
        with _lock:
            _active.remove(rec)
        _write()
