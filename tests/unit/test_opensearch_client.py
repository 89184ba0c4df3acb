"""Client construction: SigV4 comes from requests-aws4auth over botocore credentials; TLS verification on by default."""

from __future__ import annotations

import base64
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from handler.config import Settings
from handler.sinks.bulk import SendFailure
from handler.sinks.opensearch import build_client, bulk_sender, sigv4_auth


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-example")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.mark.parametrize("service", ["es", "aoss"])
def test_sigv4_signs_with_region_service_and_session_token(aws_env: None, service: str) -> None:
    auth = sigv4_auth("eu-west-1", service)
    request = requests.Request("POST", "https://search-x.eu-west-1.es.amazonaws.com/_bulk", data=b"{}\n").prepare()
    signed = auth(request)
    header = signed.headers["Authorization"]
    assert header.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert f"/eu-west-1/{service}/aws4_request" in header
    assert signed.headers["X-Amz-Security-Token"] == "session-token-example"


class Refusing:
    """A loopback server that answers every request 403 with a body, as a domain refusing the role does."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"message":"The security token included in the request is invalid."}'
                self.send_response(403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("auth", ["sigv4", "basic"])
def test_no_credential_in_what_the_client_prints_or_logs(
    aws_env: None, auth: str, caplog: pytest.LogCaptureFixture
) -> None:
    """What an operator can see: the client's and connection's reprs, every log line down to DEBUG (opensearch-py
    logs each request), and the failures a bulk request raises (refused, unreachable)."""
    secrets = ["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example", "p4ssw0rd-not-shown"]
    secrets.append(base64.b64encode(b"admin:p4ssw0rd-not-shown").decode())  # the Basic header's value
    caplog.set_level(logging.DEBUG)
    refusing = Refusing()
    seen: list[str] = []
    try:
        for url in (refusing.url, f"http://127.0.0.1:{closed_port()}"):
            env = {"OPENSEARCH_URL": url, "OPENSEARCH_AUTH": auth, "AWS_REGION": "eu-west-1"}
            env |= {"OPENSEARCH_USERNAME": "admin", "OPENSEARCH_PASSWORD": "p4ssw0rd-not-shown"}
            client = build_client(Settings.from_env(env))
            connection = client.transport.get_connection()
            seen += [repr(client), str(client), repr(client.transport), repr(connection), str(connection)]
            seen.append(repr(getattr(connection, "session", None)))
            with pytest.raises(SendFailure) as failure:
                bulk_sender(client)(b'{"create":{"_index":"x"}}\n{}\n', 5.0)
            seen += [str(failure.value), repr(failure.value), repr(failure.value.body), str(failure.value.__cause__)]
    finally:
        refusing.close()
    seen += [r.getMessage() for r in caplog.records]
    assert any("403" in s for s in seen) and any("refused" in s.lower() for s in seen)  # both failures were seen
    assert len(caplog.records) >= 2  # opensearch-py did log the requests
    leaks = [(secret, text) for secret in secrets for text in seen if secret in text]
    assert leaks == []


def test_client_verifies_tls_by_default(aws_env: None) -> None:
    settings = Settings.from_env(
        {
            "OPENSEARCH_URL": "https://search-x.eu-west-1.es.amazonaws.com",
            "OPENSEARCH_AUTH": "sigv4",
            "AWS_REGION": "eu-west-1",
        }
    )
    client = build_client(settings)
    connection = client.transport.get_connection()
    assert connection.session.verify not in (False, None, "")  # True or a CA bundle path: verification on
    assert connection.session.auth is not None


def test_basic_auth_client() -> None:
    settings = Settings.from_env(
        {
            "OPENSEARCH_URL": "https://localhost:9200",
            "OPENSEARCH_AUTH": "basic",
            "OPENSEARCH_USERNAME": "u",
            "OPENSEARCH_PASSWORD": "p",
            "OPENSEARCH_VERIFY_CERTS": "false",
        }
    )
    connection = build_client(settings).transport.get_connection()
    assert "authorization" in {k.lower() for k in connection.headers}


def test_sigv4_without_environment_credentials_uses_botocore_chain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    creds = tmp_path / "credentials"  # type: ignore[operator]
    creds.write_text("[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = secretfromfile\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(creds) + ".missing")
    auth = sigv4_auth("us-east-1", "es")
    request = requests.Request("GET", "https://example.us-east-1.es.amazonaws.com/").prepare()
    assert "Credential=AKIDFROMFILE/" in auth(request).headers["Authorization"]
