"""Client construction: SigV4 comes from requests-aws4auth over botocore credentials; TLS verification on by default."""

from __future__ import annotations

import pytest
import requests

from handler.config import Settings
from handler.sinks.opensearch import build_client, sigv4_auth


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
    assert "wJalrXUtnFEMI" not in repr(auth.__dict__.get("signing_key", ""))


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
