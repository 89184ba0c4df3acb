from __future__ import annotations

import pytest

from handler.config import Settings
from handler.errors import ConfigError


def test_defaults_outside_lambda() -> None:
    s = Settings.from_env({})
    assert s.opensearch_url == "http://127.0.0.1:9200"
    assert s.index_prefix == "rdsaudit" and s.mask_secrets and s.verify_certs
    assert s.dead_letter == "./dead-letter"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENSEARCH_URL": "localhost:9200"}, "OPENSEARCH_URL must be an http"),
        ({"OPENSEARCH_AUTH": "kerberos"}, "OPENSEARCH_AUTH must be one of none, basic, sigv4"),
        ({"OPENSEARCH_AUTH": "basic"}, "OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD"),
        ({"OPENSEARCH_AUTH": "sigv4"}, "AWS_REGION"),
        ({"OPENSEARCH_SERVICE": "es2"}, "OPENSEARCH_SERVICE must be one of es, aoss"),
        ({"OPENSEARCH_VERIFY_CERTS": "maybe"}, "OPENSEARCH_VERIFY_CERTS must be true or false"),
        ({"RDSAUDIT_INDEX_PREFIX": "Audit"}, "RDSAUDIT_INDEX_PREFIX must be lowercase"),
        ({"RDSAUDIT_INDEX_PREFIX": "-x"}, "RDSAUDIT_INDEX_PREFIX"),
        ({"RDSAUDIT_BULK_MAX_BYTES": "lots"}, "RDSAUDIT_BULK_MAX_BYTES must be a number"),
        ({"RDSAUDIT_BULK_MAX_BYTES": "10"}, "RDSAUDIT_BULK_MAX_BYTES must be between"),
        ({"RDSAUDIT_DEAD_LETTER": "s3://"}, "RDSAUDIT_DEAD_LETTER is not a valid"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f"}, "OPENSEARCH_URL is required"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "OPENSEARCH_URL": "https://x"}, "RDSAUDIT_DEAD_LETTER must be s3://"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_password_never_in_repr() -> None:
    s = Settings.from_env({"OPENSEARCH_AUTH": "basic", "OPENSEARCH_USERNAME": "u", "OPENSEARCH_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(s)


def test_lambda_settings() -> None:
    s = Settings.from_env(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "f",
            "OPENSEARCH_URL": "https://search-x.eu-west-1.es.amazonaws.com/",
            "OPENSEARCH_AUTH": "sigv4",
            "AWS_REGION": "eu-west-1",
            "RDSAUDIT_DEAD_LETTER": "s3://my-bucket/dl",
        }
    )
    assert s.opensearch_url == "https://search-x.eu-west-1.es.amazonaws.com"
    assert (s.auth, s.aws_region, s.sigv4_service) == ("sigv4", "eu-west-1", "es")


def test_credentials_in_the_url_are_refused_and_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"OPENSEARCH_URL": "https://admin:S3cretPW@search.example.com"})
    assert "S3cretPW" not in str(raised.value) and "OPENSEARCH_USERNAME" in str(raised.value)
    # an @ later in the URL (a path) is not userinfo
    assert Settings.from_env({"OPENSEARCH_URL": "https://search.example.com/a@b"}).opensearch_url.endswith("a@b")
