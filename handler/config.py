"""Settings read from the environment once and validated; a bad value names the variable and what is allowed."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import NamedTuple

from handler.errors import ConfigError

_PREFIX = re.compile(r"[a-z0-9][a-z0-9_.+-]{0,199}")
_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"  # an S3 bucket name
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# (variable, default, meaning) — the README's configuration table is written from this list.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("OPENSEARCH_URL", "http://127.0.0.1:9200", "endpoint of the cluster (required in Lambda)"),
    ("OPENSEARCH_AUTH", "none", "none | basic | sigv4"),
    ("OPENSEARCH_USERNAME", "", "user for basic auth"),
    ("OPENSEARCH_PASSWORD", "", "password for basic auth (never logged)"),
    ("OPENSEARCH_SERVICE", "es", "SigV4 service: es (managed domains) | aoss (Serverless)"),
    (
        "RDSAUDIT_AOSS_COLLECTION_TYPE",
        "search",
        "Serverless (OPENSEARCH_SERVICE=aoss): search | timeseries | vectorsearch; the last two index without ids",
    ),
    ("OPENSEARCH_VERIFY_CERTS", "true", "verify TLS certificates; false only for local clusters"),
    ("OPENSEARCH_HTTP_COMPRESS", "false", "gzip request bodies"),
    ("OPENSEARCH_REQUEST_TIMEOUT", "30", "seconds, per bulk request (capped by the Lambda's remaining time)"),
    ("AWS_REGION", "", "region for SigV4 (set by Lambda)"),
    ("RDSAUDIT_INDEX_PREFIX", "rdsaudit", "daily indices are <prefix>-YYYY.MM.DD"),
    ("RDSAUDIT_DEAD_LETTER", "", "s3://bucket/prefix, or a local directory (default ./dead-letter outside Lambda)"),
    ("RDSAUDIT_MASK_SECRETS", "true", "mask passwords in SQL (IDENTIFIED BY '…', PASSWORD('…'), …)"),
    ("RDSAUDIT_BULK_MAX_BYTES", "5242880", "bytes per bulk request"),
    ("RDSAUDIT_BULK_MAX_ACTIONS", "10000", "documents per bulk request"),
    ("RDSAUDIT_MAX_ATTEMPTS", "8", "attempts per document for throttling and 5xx before the invocation fails"),
    ("RDSAUDIT_DEADLINE_MARGIN", "3", "seconds kept free before the Lambda timeout to record the outcome"),
    ("RDSAUDIT_ENSURE_TEMPLATE", "true", "install the index template at cold start when missing or older"),
    ("RDSAUDIT_CHECKPOINT", "", "backfill Lambda: s3://bucket/prefix for per-object progress (resume after a timeout)"),
    ("RDSAUDIT_ACTIVITY_INDEX_PREFIX", "rdsactivity", "Activity Streams: daily indices <prefix>-YYYY.MM.DD"),
    ("RDSAUDIT_DAS_CLUSTER_ID", "", "Activity Streams: cluster resource id, when the stream name does not give it"),
    ("RDSAUDIT_EXPORT_BUCKET", "", "exporter Lambda: the archive bucket"),
    ("RDSAUDIT_EXPORT_PREFIX", "", "exporter Lambda: key prefix in the archive bucket"),
    ("RDSAUDIT_EXPORT_INSTANCES", "", "exporter Lambda: comma-separated DB instance identifiers"),
    ("RDSAUDIT_EXPORT_INDEX", "false", "exporter Lambda: also index the exported lines into OpenSearch"),
    ("RDSAUDIT_FORWARDER_ARN", "", "auto-subscription Lambda: the forwarder to subscribe new audit log groups to"),
    ("RDSAUDIT_DESTINATION_ARN", "", "member accounts' subscription Lambda: the central CloudWatch Logs destination"),
    ("RDSAUDIT_DESTINATION_ROLE_ARN", "", "…and the role CloudWatch Logs assumes to send to it"),
    (
        "RDSAUDIT_DETECTIONS",
        "",
        'detection rule overrides: a JSON object, or the path of a JSON file (README "Detections")',
    ),
    ("RDSAUDIT_DETECT_TOPIC_ARN", "", "detect job: SNS topic for new findings (empty: no mail)"),
    ("RDSAUDIT_DETECT_EVENT_BUS", "", "detect job: EventBridge bus for new findings (`default`; empty: none)"),
    ("RDSAUDIT_DETECT_SECURITY_HUB", "false", "detect job: also import new findings into AWS Security Hub (ASFF)"),
    (
        "RDSAUDIT_DETECT_RENOTIFY_SECONDS",
        "21600",
        "detect job: a rule and key already notified within this many seconds is not notified again",
    ),
    (
        "RDSAUDIT_DETECT_CATCH_UP_SECONDS",
        "86400",
        "detect job: a channel turned on later tells findings at most this many seconds older than that moment",
    ),
    ("RDSAUDIT_DASHBOARDS_URL", "", "Dashboards URL that findings' links start with (default: the domain's)"),
    ("XDG_CACHE_HOME", "~/.cache", "where the command line keeps backfill checkpoints (in rdsaudit/backfill/)"),
    (
        "LOG_LEVEL",
        "INFO",
        "level of rdsaudit's warnings and diagnostics; the per-invocation JSON line is always written",
    ),
)
_DEFAULTS = {name: default for name, default, _ in VARIABLES}


def valid_index_prefix(prefix: str) -> bool:
    return _PREFIX.fullmatch(prefix) is not None


class Settings(NamedTuple):
    opensearch_url: str = "http://127.0.0.1:9200"
    auth: str = "none"
    username: str = ""
    password: str = ""
    sigv4_service: str = "es"
    aws_region: str = ""
    verify_certs: bool = True
    http_compress: bool = False
    request_timeout: float = 30.0
    index_prefix: str = "rdsaudit"
    dead_letter: str = "./dead-letter"
    mask_secrets: bool = True
    bulk_max_bytes: int = 5 * 1024 * 1024
    bulk_max_actions: int = 10_000
    max_attempts: int = 8
    deadline_margin: float = 3.0
    ensure_template: bool = True
    checkpoint: str = ""
    activity_prefix: str = "rdsactivity"
    das_cluster_id: str = ""
    export_bucket: str = ""
    export_prefix: str = ""
    export_instances: tuple[str, ...] = ()
    export_index: bool = False
    forwarder_arn: str = ""
    destination_arn: str = ""  # member accounts: the central CloudWatch Logs destination to subscribe groups to
    destination_role_arn: str = ""  # …and the role CloudWatch Logs assumes to send there
    log_level: str = "INFO"
    cache_dir: str = "~/.cache"
    dead_letter_configured: bool = False  # RDSAUDIT_DEAD_LETTER was set (not the local default)
    aoss_collection_type: str = "search"
    detections: str = ""  # RDSAUDIT_DETECTIONS as JSON text (a file already read)
    detect_topic_arn: str = ""
    detect_event_bus: str = ""
    detect_security_hub: bool = False
    detect_renotify_seconds: float = 21600.0
    detect_catch_up_seconds: float = 86400.0
    log_stream: str = ""  # AWS_LAMBDA_LOG_STREAM_NAME (set by Lambda): how the notifier names itself in its lease
    dashboards_url: str = ""

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items() if k != "password")
        return f"Settings({shown})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        in_lambda = bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))

        def get(name: str) -> str:
            return env.get(name, "").strip() or _DEFAULTS[name]

        if in_lambda and not env.get("OPENSEARCH_URL", "").strip():
            raise ConfigError("OPENSEARCH_URL is required: the https:// endpoint of the OpenSearch domain")
        url = get("OPENSEARCH_URL").rstrip("/")
        if has_userinfo(url):
            # never echoed: the value holds a password, and this message reaches terminals and logs
            raise ConfigError(
                "OPENSEARCH_URL must not carry credentials (user:password@): set OPENSEARCH_AUTH=basic with "
                "OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD"
            )
        if not re.match(r"https?://[^/\s]+", url):
            raise ConfigError(f"OPENSEARCH_URL must be an http:// or https:// URL, got {url!r}")

        auth = _choice("OPENSEARCH_AUTH", get("OPENSEARCH_AUTH").lower(), ("none", "basic", "sigv4"))
        username, password = get("OPENSEARCH_USERNAME"), env.get("OPENSEARCH_PASSWORD", "")
        if auth == "basic" and not (username and password):
            raise ConfigError("OPENSEARCH_AUTH=basic needs OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD")
        service = _choice("OPENSEARCH_SERVICE", get("OPENSEARCH_SERVICE").lower(), ("es", "aoss"))
        region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
        if auth == "sigv4" and not region:
            raise ConfigError("OPENSEARCH_AUTH=sigv4 needs AWS_REGION (the domain's region)")

        prefix = _prefix("RDSAUDIT_INDEX_PREFIX", get("RDSAUDIT_INDEX_PREFIX"))
        dead_letter = env.get("RDSAUDIT_DEAD_LETTER", "").strip()
        if in_lambda and not dead_letter.startswith("s3://"):
            raise ConfigError("RDSAUDIT_DEAD_LETTER must be s3://bucket[/prefix] in Lambda (local disk is lost)")
        if dead_letter.startswith("s3://"):
            _s3_url("RDSAUDIT_DEAD_LETTER", dead_letter)

        return cls(
            opensearch_url=url,
            auth=auth,
            username=username,
            password=password,
            sigv4_service=service,
            aws_region=region,
            verify_certs=_bool("OPENSEARCH_VERIFY_CERTS", get("OPENSEARCH_VERIFY_CERTS")),
            http_compress=_bool("OPENSEARCH_HTTP_COMPRESS", get("OPENSEARCH_HTTP_COMPRESS")),
            request_timeout=_number("OPENSEARCH_REQUEST_TIMEOUT", get("OPENSEARCH_REQUEST_TIMEOUT"), 1, 900),
            index_prefix=prefix,
            dead_letter=dead_letter or "./dead-letter",
            dead_letter_configured=bool(dead_letter),
            mask_secrets=_bool("RDSAUDIT_MASK_SECRETS", get("RDSAUDIT_MASK_SECRETS")),
            bulk_max_bytes=int(_number("RDSAUDIT_BULK_MAX_BYTES", get("RDSAUDIT_BULK_MAX_BYTES"), 1024, 100 * 2**20)),
            bulk_max_actions=int(_number("RDSAUDIT_BULK_MAX_ACTIONS", get("RDSAUDIT_BULK_MAX_ACTIONS"), 1, 100_000)),
            max_attempts=int(_number("RDSAUDIT_MAX_ATTEMPTS", get("RDSAUDIT_MAX_ATTEMPTS"), 1, 100)),
            deadline_margin=_number("RDSAUDIT_DEADLINE_MARGIN", get("RDSAUDIT_DEADLINE_MARGIN"), 0, 60),
            ensure_template=_bool("RDSAUDIT_ENSURE_TEMPLATE", get("RDSAUDIT_ENSURE_TEMPLATE")),
            checkpoint=_s3_url("RDSAUDIT_CHECKPOINT", env.get("RDSAUDIT_CHECKPOINT", "").strip()),
            activity_prefix=_prefix("RDSAUDIT_ACTIVITY_INDEX_PREFIX", get("RDSAUDIT_ACTIVITY_INDEX_PREFIX")),
            das_cluster_id=env.get("RDSAUDIT_DAS_CLUSTER_ID", "").strip(),
            export_bucket=_bucket("RDSAUDIT_EXPORT_BUCKET", env.get("RDSAUDIT_EXPORT_BUCKET", "").strip()),
            export_prefix=env.get("RDSAUDIT_EXPORT_PREFIX", "").strip().strip("/"),
            export_instances=tuple(i.strip() for i in env.get("RDSAUDIT_EXPORT_INSTANCES", "").split(",") if i.strip()),
            export_index=_bool("RDSAUDIT_EXPORT_INDEX", get("RDSAUDIT_EXPORT_INDEX")),
            forwarder_arn=_arn("RDSAUDIT_FORWARDER_ARN", env.get("RDSAUDIT_FORWARDER_ARN", "").strip()),
            destination_arn=_matching(
                "RDSAUDIT_DESTINATION_ARN",
                env.get("RDSAUDIT_DESTINATION_ARN", ""),
                _DESTINATION,
                "a CloudWatch Logs destination ARN",
            ),
            destination_role_arn=_matching(
                "RDSAUDIT_DESTINATION_ROLE_ARN", env.get("RDSAUDIT_DESTINATION_ROLE_ARN", ""), _ROLE, "an IAM role ARN"
            ),
            cache_dir=get("XDG_CACHE_HOME"),
            log_level=_choice("LOG_LEVEL", get("LOG_LEVEL").upper(), ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
            detections=_detections(env.get("RDSAUDIT_DETECTIONS", "").strip()),
            detect_topic_arn=env.get("RDSAUDIT_DETECT_TOPIC_ARN", "").strip(),
            detect_event_bus=env.get("RDSAUDIT_DETECT_EVENT_BUS", "").strip(),
            detect_security_hub=_bool("RDSAUDIT_DETECT_SECURITY_HUB", get("RDSAUDIT_DETECT_SECURITY_HUB")),
            detect_renotify_seconds=_number(
                "RDSAUDIT_DETECT_RENOTIFY_SECONDS", get("RDSAUDIT_DETECT_RENOTIFY_SECONDS"), 0, 30 * 86400
            ),
            detect_catch_up_seconds=_number(
                "RDSAUDIT_DETECT_CATCH_UP_SECONDS", get("RDSAUDIT_DETECT_CATCH_UP_SECONDS"), 0, 366 * 86400
            ),
            log_stream=env.get("AWS_LAMBDA_LOG_STREAM_NAME", "").strip(),
            dashboards_url=_dashboards(env.get("RDSAUDIT_DASHBOARDS_URL", "").strip(), url, service),
            aoss_collection_type=_choice(
                "RDSAUDIT_AOSS_COLLECTION_TYPE",
                get("RDSAUDIT_AOSS_COLLECTION_TYPE").lower(),
                ("search", "timeseries", "vectorsearch"),
            ),
        )


def has_userinfo(url: str) -> bool:
    """`scheme://user:password@host…`: credentials in a URL end up in every message that names the URL."""
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    return "@" in authority


def _prefix(name: str, value: str) -> str:
    if not valid_index_prefix(value):
        raise ConfigError(
            f"{name} must be lowercase letters, digits, '_', '.', '+' or '-', not starting with a symbol, got {value!r}"
        )
    return value


def _s3_url(name: str, value: str) -> str:
    if value and not re.fullmatch(rf"s3://{_BUCKET}(/.*)?", value):
        raise ConfigError(f"{name} is not a valid s3://bucket[/prefix]: {value!r}")
    return value


def _bucket(name: str, value: str) -> str:
    if value and not re.fullmatch(_BUCKET, value):
        raise ConfigError(f"{name} is not a valid S3 bucket name: {value!r}")
    return value


def _arn(name: str, value: str) -> str:
    if value and not re.fullmatch(
        r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?", value
    ):
        raise ConfigError(f"{name} must be a Lambda function ARN, got {value!r}")
    return value


_DESTINATION = re.compile(r"arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:destination:[^:*]+")
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")


def _matching(name: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    value = value.strip()
    if value and not pattern.fullmatch(value):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return value


def _detections(value: str) -> str:
    """Inline JSON, or the path of a file holding it; checked against the catalog when the rules are loaded."""
    if not value or value.startswith("{"):
        return value
    try:
        with open(os.path.expanduser(value), encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"RDSAUDIT_DETECTIONS: cannot read {value}: {e.strerror or e}") from None


def _dashboards(value: str, opensearch_url: str, service: str) -> str:
    """Managed domains serve Dashboards at /_dashboards on their endpoint; elsewhere only a given URL is known."""
    if value:
        if has_userinfo(value):  # never echoed: the value holds a password
            raise ConfigError("RDSAUDIT_DASHBOARDS_URL must not carry credentials (user:password@)")
        if not re.match(r"https?://[^/\s]+", value):
            raise ConfigError(f"RDSAUDIT_DASHBOARDS_URL must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")
    host = opensearch_url.split("://", 1)[-1].split("/", 1)[0]
    if service == "es" and host.endswith(".es.amazonaws.com"):
        return f"{opensearch_url}/_dashboards"
    return ""


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _bool(name: str, value: str) -> bool:
    v = value.lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (also yes/no, on/off, 1/0); got {value!r}")


def _number(name: str, value: str, low: float, high: float) -> float:
    span = f"between {_plain(low)} and {_plain(high)}"
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number {span}; got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be {span}; got {value!r}")
    return number


def _plain(number: float) -> str:
    """104,857,600 rather than 1.04858e+08."""
    return f"{int(number):,}" if number == int(number) else f"{number:,}"
