"""Exceptions → one line for people: what went wrong, with the value involved, and what to do, with the command
line's exit code. The command line's error boundary and the backfill's per-object failures use it. `describe` is a
pure function of the exception (and the settings, for the endpoint it names); a table of cases tests it."""

from __future__ import annotations

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
    return f"cannot reach OpenSearch at {url} ({cause}): start it (make opensearch-up) or set OPENSEARCH_URL", FAILED


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
    return f"OpenSearch at {url} answered {exc.status_code}{': ' + reason if reason else ''}", FAILED


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
    return f"cannot reach {target.split('?')[0]} ({type(exc).__name__}): check the URL and the network", FAILED


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
            return str(error.get("reason") or error.get("type") or "")[:200]
        return str(error or info.get("message") or "")[:200]
    return str(getattr(exc, "error", "") or "")[:200]
