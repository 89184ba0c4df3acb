"""The OpenSearch client (auth, TLS) and the bulk sender built on it. Imports opensearch-py lazily."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from handler.sinks.bulk import SendFailure

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from handler.config import Settings

_NDJSON = {"content-type": "application/x-ndjson"}  # lower case: replaces the client default


def build_client(settings: Settings) -> OpenSearch:
    from opensearchpy import OpenSearch, RequestsHttpConnection, Urllib3HttpConnection

    kwargs: dict[str, Any] = {
        "hosts": [settings.opensearch_url],
        # The bulk loop owns retries and backoff; a second retry layer would multiply attempts and blow deadlines.
        "max_retries": 0,
        "retry_on_timeout": False,
        "timeout": settings.request_timeout,
        "http_compress": settings.http_compress,
        "verify_certs": settings.verify_certs,
        "ssl_show_warn": settings.verify_certs,
        "connection_class": Urllib3HttpConnection,
    }
    if settings.auth == "basic":
        kwargs["http_auth"] = (settings.username, settings.password)
    elif settings.auth == "sigv4":
        kwargs["http_auth"] = sigv4_auth(settings.aws_region, settings.sigv4_service)
        kwargs["connection_class"] = RequestsHttpConnection
    return OpenSearch(**kwargs)


def sigv4_auth(region: str, service: str) -> Any:
    """requests-aws4auth, signing each request.

    In Lambda the role's credentials are in the environment for the life of the execution environment, which is
    exactly what botocore's chain would find first; reading them directly keeps botocore (~80 ms) off the cold
    path. Elsewhere (profiles, SSO, instance roles, SnapStart's credentials endpoint) botocore's refreshable
    credentials are used.
    """
    from requests_aws4auth import AWS4Auth

    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return AWS4Auth(key, secret, region, service, session_token=os.environ.get("AWS_SESSION_TOKEN") or None)

    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        from handler.errors import ConfigError

        raise ConfigError("OPENSEARCH_AUTH=sigv4 but no AWS credentials were found")
    return AWS4Auth(region=region, service=service, refreshable_credentials=credentials)


def bulk_sender(client: OpenSearch) -> Any:
    """A `Sender` for BulkWriter: POST /_bulk with a per-request timeout."""
    from opensearchpy.exceptions import ConnectionError as OSConnectionError
    from opensearchpy.exceptions import SerializationError, TransportError

    def send(body: bytes, timeout: float) -> dict[str, Any]:
        try:
            response = client.transport.perform_request(
                "POST", "/_bulk", body=body, headers=_NDJSON, params={"request_timeout": timeout}
            )
        except OSConnectionError as e:
            raise SendFailure(None, None, f"no response: {type(e).__name__}: {_short(e.info)}") from e
        except SerializationError as e:
            raise SendFailure(None, None, f"unreadable bulk response: {_short(e)}") from e
        except TransportError as e:
            status = e.status_code if isinstance(e.status_code, int) else None
            raise SendFailure(status, e.info, f"{e.status_code} {_short(e.error)}") from e
        if not isinstance(response, dict):
            raise SendFailure(None, response, "bulk response is not a JSON object")
        return response

    return send


def _short(value: Any) -> str:
    return str(value)[:300]
