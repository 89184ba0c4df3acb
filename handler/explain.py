"""Exceptions → one line for people: what went wrong, with the value involved, and what to do, with the command
line's exit code. The command line's error boundary and the backfill's per-object failures use it. `describe` is a
pure function of the exception (and the settings, for the endpoint it names); a table of cases tests it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from handler.errors import RdsAuditError

if TYPE_CHECKING:
    from handler.config import Settings

USAGE = 2  # a wrong command line or setting
FAILED = 1  # the command ran and could not finish
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


def describe(exc: BaseException, settings: Settings | None = None) -> tuple[str, int]:
    """(one line, exit code) for an exception the command line expects; ('', FAILED) marks an unexpected one."""
    if isinstance(exc, RdsAuditError):
        return str(exc), exc.exit_code
    url = settings.opensearch_url if settings else "the configured OPENSEARCH_URL"
    for kinds, explain in _TABLE:
        if isinstance(exc, kinds()):
            return explain(exc, url)
    return "", FAILED


def _opensearch() -> tuple[type[BaseException], ...]:
    from opensearchpy.exceptions import ConnectionError as Unreachable

    return (Unreachable,)


def _unreachable(exc: Any, url: str) -> tuple[str, int]:
    cause = _cause(exc)
    if type(exc).__name__ == "SSLError" or cause.startswith("TLS"):
        return (
            f"TLS with OpenSearch at {url} failed ({cause}): check the URL's scheme (http or https) and, for a "
            "local node with a self-signed certificate, OPENSEARCH_VERIFY_CERTS",
            FAILED,
        )
    return f"cannot reach OpenSearch at {url} ({cause}): start it (make opensearch-up) or set OPENSEARCH_URL", FAILED


def _not_opensearch_kinds() -> tuple[type[BaseException], ...]:
    from opensearchpy.exceptions import SerializationError

    return (SerializationError,)


def _not_opensearch(exc: Any, url: str) -> tuple[str, int]:
    return (
        f"{url} does not answer like OpenSearch ({_one_line(str(exc), 80)}): set OPENSEARCH_URL to the cluster's "
        "endpoint (not Dashboards, not a proxy page)",
        FAILED,
    )


def _refused_kinds() -> tuple[type[BaseException], ...]:
    from opensearchpy.exceptions import AuthenticationException, AuthorizationException

    return (AuthenticationException, AuthorizationException)


def _refused(exc: Any, url: str) -> tuple[str, int]:
    reason = _opensearch_reason(exc)
    return (
        f"OpenSearch at {url} refused the request ({exc.status_code}{': ' + reason if reason else ''}): "
        "check OPENSEARCH_AUTH and the credentials, and the role's permissions",
        FAILED,
    )


def _transport_kinds() -> tuple[type[BaseException], ...]:
    from opensearchpy.exceptions import TransportError

    return (TransportError,)


def _transport(exc: Any, url: str) -> tuple[str, int]:
    reason = _opensearch_reason(exc)
    if reason.lstrip().startswith("<"):
        return (
            f"{url} answered {exc.status_code} with a web page, not OpenSearch: set OPENSEARCH_URL to the cluster's "
            "endpoint (not Dashboards, not a proxy page)",
            FAILED,
        )
    unmapped = _unmapped(exc)
    if unmapped:
        return f"OpenSearch at {url}: {unmapped}", FAILED
    return f"OpenSearch at {url} answered {exc.status_code}{': ' + reason if reason else ''}", FAILED


_NO_MAPPING = re.compile(r"No mapping found for \[([^\]]+)\]")
_FIELDDATA = re.compile(r"Fielddata is disabled on \[?([^\] ]+)\]? ")


def _unmapped(exc: Any) -> str:
    """A search over an index that rdsaudit's index template did not map ("all shards failed" alone says nothing):
    which index lacks which field, and what to do."""
    info = getattr(exc, "info", None)
    error = info.get("error") if isinstance(info, dict) else None
    if not isinstance(error, dict):
        return ""
    causes: list[Any] = list(error.get("root_cause") or [])
    causes += [f.get("reason") for f in error.get("failed_shards") or [] if isinstance(f, dict)]
    for cause in causes:
        if not isinstance(cause, dict):
            continue
        text, index = str(cause.get("reason") or ""), cause.get("index") or "an index"
        m = _NO_MAPPING.search(text) or _FIELDDATA.search(text)
        if m:
            what = f"has no mapping for {m.group(1)}" if m.re is _NO_MAPPING else f"maps {m.group(1)} as text"
            return (
                f"{index} {what}: it was not created from rdsaudit's index template (created before "
                "`rdsaudit setup`, or by another tool); reindex it into an index the template maps, or give "
                "another --index-prefix"
            )
    return ""


def _aws_setup_kinds() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import NoCredentialsError, NoRegionError

    return (NoCredentialsError, NoRegionError)


def _aws_setup(exc: Any, url: str) -> tuple[str, int]:
    if type(exc).__name__ == "NoRegionError":
        return "no AWS region: set AWS_REGION (e.g. AWS_REGION=eu-west-1)", USAGE
    return (
        "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or run where a role provides them",
        USAGE,
    )


def _aws_unreachable_kinds() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import ConnectionError as Unreachable

    return (Unreachable,)


def _aws_unreachable(exc: Any, url: str) -> tuple[str, int]:
    endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
    return f"cannot reach {endpoint}: check the network, AWS_REGION and AWS_ENDPOINT_URL", FAILED


def _aws_answer_kinds() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import ClientError

    return (ClientError,)


def _aws_answer(exc: Any, url: str) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "?"), error.get("Message", "")
    operation = getattr(exc, "operation_name", "the request")
    bucket = error.get("BucketName")
    if code == "NoSuchBucket":
        return f"bucket {bucket or ''} does not exist (AWS answered {operation} with NoSuchBucket)", FAILED
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"):
        return f"AWS denied {operation} ({message}): grant the permission to the credentials in use", FAILED
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidClientTokenId"):
        return f"AWS refused the credentials ({code}): refresh them or set AWS_PROFILE", FAILED
    return f"AWS {operation} failed: {code}: {message}", FAILED


def _http_unreachable_kinds() -> tuple[type[BaseException], ...]:
    from requests.exceptions import ConnectionError as Unreachable
    from requests.exceptions import Timeout

    return (Unreachable, Timeout)


def _http_unreachable(exc: Any, url: str) -> tuple[str, int]:
    request = getattr(exc, "request", None)
    target = getattr(request, "url", None) or "the server"
    return f"cannot reach {target.split('?')[0]} ({_cause(exc)}): check the URL and the network", FAILED


def _files() -> tuple[type[BaseException], ...]:
    return (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def _file(exc: Any, url: str) -> tuple[str, int]:
    name = exc.filename or ""
    if isinstance(exc, FileNotFoundError):
        return f"no such file or directory: {name}", FAILED
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a directory, not a file", FAILED
    if isinstance(exc, NotADirectoryError):
        return f"{name} is not a directory", FAILED
    return f"permission denied: {name}", FAILED


# Order matters: requests' ConnectionError is an OSError, and opensearch-py's ConnectionError a TransportError.
_TABLE = (
    (_opensearch, _unreachable),
    (_not_opensearch_kinds, _not_opensearch),
    (_refused_kinds, _refused),
    (_transport_kinds, _transport),
    (_aws_setup_kinds, _aws_setup),
    (_aws_unreachable_kinds, _aws_unreachable),
    (_aws_answer_kinds, _aws_answer),
    (_http_unreachable_kinds, _http_unreachable),
    (_files, _file),
)


def _cause(exc: Any) -> str:
    text = str(getattr(exc, "info", "") or exc).lower()
    for needle, plain in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("timed out", "timed out"),
        ("certificate", "TLS certificate not trusted"),
        ("wrong version number", "TLS handshake failed: the server speaks plain HTTP"),
        ("ssl", "TLS handshake failed"),
        ("reset", "connection reset"),
    ):
        if needle in text:
            return plain
    return type(getattr(exc, "info", None) or exc).__name__


def _opensearch_reason(exc: Any) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            return _one_line(str(error.get("reason") or error.get("type") or ""))
        return _one_line(str(error or info.get("message") or ""))
    return _one_line(str(info if isinstance(info, str) else getattr(exc, "error", "") or ""))


def _one_line(text: str, limit: int = 200) -> str:
    """Whatever a server sent (an HTML page, a stack trace) as one short line."""
    return " ".join(text.split())[:limit]
